"""Agreement between coders: textbook statistics and a report over a coded-segments table.

Pure functions over plain Python values, so the same numbers come out of the CLI, the app, the
evaluation and the benchmarks. Formulas, references and the treatment of units and missing
values are in docs/agreement.md.

- ``cohen_kappa`` (Cohen 1960): two coders, nominal categories, chance from each coder's own
  marginals.
- ``fleiss_kappa`` (Fleiss 1971): any fixed number of coders per unit.
- ``krippendorff_alpha_nominal`` (Krippendorff 2011): any number of coders, missing values
  allowed, through the coincidence matrix.
- ``percent_agreement``: the share of agreeing coder pairs per unit, averaged over units.
- ``agreement_report``: all of the above per code (presence/absence) and per exclusive parent
  (multi-class over its children) from coded-segments table rows, plus the units to discuss.
- ``disagreements_on`` / ``disagreement_counts``: the units to discuss for one code (a theme:
  any code under it), and how many there are per code.
- ``span_overlap_agreement``: character overlap (Dice) of hand-drawn spans, per code.

``None`` always means "no value" (missing). Statistics that are undefined (no units, or a single
category throughout so chance agreement is 1) return ``float('nan')``, except ``cohen_kappa``,
which returns 1.0 by default (see its docstring). This module imports nothing from qualkit at
run time; the qualkit types appear in annotations only.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: agreement imports nothing from qualkit when it runs
    from ..codedtable import TableRow
    from ..model import Codebook, Coding

NAN = float("nan")

Value = Hashable  # a category (str, bool, int, ...); None means missing


# --------------------------------------------------------------------------------------------
# Coefficients


def cohen_kappa(a: Sequence[Value | None], b: Sequence[Value | None],
                undefined: float = 1.0) -> float:
    """Cohen's kappa for two coders' nominal categories over the same units.

    kappa = (p_o - p_e) / (1 - p_e): p_o is the share of units on which they agree, p_e the
    agreement expected by chance from each coder's own category shares (Cohen 1960). Units where
    either coder has no value (None) are left out (pairwise deletion).

    When there are no units or p_e is 1 (both coders used one and the same category throughout)
    kappa is 0/0. ``undefined`` is then returned, like scikit-learn's ``replace_undefined_by``;
    scikit-learn's default is NaN, qualkit's is 1.0 (the coders agree completely), so that
    ``qualkit.evaluate`` keeps writing finite JSON. Pass ``undefined=float('nan')`` to get
    scikit-learn's default.
    """
    if len(a) != len(b):
        raise ValueError(f"both coders must code the same units ({len(a)} vs {len(b)} values)")
    pairs = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
    n = len(pairs)
    if n == 0:
        return undefined
    agree = sum(x == y for x, y in pairs)
    count_a = Counter(x for x, _ in pairs)
    count_b = Counter(y for _, y in pairs)
    chance = sum(m * count_b[k] for k, m in count_a.items())  # p_e * n^2, an exact integer
    if chance == n * n:
        return undefined
    # (p_o - p_e) / (1 - p_e) with both scaled by n^2, so the division happens once.
    return (n * agree - chance) / (n * n - chance)


def fleiss_kappa(units: Sequence[Sequence[Value]], undefined: float = NAN) -> float:
    """Fleiss' kappa: each unit rated by the same number of coders (Fleiss 1971).

    Each inner list holds one unit's categories, one per rating; who gave which rating does not
    matter. Raises ValueError when units have different numbers of ratings or a missing value
    (use ``krippendorff_alpha_nominal`` for incomplete data). Returns ``undefined`` when there
    are no units or every rating is the same category (P_e = 1).
    """
    if not units:
        return undefined
    n = len(units[0])
    if n < 2:
        raise ValueError("Fleiss' kappa needs at least two ratings per unit")
    totals: Counter[Value] = Counter()
    agreeing_pairs = 0  # sum over units and categories of n_ij * (n_ij - 1)
    for i, unit in enumerate(units):
        if len(unit) != n:
            raise ValueError(
                f"unit {i} has {len(unit)} ratings but unit 0 has {n}: Fleiss' kappa needs the "
                "same number of ratings per unit; use krippendorff_alpha_nominal for unequal "
                "counts or missing values")
        if any(v is None for v in unit):
            raise ValueError(f"unit {i} has a missing rating (None): Fleiss' kappa needs every "
                             "rating; use krippendorff_alpha_nominal for missing values")
        counts = Counter(unit)
        totals.update(counts)
        agreeing_pairs += sum(m * (m - 1) for m in counts.values())
    N = len(units)
    p_bar = agreeing_pairs / (N * n * (n - 1))
    squares = sum(t * t for t in totals.values())
    if squares == (N * n) ** 2:
        return undefined
    p_e = squares / (N * n) ** 2
    return (p_bar - p_e) / (1.0 - p_e)


def krippendorff_alpha_nominal(units: Sequence[Sequence[Value | None]],
                               undefined: float = NAN) -> float:
    """Krippendorff's alpha for nominal data, missing values allowed (Krippendorff 2011).

    Each inner list holds one unit's values (None for a coder who gave none). Units with fewer
    than two values cannot be paired and are dropped. alpha = 1 - D_o / D_e from the coincidence
    matrix. Returns ``undefined`` when fewer than two pairable values exist or all of them are
    one category (D_e = 0); the ``krippendorff`` package raises an error there instead.
    """
    coincidences: defaultdict[tuple[Value, Value], float] = defaultdict(float)
    for unit in units:
        values = [v for v in unit if v is not None]
        m = len(values)
        if m < 2:
            continue
        counts = Counter(values)
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                coincidences[c, k] += n_c * (n_k - (c == k)) / (m - 1)
    totals: defaultdict[Value, float] = defaultdict(float)
    for (c, _), weight in coincidences.items():
        totals[c] += weight
    n = sum(totals.values())
    disagreeing = sum(w for (c, k), w in coincidences.items() if c != k)  # D_o * n
    expected = n * n - sum(t * t for t in totals.values())  # D_e * n * (n - 1)
    if n < 2 or expected <= 1e-9 * max(n * n, 1.0):
        return undefined
    return 1.0 - (n - 1) * disagreeing / expected


def percent_agreement(units: Sequence[Sequence[Value | None]], undefined: float = NAN) -> float:
    """Share of agreeing coder pairs within each unit, averaged over units with two or more
    values (None is missing). With two coders this is the plain share of agreeing units."""
    shares = []
    for unit in units:
        values = [v for v in unit if v is not None]
        m = len(values)
        if m < 2:
            continue
        agreeing = sum(c * (c - 1) for c in Counter(values).values())
        shares.append(agreeing / (m * (m - 1)))
    return sum(shares) / len(shares) if shares else undefined


# --------------------------------------------------------------------------------------------
# Report over a coded-segments table


@dataclass
class PairKappa:
    """Cohen's kappa of one pair of coders over the units both gave a value for."""

    coder_a: str
    coder_b: str
    kappa: float
    units: int


