"""Exchange with other qualitative-analysis programs: REFI-QDA .qdpx projects and .qdc codebooks."""

from __future__ import annotations

from .refi import ExchangeError, QdpxContent, export_qdc, export_qdpx, read_qdc, read_qdpx

__all__ = ["ExchangeError", "QdpxContent", "export_qdc", "export_qdpx", "read_qdc", "read_qdpx"]
