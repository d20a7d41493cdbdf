"""Dân biết and Dân bàn: the only code that changes disclosures, comments, supports, meetings, decisions and
ballots. Loads, asks the rules, changes, records one audit event, flushes; never commits.

Events of residents that can be many (a comment, a support, a ballot) are written to the commune's chain
without an item id, so the item's timeline keeps to the official steps; their payload names the item code.
A ballot event never says how the household voted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import BindParameter, Integer, bindparam, case, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from civic import clock
from civic.accounts.models import User
from civic.accounts.service import Viewer
from civic.areas import service as areas
from civic.areas.models import Household, HouseholdMember, Village
from civic.audit import service as audit
from civic.audit.rules import text_digest
from civic.config import get_settings
from civic.core.inputs import localize
from civic.db import Plain, PlainModels, among, row_id
from civic.deliberation import matters, rules
from civic.deliberation.models import (
    Ballot,
    Comment,
    Decision,
    Disclosure,
    Discussion,
    FrontAgreement,
    Meeting,
    MeetingAttendance,
    MeetingCluster,
    Support,
    VillageResult,
)
from civic.deliberation.schemas import (
    NO_MEETING,
    CancelMeetingForm,
    ClusterForm,
    CommentForm,
    CommuneDecisionForm,
    CountForm,
    DecideForm,
    DisclosureForm,
    HideCommentForm,
    MinDisclosureDaysForm,
    MoveMeetingForm,
    PaperBallotForm,
    RecordMeetingForm,
    RollForm,
    ScheduleMeetingForm,
    VillageResultForm,
    VoteForm,
)
from civic.errors import N_, Conflict, Forbidden, Invalid, NotFound
from civic.items.models import Category, Item
from civic.items.rules import fold
from civic.media import service as media
from civic.media.schemas import Prepared

COMMENT_PAGE_SIZE = 20
MAX_SHOWN = 50  # disclosures, meetings and decisions shown on a page (a village has a handful)


def meeting_notice_days() -> int:
    return get_settings().meeting_notice_days


def _local_day_start(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=clock.LOCAL_TZ).astimezone(UTC)  # stored in UTC


def _local_date(moment: datetime) -> date:
    return clock.local_day(moment)


# --- facts for the workflow rules -----------------------------------------------------------------

def workflow_facts(session: Session, item: Item) -> dict[str, Any]:
    """The facts the stage rules need, in one query for the item's current stage."""
    if item.stage == "know":
        postings = _postings(session, row_id(item))
        return {"disclosure_count": len(postings),
                "disclosure_ready_on": rules.disclosure_ready_on(rules.coverage(postings, accepted_on(item)),
                                                                 _required_days(session, item))}
    if item.stage == "discuss":
        outcome = _result(session, row_id(item))
        return {"decision_passed": outcome == "passed", "decision_failed": outcome == "failed"}
    return {}


def accepted_on(item: Item) -> date:
    """The local day the item was accepted into Dân biết: no disclosure of it can start earlier."""
    return _local_date(item.acknowledged_at or item.created_at)


_POSTINGS = Plain(select(col(Disclosure.channel), col(Disclosure.starts_on), col(Disclosure.ends_on)).where(
    col(Disclosure.item_id) == bindparam("item_id")))
_RESULT = Plain(select(col(Decision.status), col(Decision.passed))
                .where(col(Decision.item_id) == bindparam("item_id"), col(Decision.status) == "closed")
                .order_by(col(Decision.id).desc()).limit(1))


def _postings(session: Session, item_id: int) -> list[rules.Posting]:
    rows = _POSTINGS.rows(session, {"item_id": item_id})
    return [rules.Posting(channel, starts_on, ends_on) for channel, starts_on, ends_on in rows]


_CATEGORY_DAYS = Plain(select(col(Category.code), col(Category.min_disclosure_days)).where(
    col(Category.id) == bindparam("category_id")))


def _required_days(session: Session, item: Item) -> int:
    row = _CATEGORY_DAYS.rows(session, {"category_id": item.category_id}).first()
    return rules.required_days(row[0], row[1]) if row else rules.MIN_DISCLOSURE_DAYS_FLOOR


def _result(session: Session, item_id: int) -> str:
    row = _RESULT.rows(session, {"item_id": item_id}).first()
    return rules.decision_outcome(row[0], row[1]) if row else ""


def latest_result(session: Session, item_id: int) -> Decision | None:
    return session.execute(select(Decision).where(col(Decision.item_id) == item_id,
                                                  col(Decision.status) == "closed")
                           .order_by(col(Decision.id).desc()).limit(1)).scalar_one_or_none()


def _discussion(session: Session, item: Item) -> Discussion:
    """The question households decide; an item that reached Dân bàn without one asks for contributions."""
    discussion = session.execute(select(Discussion).where(col(Discussion.item_id) == item.id)
                                 ).scalar_one_or_none()
    if discussion is None:
        discussion = Discussion(item_id=row_id(item), question=item.title, asks_contribution=True,
                                opened_at=clock.now())
        session.add(discussion)
        session.flush()
    return discussion


def _record(session: Session, item: Item, action: str, viewer: Viewer, payload: dict[str, Any], *,
            role: str = "village_head", on_timeline: bool = True) -> None:
    session.flush()
    if not on_timeline:
        payload = {"item": item.code, **payload}
    audit.record(session, commune_id=item.commune_id, item_id=item.id if on_timeline else None, action=action,
                 actor_id=viewer.id, actor_role=role, payload=payload)


def _touch(item: Item) -> None:
    item.updated_at = clock.now()


# --- Dân biết ---------------------------------------------------------------------------------------

def _attach(session: Session, item: Item, viewer: Viewer, uploads: Sequence[Prepared], *, purpose: str,
            owner_kind: str, owner_id: int, accept: tuple[str, ...], field: str) -> None:
    """Attach checked uploads (civic.media) as evidence of one of this module's rows."""
    if not uploads:
        return
    for upload in uploads:
        media.attach(session, item=item, upload=upload, purpose=purpose, actor_id=viewer.id,
                     owner_kind=owner_kind, owner_id=owner_id, actor_role="village_head", accept=accept,
                     field=field)


def add_disclosure(session: Session, item: Item, viewer: Viewer, form: DisclosureForm,
                   proof: Sequence[Prepared] = ()) -> Disclosure:
    rules.check_village_head(viewer.facts(), item.village_id)
    rules.check_stage(item.stage, rules.DISCLOSURE_STAGES,
                      N_("Disclosures are recorded while the item is in People know or People discuss."))
    rules.check_disclosure_dates(form.starts_on, form.ends_on, accepted_on(item))
    disclosure = Disclosure(item_id=row_id(item), posted_by_id=viewer.id, created_at=clock.now(),
                            channel=form.channel, place=form.place, starts_on=form.starts_on,
                            ends_on=form.ends_on, note=form.note)
    session.add(disclosure)
    _touch(item)
    session.flush()
    _record(session, item, "disclosure_added", viewer, {
        "disclosure_id": disclosure.id, "channel": form.channel, "place": form.place,
        "starts_on": form.starts_on.isoformat(), "ends_on": form.ends_on.isoformat()})
    _attach(session, item, viewer, proof, purpose="disclosure_proof", owner_kind="disclosure",
            owner_id=row_id(disclosure), accept=("photo",), field="proof")
    return disclosure


# --- comments and supports -------------------------------------------------------------------------

def add_comment(session: Session, item: Item, viewer: Viewer, form: CommentForm) -> Comment:
    if viewer.user is None:
        raise Forbidden(N_("Please log in to comment."))
    rules.check_stage(item.stage, rules.COMMENT_STAGES,
                      N_("Comments are open while the item is in People know or People discuss."))
    body = form.body
    role = rules.official_role(viewer.facts(), item.commune_id, item.village_id)
    reply_to = None
    if form.reply_to is not None:
        reply_to = session.get(Comment, form.reply_to)
        if reply_to is None or reply_to.item_id != item.id:
            raise Invalid(N_("This comment does not exist."), field="body")
    comment = Comment(item_id=row_id(item), author_id=row_id(viewer.user), body=body, official=bool(role),
                      author_role=role or "resident", reply_to_id=reply_to.id if reply_to else None,
                      created_at=clock.now())
    session.add(comment)
    session.flush()
    if role:
        _touch(item)
        _record(session, item, "official_reply", viewer, {"comment_id": comment.id, "text": body}, role=role)
    else:
        _record(session, item, "comment_added", viewer, {"comment_id": comment.id}, role="resident",
                on_timeline=False)
    return comment


def hide_comment(session: Session, item: Item, viewer: Viewer, form: HideCommentForm) -> Comment:
    rules.check_village_head(viewer.facts(), item.village_id)
    comment = session.get(Comment, form.comment_id) if form.comment_id is not None else None
    if comment is None or comment.item_id != item.id:
        raise NotFound(N_("This comment does not exist."))
    if comment.hidden_at is not None:
        raise Conflict(N_("This comment is already hidden."))
    reason = form.reason
    comment.hidden_at, comment.hidden_reason, comment.hidden_by_id = clock.now(), reason, viewer.id
    _touch(item)
    _record(session, item, "comment_hidden", viewer, {"comment_id": comment.id, "reason": reason})
    return comment


def _representations(session: Session, viewer: Viewer, village_id: int, on: date) -> list[tuple[int, bool]]:
    if viewer.user is None:
        return []
    rows = session.execute(
        select(col(Household.id), col(HouseholdMember.is_representative))
        .join(HouseholdMember, col(HouseholdMember.household_id) == col(Household.id))
        .where(col(HouseholdMember.user_id) == viewer.id, col(Household.village_id) == village_id,
               col(Household.active_from) <= on,
               or_(col(Household.active_to).is_(None), col(Household.active_to) > on))
        .order_by(col(HouseholdMember.is_representative).desc(), col(Household.id))
    ).all()
    return [(h, bool(r)) for h, r in rows]


