"""The rows of each dataset, read in batches, and the CSV and XLSX writers that stream them.

Rows are plain lists (no ORM objects), read by id in batches of BATCH (keyset, never OFFSET), so exporting
a million rows holds one batch in memory at a time; the XLSX writer is openpyxl's write-only workbook,
which keeps its sheet in a temporary file."""

from __future__ import annotations

import codecs
import csv
import io
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.sql import Select
from sqlmodel import Session, col

from civic import clock
from civic.areas.models import Household, Village
from civic.core import sheets
from civic.deliberation.models import Decision
from civic.implementation.models import BudgetLine, Delivery, Pledge, Spending
from civic.items.models import Category, Item
from civic.reports.rules import columns

BATCH = 2000
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Filters:
    commune_id: int
    villages: frozenset[int] | None = None  # None: every village of the commune
    since: date | None = None  # local dates, both included
    until: date | None = None


def _bounds(f: Filters) -> tuple[datetime | None, datetime | None]:
    start = datetime.combine(f.since, time(), clock.LOCAL_TZ) if f.since else None
    end = datetime.combine(f.until + timedelta(days=1), time(), clock.LOCAL_TZ) if f.until else None
    return start, end


def _day(value: datetime | None) -> date | None:
    return clock.as_utc(value).astimezone(clock.LOCAL_TZ).date() if value is not None else None


def _where(query: Select, f: Filters, stamp: Any, *, is_date: bool = False) -> Select:
    # `commune_id + 0`: no index on the commune, so that the batches walk the table by id (keyset) rather
    # than every row of the commune sorted again for each batch.
    query = query.where((col(Item.commune_id) + 0) == f.commune_id)
    if f.villages is not None:
        query = query.where(col(Item.village_id).in_(sorted(f.villages)))
    if is_date:
        if f.since:
            query = query.where(stamp >= f.since)
        if f.until:
            query = query.where(stamp <= f.until)
    else:
        start, end = _bounds(f)
        if start:
            query = query.where(stamp >= start)
        if end:
            query = query.where(stamp < end)
    return query


def _batches(session: Session, query: Select, key: Any) -> Iterator[Sequence[Any]]:
    last = 0
    while True:
        rows = session.execute(query.where(key > last).order_by(key).limit(BATCH)).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]
        if len(rows) < BATCH:
            return


def _names(session: Session, commune_id: int) -> tuple[dict[int, str], dict[int, str]]:
    villages = dict(session.execute(select(col(Village.id), col(Village.name))
                                    .where(col(Village.commune_id) == commune_id)).tuples().all())
    categories = dict(session.execute(select(col(Category.id), col(Category.name_vi))
                                      .where(col(Category.commune_id) == commune_id)).tuples().all())
    return {k: v for k, v in villages.items() if k is not None}, \
        {k: v for k, v in categories.items() if k is not None}


def rows(session: Session, dataset: str, f: Filters, *, private: bool) -> Iterator[list[Any]]:
    """Every row of the dataset within the filters, as plain values in the order of rules.columns()."""
    return _READERS[dataset](session, f, private)


def _items(session: Session, f: Filters, private: bool) -> Iterator[list[Any]]:
    villages, categories = _names(session, f.commune_id)
    q = _where(select(col(Item.id), col(Item.code), col(Item.kind), col(Item.category_id),
                      col(Item.village_id), col(Item.title),
                      col(Item.stage), col(Item.outcome), col(Item.channel), col(Item.created_at),
                      col(Item.acknowledged_at),
                      col(Item.closed_at), col(Item.contact_name), col(Item.contact_phone)), f,
                      col(Item.created_at))
    for batch in _batches(session, q, col(Item.id)):
        for r in batch:
            row = [r[1], r[2], categories.get(r[3], ""), villages.get(r[4], ""), r[5], r[6], r[7] or "", r[8],
                   _day(r[9]), _day(r[10]), _day(r[11])]
            if private:
                row += [r[12], r[13]]
            yield row


def _decisions(session: Session, f: Filters, private: bool) -> Iterator[list[Any]]:
    villages, _ = _names(session, f.commune_id)
    q = _where(select(col(Decision.id), col(Item.code), col(Item.village_id), col(Decision.method),
                      col(Decision.status),
                      col(Decision.decided_on), col(Decision.households_total),
                      col(Decision.households_present),
                      col(Decision.yes), col(Decision.no), col(Decision.abstain), col(Decision.passed))
               .join(Item, col(Item.id) == col(Decision.item_id)), f, col(Decision.created_at))
    for batch in _batches(session, q, col(Decision.id)):
        for r in batch:
            yield [r[1], villages.get(r[2], ""), *r[3:]]


