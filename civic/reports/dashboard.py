"""The commune dashboard's figures, kept per process and brought up to date when the commune's audit chain
moves (every change of state writes an event).

- Nothing changed: one lookup of the chain head (its primary key) and the kept figures.
- A few new events: the item counts by village and stage are brought up to date from those events (read
  by their (commune_id, seq) key, rules.fold_counts); overdue items (the (commune_id, stage, created_at)
  index), findings (ix_finding_open_due), contributions and verdicts (small tables) are read again.
- The twelve months' table (acknowledgement in time, median days per stage), the only figures that read a
  year of items and events, is read once a day.
- At start, a new day or after many events, everything is read (about 1.5 s of CPU at 100,000 items)."""

from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlmodel import Session, col

from civic import clock
from civic.areas.models import Commune, Village
from civic.audit.models import AuditEvent, AuditHead
from civic.config import get_settings
from civic.deliberation.models import Decision, Discussion
from civic.implementation.models import Delivery, ImplementationSetting, Pledge, Spending
from civic.items.models import Item
from civic.reports import rules
from civic.supervision.models import Finding, Verdict
from civic.workflow import calendar
from civic.workflow.stages import TRANSITIONS, Stage

MONTHS = 12
LISTED = 10  # overdue items and findings named on the staff dashboard
STAGES = (Stage.SUBMITTED, Stage.KNOW, Stage.DISCUSS, Stage.DO, Stage.INSPECT, Stage.CLOSED)
# The stages an item waits in: how long each stay lasted is the "days per stage" figure.
TIMED = (Stage.SUBMITTED, Stage.KNOW, Stage.DISCUSS, Stage.DO, Stage.INSPECT)
# Actions that move an item into a stage (the stage table's rows with a target).
ENTERS = {action: t.to_stage for action, t in TRANSITIONS.items() if t.to_stage is not None}


@dataclass
class VillageRow:
    id: int
    name: str
    counts: dict[str, int]
    total: int


@dataclass
class MonthRow:
    month: str
    submitted: int
    in_time: int
    late: int
    share: int | None  # % acknowledged in time, of those decided (in time or late)
    median_days: dict[str, float | None]  # stage -> median days of the stays that ended this month


@dataclass
class Overdue:
    code: str
    title: str
    village: str
    due_on: date


@dataclass
class Figures:
    commune_name: str
    today: date
    by_stage: dict[str, int]
    total: int
    villages: list[VillageRow]
    months: list[MonthRow]
    overdue_items: int
    overdue_list: list[Overdue]
    overdue_findings: int
    findings_list: list[Overdue]
    needs: dict[str, Decimal | int]
    pledged: dict[str, Decimal | int]
    delivered: dict[str, Decimal | int]
    verdicts: dict[str, int]
    stage_bars: list[rules.Bar] = field(default_factory=list)
    share_bars: list[rules.Bar] = field(default_factory=list)


@dataclass
class _Kept:
    seq: int  # the chain head the figures were read at
    day: date
    counts: dict[tuple[int, str], int]
    figures: Figures


# Beyond this many new events the counts are read again rather than brought up to date event by event.
FOLD_MAX = 2000
_cache: dict[int, _Kept] = {}
_lock = threading.Lock()


def figures(session: Session, commune_id: int) -> Figures:
    """The dashboard of the commune: from the cache while its chain head and the day are the same; after
    a few new events, the item counts are brought up to date from those events (read by their
    (commune_id, seq) key) and the other figures, all on indexed or small tables, are read again."""
    head = session.execute(select(col(AuditHead.seq)).where(col(AuditHead.commune_id) == commune_id)
                           ).scalar_one_or_none() or 0
    today = clock.today_local()
    kept = _cache.get(commune_id)
    if kept and kept.day == today and kept.seq == head:
        return kept.figures
    counts = None
    if kept and kept.day == today and 0 < head - kept.seq <= FOLD_MAX:
        counts = dict(kept.counts)
        _fold(session, commune_id, kept.seq, counts)
    if counts is None:
        counts = read_counts(session, commune_id)
    result = compute(session, commune_id, today, counts)
    with _lock:
        _cache[commune_id] = _Kept(head, today, counts, result)
    return result