def support(session: Session, item: Item, viewer: Viewer) -> Support:
    if viewer.user is None:
        raise Forbidden(N_("Please log in to support an item."))
    rules.check_stage(item.stage, rules.SUPPORT_STAGES,
                      N_("Households support an item while it is in People know or People discuss."))
    households = _representations(session, viewer, item.village_id, clock.today_local())
    if not households:
        raise Forbidden(N_("Only a member of a household of this village may support it."))
    household_id = households[0][0]
    row = Support(item_id=row_id(item), household_id=household_id, user_id=row_id(viewer.user),
                  created_at=clock.now())
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Conflict(N_("Your household already supports this item.")) from None
    _record(session, item, "support_added", viewer, {"support_id": row.id}, role="resident",
            on_timeline=False)
    return row


def withdraw_support(session: Session, item: Item, viewer: Viewer) -> None:
    """A household takes its support back while the item can still be supported; the chain keeps both."""
    if viewer.user is None:
        raise Forbidden(N_("Please log in to support an item."))
    rules.check_stage(item.stage, rules.SUPPORT_STAGES,
                      N_("Households support an item while it is in People know or People discuss."))
    household_ids = [h for h, _r in _representations(session, viewer, item.village_id, clock.today_local())]
    row = session.execute(select(Support).where(col(Support.item_id) == item.id,
                                                col(Support.household_id).in_(household_ids or [-1]))
                          .with_for_update()).scalars().first()
    if row is None:
        raise Conflict(N_("Your household does not support this item."))
    session.delete(row)
    session.flush()
    _record(session, item, "support_withdrawn", viewer, {"support_id": row.id}, role="resident",
            on_timeline=False)


# --- meetings ----------------------------------------------------------------------------------------

def _meeting_village(session: Session, item: Item, viewer: Viewer, chosen: int | None) -> int:
    """The village that meets: the item's own for a village's matter; for a matter of the whole commune,
    the chosen village of the commune (or the only one the viewer heads), which the viewer must head."""
    discussion = discussion_of(session, item)
    if discussion is None or discussion.scope != "commune":
        rules.check_village_head(viewer.facts(), item.village_id)
        return item.village_id
    villages = dict(commune_villages(session, item.commune_id))
    if chosen is None:
        mine = [v for v in villages if rules.is_village_head(viewer.facts(), v)]
        chosen = mine[0] if len(mine) == 1 else (item.village_id if item.village_id in mine else None)
        if chosen is None:
            if not mine:
                rules.check_reporting_head(viewer.facts(), item.village_id)
            raise Invalid(N_("Please choose a village of this commune."), field="village_id")
    rules.check_village_of_commune(item.commune_id if chosen in villages else None, item.commune_id)
    rules.check_reporting_head(viewer.facts(), chosen)
    return chosen


def schedule_meeting(session: Session, item: Item, viewer: Viewer, form: ScheduleMeetingForm) -> Meeting:
    rules.check_stage(item.stage, {"discuss"},
                      N_("A meeting is scheduled while the item is in People discuss."))
    village_id = _meeting_village(session, item, viewer, form.village_id)
    now = clock.now()
    starts_at = localize(form.starts_at, clock.LOCAL_TZ)
    rules.check_meeting_notice(starts_at, now, meeting_notice_days())
    meeting = Meeting(item_id=row_id(item), village_id=village_id, starts_at=starts_at.astimezone(UTC),
                      notice_at=now, scheduled_by_id=viewer.id, place=form.place, agenda=form.agenda)
    session.add(meeting)
    _touch(item)
    session.flush()
    payload: dict[str, Any] = {"meeting_id": meeting.id, "starts_at": clock.as_utc(starts_at).isoformat(),
                               "place": form.place}
    if village_id != item.village_id:
        payload["village_id"] = village_id
    _record(session, item, "meeting_scheduled", viewer, payload)
    return meeting


def _meeting(session: Session, item: Item, meeting_id: int | None) -> Meeting:
    meeting = session.get(Meeting, meeting_id) if meeting_id is not None else None
    if meeting is None or meeting.item_id != item.id:
        raise NotFound(N_("This meeting does not exist."))
    return meeting


def _open_meeting(session: Session, item: Item, viewer: Viewer, meeting_id: int | None) -> Meeting:
    """The village head's meeting of this item, neither cancelled nor recorded, while in Dân bàn. The
    meeting's own village's head: for a matter of the whole commune, each village's meeting is its head's."""
    meeting = session.get(Meeting, meeting_id) if meeting_id is not None else None
    rules.check_village_head(viewer.facts(), meeting.village_id if meeting is not None and
                             meeting.item_id == item.id else item.village_id)
    rules.check_stage(item.stage, {"discuss"},
                      N_("A meeting is recorded while the item is in People discuss."))
    meeting = _meeting(session, item, meeting_id)
    rules.check_meeting_open(meeting.recorded_at is not None, clock.as_utc(meeting.cancelled_at))
    return meeting


def _roll_households(session: Session, ids: list[int]) -> dict[int, rules.RollHousehold]:
    if not ids:
        return {}
    rows = session.execute(select(col(Household.id), col(Household.code), col(Household.village_id),
                                  col(Household.active_from), col(Household.active_to))
                           .where(col(Household.id).in_(ids))).all()
    return {r[0]: rules.RollHousehold(*r) for r in rows}


def _cluster(session: Session, meeting: Meeting, cluster_id: int | None) -> MeetingCluster | None:
    if cluster_id is None:
        return None
    cluster = session.get(MeetingCluster, cluster_id)
    if cluster is None or cluster.meeting_id != meeting.id:
        raise Invalid(N_("This cluster does not exist."), field="cluster_id")
    return cluster


def mark_roll(session: Session, item: Item, viewer: Viewer, form: RollForm) -> int:
    """One page of the roll: the households ticked are present (in the chosen cluster), those shown and
    not ticked are not. Returns the households on the roll now."""
    meeting = _open_meeting(session, item, viewer, form.meeting_id)
    rules.check_meeting_held(clock.as_utc(meeting.starts_at), clock.now())
    cluster = _cluster(session, meeting, form.cluster_id)
    on = _local_date(meeting.starts_at)
    ticked = set(form.household)
    shown = set(form.shown) | ticked
    households = _roll_households(session, sorted(shown))
    for household_id in sorted(ticked):
        rules.check_roll_household(households.get(household_id), meeting.village_id, on)
    current = {a.household_id: a for a in session.execute(
        select(MeetingAttendance).where(col(MeetingAttendance.meeting_id) == meeting.id,
                                        col(MeetingAttendance.household_id).in_(sorted(shown) or [-1]))
    ).scalars()}
    cluster_id = cluster.id if cluster else None
    for household_id in sorted(ticked):
        row = current.get(household_id)
        if row is not None and row.cluster_id != cluster_id:
            raise Conflict(N_("Household %(code)s is already on the roll of another cluster."),
                           code=households[household_id].code)
    taken_off = sorted(h for h, row in current.items() if h not in ticked and row.cluster_id == cluster_id)
    rules.check_removed_roll(len(taken_off), form.reason)
    added = 0
    now = clock.now()
    for household_id in sorted(ticked - set(current)):
        session.add(MeetingAttendance(meeting_id=row_id(meeting), household_id=household_id,
                                      cluster_id=cluster_id, ticked_by_id=viewer.id, ticked_at=now))
        added += 1
    for household_id in taken_off:
        session.delete(current[household_id])
    session.flush()
    present = _roll_count(session, row_id(meeting))
    if added or taken_off:
        _touch(item)
        payload: dict[str, Any] = {"meeting_id": meeting.id, "added": added, "removed": len(taken_off),
                                   "present": present}
        if taken_off:  # which households came off, and why (codes only: no names)
            payload.update({"removed_households": [households[h].code for h in taken_off],
                            "reason": form.reason})
        _record(session, item, "roll_marked", viewer, payload, on_timeline=False)
    return present


def _roll_count(session: Session, meeting_id: int, cluster_id: int | None = None) -> int:
    stmt = select(func.count()).select_from(MeetingAttendance)\
        .where(col(MeetingAttendance.meeting_id) == meeting_id)
    if cluster_id is not None:
        stmt = stmt.where(col(MeetingAttendance.cluster_id) == cluster_id)
    return session.execute(stmt).scalar_one()


def add_cluster(session: Session, item: Item, viewer: Viewer, form: ClusterForm) -> MeetingCluster:
    """A village of 200 or more households may meet in clusters, each with its chair and its roll."""
    meeting = _open_meeting(session, item, viewer, form.meeting_id)
    total = areas.active_households(session, meeting.village_id, _local_date(meeting.starts_at))
    if total < rules.CLUSTER_MIN_HOUSEHOLDS:
        raise Invalid(N_("Only villages of %(min)s or more households may meet by cluster."), field="name",
                      min=rules.CLUSTER_MIN_HOUSEHOLDS)
    clusters = list(session.execute(select(MeetingCluster).where(col(MeetingCluster.meeting_id) == meeting.id)
                                    ).scalars())
    if len(clusters) >= rules.MAX_CLUSTERS:
        raise Conflict(N_("A meeting has at most %(n)s clusters."), n=rules.MAX_CLUSTERS)
    if any(c.name.casefold() == form.name.casefold() for c in clusters):
        raise Invalid(N_("This meeting already has a cluster with this name."), field="name")
    cluster = MeetingCluster(meeting_id=row_id(meeting), name=form.name, chair_name=form.chair_name)
    session.add(cluster)
    _touch(item)
    session.flush()
    _record(session, item, "meeting_cluster_added", viewer,
            {"meeting_id": meeting.id, "cluster_id": cluster.id, "name": form.name})
    return cluster