def _contributions(session: Session, f: Filters, private: bool) -> Iterator[list[Any]]:
    villages, _ = _names(session, f.commune_id)
    q = _where(select(col(Pledge.id), col(Item.code), col(Item.village_id), col(Pledge.kind),
                      col(Pledge.created_at), col(Pledge.money),
                      col(Pledge.quantity), col(Pledge.unit), col(Pledge.withdrawn_at), col(Household.code),
                      col(Household.head_name))
               .join(Item, col(Item.id) == col(Pledge.item_id))
               .join(Household, col(Household.id) == col(Pledge.household_id)), f, col(Pledge.created_at))
    for batch in _batches(session, q, col(Pledge.id)):
        ids = [r[0] for r in batch]
        delivered = {r[0]: (r[1], r[2]) for r in session.execute(
            select(col(Delivery.pledge_id), func.sum(col(Delivery.money)), func.sum(col(Delivery.quantity)))
            .where(col(Delivery.pledge_id).in_(ids)).group_by(col(Delivery.pledge_id))).all()}
        for r in batch:
            money, quantity = delivered.get(r[0], (None, None))
            row = [r[1], villages.get(r[2], ""), r[3], _day(r[4]), r[5], r[6], r[7], money, quantity,
                   r[8] is not None]
            if private:
                row += [r[9], r[10]]
            yield row


def _budget(session: Session, f: Filters, private: bool) -> Iterator[list[Any]]:
    villages, _ = _names(session, f.commune_id)
    q = _where(select(col(BudgetLine.id), col(Item.code), col(Item.village_id), col(BudgetLine.source),
                      col(BudgetLine.label),
                      col(BudgetLine.amount), col(BudgetLine.created_at))
               .join(Item, col(Item.id) == col(BudgetLine.item_id)), f, col(BudgetLine.created_at))
    for batch in _batches(session, q, col(BudgetLine.id)):
        ids = [r[0] for r in batch]
        spent = dict(session.execute(select(col(Spending.budget_line_id), func.sum(col(Spending.amount)))
                                     .where(col(Spending.budget_line_id).in_(ids))
                                     .group_by(col(Spending.budget_line_id))).tuples().all())
        for r in batch:
            yield [r[1], villages.get(r[2], ""), r[3], r[4], r[5], int(spent.get(r[0]) or 0), _day(r[6])]


def _spending(session: Session, f: Filters, private: bool) -> Iterator[list[Any]]:
    villages, _ = _names(session, f.commune_id)
    q = _where(select(col(Spending.id), col(Item.code), col(Item.village_id), col(BudgetLine.label),
                      col(Spending.amount),
                      col(Spending.spent_on), col(Spending.description), col(Spending.document_ref))
               .join(Item, col(Item.id) == col(Spending.item_id))
               .join(BudgetLine, col(BudgetLine.id) == col(Spending.budget_line_id)),
               f, col(Spending.spent_on), is_date=True)
    for batch in _batches(session, q, col(Spending.id)):
        for r in batch:
            yield [r[1], villages.get(r[2], ""), *r[3:]]


_READERS = {"items": _items, "decisions": _decisions, "contributions": _contributions, "budget": _budget,
            "spending": _spending}


def count(session: Session, dataset: str, f: Filters) -> int:
    """How many rows the export holds (for the audit event of a private export)."""
    base = {"items": (Item, col(Item.created_at), False),
            "decisions": (Decision, col(Decision.created_at), False),
            "contributions": (Pledge, col(Pledge.created_at), False),
            "budget": (BudgetLine, col(BudgetLine.created_at), False),
            "spending": (Spending, col(Spending.spent_on), True)}[dataset]
    table, stamp, is_date = base
    q = select(func.count()).select_from(table)
    if table is not Item:
        q = q.join(Item,
                      col(Item.id) == table.item_id)  # type: ignore[attr-defined]  # every table has item_id
    return int(session.execute(_where(q, f, stamp, is_date=is_date)).scalar_one())


# --- writers ---------------------------------------------------------------------------------------------

def _text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    return value


_FORMULA = sheets.FORMULA_START


def csv_chunks(header: list[str], data: Iterable[list[Any]], *, bom: bool = True) -> Iterator[bytes]:
    """CSV in UTF-8 (with a byte order mark for spreadsheets unless bom=False), about CHUNK bytes a piece.
    Dates are ISO (2026-06-15), booleans true/false, empty cells for missing values."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    first = codecs.BOM_UTF8 if bom else b""
    for row in data:
        cells = [_text(v) for v in row]
        if bom:  # a file for spreadsheets: text a person typed never runs as a formula there
            cells = [f"'{c}" if isinstance(c, str) and c[:1] in _FORMULA else c for c in cells]
        writer.writerow(cells)
        if buf.tell() >= CHUNK:
            yield first + buf.getvalue().encode("utf-8")
            first = b""
            buf.seek(0)
            buf.truncate()
    yield first + buf.getvalue().encode("utf-8")


def xlsx_chunks(header: list[str], data: Iterable[list[Any]], sheet: str) -> Iterator[bytes]:
    """An XLSX workbook written in write-only mode to a temporary file, then read back in chunks."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet[:31])
    ws.append(sheets.header_cells(ws, header))
    for row in data:
        ws.append(sheets.row_cells(ws, row))
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        wb.save(path)
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk
    finally:
        os.unlink(path)


def header(dataset: str, private: bool, translate: Any = None) -> list[str]:
    """Column names: machine names, or the translated titles when `translate` is given."""
    cols = columns(dataset, private)
    return [translate(c.title) for c in cols] if translate else [c.name for c in cols]
