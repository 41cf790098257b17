"""Screenshots of every view of the app, from the real app on the sample project.

    python docs/make_screenshots.py        # writes docs/screenshots/*.png

Builds the sample project (rule suggestions), makes a few decisions as coder "Researcher"
(and, on some of the same suggestions, as "Assistant", for the agreement page), runs the topic
model, then opens each page in Debian's Chromium.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from qualkit import review  # noqa: E402
from qualkit.pipeline import code_project, import_paths  # noqa: E402
from qualkit.project import init_project  # noqa: E402
from tests.browser import browser_page, serve, set_coder  # noqa: E402

PAGES = [("queue", "Review queue"), ("search", "Search"), ("retrieval", "Retrieval"),
         ("codebook", "Codebook"), ("themes", "Themes"), ("agreement", "Agreement"),
         ("topics", "Topics"), ("project", "Project")]


def build(root: Path) -> None:
    project = init_project(root, REPO / "codebooks" / "keyworker.yaml", "Researcher")
    import_paths(project, [REPO / "sample_transcripts"], "Researcher")
    code_project(project, actor="Researcher", suggesters=("rules", "semantic"))
    for i, sug in enumerate(project.store.codings(status="suggested")[:120]):
        if i % 4 == 3:
            review.reject(project.store, sug.id, "Researcher")
        else:
            review.accept(project.store, sug.id, "Researcher")
        # A second coder double-codes the first 80 suggestions and disagrees on some.
        if i < 80:
            agree = i % 4 != 3
            if i % 7 == 0:
                agree = not agree
            (review.accept if agree else review.reject)(project.store, sug.id, "Assistant")
    from qualkit.topics import run_topics

    run_topics(project, actor="Researcher")
    project.close()


def main() -> None:
    out = REPO / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "sample"
        build(root)
        with serve(root, Path(tmp) / "app.log") as url, browser_page(1400, 1000) as page:
            page.goto(url)
            set_coder(page, "Researcher")
            page.wait_for_selector(".qk-tag")
            time.sleep(2)
            page.locator(".qk-tag.qk-accepted").first.scroll_into_view_if_needed()
            page.mouse.wheel(0, -200)
            time.sleep(1)
            page.screenshot(path=str(out / "coding.png"))
            print("wrote", out / "coding.png")
            for name, link in PAGES:  # clicks keep the session (and the coder's name)
                page.get_by_role("link", name=link).click()
                time.sleep(5)
                if name == "search":  # a search a researcher would make
                    page.get_by_role("textbox", name="Search for").fill("on my own")
                    page.get_by_role("button", name="Search", exact=True).click()
                    time.sleep(5)
                page.screenshot(path=str(out / f"{name}.png"))
                print("wrote", out / f"{name}.png")


if __name__ == "__main__":
    main()
