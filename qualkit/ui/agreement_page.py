"""Agreement: compare coders on the same transcripts, per code and per exclusive parent, and
list the segments they coded differently, from the project's codings or an uploaded table."""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable
from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from qualkit.agreement import AgreementReport, AgreementStats, Disagreement, report_to_dict
from qualkit.agreement.stats import disagreement_counts, disagreements_on
from qualkit.codedtable import TableRow
from qualkit.errors import QualkitError
from qualkit.model import Codebook
from qualkit.ui.common import Context, load_context, show_flash

PROJECT = "This project's coders"
UPLOAD = "An uploaded coded-segments table"
ALL_CODES = "every code"


UNDEFINED = "–"  # a statistic that is not defined here (e.g. no variation to compare)


def _num(value: float, digits: int = 3) -> float | str:
    """Undefined statistics (NaN) show as a dash, explained under the table, not "None"."""
    return UNDEFINED if math.isnan(value) else round(value, digits)


def _stats(s: AgreementStats, several_pairs: bool) -> dict[str, Any]:
    """The columns every row shares; with two coders the mean of pairs is their one kappa."""
    row: dict[str, Any] = {"n (segments)": s.units,
                           "% agreement": _num(100 * s.percent_agreement, 1)}
    if several_pairs:
        row.update({"Cohen's κ (mean of pairs)": _num(s.kappa_mean),
                    "min": _num(s.kappa_min), "max": _num(s.kappa_max)})
    else:
        row["Cohen's κ"] = _num(s.kappa_mean)
    row.update({"Fleiss' κ": _num(s.fleiss_kappa), "Fleiss n": s.fleiss_units,
                "Krippendorff's α": _num(s.krippendorff_alpha)})
    return row


def code_table(report: AgreementReport, label: Callable[[str], str],
               disputed: dict[str, int]) -> pd.DataFrame:
    several = len(report.coders) > 2
    return pd.DataFrame([{"code": c.code, "name": label(c.code), "applied": c.applied,
                          **_stats(c, several), "disagreements": disputed.get(c.code, 0)}
                         for c in report.codes.values()])


def group_table(report: AgreementReport, label: Callable[[str], str]) -> pd.DataFrame:
    several = len(report.coders) > 2
    return pd.DataFrame([{"parent": g.parent, "name": label(g.parent),
                          "categories": ", ".join(label(c) for c in g.categories),
                          **_stats(g, several), "multi-coded": g.multi_coded}
                         for g in report.groups.values()])


def pair_table(report: AgreementReport, label: Callable[[str], str]) -> pd.DataFrame:
    return pd.DataFrame([{"code": code, "name": label(code), "coder A": p.coder_a,
                          "coder B": p.coder_b, "Cohen's κ": _num(p.kappa), "n": p.units}
                         for code, c in report.codes.items() for p in c.pairs])


def disagreement_table(report: AgreementReport, label: Callable[[str], str],
                       disagreements: list[Disagreement] | None = None) -> pd.DataFrame:
    """One row per segment the coders coded differently (``disagreements``, default: all of
    the report's), each coder's codes in a column of their own."""
    fixed = {"transcript", "segment", "speaker", "text", "differ on"}
    column = {c: f"{c} (coder)" if c in fixed else c for c in report.coders}
    rows = []
    for d in report.disagreements if disagreements is None else disagreements:
        row: dict[str, Any] = {"transcript": d.document, "segment": d.segment,
                               "speaker": d.speaker, "text": d.text}
        for coder in report.coders:
            codes = d.codes.get(coder)
            row[column[coder]] = ("; ".join(label(c) for c in codes) or "(none)"
                                  if codes is not None else "")
        row["differ on"] = "; ".join(label(c) for c in d.differing)
        rows.append(row)
    return pd.DataFrame(rows, columns=["transcript", "segment", "speaker", "text",
                                       *column.values(), "differ on"])


def _labeller(book: Codebook | None) -> Callable[[str], str]:
    return book.display_name if book else str


def _project_report(ctx: Context, book: Codebook | None) -> AgreementReport | None:
    from qualkit.agreement.project import decision_coders, project_agreement

    coders = decision_coders(ctx.store)
    if len(coders) < 2:
        who = f" ({', '.join(coders)})" if coders else ""
        st.info(f"Agreement compares two or more coders, and this project has decisions by "
                f"{len(coders)}{who}. Ask a second person to code the same transcripts (with "
                "their own name in the sidebar and blind coding on), or upload a "
                "coded-segments table with a coder column.")
        return None
    chosen = st.multiselect("Coders to compare", coders, default=coders, key="agr_coders")
    common = st.toggle("Only transcripts coded by all of them", key="agr_common",
                       help="Leave out transcripts where any of the chosen coders made no "
                            "decision.")
    if len(chosen) < 2:
        st.info("Choose at least two coders to compare.")
        return None
    st.caption("A coder counts only in the turns they worked on: where they accepted or "
               "rejected a suggestion or coded by hand, and in transcripts (or turns) they "
               "marked as fully coded on the Coding page, where a turn they left without a code "
               "counts as \"none of the codes\". Turns only one of them worked on compare "
               "nobody.")
    _coverage(ctx, chosen)
    return project_agreement(ctx.store, book, chosen, common)


def _coverage(ctx: Context, coders: list[str]) -> None:
    """Which turns the figures rest on, per transcript and coder."""
    from qualkit.agreement.project import coverage_table

    rows = [{"transcript": c.transcript, "coder": c.coder, "turns worked on": c.turns,
             "of": c.of, "marked fully coded": "yes" if c.marked else ""}
            for c in coverage_table(ctx.store, coders)]
    with st.expander(f"What these figures rest on: {len(rows)} transcript and coder pairs"):
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                     key="agr_coverage")


