"""Shared pieces of the REFI-QDA exchange: the error type, GUIDs, dates and safe XML parsing.

XML from other programs is parsed with defusedxml (no entity expansion, no external entities), and
element names are compared without their namespace, so the project namespace, the codebook
namespace, misspelt variants of either and no namespace at all are read the same way.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime

from ..errors import QualkitError

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
ORIGIN = "qualkit"

# Every GUID qualkit writes is a uuid5 of stable content in this namespace, so exporting the same
# project twice gives the same GUIDs (and a re-imported project exports identically).
GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://qualkit/refi-qda")

# Characters XML 1.0 cannot carry at all (even escaped); removed from names, notes, descriptions.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class ExchangeError(QualkitError):
    """A REFI-QDA file (.qdpx, .qde, .qdc) that cannot be read or written as given."""


def make_guid(kind: str, *parts: object) -> str:
    """A deterministic GUID for one thing of ``kind`` identified by ``parts``."""
    key = "\x1f".join([kind, *(str(p) for p in parts)])
    return str(uuid.uuid5(GUID_NAMESPACE, key))


def norm_guid(value: str | None) -> str:
    """GUIDs compare case-insensitively and with or without braces."""
    return (value or "").strip().strip("{}").lower()


def clean(text: str) -> str:
    """Text safe to put in XML 1.0."""
    return _XML_ILLEGAL.sub("", text)


def format_time(dt: datetime) -> str:
    """xsd:dateTime in UTC; microseconds kept when present so times round-trip exactly."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        text += f".{dt.microsecond:06d}"
    return text + "Z"


def parse_time(value: str | None) -> datetime | None:
    """xsd:dateTime as written by any tool (Z, offsets, fractions or none); naive means UTC."""
    if not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


# -- reading XML ------------------------------------------------------------------------------

def local(tag: object) -> str:
    """An element's name without its namespace ('' for comments and processing instructions)."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def children(element: ET.Element, name: str) -> Iterator[ET.Element]:
    for child in element:
        if local(child.tag) == name:
            yield child


def child(element: ET.Element, name: str) -> ET.Element | None:
    return next(children(element, name), None)


def child_text(element: ET.Element, name: str) -> str:
    found = child(element, name)
    return (found.text or "") if found is not None else ""


def comments(element: ET.Element) -> Iterator[str]:
    for item in element:
        if item.tag is ET.Comment:
            yield item.text or ""


def parse_xml(data: bytes, where: str, what: str) -> ET.Element:
    """Parse untrusted XML safely; every failure is an ExchangeError naming ``where``."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import DefusedXMLParser

    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        raise ExchangeError(f"the {what} is empty", path=where,
                            hint="export the project again from the other program")
    parser = DefusedXMLParser(target=ET.TreeBuilder(insert_comments=True), forbid_dtd=False,
                              forbid_entities=True, forbid_external=True)
    try:
        parser.feed(data)
        return parser.close()
    except DefusedXmlException as exc:
        raise ExchangeError(
            f"the {what} declares XML entities or external references ({type(exc).__name__}); "
            "qualkit refuses these because they can expand without bound (billion laughs) or "
            "read other files", path=where,
            hint="REFI-QDA files never need a DOCTYPE: remove it, or export the file again"
        ) from None
    except ET.ParseError as exc:
        line, column = getattr(exc, "position", (None, None))
        raise ExchangeError(f"the {what} is not well-formed XML ({exc})", path=where, line=line,
                            hint="the file is damaged or not REFI-QDA; export it again") from None
    except (LookupError, ValueError) as exc:  # an encoding expat cannot use (found by fuzzing)
        raise ExchangeError(f"the {what} declares an encoding qualkit cannot read "
                            f"({(str(exc).splitlines() or [type(exc).__name__])[0]})",
                            path=where, hint="REFI-QDA files are UTF-8: export it again") from None
