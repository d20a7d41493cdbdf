"""Pure decisions of the reports: which columns a dataset has and which are private, the longest date range
an export may cover, and the figures of the dashboard (medians, shares, the acknowledgement deadline)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from civic.errors import N_, Forbidden, Invalid
from civic.workflow.rules import add_working_days

# An export covers at most ten years: a longer range is a typing mistake more often than a wish, and the
# exports stream anyway.
MAX_RANGE_YEARS = 10
RANGE_TOO_LONG = N_("An export covers at most %(years)s years. Please choose a shorter period.")
RANGE_REVERSED = N_("The end of the period is before its start.")
NO_PRIVATE = N_("Only staff of a village may export its private columns.")
NOT_YOUR_VILLAGE = N_("You may export private columns only for your own villages.")

FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class Column:
    name: str  # the machine name: CSV header, Table Schema field
    title: str  # a message id: the header a person reads
    type: str  # Table Schema type: string | integer | number | date | boolean
    private: bool = False


def _c(name: str, title: str, type_: str = "string", private: bool = False) -> Column:
    return Column(name, title, type_, private)


DATASETS: dict[str, tuple[Column, ...]] = {
    "items": (
        _c("code", N_("Code")), _c("kind", N_("Kind")), _c("category", N_("Category")),
        _c("village", N_("Village")), _c("title", N_("Title")), _c("stage", N_("Stage")),
        _c("outcome", N_("Outcome")), _c("channel", N_("Channel")),
        _c("submitted_on", N_("Submitted on"), "date"), _c("acknowledged_on", N_("Acknowledged on"), "date"),
        _c("closed_on", N_("Closed on"), "date"),
        _c("contact_name", N_("Contact name"), private=True),
        _c("contact_phone", N_("Contact phone"), private=True),
    ),
    "decisions": (
        _c("item_code", N_("Item")), _c("village", N_("Village")), _c("method", N_("Method")),
        _c("status", N_("Status")), _c("decided_on", N_("Decided on"), "date"),
        _c("households_total", N_("Households in the register"), "integer"),
        _c("households_present", N_("Households present"), "integer"),
        _c("yes", N_("In favour"), "integer"), _c("no", N_("Against"), "integer"),
        _c("abstain", N_("Abstaining"), "integer"), _c("passed", N_("Passed"), "boolean"),
    ),
    "contributions": (
        _c("item_code", N_("Item")), _c("village", N_("Village")), _c("kind", N_("Kind")),
        _c("pledged_on", N_("Pledged on"), "date"), _c("money", N_("Money (đồng)"), "integer"),
        _c("quantity", N_("Quantity"), "number"), _c("unit", N_("Unit")),
        _c("delivered_money", N_("Money delivered (đồng)"), "integer"),
        _c("delivered_quantity", N_("Quantity delivered"), "number"),
        _c("withdrawn", N_("Withdrawn"), "boolean"),
        _c("household_code", N_("Household code"), private=True),
        _c("household_head", N_("Head of household"), private=True),
    ),
    "budget": (
        _c("item_code", N_("Item")), _c("village", N_("Village")), _c("source", N_("Source")),
        _c("label", N_("Budget line")), _c("amount", N_("Amount (đồng)"), "integer"),
        _c("spent", N_("Spent (đồng)"), "integer"), _c("created_on", N_("Recorded on"), "date"),
    ),
    "spending": (
        _c("item_code", N_("Item")), _c("village", N_("Village")), _c("budget_line", N_("Budget line")),
        _c("amount", N_("Amount (đồng)"), "integer"), _c("spent_on", N_("Spent on"), "date"),
        _c("description", N_("What it paid for")), _c("document_ref", N_("Invoice or receipt")),
    ),
}
DATASET_TITLES = {
    "items": N_("Items"),
    "decisions": N_("Decisions and their tallies"),
    "contributions": N_("Contributions"),
    "budget": N_("Budget lines"),
    "spending": N_("Spending"),
}


def columns(dataset: str, private: bool) -> tuple[Column, ...]:
    """The dataset's columns: the public ones, and the private ones too when asked for (and allowed)."""
    return tuple(c for c in DATASETS[dataset] if private or not c.private)


def has_private(dataset: str) -> bool:
    return any(c.private for c in DATASETS[dataset])


def range_problem(start: date | None, end: date | None) -> str | None:
    """Why a period cannot be exported (it ends before it starts, or spans more than MAX_RANGE_YEARS
    years), or None. A period left open at one end or both is the whole history, and allowed."""
    if start is not None and end is not None:
        if end < start:
            return RANGE_REVERSED
        if end > _years_after(start, MAX_RANGE_YEARS):
            return RANGE_TOO_LONG
    return None


