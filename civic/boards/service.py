"""The people's boards: recording an election, its members and the commune's recognition, and which board
inspects an item. The only code that changes these tables; never commits. Audit payloads hold ids only."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, bindparam, or_, select
from sqlmodel import Session, col

from civic import clock
from civic.accounts import service as accounts
from civic.accounts import sessions
from civic.accounts.models import RoleGrant, User
from civic.accounts.service import Viewer
from civic.areas import service as areas
from civic.areas.models import Household, HouseholdMember, Village
from civic.audit import service as audit
from civic.boards import rules
from civic.boards.models import Board, BoardMember
from civic.boards.schemas import (
    BoardForm,
    BoardJoinForm,
    BoardLeaveForm,
    BoardReplaceForm,
    BoardView,
    EndBoardForm,
    MemberForm,
    MemberRow,
    RecogniseForm,
)
from civic.db import Plain, PlainModels, row_id
from civic.errors import N_, Invalid, NotFound
from civic.items.models import Item
from civic.items.rules import parse_code


def _record(session: Session, board: Board, action: str, viewer: Viewer, payload: dict[str, Any]) -> None:
    session.flush()
    audit.record(session, commune_id=board.commune_id, item_id=board.item_id, action=action,
                 actor_id=viewer.id, actor_role="admin", payload={"board_id": board.id, **payload})


def _item_of_commune(session: Session, commune_id: int, typed: str, field: str) -> Item | None:
    if not typed:
        return None
    code = parse_code(typed)
    item = session.execute(select(Item).where(col(Item.code) == code)).scalar_one_or_none() if code else None
    if item is None or item.commune_id != commune_id:
        raise Invalid(N_("No item of this commune has this code."), field=field)
    return item


def admin_board(session: Session, viewer: Viewer, board_id: int) -> Board:
    commune_id = accounts.administered_commune(viewer)
    board = session.get(Board, board_id)
    if board is None or board.commune_id != commune_id:
        raise NotFound(N_("This board does not exist."))
    return board


def create_board(session: Session, viewer: Viewer, form: BoardForm) -> Board:
    """A board as elected (not yet recognised): the commune's inspection board, or a project's board."""
    commune_id = accounts.administered_commune(viewer)
    assert form.elected_on is not None and form.term_starts_on is not None  # required fields
    rules.check_election(form.elected_on, clock.today_local())
    rules.check_term(form.term_starts_on, form.term_ends_on, form.elected_on)
    item = None
    if form.kind == rules.INVESTMENT:
        if not form.item:
            raise Invalid(N_("Please give the item's code, like NS-2026-0042."), field="item")
        item = _item_of_commune(session, commune_id, form.item, "item")
        assert item is not None
        has = session.execute(select(col(Board.id)).where(col(Board.item_id) == item.id)).first()
        rules.check_investment_item(item.commune_id, commune_id, has is not None)
    election_item = _item_of_commune(session, commune_id, form.election_item, "election_item")
    board = Board(commune_id=commune_id, kind=form.kind, item_id=item.id if item else None,
                  village_id=item.village_id if item else None, elected_on=form.elected_on,
                  election_ref=form.election_ref,
                  election_item_id=election_item.id if election_item else None,
                  term_starts_on=form.term_starts_on, term_ends_on=form.term_ends_on, created_at=clock.now(),
                  created_by_id=viewer.id)
    session.add(board)
    session.flush()
    _record(session, board, "board_elected", viewer, {
        "kind": form.kind, "elected_on": form.elected_on.isoformat(), "election_ref": form.election_ref,
        "election_item_id": board.election_item_id, "term_starts_on": form.term_starts_on.isoformat(),
        "term_ends_on": form.term_ends_on.isoformat() if form.term_ends_on else None})
    return board


def _households_in_commune(session: Session, user_id: int, commune_id: int, today: date) -> list[Household]:
    """The person's households in the commune's register today."""
    rows = session.execute(
        select(Household).join(HouseholdMember, col(HouseholdMember.household_id) == col(Household.id))
        .join(Village, col(Village.id) == col(Household.village_id))
        .where(col(HouseholdMember.user_id) == user_id, col(Village.commune_id) == commune_id)
        .order_by(col(Household.id))).scalars()
    return [h for h in rows if h.active_from <= today and (h.active_to is None or h.active_to > today)]


def _person(session: Session, board: Board, phone: str | None) -> tuple[User, Household | None]:
    """The person of the register with this phone, and their household (in the project's village if they
    have one there); no household when they are not in the commune's register today."""
    user = accounts.find_person(session, board.commune_id, phone or "")
    if user is None:
        raise Invalid(N_("This person is not in the household register of the commune."), field="phone")
    homes = _households_in_commune(session, row_id(user), board.commune_id, clock.today_local())
    home = next((h for h in homes if h.village_id == board.village_id), homes[0] if homes else None)
    return user, home