@dataclass
class AgreementStats:
    """The statistics shared by a code (presence/absence) and an exclusive parent (multi-class).

    ``units`` are the units with values from two or more coders; Fleiss' kappa uses only the
    ``fleiss_units`` where every coder gave a value; the pairwise summary skips undefined (NaN)
    pairs.
    """

    units: int
    percent_agreement: float
    fleiss_kappa: float
    fleiss_units: int
    krippendorff_alpha: float
    pairs: list[PairKappa]
    kappa_min: float
    kappa_max: float
    kappa_mean: float


@dataclass(kw_only=True)
class CodeAgreement(AgreementStats):
    """Presence/absence of one code per unit and coder; ``applied``: units where at least one
    coder applied it (for a theme: it or any code below it)."""

    code: str
    applied: int


@dataclass(kw_only=True)
class GroupAgreement(AgreementStats):
    """An exclusive parent's children as the categories of one multi-class variable.

    ``units`` is the support: units where two or more coders applied one of the children.
    ``multi_coded`` counts (unit, coder) values naming several children (kept as one combined
    category such as "question+reflection").
    """

    parent: str
    categories: list[str]
    multi_coded: int

    @property
    def support(self) -> int:
        return self.units


@dataclass
class Disagreement:
    """A unit the coders coded differently, for discussion and resolution."""

    document: str
    segment: int
    speaker: str
    text: str
    codes: dict[str, list[str]]  # coder -> codes they applied ([] for none)
    differing: list[str]  # codes applied by some of this unit's coders but not all


