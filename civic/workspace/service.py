"""The staff workspace: the to-do of a village head, a people's board member or a commune official, the
count in the navigation, an item's next step, and the open items of a village most like a text.

Reads only; nothing here changes state. Every list is read from indexed ranges (a village's items of one
stage, in stage order) and stops at a page: never a scan of the commune."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select, text
from sqlmodel import Session, col

from civic import clock
from civic.accounts.service import Viewer
from civic.boards import rules as board_rules
from civic.boards.models import Board, BoardMember
from civic.config import get_settings
from civic.core.facts import ItemFacts
from civic.core.kinds import Stage
from civic.db import Plain, among
from civic.deliberation import front
from civic.deliberation import rules as delib_rules
from civic.deliberation import service as deliberation
from civic.deliberation.models import Decision, Disclosure, Meeting
from civic.implementation import rules as impl_rules
from civic.implementation.models import Delivery, Pledge, ProgressUpdate
from civic.items import rules as item_rules
from civic.items.models import Category, Item, ItemCount
from civic.items.service import ITEM_FTS
from civic.supervision.models import Finding, ReopenRequest
from civic.workflow import calendar
from civic.workflow import rules as workflow_rules
from civic.workflow import service as workflow
from civic.workflow.models import ReviewRequest
from civic.workspace import rules
from civic.workspace.rules import NextStep, Waiting

HEAD_STAGES = (Stage.SUBMITTED, Stage.KNOW, Stage.DISCUSS, Stage.DO)
TO_DO_PAGE = 20  # entries on one page of the to-do
PER_STAGE = 5  # items read from each stage for the page of all stages (the rest: the stage's own pages)
BOARD_ROLES = frozenset(board_rules.MEMBER_ROLE.values())


def local_day(moment: Any) -> date:
    return clock.local_day(moment)


@dataclass
class Entry:
    item: Item
    step: NextStep
    overdue: bool


@dataclass
class Todo:
    entries: list[Entry]
    stage_counts: dict[str, int]  # the village head's items by stage (kept by triggers: no scan)
    findings: int  # the village head's unanswered findings
    total: int
    pages: int = 1
    extra: list[Entry] = field(default_factory=list)  # a board member's or a commune official's work
    front: list[Entry] = field(default_factory=list)  # items waiting for the Front work committee's answer


# --- who has a to-do ------------------------------------------------------------------------------

def board_member(viewer: Viewer) -> bool:
    return any(g.role in BOARD_ROLES for g in viewer.grants)


def has_todo(viewer: Viewer) -> bool:
    return bool(viewer.user) and (viewer.is_village_head or viewer.is_supervisor or board_member(viewer)
                                  or bool(front.front_villages(viewer)))


# --- the count in the navigation --------------------------------------------------------------------

# Built once, run with the viewer's villages as one parameter (db.among: the same statement for 1 or 200
# villages). The counts are read for every stage and the head's stages kept here: with the stages in the
# statement SQLite probes each (village, stage) pair, 1,000 lookups for a head of 200 villages, where
# without them it reads each village's few rows in one range (0.65 → 0.52 ms).
_HEAD_COUNTS = Plain(select(col(ItemCount.stage), func.sum(col(ItemCount.n)))
                     .where(among(col(ItemCount.commune_id), "communes"),
                            among(col(ItemCount.village_id), "villages"))
                     .group_by(col(ItemCount.stage)))
_OPEN_FINDINGS = Plain(select(func.count()).select_from(Finding)
                       .join(Item, col(Item.id) == col(Finding.item_id))
                       .where(col(Finding.resolved_at).is_(None), col(Finding.answered_at).is_(None),
                              among(col(Item.village_id), "villages"), col(Item.stage) == Stage.INSPECT))


def _head_counts(session: Session, villages: frozenset[int], communes: frozenset[int]) -> dict[str, int]:
    rows = _HEAD_COUNTS.rows(session, {"communes": communes, "villages": villages})
    return {stage: int(n or 0) for stage, n in rows if stage in HEAD_STAGES}


def _open_findings(session: Session, villages: frozenset[int]) -> int:
    return int(_OPEN_FINDINGS.rows(session, {"villages": villages}).scalar())


def _appeals_count(session: Session, communes: frozenset[int]) -> int:
    reviews = session.execute(
        select(func.count()).select_from(ReviewRequest).join(Item, col(Item.id) == col(ReviewRequest.item_id))
        .where(col(Item.commune_id).in_(communes), col(Item.stage) == Stage.CLOSED,
               col(ReviewRequest.decision).is_(None), col(ReviewRequest.requested_at) >= col(Item.closed_at))
    ).scalar_one()
    reopen = session.execute(
        select(func.count()).select_from(ReopenRequest).join(Item, col(Item.id) == col(ReopenRequest.item_id))
        .where(col(Item.commune_id).in_(communes), col(ReopenRequest.decision).is_(None),
               col(Item.stage) == Stage.CLOSED, col(ReopenRequest.closure_at) == col(Item.closed_at))
    ).scalar_one()
    return int(reviews) + int(reopen)


def _boards(session: Session, viewer: Viewer, today: date) -> list[Board]:
    if viewer.id is None or not board_member(viewer):
        return []
    rows = session.execute(select(Board).join(BoardMember, col(BoardMember.board_id) == col(Board.id))
                           .where(col(BoardMember.user_id) == viewer.id)).scalars().all()
    return [b for b in rows if board_rules.in_force(b.recognised_on, b.term_starts_on, b.term_ends_on, today)]


def _board_items_query(boards: list[Board]) -> Any:
    """Items in Dân kiểm tra a member's boards may inspect: the project of an investment board, every item
    of the commune for a people's inspection board (which board really inspects is checked per item)."""
    own = [b.item_id for b in boards if b.item_id is not None]
    communes = [b.commune_id for b in boards if b.kind == board_rules.INSPECTION]
    cond: Any = col(Item.id).in_(own) if own else None
    if communes:
        by_commune = col(Item.commune_id).in_(communes)
        cond = by_commune if cond is None else (cond | by_commune)
    return cond