def add_member(session: Session, viewer: Viewer, board_id: int, form: MemberForm) -> BoardMember:
    """A member chosen from the register: a person with an account, linked to a household of the commune."""
    board = admin_board(session, viewer, board_id)
    rules.check_editable(board.recognised_on is not None)
    user, home = _person(session, board, form.phone)
    members = session.execute(select(col(BoardMember.user_id)).where(col(BoardMember.board_id) == board.id)
                              ).scalars().all()
    rules.check_new_member(board.kind, members=len(members), already=user.id in members,
                           household_village_id=home.village_id if home else None,
                           project_village_id=board.village_id)
    assert home is not None  # check_new_member refuses a person without a household
    member = BoardMember(board_id=row_id(board), user_id=row_id(user), household_id=row_id(home),
                         village_id=home.village_id, position=form.position, added_at=clock.now(),
                         added_by_id=viewer.id)
    session.add(member)
    session.flush()
    _record(session, board, "board_member_added", viewer, {
        "member_id": member.id, "user_id": user.id, "village_id": home.village_id, "position": form.position})
    return member


def remove_member(session: Session, viewer: Viewer, board_id: int, member_id: int | None) -> None:
    board = admin_board(session, viewer, board_id)
    rules.check_editable(board.recognised_on is not None)
    member = session.get(BoardMember, member_id) if member_id else None
    if member is None or member.board_id != board.id:
        raise NotFound(N_("This member does not exist."))
    session.delete(member)
    _record(session, board, "board_member_removed", viewer,
            {"member_id": member_id, "user_id": member.user_id})


def _commune_villages(session: Session, commune_id: int) -> list[int]:
    return [row_id(v) for v in areas.villages(session, commune_id)]


def recognise(session: Session, viewer: Viewer, board_id: int, form: RecogniseForm) -> Board:
    """The commune People's Committee recognised the election: the board takes effect and its members get
    their role for the board's term (scoped to the commune, or to the project's village)."""
    board = admin_board(session, viewer, board_id)
    assert form.recognised_on is not None  # a required field
    members = list(session.execute(select(BoardMember).where(col(BoardMember.board_id) == board.id)
                                   .order_by(col(BoardMember.id))).scalars())
    rules.check_recognition(board.kind, recognised=board.recognised_on is not None,
                            member_villages=[m.village_id for m in members],
                            commune_villages=_commune_villages(session, board.commune_id),
                            elected_on=board.elected_on, recognised_on=form.recognised_on,
                            today=clock.today_local())
    board.decision_no, board.recognised_on = form.decision_no, form.recognised_on
    board.recognised_by_id = viewer.id
    starts_on, ends_on = rules.grant_term(form.recognised_on, board.term_starts_on, board.term_ends_on)
    item = session.get(Item, board.item_id) if board.item_id else None
    title = f"{rules.KINDS_VI[board.kind]} {item.code}" if item else rules.KINDS_VI[board.kind]
    for m in members:
        user = session.get(User, m.user_id)
        assert user is not None  # a foreign key
        grant = accounts.grant(session, user, role=rules.MEMBER_ROLE[board.kind], commune_id=board.commune_id,
                               village_id=board.village_id, title=title[:80], starts_on=starts_on,
                               ends_on=ends_on, granted_by=viewer.id)
        m.grant_id, m.starts_on = grant.id, starts_on
    _record(session, board, "board_recognised", viewer, {
        "decision_no": form.decision_no, "recognised_on": form.recognised_on.isoformat(),
        "members": len(members), "member_ids": [m.id for m in members], "starts_on": starts_on.isoformat()})
    return board


