"""Theme summary reports: ``build`` gathers a plain ``model.Report`` from a project, ``render``
lays it out as Markdown, HTML or Word with ``charts``, ``write`` writes the files."""

from .build import INCLUDE_CHOICES, build_report
from .model import Report
from .write import check_output, write_report

__all__ = ["INCLUDE_CHOICES", "Report", "build_report", "check_output", "write_report"]
