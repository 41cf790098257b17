"""qualkit: code interview transcripts against a YAML codebook, review machine suggestions,
compare coders and report themes.

The entry points a researcher scripting a study needs; each is loaded on first use, so
``import qualkit`` (and ``qualkit --help``) stays fast::

    import qualkit

    project = qualkit.init_project("study", codebook="keyworker")
    qualkit.import_paths(project, ["interviews/"], actor="ann")
    qualkit.code_project(project, actor="ann")
    for s in qualkit.review.pending(project.store, "ann"):
        qualkit.review.accept(project.store, s.id, "ann")
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# name -> module that defines it
_API = {
    "Project": "project", "init_project": "project", "open_project": "project",
    "load_codebook": "codebook", "bundled_codebooks": "bundled",
    "import_paths": "pipeline", "code_project": "pipeline",
    "review": "",
    "project_agreement": "agreement.project", "agreement_report": "agreement",
    "build_report": "report", "write_report": "report",
    "project_rows": "tables", "write_coded_table": "codedtable", "read_coded_table": "codedtable",
    "export_qdpx": "exchange", "export_qdc": "exchange",
    "QualkitError": "errors",
}
_RENAMED = {"bundled_codebooks": "codebooks"}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'qualkit' has no attribute {name!r}")
    if not _API[name]:
        value: Any = import_module(f".{name}", __name__)
    else:
        value = getattr(import_module(f".{_API[name]}", __name__), _RENAMED.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