@dataclass
class AgreementReport:
    """Everything ``agreement_report`` found: per code, per exclusive parent, and the units to
    discuss."""

    coders: list[str]
    units: int  # (document, segment) pairs coded by two or more coders
    single_coded: int  # units coded by one coder only: left out of every statistic
    codes: dict[str, CodeAgreement]
    groups: dict[str, GroupAgreement]
    disagreements: list[Disagreement]
    unknown_codes: list[str] = field(default_factory=list)  # seen in the rows, not in codebook


def _natural(text: str) -> tuple[tuple[int, Any], ...]:
    """Sort key putting "coder2" before "coder10" and document "7" before "27"."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", text) if p)


def _finite(values: Iterable[float]) -> list[float]:
    return [v for v in values if not math.isnan(v)]


def _stats(matrix: list[list[Value | None]], coders: list[str]) -> dict[str, Any]:
    """Every statistic over a units x coders matrix (None where a coder gave no value)."""
    pairs = []
    for i, j in combinations(range(len(coders)), 2):
        a = [row[i] for row in matrix]
        b = [row[j] for row in matrix]
        shared = sum(x is not None and y is not None for x, y in zip(a, b))
        if shared:
            pairs.append(PairKappa(coders[i], coders[j], cohen_kappa(a, b, undefined=NAN),
                                   shared))
    kappas = _finite(p.kappa for p in pairs)
    complete = [row for row in matrix if all(v is not None for v in row)]
    return dict(
        units=sum(sum(v is not None for v in row) >= 2 for row in matrix),
        percent_agreement=percent_agreement(matrix),
        fleiss_kappa=fleiss_kappa(complete) if len(coders) >= 2 else NAN,
        fleiss_units=len(complete),
        krippendorff_alpha=krippendorff_alpha_nominal(matrix),
        pairs=pairs,
        kappa_min=min(kappas) if kappas else NAN,
        kappa_max=max(kappas) if kappas else NAN,
        kappa_mean=sum(kappas) / len(kappas) if kappas else NAN,
    )


def agreement_report(rows: Iterable[TableRow], codebook: Codebook | None = None,
                     in_scope: Callable[[str, str], bool] | None = None) -> AgreementReport:
    """Agreement between the coders of a coded-segments table.

    A unit is a (document, segment) pair; a row means its coder coded that segment (empty
    ``codes``: none of the codes; several rows by one coder for one segment are merged). Units
    coded by fewer than two coders are left out. Per code (every code in the codebook, else every
    code seen): presence/absence per unit and coder. Per exclusive parent: its children as one
    multi-class variable, missing for a coder who applied none of them.

    ``in_scope(code_id, speaker)``, if given, limits each code's (and exclusive parent's) units to
    the turns it can apply to, so other speakers' turns do not count as agreed absences; the
    caller decides how speakers map to a codebook's speaker scope. Disagreements are unaffected.
    """
    coded: dict[tuple[str, int], dict[str, set[str]]] = {}
    info: dict[tuple[str, int], tuple[str, str]] = {}
    for row in rows:
        key = (row.document, row.segment)
        coded.setdefault(key, {}).setdefault(row.coder, set()).update(row.codes)
        info.setdefault(key, (row.speaker, row.text))
    keys = sorted((k for k, by in coded.items() if len(by) >= 2),
                  key=lambda k: (_natural(k[0]), k[1]))
    coders = sorted({c for k in keys for c in coded[k]}, key=_natural)
    seen = sorted({code for k in keys for codes in coded[k].values() for code in codes},
                  key=_natural)

    if codebook is not None:
        # each code with the ids below it: a theme counts as applied when any of them is
        members = {code.id: {c.id for c in code.subtree()} for code in codebook.all_codes()}
        code_ids = codebook.ids()
        unknown = [c for c in seen if c not in members]
    else:
        members = {c: {c} for c in seen}
        code_ids = seen
        unknown = []
    order = {c: i for i, c in enumerate(code_ids)}

    def ordered(codes: Iterable[str]) -> list[str]:
        return sorted(codes, key=lambda c: (order.get(c, len(order)), _natural(c)))

    codes: dict[str, CodeAgreement] = {}
    # Codes in scope for the same speakers share their units: worked out once per pattern of
    # speakers, not per code and unit (a codebook may have thousands of codes).
    speakers = sorted({info[k][0] for k in keys})
    by_pattern: dict[tuple[bool, ...], list[tuple[str, int]]] = {}

    def scoped(code: str) -> list[tuple[str, int]]:
        if in_scope is None:
            return keys
        pattern = tuple(in_scope(code, speaker) for speaker in speakers)
        if pattern not in by_pattern:
            allowed = {s for s, ok in zip(speakers, pattern) if ok}
            by_pattern[pattern] = [k for k in keys if info[k][0] in allowed]
        return by_pattern[pattern]

    applied_anywhere = set(seen)
    absent: dict[int, dict[str, Any]] = {}  # a code nobody applied: the same figures per scope
    for code in code_ids:
        ids = members[code]
        units = scoped(code)
        if not ids & applied_anywhere:
            if id(units) not in absent:
                absent[id(units)] = _stats([[False if c in coded[k] else None for c in coders]
                                            for k in units], coders)
            same = absent[id(units)]
            codes[code] = CodeAgreement(code=code, applied=0,
                                        **{**same, "pairs": list(same["pairs"])})
            continue
        matrix: list[list[Value | None]] = [
            [bool(coded[k][c] & ids) if c in coded[k] else None for c in coders]
            for k in units]
        applied = sum(any(v for v in row) for row in matrix)
        codes[code] = CodeAgreement(code=code, applied=applied, **_stats(matrix, coders))

    groups: dict[str, GroupAgreement] = {}
    if codebook is not None:
        for parent in codebook.all_codes():
            if not (parent.exclusive and parent.children):
                continue
            kids = [child.id for child in parent.children]
            multi = 0
            matrix = []
            for k in scoped(parent.id):
                unit: list[Value | None] = []
                for c in coders:
                    if c not in coded[k]:
                        unit.append(None)
                        continue
                    chosen = [kid for kid in kids if coded[k][c] & members[kid]]
                    multi += len(chosen) > 1
                    unit.append("+".join(chosen) if chosen else None)
                matrix.append(unit)
            groups[parent.id] = GroupAgreement(parent=parent.id, categories=kids,
                                               multi_coded=multi, **_stats(matrix, coders))

    disagreements = []
    for k in keys:
        by_coder = coded[k]
        sets = list(by_coder.values())
        differing = set.union(*sets) - sets[0].intersection(*sets[1:])
        if differing:
            speaker, text = info[k]
            disagreements.append(Disagreement(
                document=k[0], segment=k[1], speaker=speaker, text=text,
                codes={c: ordered(by_coder[c]) for c in sorted(by_coder, key=_natural)},
                differing=ordered(differing)))

    return AgreementReport(coders=coders, units=len(keys), single_coded=len(coded) - len(keys),
                           codes=codes, groups=groups, disagreements=disagreements,
                           unknown_codes=unknown)


def differs_on(disagreement: Disagreement, ids: Iterable[str]) -> bool:
    """Some of the unit's coders applied one of ``ids`` and others none of them."""
    wanted = set(ids)
    return len({bool(wanted.intersection(codes))
                for codes in disagreement.codes.values()}) > 1


