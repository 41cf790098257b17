"""REFI-QDA exchange (https://www.qdasoftware.org): qualkit projects and codebooks to and from
NVivo, ATLAS.ti, MAXQDA, QualCoder and other programs.

- ``export_qdc(codebook, path)``: a codebook as a .qdc file (Codebook.xsd).
- ``export_qdpx(project, path, statuses=("accepted",))``: a project as a .qdpx archive
  (project.qde, Project.xsd, plus sources/<guid>.txt).
- ``read_qdc(path)``: a .qdc file as a qualkit ``Codebook``.
- ``read_qdpx(path)``: a .qdpx archive as ``QdpxContent`` (codebook, documents with codings,
  users, transcript memos, and what could not be imported).

Offsets are Unicode code points from 0, end exclusive: the same as ``Transcript.text[start:end]``.
The mapping, the Description format and the safety limits are described in docs/refi-qda.md.
"""

from __future__ import annotations

from .common import ExchangeError
from .reader import QdpxContent, read_qdc, read_qdpx
from .writer import export_qdc, export_qdpx

__all__ = ["ExchangeError", "QdpxContent", "export_qdc", "export_qdpx", "read_qdc", "read_qdpx"]
