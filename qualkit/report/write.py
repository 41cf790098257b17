"""Writing a report: the format from the file name, checks before any work, atomic files."""

from __future__ import annotations

from pathlib import Path

from ..errors import QualkitError
from .model import Report

FORMATS = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".docx": "docx"}


def report_format(output: Path, fmt: str | None) -> str:
    """The format asked for, else the one the output file's suffix names."""
    if fmt is not None:
        if fmt.lower() not in ("md", "html", "docx"):
            raise QualkitError(f"unknown format {fmt!r}", field="--format",
                               hint="use md, html or docx")
        return fmt.lower()
    found = FORMATS.get(output.suffix.lower())
    if found is None:
        raise QualkitError("cannot tell the report format from the file name", path=str(output),
                           field="--output", hint="name the file .md, .html or .docx, or pass "
                                                  "--format md|html|docx")
    return found


def check_output(output: str | Path, fmt: str | None = None) -> str:
    """The report format, after checking the output can be a file: fail before any work."""
    path = Path(output)
    kind = report_format(path, fmt)
    if path.is_dir():
        raise QualkitError("is a folder", path=str(path), field="--output",
                           hint="give a file name such as report." + kind)
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise QualkitError(f"cannot write the report: {parent} is a file, not a folder",
                                   path=str(path), field="--output",
                                   hint="choose a folder you can write to")
            break
    return kind


def write_report(report: Report, output: str | Path, fmt: str | None = None) -> list[Path]:
    """Render the charts and write the report atomically; Markdown's charts go into a
    ``NAME_files/`` folder beside it. Returns the files written."""
    from ..fileio import atomic_write_bytes, atomic_write_text
    from .charts import report_charts
    from .render import render_docx, render_html, render_markdown

    path = Path(output)
    kind = check_output(path, fmt)
    charts = report_charts(report)
    try:
        if kind == "html":
            return [atomic_write_text(path, render_html(report, charts))]
        if kind == "docx":
            return [atomic_write_bytes(path, render_docx(report, charts))]
        folder = path.with_name(path.stem + "_files")
        written = [atomic_write_bytes(folder / f"{c.name}.png", c.png) for c in charts]
        text = render_markdown(report, charts, folder.name)
        return [atomic_write_text(path, text), *written]
    except OSError as exc:
        raise QualkitError(f"cannot write the report: {exc.strerror or exc}", path=str(path),
                           field="--output", hint="choose a folder you can write to") from None