def disagreements_on(report: AgreementReport, code: str,
                     codebook: Codebook | None = None) -> list[Disagreement]:
    """The units whose coders differ on ``code``: some applied it and others did not. With a
    codebook, a theme counts as applied where any code under it is, as in the per-code
    figures; without one (or for a code it lacks) the id stands for itself."""
    ids = codebook.members(code) if codebook is not None else {code}
    return [d for d in report.disagreements if differs_on(d, ids)]


def disagreement_counts(report: AgreementReport,
                        codebook: Codebook | None = None) -> dict[str, int]:
    """For each code of the report (in its order) with any, how many units its coders differ
    on (``disagreements_on``); codes the coders agree on everywhere are left out."""
    members = {code: codebook.members(code) if codebook is not None else {code}
               for code in report.codes}
    counts = {code: sum(differs_on(d, ids) for d in report.disagreements)
              for code, ids in members.items()}
    return {code: n for code, n in counts.items() if n}


# --------------------------------------------------------------------------------------------
# Hand-drawn spans


@dataclass
class SpanAgreement:
    """Characters one code covers for coder A, for coder B and for both; Dice = F1 of B
    against A (symmetric): 2 * both / (A + B)."""

    code: str
    chars_a: int
    chars_b: int
    chars_both: int
    dice: float


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union of half-open ranges, so a passage coded twice by one coder counts once."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        elif end > start:
            out.append((start, end))
    return out