def read_counts(session: Session, commune_id: int) -> dict[tuple[int, str], int]:
    """Items by (village, stage): one grouped query answered by the (village_id, stage, created_at) index
    alone (by village id, not by commune, so that no row of the table is read)."""
    villages = session.execute(select(col(Village.id)).where(col(Village.commune_id) == commune_id)).scalars()
    return {(village_id, stage): n for village_id, stage, n in session.execute(
        select(col(Item.village_id), col(Item.stage), func.count())
        .where(col(Item.village_id).in_(sorted(v for v in villages if v is not None)))
        .group_by(col(Item.village_id), col(Item.stage)))}


def _fold(session: Session, commune_id: int, since: int, counts: dict[tuple[int, str], int]) -> None:
    events = [(item_id, action, json.loads(payload)) for item_id, action, payload in session.execute(
        select(col(AuditEvent.item_id), col(AuditEvent.action), col(AuditEvent.payload))
        .where(col(AuditEvent.commune_id) == commune_id, col(AuditEvent.seq) > since,
               col(AuditEvent.item_id).is_not(None))
        .order_by(col(AuditEvent.seq)))]
    ids = sorted({e[0] for e in events})
    now = dict(session.execute(select(col(Item.id), col(Item.village_id)).where(col(Item.id).in_(ids)))
               .tuples().all()) if ids else {}
    rules.fold_counts(counts, events, {k: v for k, v in now.items() if k is not None})


def clear() -> None:
    _cache.clear()
    _months.clear()


def _local_day(value: datetime) -> date:
    return clock.as_utc(value).astimezone(clock.LOCAL_TZ).date()


def compute(session: Session, commune_id: int, today: date,
            counts: dict[tuple[int, str], int] | None = None) -> Figures:
    name = session.get(Commune, commune_id)
    villages = {v.id: v.name for v in session.execute(
        select(Village).where(col(Village.commune_id) == commune_id)).scalars()}

    by_stage: Counter[str] = Counter()
    per_village: dict[int, Counter[str]] = defaultdict(Counter)
    for (village_id, stage), n in (read_counts(session, commune_id) if counts is None else counts).items():
        if n:
            by_stage[stage] += n
            per_village[village_id][stage] += n
    village_rows = sorted((VillageRow(vid, villages.get(vid, ""), dict(c), sum(c.values()))
                           for vid, c in per_village.items()), key=lambda r: (-r.total, r.name))

    month_rows = months_of(session, commune_id, today)

    # Overdue: new items past the acknowledgement deadline, open findings past their date.
    allowed = get_settings().ack_working_days
    overdue_items, overdue_list = _overdue_items(session, commune_id, villages, today, allowed)
    f_where = and_(col(Finding.resolved_at).is_(None), col(Finding.due_on) < today,
                   col(Item.commune_id) == commune_id)
    overdue_findings = session.execute(select(func.count()).select_from(Finding)
                                       .join(Item, col(Item.id) == col(Finding.item_id)).where(f_where)
                                       ).scalar_one()
    late_findings = session.execute(
        select(col(Item.code), col(Item.title), col(Item.village_id), col(Finding.due_on))
        .join(Item, col(Item.id) == col(Finding.item_id)).where(f_where)
        .order_by(col(Finding.due_on)).limit(LISTED)).all()
    findings_list = [Overdue(code, title, villages.get(vid, ""), due)
                     for code, title, vid, due in late_findings]

    # Contributions against needs, and verdicts. These tables are small beside the items: they are read
    # grouped by commune, so the database walks them and looks each item up (filtering on the item's
    # commune would walk the commune's items instead).
    of_commune = select(col(Item.commune_id)).where(col(Item.id) == col(ImplementationSetting.item_id))
    money, land, labour = session.execute(
        select(func.sum(col(ImplementationSetting.needed_money)),
               func.sum(col(ImplementationSetting.needed_land_m2)),
               func.sum(col(ImplementationSetting.needed_labour_days)))
        .where(of_commune.scalar_subquery() == commune_id)).one()
    needs: dict[str, Decimal | int] = {"money": int(money or 0), "land": Decimal(land or 0),
                                       "labour": Decimal(labour or 0)}
    pledged = _zero()
    for commune, kind, money, qty in session.execute(
            select(col(Item.commune_id), col(Pledge.kind), func.sum(col(Pledge.money)),
                   func.sum(col(Pledge.quantity)))
            .join(Item, col(Item.id) == col(Pledge.item_id)).where(col(Pledge.withdrawn_at).is_(None))
            .group_by(col(Item.commune_id), col(Pledge.kind))):
        if commune == commune_id:
            _add(pledged, kind, money, qty)
    delivered = _zero()
    for commune, kind, money, qty in session.execute(
            select(col(Item.commune_id), col(Pledge.kind), func.sum(col(Delivery.money)),
                   func.sum(col(Delivery.quantity)))
            .join(Pledge, col(Pledge.id) == col(Delivery.pledge_id))
            .join(Item, col(Item.id) == col(Delivery.item_id))
            .group_by(col(Item.commune_id), col(Pledge.kind))):
        if commune == commune_id:
            _add(delivered, kind, money, qty)
    verdicts = dict.fromkeys(("done", "partly", "not_done"), 0)
    for commune, verdict, n in session.execute(
            select(col(Item.commune_id), col(Verdict.verdict), func.count())
            .join(Item, col(Item.id) == col(Verdict.item_id))
            .group_by(col(Item.commune_id), col(Verdict.verdict))):
        if commune == commune_id:
            verdicts[verdict] = n

    total = sum(by_stage.values())
    return Figures(
        commune_name=name.name if name else "", today=today, by_stage={s: by_stage.get(s, 0) for s in STAGES},
        total=total, villages=village_rows, months=month_rows, overdue_items=overdue_items,
        overdue_list=overdue_list, overdue_findings=overdue_findings, findings_list=findings_list,
        needs=needs, pledged=pledged, delivered=delivered, verdicts=verdicts,
        stage_bars=rules.bars((s, by_stage.get(s, 0)) for s in STAGES),
        share_bars=rules.bars((r.month, r.share or 0) for r in month_rows),
    )