def _board_count(session: Session, boards: list[Board]) -> int:
    communes = {b.commune_id for b in boards if b.kind == board_rules.INSPECTION}
    n = 0
    if communes:
        n += int(session.execute(select(func.coalesce(func.sum(col(ItemCount.n)), 0)).where(
            col(ItemCount.commune_id).in_(communes), col(ItemCount.stage) == Stage.INSPECT)).scalar_one())
    own = [b.item_id for b in boards if b.item_id is not None and b.commune_id not in communes]
    if own:
        n += int(session.execute(select(func.count()).select_from(Item).where(
            col(Item.id).in_(own), col(Item.stage) == Stage.INSPECT)).scalar_one())
    return n


def todo_count(session: Session, viewer: Viewer) -> int:
    """The number in the navigation: the village head's open items before Dân kiểm tra and unanswered
    findings, a board member's items in inspection, a commune official's appeals. Read from the counts the
    triggers keep per village and stage and from small indexed tables: one to three queries."""
    n = 0
    villages = viewer.villages("village_head")
    if villages:
        communes = viewer.communes("village_head")
        n += sum(_head_counts(session, villages, communes).values()) + _open_findings(session, villages)
    communes = viewer.communes("supervisor")
    if communes:
        n += _appeals_count(session, communes)
    boards = _boards(session, viewer, clock.today_local())
    if boards:
        n += _board_count(session, boards)
    return (n + front.waiting_count(session, front.front_villages(viewer))
            + deliberation.unreported_commune_matters_count(session, villages))


# --- an item's next step --------------------------------------------------------------------------