def _upload_rows() -> list[TableRow] | None:
    from qualkit.codedtable import read_table_rows

    upload = st.file_uploader("Coded-segments table (.csv or .xlsx) with a coder column",
                              type=["csv", "xlsx"], key="agr_upload")
    if upload is None:
        st.info("Upload a coded-segments table (columns document, segment, speaker, text, "
                "codes and coder: one row per segment and coder), e.g. one exported from "
                "another project with `qualkit export table`.")
        return None
    from qualkit.fileio import save_upload

    with tempfile.TemporaryDirectory() as tmp:
        path = save_upload(tmp, upload.name, upload.getvalue())  # the name is never a path
        try:
            rows = read_table_rows(path)
        except QualkitError as exc:
            st.error(str(exc))
            return None
    coders = sorted({r.coder for r in rows})
    if len(coders) < 2:
        st.info(f"This table has {'no coder column' if coders == [''] else 'one coder'}: "
                "agreement needs rows by two or more coders (a `coder` column naming who "
                "coded each row).")
        return None
    chosen = st.multiselect("Coders to compare", coders, default=coders, key="agr_up_coders")
    if len(chosen) < 2:
        st.info("Choose at least two coders to compare.")
        return None
    return [r for r in rows if r.coder in chosen]


def _jump(codes: list[str], disputed: set[str]) -> None:
    """A row selected in the per-code table shows that code's disagreements."""
    rows = st.session_state["agr_table"].selection.rows
    if rows and codes[rows[0]] in disputed:
        st.session_state["agr_code"] = codes[rows[0]]


def _show(report: AgreementReport, book: Codebook | None) -> None:
    label = _labeller(book)
    disputed = disagreement_counts(report, book)
    st.caption(f"{len(report.coders)} coders ({', '.join(report.coders)}); {report.units} "
               "segments coded by two or more of them"
               + (f"; {report.single_coded} coded by one only, left out"
                  if report.single_coded else "")
               + (". Each code counts only in the turns of the speakers it applies to (the "
                  "codebook's speakers), so the interviewer's turns do not count as agreement"
                  if book else ". Every turn counts for every code")
               + "; undefined figures (a code nobody applied) are empty. Formulas: "
                 "docs/agreement.md.")
    if report.unknown_codes:
        st.warning("Codes not in the codebook, left out: " + ", ".join(report.unknown_codes))
    if report.groups:
        st.subheader("Exclusive parents")
        st.caption("Each exclusive parent's children as the categories of one variable: which "
                   "of them did each coder choose for a segment.")
        st.dataframe(group_table(report, label), hide_index=True, width="stretch")
    st.subheader("Per code")
    st.caption("Applied or not, per segment and coder (a theme counts any code under it). "
               f"{UNDEFINED} marks a figure that is not defined for these segments (for "
               "example, kappa when every segment was coded the same way by everyone). "
               "Select a row to see the disagreements on that code.")
    st.dataframe(code_table(report, label, disputed), hide_index=True, width="stretch",
                 key="agr_table", on_select=partial(_jump, list(report.codes), set(disputed)),
                 selection_mode="single-row")
    if len(report.coders) > 2:
        with st.expander("Cohen's kappa for every pair of coders"):
            st.dataframe(pair_table(report, label), hide_index=True, width="stretch")

    st.subheader(f"Disagreements ({len(report.disagreements)} of {report.units} segments)")
    options = [ALL_CODES] + list(disputed)
    if st.session_state.get("agr_code") not in options:  # other coders, other disagreements
        st.session_state["agr_code"] = ALL_CODES
    code = st.selectbox("Show the disagreements on", options, key="agr_code",
                        format_func=lambda c: c if c == ALL_CODES
                        else f"{label(c)} ({disputed[c]})")
    table = disagreement_table(report, label, None if code == ALL_CODES
                               else disagreements_on(report, code, book))
    if table.empty:
        st.success("The coders agree on every segment.")
    else:
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={"text": st.column_config.TextColumn(width="large")})
    st.download_button("Download every figure (JSON)",
                       json.dumps(report_to_dict(report), indent=2, ensure_ascii=False),
                       file_name="agreement.json", mime="application/json")


def render() -> None:
    ctx = load_context()
    st.title("Agreement")
    show_flash()
    st.caption("How far coders agree on the same segments: Cohen's kappa for each pair, "
               "percent agreement, Krippendorff's alpha and Fleiss' kappa, per code and per "
               "exclusive parent, and the segments to discuss.")
    if ctx.blind:
        st.info("Blind coding is on, and this page shows every coder's decisions. Turn blind "
                "coding off in the sidebar to compare coders.")
        return
    source = st.radio("Compare", [PROJECT, UPLOAD], horizontal=True, key="agr_source")
    book = ctx.codebook
    # Each code counts only in its speakers' turns, as in `qualkit agreement`.
    if source == PROJECT:
        report = _project_report(ctx, book)
    else:
        rows = _upload_rows()
        if rows is not None and book is not None and not st.toggle(
                "Use the project's codebook (themes and exclusive parents)", value=True,
                key="agr_use_book"):
            book = None
        from qualkit.agreement.project import rows_agreement

        report = rows_agreement(rows, book) if rows is not None else None
    if report is None:
        return
    if report.units == 0:
        st.info("No segment was coded by two or more of the chosen coders: choose coders who "
                "coded the same transcripts.")
        return
    _show(report, book)
