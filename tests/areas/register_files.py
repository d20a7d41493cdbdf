"""Register files for the tests: CSV and XLSX bytes built the way offices make them."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from typing import Any

from openpyxl import Workbook

from civic.areas.rules import HEADERS_VI

HEADERS_EN = ["Village", "Household code", "Head of household", "Address", "Phone", "Joined", "Left"]


def csv_bytes(rows: list[list[Any]], header: list[str] | None = None, *, encoding: str = "utf-8",
              delimiter: str = ",") -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header or HEADERS_VI)
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


def workbook(rows: list[list[Any]], header: list[str] | None = None) -> tuple[Workbook, Any]:
    wb = Workbook()
    ws = wb.active
    ws.append(header or HEADERS_VI)
    for row in rows:
        ws.append(row)
    return wb, ws


def xlsx_bytes(rows: list[list[Any]], header: list[str] | None = None) -> bytes:
    wb, _ws = workbook(rows, header)
    return save(wb)


def save(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def with_cached_values(data: bytes, values: dict[str, str]) -> bytes:
    """An XLSX whose formula cells (by reference, e.g. "B3") carry a saved value, as Excel saves them
    (openpyxl writes formulas without one)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = body.decode()
                for ref, value in values.items():
                    text = re.sub(rf'<c r="{ref}"([^>]*)><f>(.*?)</f><v\s*/?>(?:</v>)?',
                                  rf'<c r="{ref}" t="str"><f>\2</f><v>{value}</v>', text)
                    text = re.sub(rf'<c r="{ref}"([^>]*)><f>(.*?)</f></c>',
                                  rf'<c r="{ref}" t="str"><f>\2</f><v>{value}</v></c>', text)
                body = text.encode()
            dst.writestr(info, body)
    return out.getvalue()


def cp1258(text: str) -> bytes:
    """Text as Windows-1258 saves it: base letters (ô, ơ, ư, ă, đ) precomposed, tone marks combining."""
    import unicodedata

    out = []
    for ch in unicodedata.normalize("NFD", text):
        out.append(ch)
    composed = []
    for ch in out:  # join a vowel with its circumflex, breve or horn; tone marks stay combining
        if ch in "\u0302\u0306\u031b" and composed:
            base = composed.pop()
            tones = ""
            while base in "\u0300\u0301\u0303\u0309\u0323" and composed:
                tones, base = base + tones, composed.pop()
            composed.append(unicodedata.normalize("NFC", base + ch) + tones)
        else:
            composed.append(ch)
    return "".join(composed).encode("cp1258")