def waiting(session: Session, items: list[Item], today: date) -> dict[int, Waiting]:
    """What the to-do needs beyond the stage facts, for many items in four queries (only those a stage
    needs): appeals that sent new items back, meetings not yet recorded, open ballots, unanswered findings."""
    by_stage: dict[str, list[int]] = {}
    for item in items:
        by_stage.setdefault(item.stage, []).append(int(item.id or 0))
    data: dict[int, dict[str, Any]] = {int(i.id or 0): {} for i in items}
    if by_stage.get(Stage.SUBMITTED):
        for (item_id,) in session.execute(select(col(ReviewRequest.item_id)).where(
                col(ReviewRequest.item_id).in_(by_stage[Stage.SUBMITTED]),
                col(ReviewRequest.decision) == "sent_back")).all():
            data[item_id]["sent_back"] = True
    discuss = by_stage.get(Stage.DISCUSS)
    if discuss:
        now = clock.now()
        for item_id, starts_at in session.execute(
                select(col(Meeting.item_id), func.min(col(Meeting.starts_at)))
                .where(col(Meeting.item_id).in_(discuss), col(Meeting.recorded_at).is_(None),
                       col(Meeting.cancelled_at).is_(None)).group_by(col(Meeting.item_id))).all():
            data[item_id]["meeting_on"] = local_day(starts_at)
            data[item_id]["meeting_held"] = clock.as_utc(starts_at) <= now
        for item_id, closes_at in session.execute(
                select(col(Decision.item_id), func.min(col(Decision.closes_at)))
                .where(col(Decision.item_id).in_(discuss), col(Decision.status) == "open")
                .group_by(col(Decision.item_id))).all():
            data[item_id]["ballot_open"] = True
            data[item_id]["ballot_closes_on"] = local_day(closes_at) if closes_at else None
    inspect = by_stage.get(Stage.INSPECT)
    if inspect:
        for item_id, n, due_on in session.execute(
                select(col(Finding.item_id), func.count(), func.min(col(Finding.due_on)))
                .where(col(Finding.item_id).in_(inspect), col(Finding.resolved_at).is_(None),
                       col(Finding.answered_at).is_(None)).group_by(col(Finding.item_id))).all():
            data[item_id]["findings_unanswered"] = int(n)
            data[item_id]["finding_due_on"] = due_on
    return {item_id: Waiting(**values) for item_id, values in data.items()}


def _open_pledges_of(session: Session, item_ids: list[int]) -> dict[int, int]:
    """civic.implementation.service.open_pledges (neither withdrawn nor delivered in full) for several
    items in one query, the deliveries summed over those items only."""
    d = (select(col(Delivery.pledge_id), func.coalesce(func.sum(col(Delivery.money)), 0).label("money"),
                func.coalesce(func.sum(func.round(col(Delivery.quantity) * 100)), 0).label("centi"))
         .where(col(Delivery.item_id).in_(item_ids)).group_by(col(Delivery.pledge_id)).subquery())
    pledged_centi = func.round(col(Pledge.quantity) * 100)
    short = or_((col(Pledge.kind) == impl_rules.MONEY) & (func.coalesce(d.c.money, 0) < col(Pledge.money)),
                (col(Pledge.kind) != impl_rules.MONEY) & (func.coalesce(d.c.centi, 0) < pledged_centi))
    rows = session.execute(select(col(Pledge.item_id), func.count()).select_from(Pledge)
                           .outerjoin(d, d.c.pledge_id == col(Pledge.id))
                           .where(col(Pledge.item_id).in_(item_ids), col(Pledge.withdrawn_at).is_(None),
                                  short).group_by(col(Pledge.item_id))).all()
    return {item_id: int(n) for item_id, n in rows}