# --- changes after recognition ----------------------------------------------------------------------------

def _current(session: Session, board: Board) -> list[BoardMember]:
    """The members who have not left (in office, or taking office on a recognised date)."""
    return list(session.execute(select(BoardMember).where(col(BoardMember.board_id) == board.id,
                                                          col(BoardMember.starts_on).is_not(None),
                                                          col(BoardMember.ends_on).is_(None))
                                .order_by(col(BoardMember.id))).scalars())


def _changeable(board: Board, today: date) -> None:
    over = board.term_ends_on is not None and board.term_ends_on <= today
    rules.check_changeable(recognised=board.recognised_on is not None,
                           ended=board.ended_on is not None or over)


def _member_of(session: Session, board: Board, member_id: int | None) -> BoardMember:
    member = session.get(BoardMember, member_id) if member_id else None
    if member is None or member.board_id != board.id:
        raise Invalid(N_("This member does not exist."), field="target_id")
    return member


def _end_member(session: Session, member: BoardMember, on: date, reason: str) -> dict[str, Any]:
    """The member is out of office from `on`: their role ends that day and their logins end now."""
    member.ends_on, member.end_reason = on, reason
    grant = session.get(RoleGrant, member.grant_id) if member.grant_id else None
    if grant is not None and (grant.ends_on is None or grant.ends_on > on):
        grant.ends_on = max(on, grant.starts_on)
        sessions.end_all(session, member.user_id)
    return {"grant_id": grant.id if grant else None}


def _grant(session: Session, viewer: Viewer, board: Board, user: User, starts_on: date) -> RoleGrant:
    item = session.get(Item, board.item_id) if board.item_id else None
    title = f"{rules.KINDS_VI[board.kind]} {item.code}" if item else rules.KINDS_VI[board.kind]
    return accounts.grant(session, user, role=rules.MEMBER_ROLE[board.kind], commune_id=board.commune_id,
                          village_id=board.village_id, title=title[:80], starts_on=starts_on,
                          ends_on=board.term_ends_on, granted_by=viewer.id)


def _joining(session: Session, viewer: Viewer, board: Board, form: BoardJoinForm, staying: list[BoardMember],
             replaces: BoardMember | None = None) -> BoardMember:
    """The elected person, checked against the register and the board's rules, given the board's role from
    the recognition's date."""
    assert form.elected_on is not None and form.recognised_on is not None  # required fields
    user, home = _person(session, board, form.phone)
    everyone = set(session.execute(select(col(BoardMember.user_id))
                                   .where(col(BoardMember.board_id) == board.id)).scalars())
    rules.check_new_member(board.kind, members=len(staying), already=user.id in everyone,
                           household_village_id=home.village_id if home else None,
                           project_village_id=board.village_id)
    assert home is not None  # check_new_member refuses a person without a household
    if replaces is not None:
        rules.check_replacement(board.kind, before=[m.village_id for m in staying] + [replaces.village_id],
                                after=[m.village_id for m in staying] + [home.village_id],
                                commune_villages=_commune_villages(session, board.commune_id))
    starts_on = rules.grant_term(form.recognised_on, board.term_starts_on, board.term_ends_on)[0]
    grant = _grant(session, viewer, board, user, starts_on)
    member = BoardMember(board_id=row_id(board), user_id=row_id(user), household_id=row_id(home),
                         village_id=home.village_id, position=form.position, grant_id=grant.id,
                         added_at=clock.now(), added_by_id=viewer.id, starts_on=starts_on,
                         elected_on=form.elected_on, election_ref=form.election_ref,
                         decision_no=form.decision_no, replaces_id=replaces.id if replaces else None)
    session.add(member)
    session.flush()
    return member