def record_meeting(session: Session, item: Item, viewer: Viewer, form: RecordMeetingForm,
                   minutes: Sequence[Prepared] = ()) -> Meeting:
    """The meeting as it went: the households present are the count of its roll."""
    meeting = _open_meeting(session, item, viewer, form.meeting_id)
    rules.check_meeting_held(clock.as_utc(meeting.starts_at), clock.now())
    total = areas.active_households(session, meeting.village_id, _local_date(meeting.starts_at))
    present = _roll_count(session, row_id(meeting))
    clusters = list(session.execute(select(MeetingCluster).where(col(MeetingCluster.meeting_id) == meeting.id)
                                    .order_by(col(MeetingCluster.id))).scalars())
    rules.check_attendance(present, bool(clusters), total)
    people = form.people_present if form.people_present is not None else present
    if people < present:
        raise Invalid(N_("Fewer people than the %(present)s households on the roll: each household sends at "
                         "least one person."), field="people_present", present=present)
    assert form.secretary_votes is not None  # a required field
    rules.check_secretary(form.secretary_votes, people)
    rules.check_counting_committee(form.voting_mode, form.committee)
    if form.chair == "village_head":
        chair_name = viewer.user.display_name if viewer.user is not None else ""
        designation = ""
    else:
        chair_name, designation = form.chair_name, form.chair_designation_ref
    meeting.recorded_at = clock.now()
    meeting.households_total = total
    meeting.households_present = present
    meeting.people_present = form.people_present
    meeting.quorum = rules.has_quorum(present, total)
    meeting.by_cluster = bool(clusters)
    meeting.chair_name, meeting.chair_designation_ref = chair_name, designation
    meeting.minutes_taker_name = form.minutes_taker_name
    meeting.secretary_votes = form.secretary_votes
    meeting.voting_mode = form.voting_mode
    meeting.counting_committee = "\n".join(form.committee) if form.voting_mode == "secret_ballot" else ""
    meeting.minutes_text = form.minutes_text
    for cluster in clusters:
        cluster.households_present = _roll_count(session, row_id(meeting), row_id(cluster))
    _touch(item)
    _record(session, item, "meeting_recorded", viewer, {
        "meeting_id": meeting.id, "present": present, "households": total, "quorum": meeting.quorum,
        "clusters": len(clusters), "voting_mode": form.voting_mode, "chair": form.chair,
        "secretary_votes": form.secretary_votes, "people_present": form.people_present,
        "designation_ref": designation, "clusters_present": [[c.id, c.households_present] for c in clusters],
        # the names the minutes show, by their SHA-256 (civic.audit.replay compares them with the table)
        "chair_sha256": text_digest(chair_name), "secretary_sha256": text_digest(meeting.minutes_taker_name),
        "committee_sha256": text_digest(meeting.counting_committee)})
    _attach(session, item, viewer, minutes, purpose="minutes", owner_kind="meeting", owner_id=row_id(meeting),
            accept=("photo", "document"), field="minutes")
    return meeting


def move_meeting(session: Session, item: Item, viewer: Viewer, form: MoveMeetingForm) -> Meeting:
    """A new date: the households are told again, so a new notice period starts now."""
    meeting = _open_meeting(session, item, viewer, form.meeting_id)
    if _roll_count(session, row_id(meeting)):
        raise Conflict(N_("This meeting has households on its roll: it took place and cannot be moved."))
    now = clock.now()
    starts_at = localize(form.starts_at, clock.LOCAL_TZ)
    rules.check_meeting_notice(starts_at, now, meeting_notice_days())
    old = clock.as_utc(meeting.starts_at)
    meeting.moved_from, meeting.starts_at, meeting.notice_at = old, starts_at.astimezone(UTC), now
    meeting.revision += 1
    _touch(item)
    _record(session, item, "meeting_moved", viewer, {
        "meeting_id": meeting.id, "from": old.isoformat(), "starts_at": clock.as_utc(starts_at).isoformat(),
        "reason": form.reason})
    return meeting


def cancel_meeting(session: Session, item: Item, viewer: Viewer, form: CancelMeetingForm) -> Meeting:
    meeting = _open_meeting(session, item, viewer, form.meeting_id)
    meeting.cancelled_at, meeting.cancel_reason = clock.now(), form.reason
    meeting.revision += 1
    _touch(item)
    _record(session, item, "meeting_cancelled", viewer, {"meeting_id": meeting.id, "reason": form.reason})
    return meeting


@dataclass
class RollRow:
    id: int
    code: str
    head_name: str
    ticked: bool
    cluster: str  # the cluster it is ticked in, "" when none


@dataclass
class RollView:
    meeting: Meeting
    rows: list[RollRow]
    q: str
    page: int
    pages: int
    matching: int  # households of the register on the meeting date matching the search
    total: int  # households of the register on the meeting date
    present: int  # households on the roll
    clusters: list[MeetingCluster]
    cluster: MeetingCluster | None
    open: bool  # the roll can still be changed
    by_cluster_allowed: bool


def _households_matching(session: Session, where: list[Any], q: str) -> list[int]:
    """The households (of one village's register on a date: a few thousand at most) whose code or head's
    name holds what was typed, without regard to case or diacritics ("nguyen" finds "Nguyễn")."""
    typed = fold(q)
    rows = session.execute(select(col(Household.id), col(Household.code), col(Household.head_name))
                           .where(*where)).all()
    return [r.id for r in rows if typed in fold(f"{r.code} {r.head_name}")]