def list_facts(session: Session, items: list[Item]) -> dict[int, ItemFacts]:
    """The stage facts next_step reads, for a page of items in a fixed number of queries (not one
    workflow.facts per item): disclosures of items in Dân biết, closed decisions of those in Dân bàn, the
    latest progress and open pledges of those in Dân làm. The same rules as the domains' facts providers
    (tests/workspace/test_service.py checks they agree)."""
    by_stage: dict[str, list[Item]] = {}
    for item in items:
        by_stage.setdefault(item.stage, []).append(item)
    extra: dict[int, dict[str, Any]] = {int(i.id or 0): {} for i in items}
    know = by_stage.get(Stage.KNOW, [])
    if know:
        postings: dict[int, list[delib_rules.Posting]] = {}
        for item_id, channel, starts_on, ends_on in session.execute(
                select(col(Disclosure.item_id), col(Disclosure.channel), col(Disclosure.starts_on),
                       col(Disclosure.ends_on)).where(col(Disclosure.item_id).in_([i.id for i in know]))
        ).all():
            postings.setdefault(item_id, []).append(delib_rules.Posting(channel, starts_on, ends_on))
        cats = {cid: (code, days) for cid, code, days in session.execute(
            select(col(Category.id), col(Category.code), col(Category.min_disclosure_days))
            .where(col(Category.id).in_({i.category_id for i in know}))).all()}
        for item in know:
            mine = postings.get(int(item.id or 0), [])
            code, days = cats.get(item.category_id, ("", delib_rules.MIN_DISCLOSURE_DAYS_FLOOR))
            runs = delib_rules.coverage(mine, deliberation.accepted_on(item))
            need = delib_rules.required_days(code, days)
            extra[int(item.id or 0)].update(disclosure_count=len(mine),
                                            disclosure_ready_on=delib_rules.disclosure_ready_on(runs, need))
    discuss = by_stage.get(Stage.DISCUSS, [])
    if discuss:
        latest: dict[int, str] = {}
        for item_id, status, passed in session.execute(
                select(col(Decision.item_id), col(Decision.status), col(Decision.passed))
                .where(col(Decision.item_id).in_([i.id for i in discuss]), col(Decision.status) == "closed")
                .order_by(col(Decision.item_id), col(Decision.id))).all():
            latest[item_id] = delib_rules.decision_outcome(status, passed)  # the last one stays
        for item in discuss:
            outcome = latest.get(int(item.id or 0), "")
            extra[int(item.id or 0)].update(decision_passed=outcome == "passed",
                                            decision_failed=outcome == "failed")
    do = [int(i.id or 0) for i in by_stage.get(Stage.DO, [])]
    if do:
        for item_id, percent in session.execute(
                select(col(ProgressUpdate.item_id), col(ProgressUpdate.percent))
                .where(col(ProgressUpdate.item_id).in_(do))
                .order_by(col(ProgressUpdate.item_id), col(ProgressUpdate.created_at),
                          col(ProgressUpdate.id))).all():
            extra[item_id]["progress_percent"] = percent  # the last one stays
        for item_id, n in _open_pledges_of(session, do).items():
            extra[item_id]["pledges_open"] = n
    return {int(i.id or 0): ItemFacts(stage=i.stage, outcome=i.outcome, commune_id=i.commune_id,
                                      village_id=i.village_id, **extra[int(i.id or 0)]) for i in items}


def _submitted_due(item: Item, today: date) -> date:
    status = workflow_rules.ack_status(local_day(item.created_at), today, get_settings().ack_working_days,
                                       calendar.is_holiday, count=calendar.working_days_between,
                                       add=calendar.add_working_days)
    return status.due_on


def step_of(session: Session, item: Item, wait: Waiting | None = None, today: date | None = None,
            facts: ItemFacts | None = None) -> NextStep | None:
    """The village head's next step on one item (the "Next step" box of its staff pages)."""
    today = today or clock.today_local()
    wait = wait if wait is not None else waiting(session, [item], today)[int(item.id or 0)]
    due = _submitted_due(item, today) if item.stage == Stage.SUBMITTED else None
    return rules.next_step(facts or workflow.facts(session, item), wait, today=today,
                           stage_since=local_day(item.stage_changed_at), submitted_due=due)


def next_step_for(session: Session, item: Item, viewer: Viewer) -> NextStep | None:
    """The next step to offer this viewer on an item's staff page: the village head's step when the viewer
    is the item's village head; None otherwise."""
    if item.village_id not in viewer.villages("village_head"):
        return None
    return step_of(session, item)


# --- the to-do ------------------------------------------------------------------------------------

MANY_VILLAGES = 12


def _stage_items(session: Session, villages: Iterable[int], stage: str, limit: int, offset: int = 0
                 ) -> list[Item]:
    """One page of a stage's items of the villages, the longest in the stage first. A few villages: their
    (village, stage, …) index ranges, sorted. Many (a head of every village of a commune): the whole
    stage in order — the (stage, stage_changed_at) index, or new items' partial one — filtered by village
    and stopped at the page (`+ 0` keeps SQLite from choosing the village index and sorting them all)."""
    wanted = list(villages)
    many = len(wanted) > MANY_VILLAGES
    order = (col(Item.created_at), col(Item.id)) if stage == Stage.SUBMITTED and not many \
        else (col(Item.stage_changed_at), col(Item.id))
    village = col(Item.village_id) + 0 if many else col(Item.village_id)
    page = (select(Item).where(among(village, "villages"), col(Item.stage) == stage)
            .order_by(*order).offset(offset).limit(limit))
    return list(session.execute(page, {"villages": wanted}).scalars())