def _joined(member: BoardMember) -> dict[str, Any]:
    assert member.starts_on is not None and member.elected_on is not None  # set by _joining
    return {"member_id": member.id, "user_id": member.user_id, "village_id": member.village_id,
            "position": member.position, "elected_on": member.elected_on.isoformat(),
            "election_ref": member.election_ref, "decision_no": member.decision_no,
            "starts_on": member.starts_on.isoformat(), "grant_id": member.grant_id}


def join(session: Session, viewer: Viewer, board_id: int, form: BoardJoinForm) -> BoardMember:
    """A member added to a recognised board: elected at a village meeting, recognised by the commune."""
    board = admin_board(session, viewer, board_id)
    today = clock.today_local()
    _changeable(board, today)
    assert form.elected_on is not None and form.recognised_on is not None and board.recognised_on
    rules.check_change_dates(elected_on=form.elected_on, recognised_on=form.recognised_on,
                             board_recognised_on=board.recognised_on, today=today)
    current = _current(session, board)
    member = _joining(session, viewer, board, form, current)
    _record(session, board, "board_member_joined", viewer, {**_joined(member), "members": len(current) + 1})
    return member


def leave(session: Session, viewer: Viewer, board_id: int, form: BoardLeaveForm) -> BoardMember:
    """A member leaves before the term ends (moved away, resigned, dismissed, died). The board may drop
    under its minimum: it is then not complete and cannot sign off until new members are recognised."""
    board = admin_board(session, viewer, board_id)
    today = clock.today_local()
    _changeable(board, today)
    member = _member_of(session, board, form.target_id)
    assert form.left_on is not None  # a required field
    rules.check_leave_date(form.left_on, today)
    rules.check_leaving(in_office_since=member.starts_on if member.ends_on is None else None,
                        leaves_on=form.left_on, field="left_on")
    ended = _end_member(session, member, form.left_on, form.reason)
    staying = [m for m in _current(session, board) if m.id != member.id]
    _record(session, board, "board_member_left", viewer, {
        "member_id": member.id, "user_id": member.user_id, "reason": form.reason,
        "ends_on": form.left_on.isoformat(), **ended, "members": len(staying),
        "complete": _complete(session, board, staying)})
    return member


def replace(session: Session, viewer: Viewer, board_id: int, form: BoardReplaceForm) -> BoardMember:
    """One member leaves and the person elected in their place takes office, both on the date of the
    commune's decision recognising the newcomer; the board keeps its rules."""
    board = admin_board(session, viewer, board_id)
    today = clock.today_local()
    _changeable(board, today)
    assert form.elected_on is not None and form.recognised_on is not None and board.recognised_on
    leaving = _member_of(session, board, form.target_id)
    rules.check_change_dates(elected_on=form.elected_on, recognised_on=form.recognised_on,
                             board_recognised_on=board.recognised_on, today=today)
    rules.check_leaving(in_office_since=leaving.starts_on if leaving.ends_on is None else None,
                        leaves_on=form.recognised_on, field="recognised_on")
    staying = [m for m in _current(session, board) if m.id != leaving.id]
    member = _joining(session, viewer, board, form, staying, replaces=leaving)
    ended = _end_member(session, leaving, form.recognised_on, form.reason)
    _record(session, board, "board_member_replaced", viewer, {
        **_joined(member), "replaces_id": leaving.id, "left_user_id": leaving.user_id, "reason": form.reason,
        "ends_on": form.recognised_on.isoformat(), "left_grant_id": ended["grant_id"],
        "members": len(staying) + 1})
    return member