def check_range(start: date | None, end: date | None) -> None:
    problem = range_problem(start, end)
    if problem:
        raise Invalid(problem, field="until", years=MAX_RANGE_YEARS)


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def private_villages(*, commune_wide: bool, head_villages: frozenset[int], all_villages: frozenset[int],
                     village: int | None) -> frozenset[int]:
    """The villages whose private columns a viewer may export: every village of the commune for its
    supervisors and admins, a village head's own villages otherwise; `village` narrows it to one."""
    allowed = all_villages if commune_wide else head_villages & all_villages
    if not allowed:
        raise Forbidden(NO_PRIVATE)
    if village is not None:
        if village not in allowed:
            raise Forbidden(NOT_YOUR_VILLAGE)
        return frozenset({village})
    return allowed


# --- the dashboard's figures -------------------------------------------------------------------------------

def median(values: Iterable[float]) -> float | None:
    """The middle value (the mean of the two middle ones for an even count); None without values."""
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return None
    mid = n // 2
    return float(ordered[mid]) if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def share(part: int, whole: int) -> int | None:
    """A percentage rounded to the nearest whole number (half up); None when there is nothing to share."""
    if whole <= 0:
        return None
    return (200 * part + whole) // (2 * whole)


def acknowledged_in_time(submitted_on: date, acknowledged_on: date | None, today: date, allowed_days: int,
                         is_holiday: Callable[[date], bool]) -> bool | None:
    """Whether an item was acknowledged within the deadline (True/False), or None while it still may be.

    The village head acknowledges a new item within `allowed_days` working days (the day it was sent does
    not count), the same deadline as the triage queue's."""
    due = add_working_days(submitted_on, allowed_days, is_holiday)
    if acknowledged_on is not None:
        return acknowledged_on <= due
    return False if today > due else None


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def last_months(today: date, count: int) -> list[str]:
    """The `count` months up to and including today's, oldest first, as 'YYYY-MM'."""
    y, m = today.year, today.month
    out = []
    for _ in range(count):
        out.append(f"{y:04d}-{m:02d}")
        m -= 1
        if m == 0:
            y, m = y - 1, 12
    return out[::-1]


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    width: float  # 0..100, share of the longest bar


def bars(pairs: Iterable[tuple[str, int]]) -> list[Bar]:
    """Horizontal bars scaled to the largest value (a chart drawn as SVG by the template)."""
    items = list(pairs)
    top = max((v for _, v in items), default=0)
    return [Bar(label, value, round(100 * value / top, 1) if top else 0.0) for label, value in items]


@dataclass(frozen=True)
class Span:
    stage: str
    ended_at: datetime
    days: float


def stage_spans(entries: list[tuple[str, datetime]]) -> list[Span]:
    """How long an item stayed in each stage it left: `entries` are the stages it entered with the moment,
    in order; a stage entered again (rework, reopen) counts each stay."""
    out = []
    for (stage, start), (_next, end) in zip(entries, entries[1:], strict=False):
        out.append(Span(stage, end, max(0.0, (end - start).total_seconds() / 86400)))
    return out


def add_deadline(submitted_on: date, allowed_days: int, is_holiday: Callable[[date], bool]) -> date:
    """The last day to acknowledge an item sent on `submitted_on`."""
    return add_working_days(submitted_on, allowed_days, is_holiday)


def fold_counts(counts: dict[tuple[int, str], int], events: list[tuple[int, str, dict]],
                villages_now: dict[int, int]) -> None:
    """Bring item counts by (village, stage) up to date with the chain's newer events, in place.

    `events` are (item_id, action, payload) in chain order; `villages_now` each item's village today. A
    submission adds an item to its village's new items; a stage move ("from", "to") moves it; a change of
    village ("village_from", "village_to") moves it between villages in its stage. The village an item had
    at each event is its village today, taken back through its later moves."""
    village = dict(villages_now)
    for item_id, action, payload in reversed(events):
        if "village_to" in payload and "village_from" in payload:
            stage = payload.get("to", payload.get("from", "submitted"))
            _bump(counts, (payload["village_from"], stage), -1)
            _bump(counts, (payload["village_to"], stage), +1)
            village[item_id] = payload["village_from"]
        if item_id not in village:
            continue
        if action == "submitted":
            _bump(counts, (village[item_id], "submitted"), +1)
        elif "to" in payload and "from" in payload and payload["to"] != payload["from"]:
            _bump(counts, (village[item_id], payload["from"]), -1)
            _bump(counts, (village[item_id], payload["to"]), +1)


def _bump(counts: dict[tuple[int, str], int], key: tuple[int, str], by: int) -> None:
    counts[key] = counts.get(key, 0) + by