def _overlap(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> int:
    i = j = total = 0
    while i < len(a) and j < len(b):
        total += max(0, min(a[i][1], b[j][1]) - max(a[i][0], b[j][0]))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


def span_overlap_agreement(codings_a: Iterable[Coding],
                           codings_b: Iterable[Coding]) -> dict[str, SpanAgreement]:
    """Per code, how far two coders' spans cover the same characters (same code, same
    transcript). Rejected codings are left out: a rejection says the code does not apply."""
    spans: dict[str, dict[tuple[str, str], list[tuple[int, int]]]] = {"a": {}, "b": {}}
    for side, codings in (("a", codings_a), ("b", codings_b)):
        for c in codings:
            if c.status == "rejected":
                continue
            spans[side].setdefault((c.code_id, c.transcript), []).append((c.start, c.end))
    totals: dict[str, list[int]] = {}
    for key in set(spans["a"]) | set(spans["b"]):
        a = _merged(spans["a"].get(key, []))
        b = _merged(spans["b"].get(key, []))
        t = totals.setdefault(key[0], [0, 0, 0])
        t[0] += sum(e - s for s, e in a)
        t[1] += sum(e - s for s, e in b)
        t[2] += _overlap(a, b)
    return {code: SpanAgreement(code, a, b, both, 2 * both / (a + b) if a + b else NAN)
            for code, (a, b, both) in sorted(totals.items(), key=lambda kv: _natural(kv[0]))}


# --------------------------------------------------------------------------------------------
# Output


def _json_ready(value: Any) -> Any:
    """NaN (undefined statistic) becomes None, so the result is strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    return value


def report_to_dict(report: AgreementReport) -> dict[str, Any]:
    """The report as plain JSON-ready data; undefined statistics are null."""
    data = asdict(report)
    data["codes"] = {name: {"code": c.code, "applied": c.applied, **asdict(c)}
                     for name, c in report.codes.items()}
    data["groups"] = {name: {"parent": g.parent, "categories": list(g.categories),
                             "support": g.support, "multi_coded": g.multi_coded, **asdict(g)}
                      for name, g in report.groups.items()}
    return _json_ready(data)


def _num(value: float, digits: int = 3) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]

    def fmt(cells: list[str]) -> str:  # first column left-aligned, numbers right-aligned
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths)))

    return [fmt(header), "  ".join("-" * w for w in widths)] + [fmt(r) for r in rows]


def format_report(report: AgreementReport, max_disagreements: int = 10) -> str:
    """A plain-text summary for the terminal: coefficients per exclusive parent and per code,
    then the first disagreements."""
    lines = [f"Coders: {len(report.coders)} ({', '.join(report.coders)})",
             f"Units coded by two or more coders: {report.units}"
             + (f" ({report.single_coded} coded by one coder left out)"
                if report.single_coded else "")]
    if report.unknown_codes:
        lines.append("Codes not in the codebook (ignored): " + ", ".join(report.unknown_codes))
    head = ["units", "%agree", "kappa min", "mean", "max", "Fleiss", "(units)", "alpha"]

    def cells(s: AgreementStats) -> list[str]:
        return [str(s.units), _num(100 * s.percent_agreement, 1), _num(s.kappa_min),
                _num(s.kappa_mean), _num(s.kappa_max), _num(s.fleiss_kappa), str(s.fleiss_units),
                _num(s.krippendorff_alpha)]

    if report.groups:
        lines += ["", "Exclusive parents (one category per unit among the children; "
                      "kappa = pairwise Cohen)"]
        lines += _table(["parent"] + head,
                        [[g.parent] + cells(g) for g in report.groups.values()])
    if report.codes:
        lines += ["", "Codes (applied or not per unit)"]
        lines += _table(["code", "applied"] + head,
                        [[c.code, str(c.applied)] + cells(c) for c in report.codes.values()])
    lines += ["", f"Disagreements: {len(report.disagreements)} of {report.units} units"]
    for d in report.disagreements[:max_disagreements]:
        text = " ".join(d.text.split())
        text = text if len(text) <= 70 else text[:67] + "..."
        lines.append(f"  {d.document} #{d.segment} {d.speaker}: {text}")
        lines.append(f"    differ on: {', '.join(d.differing)}")
        lines.append("    " + " | ".join(f"{c}: {';'.join(codes) or '(none)'}"
                                         for c, codes in d.codes.items()))
    if len(report.disagreements) > max_disagreements:
        lines.append(f"  ... {len(report.disagreements) - max_disagreements} more "
                     "(all of them with --json FILE)")
    return "\n".join(lines)