_months: dict[int, tuple[date, list[MonthRow]]] = {}


def months_of(session: Session, commune_id: int, today: date) -> list[MonthRow]:
    """The twelve months' figures, read once a day (they are history but for the current month, which the
    page says is as of the morning): the only part that reads every item of a year."""
    kept = _months.get(commune_id)
    if kept and kept[0] == today:
        return kept[1]
    rows = _read_months(session, commune_id, today)
    with _lock:
        _months[commune_id] = (today, rows)
    return rows


def _read_months(session: Session, commune_id: int, today: date) -> list[MonthRow]:
    # The last twelve months: acknowledgement in time, and how long the stays in each stage lasted.
    months = rules.last_months(today, MONTHS)
    y, m = (int(p) for p in months[0].split("-"))
    start = datetime.combine(date(y, m, 1), time(), clock.LOCAL_TZ)
    allowed = get_settings().ack_working_days
    submitted: Counter[str] = Counter()
    in_time: Counter[str] = Counter()
    late: Counter[str] = Counter()
    for created_at, acknowledged_at in session.execute(
            select(col(Item.created_at), col(Item.acknowledged_at))
            .where(col(Item.commune_id) == commune_id, col(Item.created_at) >= start)):
        sent = _local_day(created_at)
        key = rules.month_key(sent)
        submitted[key] += 1
        ok = rules.acknowledged_in_time(sent, _local_day(acknowledged_at) if acknowledged_at else None, today,
                                        allowed, calendar.is_holiday)
        if ok is True:
            in_time[key] += 1
        elif ok is False:
            late[key] += 1

    entries: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    for item_id, action, at, created_at in session.execute(
            select(col(AuditEvent.item_id), col(AuditEvent.action), col(AuditEvent.created_at),
                   col(Item.created_at))
            .join(Item, col(Item.id) == col(AuditEvent.item_id))
            .where(col(AuditEvent.commune_id) == commune_id, col(AuditEvent.created_at) >= start,
                   col(AuditEvent.action).in_(sorted(ENTERS)))
            .order_by(col(AuditEvent.item_id), col(AuditEvent.seq))):
        stays = entries[item_id]
        if not stays and action == "accept":
            stays.append((Stage.SUBMITTED, clock.as_utc(created_at)))
        stays.append((ENTERS[action], clock.as_utc(at)))
    durations: dict[tuple[str, str], list[float]] = defaultdict(list)
    for stays in entries.values():
        for span in rules.stage_spans(stays):
            if span.stage in TIMED:
                durations[(rules.month_key(_local_day(span.ended_at)), span.stage)].append(span.days)
    month_rows = []
    for key in months:
        medians: dict[str, float | None] = {}
        for stage in TIMED:
            value = rules.median(durations.get((key, stage), []))
            medians[stage] = round(value, 1) if value is not None else None
        month_rows.append(MonthRow(key, submitted[key], in_time[key], late[key],
                                   rules.share(in_time[key], in_time[key] + late[key]), medians))
    return month_rows