def _inspect_with_findings(session: Session, villages: Iterable[int], limit: int) -> list[Item]:
    ids = select(col(Finding.item_id)).where(col(Finding.resolved_at).is_(None),
                                             col(Finding.answered_at).is_(None))
    return list(session.execute(select(Item).where(among(col(Item.village_id), "villages"),
                                                   col(Item.stage) == Stage.INSPECT, col(Item.id).in_(ids))
                                .order_by(col(Item.stage_changed_at)).limit(limit),
                                {"villages": villages}).scalars())


def _entries(session: Session, items: list[Item], today: date) -> list[Entry]:
    waits = waiting(session, items, today)
    facts = list_facts(session, items)
    out = []
    for item in items:
        step = step_of(session, item, waits[int(item.id or 0)], today, facts[int(item.id or 0)])
        if step is not None:
            out.append(Entry(item, step, rules.overdue(step, today)))
    return out


def _order(entry: Entry) -> tuple[date, int, int]:
    return rules.order_key(entry.step, int(entry.item.id or 0))


def todo(session: Session, viewer: Viewer, *, stage: str | None = None, page: int = 1) -> Todo:
    """What waits on the viewer, ordered by due date. Without `stage`: the first items of every stage
    (PER_STAGE each) merged, the appeals and the boards' work; with it: that stage's pages."""
    today = clock.today_local()
    villages = viewer.villages("village_head")
    counts = _head_counts(session, villages, viewer.communes("village_head")) if villages else {}
    findings = _open_findings(session, villages) if villages else 0
    items: list[Item] = []
    pages = 1
    if villages:
        if stage in HEAD_STAGES:
            total_stage = counts.get(stage, 0)
            pages = max(1, -(-total_stage // TO_DO_PAGE))
            page = min(page, pages)
            items = _stage_items(session, villages, stage, TO_DO_PAGE, (page - 1) * TO_DO_PAGE)
        elif stage == Stage.INSPECT:
            items = _inspect_with_findings(session, villages, TO_DO_PAGE)
        else:
            for s in HEAD_STAGES:
                if counts.get(s):
                    items += _stage_items(session, villages, s, PER_STAGE)
            if findings:
                items += _inspect_with_findings(session, villages, PER_STAGE)
    entries = sorted(_entries(session, items, today), key=_order)
    extra: list[Entry] = []
    if stage is None:
        extra = (_commune_matter_entries(session, villages) + _supervisor_entries(session, viewer)
                 + _board_entries(session, viewer, today))
        extra.sort(key=_order)
    total = sum(counts.values()) + findings
    return Todo(entries[:TO_DO_PAGE] if stage is None else entries, counts, findings, total, pages, extra,
                _front_entries(session, viewer) if stage is None else [])


def _front_entries(session: Session, viewer: Viewer) -> list[Entry]:
    """The items of the Front work committee's villages waiting for its answer to an online vote, the longest
    in People discuss first."""
    return [Entry(item, NextStep("front_answer", rules.STATUS, local_day(item.stage_changed_at), ready=False,
                                 who=rules.FRONT), False)
            for item in front.waiting_items(session, front.front_villages(viewer), TO_DO_PAGE)]


def _commune_matter_entries(session: Session, villages: frozenset[int]) -> list[Entry]:
    """Matters of the whole commune raised in another village: each village meets and records its own
    result (Law 10/2022/QH15 Art. 15(1), 21), so its head has this to do too."""
    return [Entry(item, NextStep("village_result", rules.DELIBERATION, local_day(item.stage_changed_at)),
                  False)
            for item in deliberation.unreported_commune_matters(session, villages, TO_DO_PAGE)]


def _supervisor_entries(session: Session, viewer: Viewer) -> list[Entry]:
    out = []
    for entry in workflow.review_queue(session, viewer, limit=TO_DO_PAGE):
        step = NextStep("appeal", rules.REVIEW, local_day(entry.review.requested_at), who=rules.SUPERVISOR)
        out.append(Entry(entry.item, step, False))
    communes = viewer.communes("supervisor")
    if communes:
        rows = session.execute(
            select(Item, ReopenRequest).join(ReopenRequest, col(ReopenRequest.item_id) == col(Item.id))
            .where(col(Item.commune_id).in_(communes), col(ReopenRequest.decision).is_(None),
                   col(Item.stage) == Stage.CLOSED, col(ReopenRequest.closure_at) == col(Item.closed_at))
            .order_by(col(ReopenRequest.requested_at)).limit(TO_DO_PAGE)).all()
        for item, req in rows:
            step = NextStep("reopen_request", rules.INSPECT, local_day(req.requested_at),
                            who=rules.SUPERVISOR)
            out.append(Entry(item, step, False))
    return out


def _board_entries(session: Session, viewer: Viewer, today: date) -> list[Entry]:
    boards = _boards(session, viewer, today)
    cond = _board_items_query(boards) if boards else None
    if cond is None:
        return []
    items = session.execute(select(Item).where(cond, col(Item.stage) == Stage.INSPECT)
                            .order_by(col(Item.stage_changed_at), col(Item.id)).limit(TO_DO_PAGE)).scalars()
    out = []
    for item in items:
        if viewer.id in workflow.facts(session, item).inspectors:
            out.append(Entry(item, NextStep("inspect", rules.INSPECT, local_day(item.stage_changed_at),
                                            who=rules.BOARD), False))
    return out


# --- similar items ----------------------------------------------------------------------------------

SIMILAR_LIMIT = 5
SIMILAR_CANDIDATES = 200  # the trigram index's best candidates, ranked in Python
SIMILAR_SCAN = 1000  # a village with at most this many open items has them all ranked


@dataclass
class Similar:
    item: Any  # a plain row: id, code, title, stage, created_at
    score: float


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


OPEN_STAGES = [str(s) for s in Stage if s != Stage.CLOSED]


def similar_open(session: Session, village_id: int, typed: str, *, exclude_id: int | None = None,
                 limit: int = SIMILAR_LIMIT) -> list[Similar]:
    """The open items of a village whose titles are most like `typed`, diacritics ignored, most alike first,
    ranked by pg_trgm's similarity (civic.workspace.rules.similarity). The candidates: every open item of
    the village when it has at most SIMILAR_SCAN; else those sharing a word with `typed`, found by the
    search indexes of the folded text — the FTS5 trigram table on SQLite, pg_trgm's GIN index on
    PostgreSQL (the best by its own similarity first)."""
    query = item_rules.fold(rules.check_similar_query(typed))
    words = [w for w in query.split() if len(w) >= 3][:12]
    if not words:
        return []
    cols = (col(Item.id), col(Item.code), col(Item.title), col(Item.stage), col(Item.created_at))
    conds = [col(Item.village_id) == village_id, col(Item.stage).in_(OPEN_STAGES)]
    if exclude_id is not None:
        conds.append(col(Item.id) != exclude_id)
    open_in_village = session.execute(select(func.coalesce(func.sum(col(ItemCount.n)), 0)).where(
        col(ItemCount.village_id) == village_id, col(ItemCount.stage).in_(OPEN_STAGES))).scalar_one()
    if open_in_village <= SIMILAR_SCAN:
        # A village's open items are few (the counts the triggers keep say how many): rank them all, from
        # the (village, stage) index, rather than every item of the commune sharing a common word.
        rows = session.execute(select(*cols).where(*conds).order_by(col(Item.id).desc())
                               .limit(SIMILAR_SCAN)).all()
    elif _is_sqlite(session):
        # Any word's trigrams: an OR of quoted words, each at least 3 letters (FTS5 trigram needs 3).
        match = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
        joined = ITEM_FTS.join(Item, col(Item.id) == ITEM_FTS.c.rowid)
        rows = session.execute(select(*cols).select_from(joined)
                               .where(text("item_fts MATCH :match").bindparams(match=match), *conds)
                               .order_by(ITEM_FTS.c.rowid.desc()).limit(SIMILAR_CANDIDATES)).all()
    else:
        # Any word, through the pg_trgm GIN index of search_text (LIKE '%word%' uses it); the best
        # candidates by pg_trgm's own similarity first.
        like = [col(Item.search_text).like(f"%{_escape_like(w)}%", escape="\\") for w in words]
        rows = session.execute(select(*cols).where(*conds, or_(*like))
                               .order_by(func.similarity(col(Item.search_text), query).desc())
                               .limit(SIMILAR_CANDIDATES)).all()
    scored = [Similar(r, rules.similarity(query, item_rules.fold(r.title))) for r in rows]
    scored = [s for s in scored if s.score >= rules.SIMILAR_MIN]
    scored.sort(key=lambda s: (-s.score, -int(s.item.id)))
    return scored[:limit]