def _register_page(session: Session, village_id: int, on: date, q: str, page: int, page_size: int
                   ) -> tuple[list[Any], int, int, int, int]:
    """The village's register on a date, narrowed by what was typed: the conditions, the register's size,
    how many match, the number of pages and the page asked for (within them)."""
    where: list[Any] = [col(Household.village_id) == village_id, col(Household.active_from) <= on,
                        or_(col(Household.active_to).is_(None), col(Household.active_to) > on)]
    total = session.execute(select(func.count()).select_from(Household).where(*where)).scalar_one()
    if q:
        where.append(col(Household.id).in_(_households_matching(session, where, q)))
    matching = session.execute(select(func.count()).select_from(Household).where(*where)).scalar_one()
    pages = max(1, -(-matching // page_size))
    return where, total, matching, pages, min(max(1, page), pages)


def roll_view(session: Session, item: Item, viewer: Viewer, meeting_id: int, q: str = "", page: int = 1,
              cluster_id: int | None = None) -> RollView:
    """One page of the village's register on the meeting date, searchable by code or head's name."""
    meeting = _meeting(session, item, meeting_id)
    rules.check_village_head(viewer.facts(), meeting.village_id)
    on = _local_date(meeting.starts_at)
    where, total, matching, pages, page = _register_page(session, meeting.village_id, on, q, page,
                                                         rules.ROLL_PAGE_SIZE)
    clusters = list(session.execute(select(MeetingCluster).where(col(MeetingCluster.meeting_id) == meeting.id)
                                    .order_by(col(MeetingCluster.id))).scalars())
    names = {c.id: c.name for c in clusters}
    rows = session.execute(
        select(col(Household.id), col(Household.code), col(Household.head_name), col(MeetingAttendance.id),
               col(MeetingAttendance.cluster_id))
        .outerjoin(MeetingAttendance, (col(MeetingAttendance.household_id) == col(Household.id))
                   & (col(MeetingAttendance.meeting_id) == meeting.id))
        .where(*where).order_by(col(Household.code))
        .offset((page - 1) * rules.ROLL_PAGE_SIZE).limit(rules.ROLL_PAGE_SIZE)).all()
    cluster = next((c for c in clusters if c.id == cluster_id), None)
    return RollView(meeting=meeting,
                    rows=[RollRow(h, code, head, a is not None, names.get(c, "") if c else "")
                          for h, code, head, a, c in rows],
                    q=q, page=page, pages=pages, matching=matching, total=total,
                    present=_roll_count(session, row_id(meeting)), clusters=clusters, cluster=cluster,
                    open=meeting.recorded_at is None and meeting.cancelled_at is None
                    and item.stage == "discuss",
                    by_cluster_allowed=total >= rules.CLUSTER_MIN_HOUSEHOLDS)


# --- decisions ---------------------------------------------------------------------------------------

def _decision_state(session: Session, item_id: int) -> tuple[bool, bool]:
    rows = session.execute(select(col(Decision.status), func.count()).where(col(Decision.item_id) == item_id)
                           .group_by(col(Decision.status))).all()
    counts = dict(rows)
    return counts.get("open", 0) > 0, counts.get("closed", 0) > 0


def register_size(session: Session, item: Item, scope: str, on: date) -> int:
    """The denominator on a date: the village's households, or every household of the commune."""
    if scope != "commune":
        return areas.active_households(session, item.village_id, on)
    return session.execute(
        select(func.count()).select_from(Household)
        .join(Village, col(Village.id) == col(Household.village_id))
        .where(col(Village.commune_id) == item.commune_id, col(Household.active_from) <= on,
               or_(col(Household.active_to).is_(None), col(Household.active_to) > on))).scalar_one()


def rule_of(discussion: Discussion) -> matters.Rule:
    return matters.rule_for(discussion.matter, discussion.scope)


def _stamp_rule(decision: Decision, rule: matters.Rule) -> None:
    decision.matter, decision.scope, decision.threshold = rule.matter, rule.scope, rule.threshold
    decision.rule_article, decision.rule_secondary = rule.article, rule.secondary


def _rule_payload(rule: matters.Rule) -> dict[str, Any]:
    return {"matter": rule.matter, "scope": rule.scope, "threshold": rule.threshold, "article": rule.article}


def decide(session: Session, item: Item, viewer: Viewer, form: DecideForm) -> Decision:
    """Start or record a decision by a method the rules table allows for the item's matter and scope."""
    rules.check_village_head(viewer.facts(), item.village_id)
    has_open, has_result = _decision_state(session, row_id(item))
    rules.check_can_decide(item.stage, has_open, has_result)
    method = form.method
    discussion = _discussion(session, item)
    rule = rule_of(discussion)
    _check_village_matter(rule)
    agreed = form.agreed_on is not None and form.informed_on is not None
    front = front_answer(session, row_id(item)) if method == matters.ONLINE_BALLOT else None
    matters.check_method(rule, method, online_agreed=agreed, front_agreed=front is not None and front.agreed)
    now = clock.now()
    today = clock.today_local()
    decision = Decision(item_id=row_id(item), method=method, question=discussion.question, created_at=now,
                        created_by_id=viewer.id)
    _stamp_rule(decision, rule)
    decision.written_form = form.written_form or "minutes"
    payload: dict[str, Any] = {"method": method, "written_form": decision.written_form, **_rule_payload(rule)}
    if method == "meeting_vote":
        meeting = _meeting(session, item, form.meeting_id) if form.meeting_id is not None else\
            _last_meeting(session, item)
        rules.check_meeting_vote(meeting is not None and meeting.recorded_at is not None,
                                 meeting.quorum if meeting else None)
        assert meeting is not None  # check_meeting_vote refused a vote without a recorded meeting
        yes, no, abstain = form.counts
        rules.check_counts(yes, no, abstain, meeting.households_present or 0)
        if meeting.voting_mode == "secret_ballot":
            counts = (form.ballots_issued, form.ballots_returned, form.ballots_valid, form.ballots_invalid)
            for name, value in zip(("ballots_issued", "ballots_returned", "ballots_valid", "ballots_invalid"),
                                   counts, strict=True):
                if value is None:
                    raise Invalid(N_("A secret ballot's count needs the ballots issued, returned, valid and "
                                     "invalid."), field=name)
            issued, returned, valid, invalid = (v or 0 for v in counts)
            rules.check_ballot_counts(issued, returned, valid, invalid, yes + no + abstain,
                                      meeting.households_present or 0)
            meeting.ballots_issued, meeting.ballots_returned = issued, returned
            meeting.ballots_valid, meeting.ballots_invalid = valid, invalid
            payload.update({"ballots_issued": issued, "ballots_returned": returned, "ballots_valid": valid,
                            "ballots_invalid": invalid})
        decided_on = _local_date(meeting.starts_at)
        total = (meeting.households_total or 0) if rule.scope == "village" else\
            register_size(session, item, rule.scope, decided_on)
        decision.meeting_id = meeting.id
        decision.decided_on = decided_on
        decision.households_total = total
        decision.households_present = meeting.households_present
        decision.yes, decision.no, decision.abstain = yes, no, abstain
        decision.passed = matters.passes(rule, yes, total)
        decision.status, decision.closed_at = "closed", now
        payload.update({"meeting_id": meeting.id, "in_favour": yes, "against": no, "abstain": abstain,
                        "households": total, "decided_on": decided_on.isoformat(),
                        "passed": decision.passed})
    elif method == "paper_ballot":
        payload["counting"] = True
    elif method == "online_ballot":
        opens_on, closes_on = form.opens_on, form.closes_on
        # DecideForm's validator refused an online ballot without both days and the agreement's records.
        assert opens_on is not None and closes_on is not None
        assert form.agreed_on is not None and form.informed_on is not None
        rules.check_ballot_window(opens_on, today)
        for name, day in (("agreed_on", form.agreed_on), ("informed_on", form.informed_on)):
            if day > today:
                raise Invalid(N_("This date cannot be in the future."), field=name)
            if day > opens_on:
                raise Invalid(N_("This must be recorded before voting opens (%(date)s)."), field=name,
                              date=opens_on.isoformat())
        decision.opens_at = _local_day_start(opens_on)
        decision.closes_at = _local_day_start(closes_on + timedelta(days=1))  # through the end of that day
        assert front is not None  # check_method refused an online ballot without the Front's agreement
        decision.leaders_agreed = True  # the village head opens it; the Front's head recorded its agreement
        decision.online_agreed_on, decision.online_agreement_ref = form.agreed_on, form.agreement_ref
        decision.informed_on, decision.informed_ref = form.informed_on, form.informed_ref
        payload.update({"opens_on": opens_on.isoformat(), "closes_on": closes_on.isoformat(),
                        "leaders_agreed": True, "agreed_on": form.agreed_on.isoformat(),
                        "agreement_ref": form.agreement_ref, "informed_on": form.informed_on.isoformat(),
                        "informed_ref": form.informed_ref, "front_agreement_id": front.id,
                        "front_agreed_on": front.decided_on.isoformat()})
    else:  # authority
        document_no, text = form.document_no, form.document_text
        decision.document_no, decision.document_text = document_no, text
        decision.decided_on, decision.passed = today, True
        decision.status, decision.closed_at = "closed", now
        payload.update({"document_no": document_no, "text": text, "passed": True})
    session.add(decision)
    _touch(item)
    session.flush()
    payload["decision_id"] = decision.id
    _record(session, item, "decision_recorded" if decision.status == "closed" else "ballot_opened", viewer,
            payload)
    return decision


_FRONT_ANSWER = (select(FrontAgreement).where(col(FrontAgreement.item_id) == bindparam("item_id"),
                                              col(FrontAgreement.withdrawn_at).is_(None))
                 .order_by(col(FrontAgreement.id).desc()).limit(1))


_SHOWN_FRONT_ANSWER = PlainModels(_FRONT_ANSWER, FrontAgreement)


def front_answer(session: Session, item_id: int) -> FrontAgreement | None:
    """The village Front work committee's answer to an online vote on the item that stands (not withdrawn):
    recorded by the committee's head (civic.deliberation.front). A copy to read; `front_answer_to_change`
    gives the row itself."""
    return _SHOWN_FRONT_ANSWER.first(session, {"item_id": item_id})


def front_answer_to_change(session: Session, item_id: int) -> FrontAgreement | None:
    """The standing answer as the session's own row, for a service that changes it."""
    return session.execute(_FRONT_ANSWER, {"item_id": item_id}).scalar_one_or_none()


def _check_village_matter(rule: matters.Rule) -> None:
    """A village's own decision (a meeting vote, a ballot, an authority) never decides a matter of the whole
    commune: there the commune adds up every village's result (close_commune_decision)."""
    if rule.scope == "commune":
        raise Conflict(N_("A matter of the whole commune is decided by the commune, which adds up the "
                          "results of every village: each village head records the village's result, then a "
                          "commune official closes the decision."))


# --- a matter of the whole commune: each village's result, added up by the commune ------------------------

def commune_villages(session: Session, commune_id: int) -> list[tuple[int, str]]:
    """The commune's villages (id, name), by name."""
    rows = session.execute(select(col(Village.id), col(Village.name))
                           .where(col(Village.commune_id) == commune_id)
                           .order_by(col(Village.name), col(Village.id))).all()
    return [(r[0], r[1]) for r in rows]


# Every matter of the whole commune ever opened, by its partial index (migration 0013d): a handful, where
# the items in People discuss can be thousands.
_COMMUNE_MATTERS = Plain(select(col(Discussion.item_id)).where(col(Discussion.scope) == "commune"))


def _unreported_query(matters: list[int]) -> Any:
    """(item, village) pairs: a matter of the whole commune in People discuss, and a village of the viewer
    (the parameter `villages`, a set of ids) in that commune, other than the item's own, that has not
    recorded its result."""
    reported = exists().where(col(VillageResult.item_id) == col(Item.id),
                              col(VillageResult.village_id) == col(Village.id))
    return (select(Item).join(Village, col(Village.commune_id) == col(Item.commune_id))
            .where(col(Item.id).in_(matters), among(col(Village.id), "villages"),
                   col(Item.stage) == "discuss", col(Item.village_id) != col(Village.id), ~reported))


def _commune_matters(session: Session, villages: frozenset[int]) -> list[int]:
    return _COMMUNE_MATTERS.rows(session).scalars() if villages else []


def unreported_commune_matters(session: Session, villages: frozenset[int], limit: int) -> list[Item]:
    """The matters of the whole commune on which a village of the viewer (a village head) still has to
    hold its meeting and record its result, the longest in People discuss first."""
    matters = _commune_matters(session, villages)
    if not matters:
        return []
    return list(session.execute(_unreported_query(matters)
                                .order_by(col(Item.stage_changed_at), col(Item.id)).limit(limit),
                                {"villages": villages}).scalars())


def unreported_commune_matters_count(session: Session, villages: frozenset[int]) -> int:
    matters = _commune_matters(session, villages)
    if not matters:
        return 0
    query = _unreported_query(matters).with_only_columns(func.count(), maintain_column_froms=True)
    return int(session.execute(query, {"villages": villages}).scalar_one())


def _commune_discussion(session: Session, item: Item) -> Discussion:
    discussion = discussion_of(session, item)
    if discussion is None or discussion.scope != "commune":
        raise Conflict(N_("Only a matter of the whole commune adds up the results of its villages."))
    return discussion


def _commune_role(viewer: Viewer, commune_id: int) -> str:
    return "supervisor" if rules.is_supervisor(viewer.facts(), commune_id) else "admin"


def record_village_result(session: Session, item: Item, viewer: Viewer, form: VillageResultForm
                          ) -> VillageResult:
    """A village's result on a matter of the whole commune, recorded once by that village's head: the vote
    at its recorded meeting (the households present are its roll) or its household paper ballot."""
    rules.check_stage(item.stage, {"discuss"},
                      N_("A village's result is recorded while the item is in People discuss."))
    _commune_discussion(session, item)
    villages = dict(commune_villages(session, item.commune_id))
    meeting_id: int | None = None
    secret: Meeting | None = None  # the meeting voted by secret ballot: its counting committee's figures
    if form.method == "meeting_vote":
        meeting = session.get(Meeting, form.meeting_id) if form.meeting_id is not None else None
        if meeting is None or meeting.item_id != item.id:
            raise Invalid(NO_MEETING, field="meeting_id")
        village_id = meeting.village_id
        rules.check_reporting_head(viewer.facts(), village_id)
        if meeting.recorded_at is None:
            raise Invalid(N_("Record the meeting's attendance first."), field="meeting_id")
        held_on = _local_date(meeting.starts_at)
        total, present = meeting.households_total or 0, meeting.households_present or 0
        meeting_id = meeting.id
        secret = meeting if meeting.voting_mode == "secret_ballot" else None
    else:
        village_id = _meeting_village(session, item, viewer, form.village_id)
        held_on = clock.today_local()
        total = areas.active_households(session, village_id, held_on)
        present = form.returned or 0
        if present > total:
            raise Invalid(N_("%(returned)s ballots cannot have been returned: the village's register has "
                             "%(total)s households on %(date)s."), field="returned", returned=present,
                          total=total, date=held_on.isoformat())
    has_open, has_result = _decision_state(session, row_id(item))
    if has_result:
        raise Conflict(N_("This item has already been decided."))
    yes, no, abstain = form.counts
    rules.check_counts(yes, no, abstain, present)
    if secret is not None:
        _secret_ballot_counts(form, secret, yes + no + abstain, present)
    name = villages.get(village_id, "")
    already = session.execute(select(func.count()).select_from(VillageResult).where(
        col(VillageResult.item_id) == item.id, col(VillageResult.village_id) == village_id)).scalar_one()
    rules.check_not_reported(bool(already), name)
    row = VillageResult(item_id=row_id(item), village_id=village_id, method=form.method,
                        meeting_id=meeting_id, held_on=held_on,
                        households_total=total, households_present=present, yes=yes, no=no, abstain=abstain,
                        recorded_at=clock.now(), recorded_by_id=viewer.id)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # the same village's result saved a moment ago
        raise Conflict(N_("The result of %(village)s has already been recorded: a village records its result "
                          "once."), village=name) from None
    _touch(item)
    payload: dict[str, Any] = {
        "village_result_id": row.id, "village_id": village_id, "village": name, "method": form.method,
        "meeting_id": row.meeting_id, "held_on": held_on.isoformat(), "households": total,
        "present": present, "in_favour": yes, "against": no, "abstain": abstain}
    if secret is not None:  # the counting committee's figures, kept on the meeting
        payload.update({"ballots_issued": secret.ballots_issued, "ballots_returned": secret.ballots_returned,
                        "ballots_valid": secret.ballots_valid, "ballots_invalid": secret.ballots_invalid})
    _record(session, item, "village_result_recorded", viewer, payload)
    return row


def _secret_ballot_counts(form: VillageResultForm, meeting: Meeting, votes: int, present: int) -> None:
    """A village meeting that voted by secret ballot gives its counting committee's figures, which add up
    (rules.check_ballot_counts); they are kept on the meeting, as for a village's own decision."""
    counts = (form.ballots_issued, form.ballots_returned, form.ballots_valid, form.ballots_invalid)
    for name, value in zip(("ballots_issued", "ballots_returned", "ballots_valid", "ballots_invalid"), counts,
                           strict=True):
        if value is None:
            raise Invalid(N_("A secret ballot's count needs the ballots issued, returned, valid and "
                             "invalid."), field=name)
    issued, returned, valid, invalid = (v or 0 for v in counts)
    rules.check_ballot_counts(issued, returned, valid, invalid, votes, present)
    meeting.ballots_issued, meeting.ballots_returned = issued, returned
    meeting.ballots_valid, meeting.ballots_invalid = valid, invalid


def _village_reports(session: Session, item: Item, on: date) -> list[rules.VillageReport]:
    """Every village of the commune on the decision date: its register then, and its result (a meeting's
    roll counted on the register of that date; a paper ballot's returned ballots), in a fixed number of
    queries."""
    villages = commune_villages(session, item.commune_id)
    sizes = dict(session.execute(
        select(col(Household.village_id), func.count()).select_from(Household)
        .where(col(Household.village_id).in_([v for v, _n in villages] or [-1]),
               col(Household.active_from) <= on,
               or_(col(Household.active_to).is_(None), col(Household.active_to) > on))
        .group_by(col(Household.village_id))).all())
    results = {r.village_id: r for r in session.execute(
        select(VillageResult).where(col(VillageResult.item_id) == item.id,
                                    col(VillageResult.method) != "")).scalars()}
    meeting_ids = [r.meeting_id for r in results.values() if r.meeting_id is not None]
    rolls = dict(session.execute(
        select(col(MeetingAttendance.meeting_id), func.count()).select_from(MeetingAttendance)
        .join(Household, col(Household.id) == col(MeetingAttendance.household_id))
        .where(col(MeetingAttendance.meeting_id).in_(meeting_ids or [-1]),
               col(Household.active_from) <= on,
               or_(col(Household.active_to).is_(None), col(Household.active_to) > on))
        .group_by(col(MeetingAttendance.meeting_id))).all()) if meeting_ids else {}
    reports = []
    for village_id, name in villages:
        r = results.get(village_id)
        if r is None:
            reports.append(rules.VillageReport(village_id, name, sizes.get(village_id, 0)))
            continue
        present = rolls.get(r.meeting_id, 0) if r.meeting_id is not None else r.households_present
        reports.append(rules.VillageReport(village_id, name, sizes.get(village_id, 0), present, r.yes, r.no,
                                           r.abstain))
    return reports


def close_commune_decision(session: Session, item: Item, viewer: Viewer, form: CommuneDecisionForm
                           ) -> Decision:
    """The commune adds up the villages' results on the decision date (today): quorum and threshold against
    every household of the commune then (the rules table's row). A village that has not reported counts as
    no household present or in favour, and only with the recorded reason."""
    rules.check_commune_official(viewer.facts(), item.commune_id)
    discussion = _commune_discussion(session, item)
    has_open, has_result = _decision_state(session, row_id(item))
    rules.check_can_decide(item.stage, has_open, has_result)
    rule = rule_of(discussion)
    decided_on, now = clock.today_local(), clock.now()
    tally = rules.add_up(_village_reports(session, item, decided_on), rule.quorum, rule.threshold)
    rules.check_close_commune(tally.missing, form.reason)
    reason = form.reason.strip() if tally.missing else ""
    decision = Decision(item_id=row_id(item), method=matters.VILLAGE_RESULTS, question=discussion.question,
                        created_at=now, created_by_id=viewer.id, written_form=form.written_form or "minutes",
                        decided_on=decided_on, households_total=tally.households,
                        households_present=tally.present, yes=tally.yes, no=tally.no, abstain=tally.abstain,
                        passed=tally.passed, status="closed", closed_at=now, unreported_reason=reason)
    _stamp_rule(decision, rule)
    session.add(decision)
    session.flush()
    rows = {r.village_id: r for r in session.execute(
        select(VillageResult).where(col(VillageResult.item_id) == item.id)).scalars()}
    for line in tally.lines:
        row = rows.get(line.village_id)
        if row is None:
            row = VillageResult(item_id=row_id(item), village_id=line.village_id, method="")
            session.add(row)
        row.decision_id = decision.id
        row.counted_households, row.counted_present = line.households, line.present
        row.counted_yes, row.counted_no, row.counted_abstain = line.yes, line.no, line.abstain
    _touch(item)
    payload: dict[str, Any] = {
        "decision_id": decision.id, "method": decision.method, "written_form": decision.written_form,
        **_rule_payload(rule), "in_favour": tally.yes, "against": tally.no, "abstain": tally.abstain,
        "households": tally.households, "present": tally.present, "quorum": tally.quorum,
        "decided_on": decided_on.isoformat(), "passed": tally.passed,
        "villages": [{"village_id": line.village_id, "village": line.name, "households": line.households,
                      "present": line.present, "in_favour": line.yes, "against": line.no,
                      "abstain": line.abstain, "reported": line.reported} for line in tally.lines]}
    if reason:
        payload["unreported_reason"] = reason
    _record(session, item, "decision_recorded", viewer, payload, role=_commune_role(viewer, item.commune_id))
    return decision


@dataclass
class CommuneView:
    """A matter of the whole commune on the pages: each village's line and the total (running during Dân
    bàn, as counted on the decision date once decided), and what this viewer may do."""

    tally: rules.CommuneTally
    on: date  # today while running; the decision date once decided
    decision: Decision | None
    results: dict[int, VillageResult]  # the recorded results, by village
    rule: matters.Rule
    my_villages: list[tuple[int, str]]  # the villages of the commune this viewer heads
    is_official: bool = False
    names: dict[int, str] = field(default_factory=dict)  # every village of the commune, by id

    @property
    def decided(self) -> bool:
        return self.decision is not None

    @property
    def to_report(self) -> list[tuple[int, str]]:
        """The viewer's villages that have not recorded their result yet."""
        return [(v, n) for v, n in self.my_villages if v not in self.results]

    @property
    def can_close(self) -> bool:
        return self.is_official and self.decision is None

    def households_of(self, village_id: int) -> int:
        return next((line.households for line in self.tally.lines if line.village_id == village_id), 0)


def commune_decision(session: Session, item: Item) -> Decision | None:
    return session.execute(select(Decision).where(col(Decision.item_id) == item.id,
                                                  col(Decision.method) == matters.VILLAGE_RESULTS)
                           .order_by(col(Decision.id).desc()).limit(1)).scalar_one_or_none()


def commune_view(session: Session, item: Item, viewer: Viewer, discussion: Discussion) -> CommuneView:
    actor = viewer.facts()
    rule = rule_of(discussion)
    decision = commune_decision(session, item)
    villages = commune_villages(session, item.commune_id)
    rows = list(session.execute(select(VillageResult).where(col(VillageResult.item_id) == item.id)).scalars())
    results = {r.village_id: r for r in rows if r.method}
    if decision is not None and decision.decided_on is not None:
        names = dict(villages)
        lines = tuple(sorted((rules.VillageLine(r.village_id, names.get(r.village_id, ""),
                                                r.counted_households or 0, r.counted_present or 0,
                                                r.counted_yes or 0, r.counted_no or 0, r.counted_abstain or 0,
                                                bool(r.method))
                              for r in rows if r.decision_id == decision.id),
                             key=lambda line: (line.name, line.village_id)))
        total = decision.households_total or 0
        tally = rules.CommuneTally(lines, total, decision.households_present or 0, decision.yes or 0,
                                   decision.no or 0, decision.abstain or 0,
                                   matters.has_quorum(rule, decision.households_present or 0, total),
                                   bool(decision.passed))
        on = decision.decided_on
    else:
        on = clock.today_local()
        tally = rules.add_up(_village_reports(session, item, on), rule.quorum, rule.threshold)
    return CommuneView(tally=tally, on=on, decision=decision, results=results, rule=rule,
                       my_villages=[(v, n) for v, n in villages if rules.is_village_head(actor, v)],
                       is_official=rules.has_commune_powers(actor, item.commune_id), names=dict(villages))


def village_results_of(session: Session, decision: Decision) -> list[rules.VillageLine]:
    """The lines of a commune decision's record: one a village, as counted on the decision date."""
    if decision.method != matters.VILLAGE_RESULTS:
        return []
    rows = session.execute(
        select(VillageResult, col(Village.name))
        .join(Village, col(Village.id) == col(VillageResult.village_id))
        .where(col(VillageResult.decision_id) == decision.id)
        .order_by(col(Village.name), col(Village.id))).all()
    return [rules.VillageLine(r.village_id, name, r.counted_households or 0, r.counted_present or 0,
                              r.counted_yes or 0, r.counted_no or 0, r.counted_abstain or 0, bool(r.method))
            for r, name in rows]


def _last_meeting(session: Session, item: Item) -> Meeting | None:
    return session.execute(select(Meeting).where(col(Meeting.item_id) == item.id,
                                                 col(Meeting.recorded_at).is_not(None))
                           .order_by(col(Meeting.starts_at).desc(), col(Meeting.id).desc()).limit(1)
                           ).scalar_one_or_none()


def open_decision(session: Session, item: Item) -> Decision | None:
    return session.execute(select(Decision).where(col(Decision.item_id) == item.id,
                                                  col(Decision.status) == "open")
                           .order_by(col(Decision.id).desc()).limit(1)).scalar_one_or_none()


def enter_paper_ballot(session: Session, item: Item, viewer: Viewer, form: PaperBallotForm) -> Ballot:
    """The village head enters one household's returned paper ballot; a second one for it is refused."""
    rules.check_village_head(viewer.facts(), item.village_id)
    decision = open_decision(session, item)
    if decision is None or decision.method != "paper_ballot":
        raise Conflict(N_("There is no household paper ballot being counted on this item."))
    code = form.household_code
    household = session.execute(select(Household).where(
        col(Household.village_id) == item.village_id, func.upper(col(Household.code)) == code)
    ).scalar_one_or_none()
    today = clock.today_local()
    if (household is None or household.active_from > today
            or (household.active_to and household.active_to <= today)):
        raise Invalid(N_("No household of this village's register has the code “%(code)s”."),
                      field="household_code", code=code[:32])
    choice = form.choice
    existing = _household_ballot(session, row_id(decision), row_id(household))
    if existing is not None:
        if existing.choice == choice:  # the same ballot entered again (a repeated post): nothing changes
            return existing
        raise Conflict(N_("The ballot of household %(code)s has already been entered with another choice: "
                          "correct it on the count screen, with the reason."), code=household.code)
    now = clock.now()
    ballot = Ballot(decision_id=row_id(decision), household_id=row_id(household), choice=choice,
                    cast_by_id=viewer.id, cast_at=now, updated_at=now)
    try:
        with session.begin_nested():
            session.add(ballot)
            session.flush()
    except IntegrityError:
        raise Conflict(N_("The ballot of household %(code)s has already been entered."),
                       code=household.code) from None
    _record(session, item, "ballot_entered", viewer, {"decision_id": decision.id}, on_timeline=False)
    return ballot


# --- the one-screen count of paper ballots ------------------------------------------------------------

def _paper_count(session: Session, item: Item) -> Decision | None:
    """The item's household paper ballot: the open one, else the last one closed."""
    return session.execute(select(Decision).where(col(Decision.item_id) == item.id,
                                                  col(Decision.method) == "paper_ballot")
                           .order_by((col(Decision.status) == "open").desc(), col(Decision.id).desc())
                           .limit(1)).scalar_one_or_none()


@dataclass
class CountResult:
    added: int
    changed: int
    removed: int


def save_count(session: Session, item: Item, viewer: Viewer, form: CountForm) -> CountResult:
    """One page of the paper-ballot count saved at once: new ballots entered, corrections and removals made
    with the reason (audited), the same screen saved again changes nothing. Refused as a whole: a household
    twice, off the village's register, or a count that is closed."""
    rules.check_village_head(viewer.facts(), item.village_id)
    decision = _paper_count(session, item)
    rules.check_count_open(decision is not None and decision.status == "open",
                           clock.as_utc(decision.closed_at) if decision is not None else None)
    assert decision is not None  # check_count_open refused an item without an open count
    today = clock.today_local()
    chosen = form.choices
    shown = set(form.shown) | set(chosen)
    households = _roll_households(session, sorted(shown))
    for household_id, choice in sorted(chosen.items()):
        if choice != rules.NO_BALLOT:
            rules.check_ballot_household(households.get(household_id), item.village_id, today)
    current = {b.household_id: b for b in session.execute(
        select(Ballot).where(col(Ballot.decision_id) == decision.id,
                             col(Ballot.household_id).in_(sorted(shown) or [-1]))).scalars()}
    changes = rules.count_changes({h: b.choice for h, b in current.items()}, chosen, shown)
    rules.check_correction_reason(changes.corrections, form.reason)
    now = clock.now()
    try:
        with session.begin_nested():
            for household_id, choice in changes.added.items():
                session.add(Ballot(decision_id=row_id(decision), household_id=household_id, choice=choice,
                                   cast_by_id=viewer.id, cast_at=now, updated_at=now))
            session.flush()
    except IntegrityError:  # another screen saved one of these households a moment ago
        raise Conflict(N_("Another save of this count came first: check the page and save again.")) from None
    for household_id, choice in changes.changed.items():
        row = current[household_id]
        row.choice, row.cast_by_id, row.updated_at = choice, viewer.id, now
    for household_id in changes.removed:
        session.delete(current[household_id])
    session.flush()
    # The chain says how many ballots were entered and which households' entries were corrected, and why;
    # never how a household voted.
    if changes.added:
        _record(session, item, "ballots_entered", viewer, {"decision_id": decision.id,
                                                           "entered": len(changes.added)},
                on_timeline=False)
    if changes.corrections:
        _touch(item)
        _record(session, item, "ballots_corrected", viewer, {
            "decision_id": decision.id, "reason": form.reason,
            "changed": [households[h].code for h in changes.changed],
            "removed": [households[h].code for h in changes.removed]}, on_timeline=False)
    return CountResult(len(changes.added), len(changes.changed), len(changes.removed))


@dataclass
class CountRow:
    id: int
    code: str
    head_name: str
    choice: str  # "" when no ballot is entered


@dataclass
class CountView:
    decision: Decision | None
    rows: list[CountRow]
    q: str
    page: int
    pages: int
    matching: int  # households of the register matching the search
    total: int  # households of the register on the count's day
    on: date  # the count's day: today while open, the decision date once closed
    tally: rules.Tally | None
    open: bool  # ballots can still be entered or corrected

    @property
    def missing(self) -> int:
        return self.total - self.tally.counted if self.tally else self.total


def count_view(session: Session, item: Item, viewer: Viewer, q: str = "", page: int = 1) -> CountView:
    """One page of the village's register with each household's paper ballot, and the running tally (the
    ballots that count on the register of the day: rules.count_ballots), in a fixed number of queries."""
    rules.check_village_head(viewer.facts(), item.village_id)
    decision = _paper_count(session, item)
    is_open = decision is not None and decision.status == "open" and item.stage == "discuss"
    on = decision.decided_on if decision is not None and decision.decided_on else clock.today_local()
    where, total, matching, pages, page = _register_page(session, item.village_id, on, q, page,
                                                         rules.COUNT_PAGE_SIZE)
    decision_id = decision.id if decision is not None else -1
    rows = session.execute(
        select(col(Household.id), col(Household.code), col(Household.head_name), col(Ballot.choice))
        .outerjoin(Ballot, (col(Ballot.household_id) == col(Household.id))
                   & (col(Ballot.decision_id) == decision_id))
        .where(*where).order_by(col(Household.code))
        .offset((page - 1) * rules.COUNT_PAGE_SIZE).limit(rules.COUNT_PAGE_SIZE)).all()
    tally = rules.count_ballots(_cast_ballots(session, row_id(decision)), total, on) if decision else None
    return CountView(decision=decision, rows=[CountRow(h, code, head, choice or "")
                                              for h, code, head, choice in rows],
                     q=q, page=page, pages=pages, matching=matching, total=total, on=on, tally=tally,
                     open=is_open)


def cast_online_ballot(session: Session, item: Item, viewer: Viewer, form: VoteForm) -> Ballot:
    """A household representative votes on a phone; the household's ballot may be changed until the close."""
    if viewer.user is None:
        raise Forbidden(N_("Please log in to vote for your household."))
    decision = open_decision(session, item)
    if decision is None or decision.method != "online_ballot":
        raise Conflict(N_("There is no open online ballot on this item."))
    now = clock.now()
    rules.check_voting_open(decision.status, clock.as_utc(decision.opens_at),
                            clock.as_utc(decision.closes_at), now)
    household_id = rules.representative_household(
        _representations(session, viewer, item.village_id, clock.today_local()))
    choice = form.choice
    existing = _household_ballot(session, row_id(decision), household_id)
    if existing is None:
        ballot = Ballot(decision_id=row_id(decision), household_id=household_id, choice=choice,
                        cast_by_id=viewer.id, cast_at=now, updated_at=now)
        try:
            with session.begin_nested():
                session.add(ballot)
                session.flush()
        except IntegrityError:  # the other phone of the household was faster: change that ballot instead
            existing = _household_ballot(session, row_id(decision), household_id)
    if existing is not None:
        existing.choice, existing.cast_by_id, existing.updated_at = choice, viewer.id, now
        ballot = existing
    _record(session, item, "ballot_cast", viewer, {"decision_id": decision.id}, role="resident",
            on_timeline=False)
    return ballot


def _household_ballot(session: Session, decision_id: int, household_id: int) -> Ballot | None:
    return session.execute(select(Ballot).where(col(Ballot.decision_id) == decision_id,
                                                col(Ballot.household_id) == household_id)
                           ).scalar_one_or_none()


def tally(session: Session, decision_id: int) -> dict[str, int]:
    rows = session.execute(select(col(Ballot.choice), func.count())
                           .where(col(Ballot.decision_id) == decision_id)
                           .group_by(col(Ballot.choice))).all()
    out = {"yes": 0, "no": 0, "abstain": 0}
    out.update(dict(rows))
    return out


def _cast_ballots(session: Session, decision_id: int) -> list[rules.CastBallot]:
    rows = session.execute(
        select(col(Ballot.choice), col(Household.code), col(Household.active_from), col(Household.active_to))
        .join(Household, col(Household.id) == col(Ballot.household_id))
        .where(col(Ballot.decision_id) == decision_id).order_by(col(Household.code))).all()
    return [rules.CastBallot(choice, code, active_from, active_to)
            for choice, code, active_from, active_to in rows]


def excluded_ballots(session: Session, decision: Decision) -> list[rules.Excluded]:
    """The ballots of a closed household ballot that did not count, each with its reason."""
    if decision.status != "closed" or decision.decided_on is None or\
            decision.method not in ("paper_ballot", "online_ballot"):
        return []
    return rules.excluded_ballots(_cast_ballots(session, row_id(decision)), decision.decided_on)


def close_count(session: Session, item: Item, viewer: Viewer) -> Decision:
    rules.check_village_head(viewer.facts(), item.village_id)
    rules.check_stage(item.stage, {"discuss"}, N_("A count is closed while the item is in People discuss."))
    decision = open_decision(session, item)
    if decision is None:
        raise Conflict(N_("There is no open count to close."))
    now = clock.now()
    rules.check_can_close(decision.method, decision.status, clock.as_utc(decision.closes_at), now)
    if decision.method == "paper_ballot":
        decided_on = clock.today_local()
    else:
        closes_at = clock.as_utc(decision.closes_at)
        assert closes_at is not None  # decide() sets the closing time of every online ballot
        decided_on = _local_date(closes_at - timedelta(seconds=1))
    rule = matters.rule_for(decision.matter or _discussion(session, item).matter, decision.scope)
    _stamp_rule(decision, rule)
    total = register_size(session, item, rule.scope, decided_on)
    counted = rules.count_ballots(_cast_ballots(session, row_id(decision)), total, decided_on)
    decision.decided_on = decided_on
    decision.households_total = total
    decision.households_present = counted.counted
    decision.yes, decision.no, decision.abstain = counted.yes, counted.no, counted.abstain
    decision.passed = matters.passes(rule, counted.yes, total)
    decision.status, decision.closed_at = "closed", now
    _touch(item)
    _record(session, item, "decision_recorded", viewer, {
        "decision_id": decision.id, "method": decision.method, "in_favour": counted.yes,
        "against": counted.no, "abstain": counted.abstain, "households": total,
        "excluded": [e.household_code for e in counted.excluded], "decided_on": decided_on.isoformat(),
        "passed": decision.passed, **_rule_payload(rule)})
    return decision


# --- the admin's setting ---------------------------------------------------------------------------

def set_min_disclosure_days(session: Session, viewer: Viewer, category_id: int, form: MinDisclosureDaysForm
                            ) -> Category:
    category = session.get(Category, category_id)
    if category is None:
        raise NotFound(N_("This category does not exist."))
    if category.commune_id not in viewer.communes("admin"):
        raise Forbidden(N_("Only an administrator of the commune may change this."))
    days = form.days
    rules.check_min_disclosure_days(category.code, days)
    if days != category.min_disclosure_days:
        old = category.min_disclosure_days
        category.min_disclosure_days = days
        session.flush()
        audit.record(session, commune_id=category.commune_id, action="category_disclosure_days",
                     actor_id=viewer.id, actor_role="admin",
                     payload={"category_id": category.id, "from": old, "to": days})
    return category


# --- what the pages show ---------------------------------------------------------------------------

@dataclass
class CommentView:
    id: int
    body: str | None  # None when hidden and the viewer may not read it
    hidden: bool
    hidden_reason: str
    official: bool
    role: str
    author_name: str
    created_at: datetime
    reply_to_id: int | None


@dataclass
class MeetingView:
    meeting: Meeting
    clusters: list[MeetingCluster]
    days_left: int
    upcoming: bool  # still to come and not cancelled: the countdown is shown
    cancelled: bool = False
    on_roll: int = 0  # households ticked on its roll so far
    held: bool = False  # its time has come and it was not cancelled: the roll and the record are open


@dataclass
class DecisionView:
    decision: Decision
    outcome: str  # passed | failed | "" (open)
    ballots_cast: int = 0
    voting_open: bool = False
    excluded: list[rules.Excluded] = field(default_factory=list)


@dataclass
class Deliberation:
    item: Item
    disclosures: list[Disclosure]
    ready_on: date | None
    covered_days: int  # the longest run of consecutive days the disclosures really covered
    blocker: rules.Blocker | None
    discussion: Discussion | None
    comments: list[CommentView]
    comment_page: int
    comment_pages: int
    comment_total: int
    supports: int
    households_total: int
    meetings: list[MeetingView]
    decisions: list[DecisionView]
    # Where the item stands, so the templates need not compare stages.
    in_know: bool = False  # Dân biết: the minimum period runs, the discussion may open
    in_discuss: bool = False  # Dân bàn: meetings and decisions
    is_closed: bool = False
    takes_disclosures: bool = False
    can_meet_by_cluster: bool = False  # a village of rules.CLUSTER_MIN_HOUSEHOLDS households or more
    # What this viewer may do (decided here, rendered by the templates).
    is_village_head: bool = False
    can_comment: bool = False
    comment_after_login: bool = False  # the stage takes comments, the visitor is not logged in
    comment_official: bool = False
    can_hide: bool = False
    sees_hidden: bool = False
    can_support: bool = False
    supported: bool = False
    can_withdraw_support: bool = False
    can_vote: bool = False
    own_choice: str = ""
    now: datetime | None = None
    notice_days: int = rules.DEFAULT_MEETING_NOTICE_DAYS
    min_disclosure_days: int = 3
    accepted_on: date | None = None  # no disclosure may start before this day
    rule: matters.Rule | None = None  # the row of the rules table for the discussion's matter and scope
    # A matter of the whole commune: each village's line and the total; the villages' names; who may do what.
    commune: CommuneView | None = None
    village_names: dict[int, str] = field(default_factory=dict)
    meeting_villages: list[tuple[int, str]] = field(default_factory=list)  # where this viewer holds meetings
    is_commune_official: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def my_village_ids(self) -> set[int]:
        return {v for v, _n in self.meeting_villages}

    @property
    def desk_link(self) -> bool:
        """The status page links to the desk: the item's village head; for a matter of the whole commune,
        each of its villages' heads and the commune's officials."""
        return self.is_village_head or (self.commune is not None
                                        and bool(self.commune.my_villages or self.commune.is_official))

    @property
    def result(self) -> DecisionView | None:
        return next((d for d in self.decisions if d.outcome), None)

    @property
    def open_decision(self) -> DecisionView | None:
        return next((d for d in self.decisions if d.decision.status == "open"), None)

    @property
    def shown(self) -> bool:
        return bool(self.disclosures or self.comments or self.meetings or self.decisions or self.supports
                    or self.item.stage in ("know", "discuss"))


# The statements of every status page, built once and run with the item's values (building a select() costs
# more than running one: civic/items/service.py).
_ITEM_ID: BindParameter[int] = bindparam("item_id")
# What the page only shows is read as plain rows made into models that belong to no session
# (civic.db.PlainModels): a fifth of the cost of loading them through the ORM.
_DISCLOSURES = PlainModels(select(Disclosure).where(col(Disclosure.item_id) == _ITEM_ID)
                           .order_by(col(Disclosure.starts_on), col(Disclosure.id)).limit(MAX_SHOWN),
                           Disclosure)
_DISCUSSION = PlainModels(select(Discussion).where(col(Discussion.item_id) == _ITEM_ID), Discussion)
_COMMENT_TOTAL = Plain(select(func.count()).select_from(Comment).where(col(Comment.item_id) == _ITEM_ID))
_COMMENTS = PlainModels(
    select(Comment, col(User.display_name)).join(User, col(User.id) == col(Comment.author_id))
    .where(col(Comment.item_id) == _ITEM_ID).order_by(col(Comment.created_at), col(Comment.id))
    .offset(bindparam("offset", type_=Integer)).limit(COMMENT_PAGE_SIZE), Comment, extra=1)
# How many households support the item, and how many of them the viewer speaks for (`own`, a set of ids).
_OWN_SUPPORT = case((among(col(Support.household_id), "own"), 1), else_=0)
_SUPPORTS = Plain(select(func.count(col(Support.id)), func.coalesce(func.sum(_OWN_SUPPORT), 0))
                  .where(col(Support.item_id) == _ITEM_ID))
_CLUSTERS = PlainModels(select(MeetingCluster).where(among(col(MeetingCluster.meeting_id), "ids"))
                        .order_by(col(MeetingCluster.id)), MeetingCluster)
# How many households each meeting's roll (not yet recorded) holds so far.
_ROLLS = Plain(select(col(MeetingAttendance.meeting_id), func.count())
               .where(among(col(MeetingAttendance.meeting_id), "ids"))
               .group_by(col(MeetingAttendance.meeting_id)))
_MEETINGS = PlainModels(select(Meeting).where(col(Meeting.item_id) == _ITEM_ID)
                        .order_by(col(Meeting.starts_at), col(Meeting.id)).limit(MAX_SHOWN), Meeting)
_DECISIONS = PlainModels(select(Decision).where(col(Decision.item_id) == _ITEM_ID).order_by(col(Decision.id))
                         .limit(MAX_SHOWN), Decision)


def page_context(session: Session, item: Item, viewer: Viewer, comment_page: int = 1) -> Deliberation:
    """Everything the status page shows of Dân biết and Dân bàn, in a fixed number of queries."""
    now = clock.now()
    today = clock.today_local()
    actor = viewer.facts()
    village_head = rules.is_village_head(actor, item.village_id)
    supervisor = rules.is_supervisor(actor, item.commune_id)
    by_item = {"item_id": item.id}
    disclosures = _DISCLOSURES.objects(session, by_item)
    min_days = _required_days(session, item)
    runs = rules.coverage([rules.Posting(d.channel, d.starts_on, d.ends_on) for d in disclosures],
                          accepted_on(item))
    ready_on = rules.disclosure_ready_on(runs, min_days)
    blocker = (rules.open_discussion_blocker(len(disclosures), ready_on, today) if item.stage == "know"
               else None)
    discussion = next(iter(_DISCUSSION.objects(session, by_item)), None)

    comment_total = int(_COMMENT_TOTAL.rows(session, by_item).scalar())
    pages = max(1, -(-comment_total // COMMENT_PAGE_SIZE))
    page = min(max(1, comment_page), pages)
    sees_hidden = supervisor or village_head
    rows = _COMMENTS.with_extra(session, {**by_item, "offset": (page - 1) * COMMENT_PAGE_SIZE}
                                ) if comment_total else []
    comments = [CommentView(c.id, c.body if (c.hidden_at is None or sees_hidden) else None,
                            c.hidden_at is not None, c.hidden_reason, c.official, c.author_role, name,
                            clock.as_utc(c.created_at), c.reply_to_id) for c, name in rows]

    households_total = areas.active_households(session, item.village_id, today)
    own = _representations(session, viewer, item.village_id, today)
    own_ids = [h for h, _r in own]
    support_row = _SUPPORTS.rows(session, {**by_item, "own": own_ids})[0]
    supports, supported = support_row[0], bool(support_row[1])

    meetings = _MEETINGS.objects(session, by_item)
    clusters: dict[int, list[MeetingCluster]] = {}
    if any(m.by_cluster for m in meetings):
        for c in _CLUSTERS.objects(session, {"ids": [m.id for m in meetings if m.by_cluster]}):
            clusters.setdefault(c.meeting_id, []).append(c)
    open_rolls = [m.id for m in meetings if m.recorded_at is None]
    rolls: dict[int, int] = dict(_ROLLS.rows(session, {"ids": open_rolls})) if open_rolls else {}
    meeting_views = []
    for m in meetings:
        starts, cancelled = clock.as_utc(m.starts_at), m.cancelled_at is not None
        meeting_views.append(MeetingView(m, clusters.get(m.id, []), rules.days_until(starts, now),
                                         starts > now and not cancelled, cancelled, rolls.get(row_id(m), 0),
                                         starts <= now and not cancelled))

    decisions = _DECISIONS.objects(session, by_item)
    views = [DecisionView(d, rules.decision_outcome(d.status, d.passed)) for d in decisions]
    for v in views:
        if v.outcome:
            v.excluded = excluded_ballots(session, v.decision)
    open_views = [v for v in views if v.decision.status == "open"]
    own_choice = ""
    can_vote = False
    if open_views:
        v = open_views[-1]
        rep = next((h for h, r in own if r), None)
        counted = session.execute(
            select(func.count(col(Ballot.id)),
                   func.max(case((col(Ballot.household_id) == (rep or -1), col(Ballot.choice)), else_=None)))
            .where(col(Ballot.decision_id) == v.decision.id)).one()
        v.ballots_cast = counted[0]
        d = v.decision
        if d.method == "online_ballot":
            opens_at, closes_at = clock.as_utc(d.opens_at), clock.as_utc(d.closes_at)
            v.voting_open = opens_at is not None and closes_at is not None and opens_at <= now < closes_at
            own_choice = counted[1] or ""
            can_vote = v.voting_open and rep is not None
    stage_open = item.stage in rules.COMMENT_STAGES
    commune = commune_view(session, item, viewer, discussion) if discussion is not None and\
        discussion.scope == "commune" else None
    if commune is not None:
        names = commune.names
        meeting_villages = commune.my_villages
    else:
        names = {}
        meeting_villages = [(item.village_id, "")] if village_head else []
    return Deliberation(
        item=item, disclosures=disclosures, ready_on=ready_on, covered_days=rules.longest_run(runs),
        blocker=blocker, discussion=discussion,
        comments=comments, comment_page=page, comment_pages=pages, comment_total=comment_total,
        supports=supports, households_total=households_total, meetings=meeting_views, decisions=views,
        in_know=item.stage == "know", in_discuss=item.stage == "discuss", is_closed=item.stage == "closed",
        takes_disclosures=item.stage in rules.DISCLOSURE_STAGES,
        can_meet_by_cluster=households_total >= rules.CLUSTER_MIN_HOUSEHOLDS,
        is_village_head=village_head, can_comment=stage_open and viewer.user is not None,
        comment_after_login=stage_open and viewer.user is None,
        comment_official=village_head or supervisor, can_hide=village_head, sees_hidden=sees_hidden,
        can_support=item.stage in rules.SUPPORT_STAGES and bool(own) and not supported, supported=supported,
        can_withdraw_support=item.stage in rules.SUPPORT_STAGES and supported,
        can_vote=can_vote, own_choice=own_choice, now=now, notice_days=meeting_notice_days(),
        min_disclosure_days=min_days, accepted_on=accepted_on(item),
        rule=rule_of(discussion) if discussion is not None else None,
        commune=commune, village_names=names, meeting_villages=meeting_villages,
        is_commune_official=rules.has_commune_powers(actor, item.commune_id))


def follows_commune_matter(session: Session, item: Item, viewer: Viewer) -> bool:
    """A village head of one of the commune's villages, on a matter of the whole commune: the desk is open
    to them for their own village's meeting and result."""
    discussion = discussion_of(session, item)
    if discussion is None or discussion.scope != "commune":
        return False
    actor = viewer.facts()
    return any(rules.is_village_head(actor, v) for v, _n in commune_villages(session, item.commune_id))


def get_decision(session: Session, item: Item, decision_id: int) -> Decision:
    decision = session.get(Decision, decision_id)
    if decision is None or decision.item_id != item.id:
        raise NotFound(N_("This decision does not exist."))
    return decision


def village_meetings(session: Session, village_id: int, limit: int = 200) -> list[tuple[Meeting, str, str]]:
    """A village's meetings with their item's code and title, newest first (for the calendar feed)."""
    rows = session.execute(
        select(Meeting, col(Item.code), col(Item.title)).join(Item, col(Item.id) == col(Meeting.item_id))
        .where(col(Meeting.village_id) == village_id).order_by(col(Meeting.starts_at).desc()).limit(limit)
    ).all()
    return [(m, code, title) for m, code, title in rows]


def check_pledge_allowed(session: Session, item: Item) -> None:
    """A land, money, labour or materials pledge follows a decision taken by a method the rules table allows
    for the item's matter and for a contribution (civic.deliberation.matters.allows_pledges)."""
    decision = session.execute(select(Decision).where(col(Decision.item_id) == item.id,
                                                      col(Decision.status) == "closed",
                                                      col(Decision.passed).is_(True))
                               .order_by(col(Decision.id).desc()).limit(1)).scalar_one_or_none()
    if decision is None:
        return  # the item reached Dân làm without a recorded decision (older data): nothing to check against
    discussion = session.execute(select(Discussion).where(col(Discussion.item_id) == item.id)
                                 ).scalar_one_or_none()
    matter = decision.matter or (discussion.matter if discussion else 1)
    matters.check_pledge_decision(matter, decision.scope, decision.method)


# --- what the printable records read -------------------------------------------------------------------

def discussion_of(session: Session, item: Item) -> Discussion | None:
    return session.execute(select(Discussion).where(col(Discussion.item_id) == item.id)).scalar_one_or_none()


def meeting_of(session: Session, item: Item, meeting_id: int) -> Meeting:
    return _meeting(session, item, meeting_id)


def clusters_of(session: Session, meeting: Meeting) -> list[MeetingCluster]:
    return list(session.execute(select(MeetingCluster).where(col(MeetingCluster.meeting_id) == meeting.id)
                                .order_by(col(MeetingCluster.id))).scalars())


def meeting_decision(session: Session, meeting: Meeting) -> Decision | None:
    """The vote taken at this meeting, if any."""
    return session.execute(select(Decision).where(col(Decision.meeting_id) == meeting.id)
                           .order_by(col(Decision.id).desc()).limit(1)).scalar_one_or_none()


def meeting_village_result(session: Session, meeting: Meeting) -> VillageResult | None:
    """The village's result on a matter of the whole commune, voted at this meeting, if any."""
    return session.execute(select(VillageResult).where(col(VillageResult.meeting_id) == meeting.id)
                           .limit(1)).scalar_one_or_none()


def user_name(session: Session, user_id: int | None) -> str:
    """An official's display name for a signature block ("" when unknown)."""
    if user_id is None:
        return ""
    name = session.execute(select(col(User.display_name)).where(col(User.id) == user_id)).scalar_one_or_none()
    return name or ""