def _zero() -> dict[str, Decimal | int]:
    return {"money": 0, "land": Decimal(0), "labour": Decimal(0)}


def _add(totals: dict[str, Decimal | int], kind: str, money: int | None, qty: Decimal | None) -> None:
    if kind == "money":
        totals["money"] = int(totals["money"]) + int(money or 0)
    elif kind in ("land", "labour"):
        totals[kind] = Decimal(totals[kind]) + Decimal(qty or 0)


def _overdue_items(session: Session, commune_id: int, villages: dict[int, str], today: date, allowed: int
                   ) -> tuple[int, list[Overdue]]:
    """New items whose acknowledgement deadline has passed: those sent before the latest day whose deadline
    is over (read on the (commune, stage, created_at) index), oldest first."""
    # The latest submission day whose deadline (allowed working days later) is before today.
    day = today
    while rules.add_deadline(day, allowed, calendar.is_holiday) >= today:
        day = date.fromordinal(day.toordinal() - 1)
    end = datetime.combine(date.fromordinal(day.toordinal() + 1), time(), clock.LOCAL_TZ)
    where = and_(col(Item.commune_id) == commune_id, col(Item.stage) == Stage.SUBMITTED,
                 col(Item.created_at) < end)
    n = session.execute(select(func.count()).select_from(Item).where(where)).scalar_one()
    rows = session.execute(select(col(Item.code), col(Item.title), col(Item.village_id), col(Item.created_at))
                           .where(where).order_by(col(Item.created_at)).limit(LISTED)).all()
    return n, [Overdue(code, title, villages.get(vid, ""),
                       rules.add_deadline(_local_day(created), allowed, calendar.is_holiday))
               for code, title, vid, created in rows]


# --- the village head's yearly report to the commune People's Committee -------------------------------------

@dataclass
class Yearly:
    year: int
    commune_name: str
    village_name: str  # "" for the whole commune
    received: dict[str, int]  # kind -> items sent in the year
    now_by_stage: dict[str, int]  # where the year's items stand today
    outcomes: dict[str, int]  # closed ones by outcome
    in_time: int
    late: int
    share: int | None
    discussions: int
    decisions: int
    passed: int
    pledged: dict[str, Decimal | int]
    delivered: dict[str, Decimal | int]
    spent: int
    findings: int
    findings_answered: int
    findings_overdue: int
    verdicts: dict[str, int]


def _span(year: int) -> tuple[datetime, datetime]:
    return (datetime.combine(date(year, 1, 1), time(), clock.LOCAL_TZ),
            datetime.combine(date(year + 1, 1, 1), time(), clock.LOCAL_TZ))


