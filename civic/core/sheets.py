"""Rows written to a write-only openpyxl sheet the same way everywhere: a bold header, dates as real
dates shown dd/mm/yyyy, and text that starts like a formula (= + - @) kept as text, so a spreadsheet never
runs what a person typed (OWASP: CSV/formula injection)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def header_cells(ws: Any, names: list[str]) -> list[Any]:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    bold = Font(bold=True)
    cells = []
    for name in names:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = bold
        cells.append(cell)
    return cells


def row_cells(ws: Any, row: list[Any]) -> list[Any]:
    from openpyxl.cell import WriteOnlyCell

    out: list[Any] = []
    for value in row:
        if isinstance(value, date):
            cell = WriteOnlyCell(ws, value=datetime(value.year, value.month, value.day))
            cell.number_format = "DD/MM/YYYY"
            out.append(cell)
        elif isinstance(value, str) and value[:1] in FORMULA_START:
            cell = WriteOnlyCell(ws, value=value)
            cell.data_type = "s"  # text a person typed is never a formula
            out.append(cell)
        else:
            out.append(value)
    return out
