"""Dân kiểm tra: inspections and checklists, findings and answers, the outcomes' side effects, the
residents' verdict and reopen requests, and the supervisor's queue. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, bindparam, case, func, select
from sqlmodel import Session, col

from civic import clock
from civic.accounts.models import User
from civic.accounts.service import Viewer
from civic.areas.models import Household
from civic.areas.service import active_households
from civic.audit import service as audit
from civic.boards import rules as board_rules
from civic.boards import service as boards
from civic.core.facts import ItemFacts
from civic.core.kinds import Action, Outcome, Stage
from civic.db import Plain, PlainModels, among, row_id
from civic.errors import N_, Conflict, Forbidden, Invalid, NotFound
from civic.implementation import rules as implementation_rules
from civic.implementation import service as implementation
from civic.items.models import Item
from civic.media import service as media
from civic.media.schemas import Prepared
from civic.supervision import rules
from civic.supervision.models import ChecklistEntry, Finding, Inspection, ReopenRequest, SignOffVote, Verdict
from civic.supervision.schemas import (
    AnswerForm,
    ChecklistEntryForm,
    FindingForm,
    MarkForm,
    OpenInspectionForm,
    RefuseReopenForm,
    ReopenRequestForm,
    SignOffVoteForm,
    SupervisorQueue,
    VerdictForm,
    VerdictTotals,
)
from civic.workflow import service as workflow


def _facts(session: Session, item: Item) -> ItemFacts:
    return workflow.facts(session, item)


def _record(session: Session, item: Item, action: str, viewer: Viewer, role: str,
            payload: dict[str, Any]) -> None:
    item.updated_at = clock.now()
    session.flush()
    audit.record(session, commune_id=item.commune_id, item_id=item.id, action=action, actor_id=viewer.id,
                 actor_role=role, payload=payload)


# --- facts for the workflow -------------------------------------------------------------------------------

# Statements of the status page, built once (building a select() costs more than running it).
_OPEN_INSPECTION = (select(Inspection)
                    .where(col(Inspection.item_id) == bindparam("item_id"), col(Inspection.result).is_(None))
                    .order_by(col(Inspection.id).desc()).limit(1))
_OPEN_FINDINGS = Plain(select(func.count(), func.count(case((col(Finding.severity) == "serious", 1))))
                       .where(col(Finding.item_id) == bindparam("item_id"),
                              col(Finding.resolved_at).is_(None)))


def open_inspection(session: Session, item_id: int) -> Inspection | None:
    """The item's open inspection, the session's own row (to close it or mark it)."""
    return session.execute(_OPEN_INSPECTION, {"item_id": item_id}).scalar_one_or_none()


_CLOSURE_REOPEN = (select(ReopenRequest).where(col(ReopenRequest.item_id) == bindparam("item_id"),
                                                col(ReopenRequest.closure_at) == bindparam("closed_at"),
                                                col(ReopenRequest.decision).is_(None))
                   .order_by(col(ReopenRequest.id)).limit(1))
_CHECKLIST_OPEN = Plain(
    select(func.count(case((col(ChecklistEntry.mark).is_(None), 1))),
           func.count(case(((col(ChecklistEntry.mark) == "not_ok")
                            & ~select(col(Finding.id)).where(col(Finding.checklist_entry_id)
                                                             == col(ChecklistEntry.id)).exists(), 1))))
    .where(col(ChecklistEntry.inspection_id) == bindparam("inspection_id")))


# What the workflow's facts ask of them: only whether one exists.
_CLOSURE_REOPEN_PENDING = Plain(_CLOSURE_REOPEN.with_only_columns(col(ReopenRequest.id)))
_OPEN_INSPECTION_ID = Plain(_OPEN_INSPECTION.with_only_columns(col(Inspection.id)))


def current_closure_reopen(session: Session, item: Item) -> ReopenRequest | None:
    """The oldest undecided reopen request of the item's current done closure, the session's own row (to
    decide it)."""
    if item.closed_at is None:
        return None
    return session.execute(_CLOSURE_REOPEN, {"item_id": item.id, "closed_at": item.closed_at}
                           ).scalar_one_or_none()


def workflow_facts(session: Session, item: Item) -> dict[str, Any]:
    """What the workflow rules need about Dân kiểm tra (at most two queries, only where it matters)."""
    if item.stage == Stage.INSPECT:
        inspection_id = _OPEN_INSPECTION_ID.rows(session, {"item_id": item.id}).scalar()
        board, inspectors = boards.inspecting(session, item)
        unmarked = uncovered = agreed = 0
        if inspection_id is not None:
            unmarked, uncovered = _CHECKLIST_OPEN.rows(session, {"inspection_id": inspection_id}).first()
            if board is not None and inspectors:
                agreed = _agreed(session, inspection_id, row_id(board), inspectors)
        opened, serious = _OPEN_FINDINGS.rows(session, {"item_id": item.id}).first()
        return {"inspection_open": inspection_id is not None, "checklist_unmarked": unmarked,
                "findings_open": opened, "serious_findings_open": serious, "inspectors": inspectors,
                "sign_off_agreed": agreed, "checklist_not_met_uncovered": uncovered}
    if item.stage == Stage.CLOSED and item.outcome == Outcome.DONE:
        pending = item.closed_at is not None and _CLOSURE_REOPEN_PENDING.rows(
            session, {"item_id": item.id, "closed_at": item.closed_at}).first() is not None
        return {"reopen_pending": pending}
    return {}


_AGREED = Plain(select(func.count()).select_from(SignOffVote).where(
    col(SignOffVote.inspection_id) == bindparam("inspection_id"),
    col(SignOffVote.board_id) == bindparam("board_id"), col(SignOffVote.agree),
    among(col(SignOffVote.user_id), "inspectors")))


def _agreed(session: Session, inspection_id: int, board_id: int, inspectors: frozenset[int]) -> int:
    """Members of the board (today's) who agreed to sign this inspection off."""
    return int(_AGREED.rows(session, {"inspection_id": inspection_id, "board_id": board_id,
                                      "inspectors": inspectors}).scalar())


def _clear_votes(session: Session, inspection: Inspection) -> dict[str, Any]:
    """A change to the checklist or the findings: the members' words on the sign-off were given on what the
    inspection said before, so they are asked again."""
    votes = list(session.execute(select(SignOffVote).where(col(SignOffVote.inspection_id) == inspection.id))
                 .scalars())
    for vote in votes:
        session.delete(vote)
    return {"votes_cleared": len(votes)} if votes else {}


# --- inspections ------------------------------------------------------------------------------------------

def open_new_inspection(session: Session, item: Item, viewer: Viewer, form: OpenInspectionForm | None = None
                        ) -> Inspection:
    """A supervisor opens an inspection with a checklist: the defaults, or the entries they typed."""
    facts = _facts(session, item)
    rules.check_inspector(facts, viewer.facts())
    rules.check_open_inspection(facts)
    labels = list(form.checklist) if form and form.checklist else list(rules.DEFAULT_CHECKLIST)
    now = clock.now()
    inspection = Inspection(item_id=row_id(item), opened_at=now, opened_by_id=viewer.id)
    session.add(inspection)
    session.flush()
    for pos, label in enumerate(labels):
        session.add(ChecklistEntry(inspection_id=row_id(inspection), position=pos, label=label))
    _record(session, item, "inspection_opened", viewer, "board_member",
            {"inspection_id": inspection.id, "checklist": len(labels)})
    return inspection


def _open_inspection_or_conflict(session: Session, item: Item, viewer: Viewer) -> Inspection:
    facts = _facts(session, item)
    rules.check_inspector(facts, viewer.facts())
    rules.check_inspection_is_open(facts)
    inspection = open_inspection(session, row_id(item))
    if inspection is None:  # the facts just said one is open; refused the same way if not
        raise Conflict(N_("No inspection of this item is open."))
    return inspection


def add_checklist_entry(session: Session, item: Item, viewer: Viewer, form: ChecklistEntryForm
                        ) -> ChecklistEntry:
    inspection = _open_inspection_or_conflict(session, item, viewer)
    existing = session.execute(select(func.count(), func.max(col(ChecklistEntry.position)))
                               .where(col(ChecklistEntry.inspection_id) == inspection.id)).one()
    rules.check_checklist_room(existing[0])
    label = form.label
    entry = ChecklistEntry(inspection_id=row_id(inspection), position=(existing[1] or 0) + 1, label=label)
    session.add(entry)
    session.flush()
    _record(session, item, "checklist_changed", viewer, "board_member",
            {"inspection_id": inspection.id, "added": label, **_clear_votes(session, inspection)})
    return entry


def _entry(session: Session, inspection: Inspection, entry_id: int | None) -> ChecklistEntry:
    entry = session.get(ChecklistEntry, entry_id) if entry_id else None
    if entry is None or entry.inspection_id != inspection.id:
        raise NotFound(N_("This checklist entry does not exist."))
    return entry


def remove_checklist_entry(session: Session, item: Item, viewer: Viewer, entry_id: int | None) -> None:
    inspection = _open_inspection_or_conflict(session, item, viewer)
    entry = _entry(session, inspection, entry_id)
    left = session.execute(select(func.count()).select_from(ChecklistEntry)
                           .where(col(ChecklistEntry.inspection_id) == inspection.id)).scalar_one()
    if left <= 1:
        raise Invalid(N_("The checklist needs at least one entry."), field="label")
    label = entry.label
    session.delete(entry)
    _record(session, item, "checklist_changed", viewer, "board_member",
            {"inspection_id": inspection.id, "removed": label, **_clear_votes(session, inspection)})


def mark_entry(session: Session, item: Item, viewer: Viewer, form: MarkForm) -> ChecklistEntry:
    inspection = _open_inspection_or_conflict(session, item, viewer)
    entry = _entry(session, inspection, form.target_id)
    mark, note = form.mark, form.note
    entry.mark, entry.note, entry.marked_at = mark, note, clock.now()
    _record(session, item, "checklist_marked", viewer, "board_member",
            {"inspection_id": inspection.id, "entry_id": entry.id, "label": entry.label, "mark": mark,
             "note": note, **_clear_votes(session, inspection)})
    return entry


def add_finding(session: Session, item: Item, viewer: Viewer, form: FindingForm,
                photos: Sequence[Prepared] = ()) -> Finding:
    """A board member records a finding of the open inspection, with its photos (prepared before the
    transaction: see civic.web.forms), covering a checklist entry marked not satisfactory if one is named."""
    inspection = _open_inspection_or_conflict(session, item, viewer)
    entry = _entry(session, inspection, form.entry_id) if form.entry_id else None
    finding = Finding(item_id=row_id(item), inspection_id=row_id(inspection), severity=form.severity,
                      text=form.text, due_on=form.due_on, created_at=clock.now(), created_by_id=viewer.id,
                      checklist_entry_id=entry.id if entry else None)
    session.add(finding)
    session.flush()
    _record(session, item, "finding_added", viewer, "board_member",
            {"finding_id": finding.id, "severity": form.severity, "text": form.text,
             "due_on": form.due_on.isoformat() if form.due_on else None,
             "entry_id": entry.id if entry else None, **_clear_votes(session, inspection)})
    for photo in photos:
        media.attach(session, item=item, upload=photo, purpose="finding", actor_id=viewer.id,
                     owner_kind="finding", owner_id=finding.id, actor_role="supervisor",
                     accept=rules.FINDING_FILES, field="photos")
    return finding


def _finding(session: Session, item: Item, finding_id: int | None) -> Finding:
    finding = session.get(Finding, finding_id) if finding_id else None
    if finding is None or finding.item_id != item.id:
        raise NotFound(N_("This finding does not exist."))
    return finding


def answer_finding(session: Session, item: Item, viewer: Viewer, form: AnswerForm) -> Finding:
    """The village head of the item's village answers a finding, in public. A later answer replaces it."""
    finding = _finding(session, item, form.target_id)
    rules.check_answerer(_facts(session, item), viewer.facts())
    rules.check_answer(finding_resolved=finding.resolved_at is not None)
    text = form.answer
    finding.answer, finding.answered_at, finding.answered_by_id = text, clock.now(), viewer.id
    _record(session, item, "finding_answered", viewer, "village_head",
            {"finding_id": finding.id, "text": text})
    return finding


def resolve_finding(session: Session, item: Item, viewer: Viewer, finding_id: int | None) -> Finding:
    finding = _finding(session, item, finding_id)
    rules.check_inspector(_facts(session, item), viewer.facts())
    rules.check_resolve(answered=finding.answered_at is not None, resolved=finding.resolved_at is not None)
    finding.resolved_at, finding.resolved_by_id = clock.now(), viewer.id
    _record(session, item, "finding_resolved", viewer, "board_member",
            {"finding_id": finding.id, "severity": finding.severity})
    return finding


# --- the board's sign-off --------------------------------------------------------------------------------

def vote_sign_off(session: Session, item: Item, viewer: Viewer, form: SignOffVoteForm) -> bool:
    """A member of the inspecting board agrees (or not) to sign the open inspection off; a later word
    replaces their earlier one. The agreement that makes more than half of ALL the board's members signs the
    item off, in the same transaction. Returns whether it did."""
    facts = _facts(session, item)
    rules.check_inspector(facts, viewer.facts())
    rules.check_inspection_is_open(facts)
    agree = form.vote == "agree"
    if agree:
        rules.check_sign_off_ready(facts)
    inspection = open_inspection(session, row_id(item))
    board = boards.inspecting_board(session, item)
    if inspection is None or board is None:  # the facts just said both exist; refused the same way if not
        raise Conflict(N_("No inspection of this item is open."))
    if agree:
        boards.check_can_decide(session, board)
    user_id = row_id(viewer.user) if viewer.user is not None else 0
    vote = session.execute(select(SignOffVote).where(
        col(SignOffVote.inspection_id) == inspection.id, col(SignOffVote.user_id) == user_id)
    ).scalar_one_or_none()
    if vote is None:
        vote = SignOffVote(inspection_id=row_id(inspection), board_id=row_id(board), user_id=user_id,
                           agree=agree, voted_at=clock.now())
        session.add(vote)
    vote.agree, vote.voted_at, vote.board_id = agree, clock.now(), row_id(board)
    session.flush()
    agreed = _agreed(session, row_id(inspection), row_id(board), facts.inspectors)
    members = len(facts.inspectors)
    _record(session, item, "sign_off_vote", viewer, "board_member",
            {"inspection_id": inspection.id, "board_id": board.id, "agree": agree, "agreed": agreed,
             "members": members, "vote_id": vote.id})
    if agree and board_rules.has_majority(agreed, members):
        form_class = workflow.form_for(Action.SIGN_OFF)
        workflow.transition(session, item, Action.SIGN_OFF, viewer, form_class.parse({}))
        return True
    return False


@dataclass(frozen=True)
class VoteRow:
    name: str  # a board member: a public office, named
    agree: bool


_VOTES = Plain(select(col(User.display_name), col(SignOffVote.agree), col(SignOffVote.board_id))
               .join(User, col(User.id) == col(SignOffVote.user_id))
               .where(col(SignOffVote.inspection_id) == bindparam("inspection_id"))
               .order_by(col(SignOffVote.agree).desc(), col(User.display_name)))


def votes(session: Session, inspection_id: int | None) -> tuple[list[VoteRow], int]:
    """Who of the board agreed to sign an inspection off and who did not, and how many members the board
    they spoke for has (in two queries; none without an inspection)."""
    if inspection_id is None:
        return [], 0
    rows = _VOTES.rows(session, {"inspection_id": inspection_id})
    if not rows:
        return [], 0
    members = boards.in_office_count(session, rows[0][2])
    return [VoteRow(name, agree) for name, agree, _board in rows], members


def sign_off_record(session: Session, inspection: Inspection) -> dict[str, Any]:
    """The public facts of a board's sign-off: which board, how many members, who agreed (user ids)."""
    rows = session.execute(select(col(SignOffVote.board_id), col(SignOffVote.user_id))
                           .where(col(SignOffVote.inspection_id) == inspection.id, col(SignOffVote.agree))
                           .order_by(col(SignOffVote.user_id))).all()
    return {"board_id": rows[0][0] if rows else None, "agreed_by": [user_id for _b, user_id in rows]}


# --- verdicts and reopening ---------------------------------------------------------------------------------

def _verdict_household(session: Session, item: Item, viewer: Viewer, wanted: int | None) -> Household:
    mine = implementation.represented_households(session, viewer)
    household = next((h for h in mine if h.id == wanted), None)
    if household is None:
        in_village = [h for h in mine if h.village_id == item.village_id]
        household = in_village[0] if len(in_village) == 1 and not wanted else None
    if household is None:
        if mine and not any(h.village_id == item.village_id for h in mine):
            raise Forbidden(N_("This household is not in the village of this item."))
        raise Forbidden(N_("Only the representative of a household of this village can give its verdict."))
    today = clock.today_local()
    active = household.active_from <= today and (household.active_to is None or household.active_to > today)
    implementation_rules.check_household(household.village_id, active, _facts(session, item))
    return household


def household_verdict(session: Session, item: Item, household_id: int) -> Verdict | None:
    if item.closed_at is None:
        return None
    return session.execute(select(Verdict).where(col(Verdict.item_id) == item.id,
                                                 col(Verdict.household_id) == household_id,
                                                 col(Verdict.closure_at) == item.closed_at)
                           ).scalar_one_or_none()


def give_verdict(session: Session, item: Item, viewer: Viewer, form: VerdictForm) -> Verdict:
    household = _verdict_household(session, item, viewer, form.household_id)
    facts = _facts(session, item)
    rules.check_verdict(facts, clock.now(),
                        already_given=household_verdict(session, item, row_id(household)) is not None)
    assert item.closed_at is not None  # check_verdict refuses an item that is not closed
    v = Verdict(item_id=row_id(item), household_id=row_id(household), closure_at=item.closed_at,
                verdict=form.verdict, satisfaction=form.satisfaction, comment=form.comment,
                given_by_id=viewer.id, created_at=clock.now())
    session.add(v)
    session.flush()
    _record(session, item, "verdict_given", viewer, "household",
            {"verdict_id": v.id, "verdict": form.verdict, "satisfaction": form.satisfaction})
    return v


def ask_reopen(session: Session, item: Item, viewer: Viewer, form: ReopenRequestForm) -> ReopenRequest:
    household = _verdict_household(session, item, viewer, form.household_id)
    facts = _facts(session, item)
    verdict = household_verdict(session, item, row_id(household))
    asked = session.execute(select(col(ReopenRequest.id)).where(
        col(ReopenRequest.item_id) == item.id, col(ReopenRequest.household_id) == household.id,
        col(ReopenRequest.closure_at) == item.closed_at)).first() is not None
    rules.check_reopen_request(facts, clock.now(), household_verdict=verdict.verdict if verdict else None,
                               already_asked=asked)
    reason = form.reason
    assert item.closed_at is not None  # check_reopen_request refuses an item that is not closed
    r = ReopenRequest(item_id=row_id(item), household_id=row_id(household), closure_at=item.closed_at,
                      reason=reason, requested_at=clock.now(), requested_by_id=viewer.id)
    session.add(r)
    session.flush()
    _record(session, item, "reopen_requested", viewer, "household",
            {"reopen_request_id": r.id, "reason": reason})
    return r


def refuse_reopen(session: Session, item: Item, viewer: Viewer, form: RefuseReopenForm) -> ReopenRequest:
    """A supervisor decides a household's request to reopen: not reopened, with a public reason."""
    facts = _facts(session, item)
    rules.check_refuse_reopen(facts, viewer.facts())
    reason = form.reason
    request = current_closure_reopen(session, item)
    if request is None:  # the facts just said one is pending; refused the same way if not
        raise Conflict(N_("No household has asked to reopen this item."))
    request.decision, request.decision_reason = "refused", reason
    request.decided_at, request.decided_by_id = clock.now(), viewer.id
    _record(session, item, "reopen_refused", viewer, "supervisor",
            {"reopen_request_id": request.id, "reason": reason})
    return request


# --- reading ------------------------------------------------------------------------------------------------

_VERDICTS = Plain(select(col(Verdict.verdict), func.count(), func.sum(col(Verdict.satisfaction)))
                  .where(col(Verdict.item_id) == bindparam("item_id"),
                         col(Verdict.closure_at) == bindparam("closure_at"))
                  .group_by(col(Verdict.verdict)))


def verdict_totals(session: Session, item: Item) -> VerdictTotals | None:
    """The residents' verdicts on the item's current (or last) done closure, counted."""
    closure = item.closed_at
    if closure is None:
        return None
    rows = _VERDICTS.rows(session, {"item_id": item.id, "closure_at": closure})
    by = {k: 0 for k in rules.VERDICTS}
    count = score = 0
    for verdict, n, s in rules_rows(rows):
        by[verdict] = n
        count += n
        score += s

    avg = round(score / count, 1) if count else None
    return VerdictTotals(count, by, avg, active_households(session, item.village_id, clock.today_local()))


def rules_rows(rows):
    return [(v, int(n), int(s or 0)) for v, n, s in rows]


# Shown, never changed: plain rows made into models of no session (civic.db.PlainModels).
_INSPECTIONS = PlainModels(select(Inspection).where(col(Inspection.item_id) == bindparam("item_id"))
                           .order_by(col(Inspection.id).desc()).limit(bindparam("limit", type_=Integer)),
                           Inspection)


def inspections(session: Session, item: Item, limit: int = 5) -> list[Inspection]:
    return _INSPECTIONS.objects(session, {"item_id": item.id, "limit": limit})


_CHECKLISTS = PlainModels(select(ChecklistEntry).where(among(col(ChecklistEntry.inspection_id), "ids"))
                          .order_by(col(ChecklistEntry.position), col(ChecklistEntry.id)), ChecklistEntry)


def checklist(session: Session, inspection_ids: list[int]) -> dict[int, list[ChecklistEntry]]:
    """The inspections' checklists, entries in order (copies, to show)."""
    out: dict[int, list[ChecklistEntry]] = {i: [] for i in inspection_ids}
    if not inspection_ids:
        return out
    for e in _CHECKLISTS.objects(session, {"ids": inspection_ids}):
        out[e.inspection_id].append(e)
    return out


_FINDINGS = PlainModels(select(Finding).where(col(Finding.item_id) == bindparam("item_id"))
                        .order_by(col(Finding.resolved_at).is_not(None),
                                  case((col(Finding.severity) == "serious", 0),
                                       (col(Finding.severity) == "needs_fixing", 1), else_=2),
                                  col(Finding.id).desc())
                        .limit(bindparam("limit", type_=Integer)), Finding)
_REOPEN_REQUESTS = PlainModels(select(ReopenRequest).where(col(ReopenRequest.item_id) == bindparam("item_id"))
                               .order_by(col(ReopenRequest.id).desc())
                               .limit(bindparam("limit", type_=Integer)), ReopenRequest)


def findings(session: Session, item: Item, limit: int = 50) -> list[Finding]:
    """Open findings first (serious first), then resolved ones; newest first within each."""
    return _FINDINGS.objects(session, {"item_id": item.id, "limit": limit})


def reopen_requests(session: Session, item: Item, limit: int = 20) -> list[ReopenRequest]:
    return _REOPEN_REQUESTS.objects(session, {"item_id": item.id, "limit": limit})


# --- the supervisor's queue -------------------------------------------------------------------------------

def queue(session: Session, viewer: Viewer, limit: int = 100) -> SupervisorQueue:
    communes = viewer.communes("supervisor")
    if not communes:
        return SupervisorQueue([], [], [])
    awaiting = session.execute(
        select(Item, Inspection)
        .outerjoin(Inspection, (col(Inspection.item_id) == col(Item.id)) & col(Inspection.result).is_(None))
        .where(col(Item.commune_id).in_(communes), col(Item.stage) == Stage.INSPECT)
        .order_by(col(Item.stage_changed_at), col(Item.id)).limit(limit)).all()
    today = clock.today_local()
    due = session.execute(
        select(Item, Finding).join(Finding, col(Finding.item_id) == col(Item.id))
        .where(col(Item.commune_id).in_(communes), col(Finding.resolved_at).is_(None),
               col(Finding.due_on).is_not(None), col(Finding.due_on) < today)
        .order_by(col(Finding.due_on), col(Finding.id)).limit(limit)).all()
    reopen = session.execute(
        select(Item, ReopenRequest).join(ReopenRequest, col(ReopenRequest.item_id) == col(Item.id))
        .where(col(Item.commune_id).in_(communes), col(ReopenRequest.decision).is_(None),
               col(Item.stage) == Stage.CLOSED, col(ReopenRequest.closure_at) == col(Item.closed_at))
        .order_by(col(ReopenRequest.requested_at)).limit(limit)).all()
    return SupervisorQueue(list(awaiting), list(due), list(reopen))

