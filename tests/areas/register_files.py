"""Register files for the tests: CSV and XLSX bytes built the way offices make them."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date
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


def excel_like_xlsx(rows: list[list[Any]], header: list[str] | None = None) -> bytes:
    """A minimal workbook as Excel saves it: text in the shared strings table, numbers and date serials in
    cells (openpyxl writes inline strings, which it also reads several times slower). Dates are given as
    serial numbers with the built-in date format 14 (d/m/yyyy)."""
    from xml.sax.saxutils import escape

    strings: dict[str, int] = {}

    def col(i: int) -> str:
        name = ""
        i += 1
        while i:
            i, r = divmod(i - 1, 26)
            name = chr(65 + r) + name
        return name

    out = io.StringIO()
    table = [header or HEADERS_VI, *rows]
    width = max(len(row) for row in table)
    out.write('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
              '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              f'<dimension ref="A1:{col(width - 1)}{len(table)}"/><sheetData>')
    for r, row in enumerate(table, 1):
        out.write(f'<row r="{r}">')
        for c, value in enumerate(row):
            ref = f"{col(c)}{r}"
            if value is None or value == "":
                continue
            if isinstance(value, date):
                serial = (value - date(1899, 12, 30)).days
                out.write(f'<c r="{ref}" s="1"><v>{serial}</v></c>')
            elif isinstance(value, int | float):
                out.write(f'<c r="{ref}"><v>{value}</v></c>')
            else:
                index = strings.setdefault(str(value), len(strings))
                out.write(f'<c r="{ref}" t="s"><v>{index}</v></c>')
        out.write("</row>")
    out.write("</sheetData></worksheet>")
    shared = "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    files = {
        "[Content_Types].xml":
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="'
            '/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
            'sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
            'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/'
            'sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
            'sharedStrings+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.'
            'openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>',
        "_rels/.rels":
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            f'package/2006/relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" '
            f'Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml":
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
            f'<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels":
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            f'package/2006/relationships"><Relationship Id="rId1" Type="{rel}/worksheet" '
            f'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{rel}/sharedStrings" '
            f'Target="sharedStrings.xml"/><Relationship Id="rId3" Type="{rel}/styles" Target="styles.xml"/>'
            f'</Relationships>',
        "xl/styles.xml":
            f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{main}"><fonts count="1"><font>'
            f'<sz val="11"/><name val="Calibri"/></font></fonts><fills count="1"><fill><patternFill '
            f'patternType="none"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/>'
            f'<diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs>'
            f'<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/>'
            f'</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            f'</styleSheet>',
        "xl/sharedStrings.xml":
            f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{main}" count="{len(strings)}" '
            f'uniqueCount="{len(strings)}">{shared}</sst>',
        "xl/worksheets/sheet1.xml": out.getvalue(),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()
