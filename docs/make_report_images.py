"""Page images of the Word theme report, from the sample project, as LibreOffice renders it.

    python docs/make_report_images.py        # writes docs/report-page1.png to report-page3.png

Builds the sample project with rule suggestions, makes decisions as two coders ("Researcher"
on every transcript, "Assistant" double-coding four of them; every fifth and third suggestion
rejected respectively) so the report has accepted codings and agreement figures, writes the
.docx through `qualkit report`, converts it with `soffice --headless --convert-to pdf` and
rasterises the first pages with `pdftoppm`. The figures illustrate the layout; the decisions
are scripted, not a researcher's.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from qualkit import review  # noqa: E402
from qualkit.pipeline import code_project, import_paths  # noqa: E402
from qualkit.project import init_project  # noqa: E402

PAGES = 3  # overview table, charts, the first theme with its extracts
DOUBLE_CODED = 4  # transcripts the second coder also decides on


def build(root: Path) -> None:
    """The sample project with scripted decisions by two coders."""
    project = init_project(root, REPO / "codebooks" / "keyworker.yaml", "Researcher")
    import_paths(project, [REPO / "sample_transcripts"], "Researcher")
    code_project(project, actor="Researcher", suggesters=("rules",))
    store = project.store
    second = set(store.transcript_names()[:DOUBLE_CODED])
    for i, sug in enumerate(store.codings(status="suggested")):
        if i % 5 == 4:
            review.reject(store, sug.id, "Researcher")
        else:
            review.accept(store, sug.id, "Researcher")
        if sug.transcript in second:
            if i % 3 == 2:
                review.reject(store, sug.id, "Assistant")
            else:
                review.accept(store, sug.id, "Assistant")
    project.close()


def main() -> None:
    from typer.testing import CliRunner

    from qualkit.cli import app

    for tool in ("soffice", "pdftoppm"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed (apt-get install libreoffice-writer poppler-utils)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "sample_project"
        build(root)
        docx = Path(tmp) / "report.docx"
        result = CliRunner().invoke(app, ["report", "-p", str(root), "-o", str(docx)])
        if result.exit_code:
            sys.exit(result.output)
        subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", tmp,
                        str(docx)], check=True, capture_output=True, timeout=300)
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", str(PAGES),
                        str(Path(tmp) / "report.pdf"), str(Path(tmp) / "page")], check=True)
        pages = sorted(Path(tmp).glob("page-*.png"))
        for n, page in enumerate(pages, start=1):
            target = REPO / "docs" / f"report-page{n}.png"
            shutil.copyfile(page, target)
            print("wrote", target)


if __name__ == "__main__":
    main()