def end_board(session: Session, viewer: Viewer, board_id: int, form: EndBoardForm) -> Board:
    """The board ends before its term, on the date of the commune's decision: its members leave office."""
    board = admin_board(session, viewer, board_id)
    assert form.ended_on is not None  # a required field
    item = session.get(Item, board.item_id) if board.item_id else None
    current = _current(session, board)
    starts = [m.starts_on for m in current if m.starts_on is not None]
    rules.check_end(kind=board.kind, reason=form.reason, ended=board.ended_on is not None,
                    recognised_on=max([board.recognised_on, *starts]) if board.recognised_on else None,
                    project_closed=item is not None and item.stage == "closed", ended_on=form.ended_on,
                    today=clock.today_local())
    board.ended_on, board.end_reason, board.end_decision_no = form.ended_on, form.reason, form.decision_no
    for member in current:
        _end_member(session, member, form.ended_on, rules.BOARD_ENDED)
    _record(session, board, "board_ended", viewer, {
        "reason": form.reason, "decision_no": form.decision_no, "ended_on": form.ended_on.isoformat(),
        "member_ids": [m.id for m in current]})
    return board


def _complete(session: Session, board: Board, members: list[BoardMember]) -> bool:
    served = session.execute(select(col(BoardMember.village_id)).where(
        col(BoardMember.board_id) == board.id, col(BoardMember.starts_on).is_not(None))).scalars()
    return not rules.missing_in_office(board.kind, [m.village_id for m in members], served,
                                       _commune_villages(session, board.commune_id))


def in_office(session: Session, board: Board, today: date | None = None) -> list[BoardMember]:
    today = today or clock.today_local()
    return [m for m in session.execute(select(BoardMember).where(col(BoardMember.board_id) == board.id))
            .scalars() if rules.in_office(m.starts_on, m.ends_on, today)]


_MEMBER_TERMS = Plain(select(col(BoardMember.starts_on), col(BoardMember.ends_on))
                      .where(col(BoardMember.board_id) == bindparam("board_id")))


def in_office_count(session: Session, board_id: int, today: date | None = None) -> int:
    """How many members the board has in office (0 for a board that does not exist)."""
    today = today or clock.today_local()
    return sum(1 for starts, ends in _MEMBER_TERMS.rows(session, {"board_id": board_id})
               if rules.in_office(starts, ends, today))


def check_can_decide(session: Session, board: Board, today: date | None = None) -> None:
    """A board under its minimum (members left, none recognised in their place yet) cannot sign off."""
    rules.check_complete(_complete(session, board, in_office(session, board, today)))


# --- which board inspects ---------------------------------------------------------------------------------

def _in_force(board: Board, today: date) -> bool:
    return rules.in_force(board.recognised_on, board.term_starts_on, board.term_ends_on, today,
                          board.ended_on)


# Built once (every status page of an item in Dân kiểm tra asks it; building a select() costs more than
# running it).
_INSPECTING = PlainModels(
    select(Board, col(BoardMember.user_id), col(User.is_active), col(BoardMember.starts_on),
           col(BoardMember.ends_on))
    .outerjoin(BoardMember, col(BoardMember.board_id) == col(Board.id))
    .outerjoin(User, col(User.id) == col(BoardMember.user_id))
    .where(or_(col(Board.item_id) == bindparam("item_id"),
               and_(col(Board.commune_id) == bindparam("commune_id"), col(Board.kind) == rules.INSPECTION)))
    .order_by(col(Board.id).desc()), Board, extra=4)


def inspecting(session: Session, item: Item, today: date | None = None
               ) -> tuple[Board | None, frozenset[int]]:
    """The board that inspects the item and the user ids of its members in office today whose accounts are
    active, in one query: the project's investment supervision board if the item has one in force, else the
    commune's people's inspection board in force (the latest recognised). The board is a copy: to show and
    to name, not to change."""
    today = today or clock.today_local()
    rows = _INSPECTING.with_extra(session, {"item_id": item.id, "commune_id": item.commune_id})
    boards = {b.id: b for b, *_rest in rows}
    live = [b for b in boards.values() if _in_force(b, today)]
    own = [b for b in live if b.item_id == item.id]
    commune = sorted((b for b in live if b.kind == rules.INSPECTION),
                     key=lambda b: (b.recognised_on, b.id), reverse=True)
    chosen = own[0] if own else (commune[0] if commune else None)
    if chosen is None:
        return None, frozenset()
    return chosen, frozenset(u for b, u, active, starts, ends in rows if b.id == chosen.id and u is not None
                             and active and rules.in_office(starts, ends, today))