def yearly(session: Session, commune_id: int, village_id: int | None, year: int, today: date) -> Yearly:
    """The year's figures of one village (or the whole commune): grouped queries on the year's rows."""
    start, end = _span(year)
    scope = [col(Item.commune_id) == commune_id]
    if village_id is not None:
        scope.append(col(Item.village_id) == village_id)
    commune = session.get(Commune, commune_id)
    village = session.get(Village, village_id) if village_id is not None else None

    received: Counter[str] = Counter()
    now_by_stage: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    in_time = late = 0
    allowed = get_settings().ack_working_days
    for kind, stage, outcome, created_at, acknowledged_at in session.execute(
            select(col(Item.kind), col(Item.stage), col(Item.outcome), col(Item.created_at),
                   col(Item.acknowledged_at))
            .where(*scope, col(Item.created_at) >= start, col(Item.created_at) < end)):
        received[kind] += 1
        now_by_stage[stage] += 1
        if outcome:
            outcomes[outcome] += 1
        ok = rules.acknowledged_in_time(_local_day(created_at),
                                        _local_day(acknowledged_at) if acknowledged_at else None, today,
                                        allowed, calendar.is_holiday)
        in_time += ok is True
        late += ok is False

    discussions = session.execute(select(func.count()).select_from(Discussion)
                                  .join(Item, col(Item.id) == col(Discussion.item_id))
                                  .where(*scope, col(Discussion.opened_at) >= start,
                                         col(Discussion.opened_at) < end)).scalar_one()
    decisions, passed = session.execute(
        select(func.count(), func.count().filter(col(Decision.passed).is_(True))).select_from(Decision)
        .join(Item, col(Item.id) == col(Decision.item_id))
        .where(*scope, col(Decision.status) == "closed", col(Decision.closed_at) >= start,
               col(Decision.closed_at) < end)).one()

    pledged = _zero()
    for kind, money, qty in session.execute(
            select(col(Pledge.kind), func.sum(col(Pledge.money)), func.sum(col(Pledge.quantity)))
            .join(Item, col(Item.id) == col(Pledge.item_id))
            .where(*scope, col(Pledge.withdrawn_at).is_(None), col(Pledge.created_at) >= start,
                   col(Pledge.created_at) < end).group_by(col(Pledge.kind))):
        _add(pledged, kind, money, qty)
    delivered = _zero()
    for kind, money, qty in session.execute(
            select(col(Pledge.kind), func.sum(col(Delivery.money)), func.sum(col(Delivery.quantity)))
            .join(Pledge, col(Pledge.id) == col(Delivery.pledge_id))
            .join(Item, col(Item.id) == col(Delivery.item_id))
            .where(*scope, col(Delivery.delivered_on) >= date(year, 1, 1),
                   col(Delivery.delivered_on) < date(year + 1, 1, 1)).group_by(col(Pledge.kind))):
        _add(delivered, kind, money, qty)
    spent = session.execute(select(func.sum(col(Spending.amount)))
                            .join(Item, col(Item.id) == col(Spending.item_id))
                            .where(*scope, col(Spending.spent_on) >= date(year, 1, 1),
                                   col(Spending.spent_on) < date(year + 1, 1, 1))).scalar_one()
    findings, answered, overdue = session.execute(
        select(func.count(), func.count(col(Finding.answered_at)),
               func.count().filter(and_(col(Finding.resolved_at).is_(None), col(Finding.due_on) < today)))
        .select_from(Finding).join(Item, col(Item.id) == col(Finding.item_id))
        .where(*scope, col(Finding.created_at) >= start, col(Finding.created_at) < end)).one()
    verdicts = dict.fromkeys(("done", "partly", "not_done"), 0)
    for verdict, n in session.execute(
            select(col(Verdict.verdict), func.count()).join(Item, col(Item.id) == col(Verdict.item_id))
            .where(*scope, col(Verdict.created_at) >= start, col(Verdict.created_at) < end)
            .group_by(col(Verdict.verdict))):
        verdicts[verdict] = n
    return Yearly(year=year, commune_name=commune.name if commune else "",
                  village_name=village.name if village else "", received=dict(received),
                  now_by_stage={s: now_by_stage.get(s, 0) for s in STAGES}, outcomes=dict(outcomes),
                  in_time=in_time, late=late, share=rules.share(in_time, in_time + late),
                  discussions=discussions, decisions=decisions, passed=passed, pledged=pledged,
                  delivered=delivered, spent=int(spent or 0), findings=findings, findings_answered=answered,
                  findings_overdue=overdue, verdicts=verdicts)
