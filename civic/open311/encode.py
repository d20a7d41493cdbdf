"""JSON and XML bodies with the spec's shapes: top-level arrays in JSON, named roots and children in XML.

A document is plain data (dicts, lists, str, numbers, bools, None, aware datetimes). JSON lists are
top-level arrays; in XML a list becomes its root (or parent) element with one child per entry, named
by CHILD below. Datetimes are W3C/ISO 8601 with the offset of Vietnam (+07:00).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from starlette.responses import Response

from civic.clock import LOCAL_TZ, as_utc

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'
# Characters XML 1.0 cannot carry at all.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# The element of each entry of a list, by the list's element name.
CHILD = {
    "services": "service",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
    "notes": "note",
    "keywords": "keyword",
}


def w3c(value: datetime | None) -> str | None:
    if value is None:
        return None
    return as_utc(value).astimezone(LOCAL_TZ).isoformat(timespec="seconds")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return w3c(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def to_json(document: Any) -> bytes:
    return json.dumps(_plain(document), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return w3c(value) or ""
    if isinstance(value, float) and value.is_integer():
        return repr(value)
    return escape(_NOT_XML.sub("", str(value)))


def _element(name: str, value: Any, out: list[str]) -> None:
    if isinstance(value, dict):
        out.append(f"<{name}>")
        for key, child in value.items():
            _element(key, child, out)
        out.append(f"</{name}>")
    elif isinstance(value, list | tuple):
        child = CHILD.get(name, "item")
        out.append(f"<{name}>")
        for entry in value:
            _element(child, entry, out)
        out.append(f"</{name}>")
    else:
        text = _text(value)
        out.append(f"<{name}>{text}</{name}>" if text else f"<{name}/>")


def to_xml(root: str, document: Any) -> bytes:
    out = [XML_DECLARATION]
    _element(root, document, out)
    return "".join(out).encode("utf-8")


def respond(fmt: str, root: str, document: Any, status: int = 200) -> Response:
    """`document` in the asked format; `root` names the XML root (a list's root, or an object's)."""
    if fmt == "json":
        return Response(to_json(document), status_code=status, media_type=JSON_TYPE)
    return Response(to_xml(root, document), status_code=status, media_type=XML_TYPE)