def inspecting_board(session: Session, item: Item, today: date | None = None) -> Board | None:
    return inspecting(session, item, today)[0]


def member_ids(session: Session, board: Board | None) -> frozenset[int]:
    """The user ids of a board's members in office today whose accounts are active."""
    if board is None:
        return frozenset()
    today = clock.today_local()
    return frozenset(user_id for user_id, starts, ends in session.execute(
        select(col(BoardMember.user_id), col(BoardMember.starts_on), col(BoardMember.ends_on))
        .join(User, col(User.id) == col(BoardMember.user_id))
        .where(col(BoardMember.board_id) == board.id, col(User.is_active))).all()
        if rules.in_office(starts, ends, today))


def member_names(session: Session, user_ids: list[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return dict(session.execute(select(col(User.id), col(User.display_name))
                                .where(col(User.id).in_(user_ids))).all())


# --- reading ----------------------------------------------------------------------------------------------

def views(session: Session, commune_id: int, *, recognised_only: bool = False, board_id: int | None = None
          ) -> list[BoardView]:
    """Boards of the commune with their members, newest first, in a fixed number of queries."""
    stmt = select(Board).where(col(Board.commune_id) == commune_id)
    if recognised_only:
        stmt = stmt.where(col(Board.recognised_on).is_not(None))
    if board_id is not None:
        stmt = stmt.where(col(Board.id) == board_id)
    boards = list(session.execute(stmt.order_by(col(Board.kind), col(Board.id).desc()).limit(200)).scalars())
    if not boards:
        return []
    ids = [row_id(b) for b in boards]
    rows = session.execute(select(BoardMember, User.display_name)  # type: ignore[call-overload]
                           .join(User, col(User.id) == col(BoardMember.user_id))
                           .where(col(BoardMember.board_id).in_(ids))
                           .order_by(col(BoardMember.position), col(User.display_name))).all()
    villages = {v.id: v.name for v in areas.villages(session, commune_id, include_merged=True)}
    item_ids = [i for b in boards for i in (b.item_id, b.election_item_id) if i]
    codes = dict(session.execute(select(col(Item.id), col(Item.code))
                                 .where(col(Item.id).in_(item_ids))).all()) if item_ids else {}
    today = clock.today_local()
    active = _commune_villages(session, commune_id)
    names = {m.id: name for m, name in rows}
    out = []
    for b in boards:
        every = [MemberRow(m, name, villages.get(m.village_id, ""),
                           rules.in_office(m.starts_on, m.ends_on, today), names.get(m.replaces_id or 0, ""))
                 for m, name in rows if m.board_id == b.id]
        if b.recognised_on is None:
            members, former = every, []
        else:
            members = [r for r in every if r.member.ends_on is None]
            former = sorted((r for r in every if r.member.ends_on is not None),
                            key=lambda r: (r.member.ends_on, r.member.id), reverse=True)
        ended = b.ended_on is not None
        if ended:
            missing = []
        elif b.recognised_on is None:
            missing = rules.missing_for_recognition(b.kind, [r.member.village_id for r in members], active)
        else:
            missing = rules.missing_in_office(b.kind, [r.member.village_id for r in members if r.in_office],
                                              [r.member.village_id for r in every], active)
        out.append(BoardView(b, members, codes.get(b.item_id, ""), codes.get(b.election_item_id, ""),
                             villages.get(b.village_id, "") if b.village_id else "", _in_force(b, today),
                             missing, former, complete=ended or b.recognised_on is None or not missing,
                             ended=ended))
    return out
