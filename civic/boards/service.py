"""The people's boards: recording an election, its members and the commune's recognition, and which board
inspects an item. The only code that changes these tables; never commits. Audit payloads hold ids only."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select
from sqlmodel import Session, col

from civic import clock
from civic.accounts import service as accounts
from civic.accounts.models import User
from civic.accounts.service import Viewer
from civic.areas import service as areas
from civic.areas.models import Household, HouseholdMember, Village
from civic.audit import service as audit
from civic.boards import rules
from civic.boards.models import Board, BoardMember
from civic.boards.schemas import BoardForm, BoardView, MemberForm, MemberRow, RecogniseForm
from civic.db import row_id
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


def add_member(session: Session, viewer: Viewer, board_id: int, form: MemberForm) -> BoardMember:
    """A member chosen from the register: a person with an account, linked to a household of the commune."""
    board = admin_board(session, viewer, board_id)
    rules.check_editable(board.recognised_on is not None)
    user = accounts.find_person(session, board.commune_id, form.phone or "")
    if user is None:
        raise Invalid(N_("This person is not in the household register of the commune."), field="phone")
    homes = _households_in_commune(session, row_id(user), board.commune_id, clock.today_local())
    home = next((h for h in homes if h.village_id == board.village_id), homes[0] if homes else None)
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
        m.grant_id = grant.id
    _record(session, board, "board_recognised", viewer, {
        "decision_no": form.decision_no, "recognised_on": form.recognised_on.isoformat(),
        "members": len(members)})
    return board


# --- which board inspects ---------------------------------------------------------------------------------

def _in_force(board: Board, today: date) -> bool:
    return rules.in_force(board.recognised_on, board.term_starts_on, board.term_ends_on, today)


def inspecting(session: Session, item: Item, today: date | None = None
               ) -> tuple[Board | None, frozenset[int]]:
    """The board that inspects the item and the user ids of its members whose accounts are active, in one
    query: the project's investment supervision board if the item has one in force, else the commune's
    people's inspection board in force (the latest recognised)."""
    today = today or clock.today_local()
    rows = session.execute(
        select(Board, col(BoardMember.user_id), col(User.is_active))
        .outerjoin(BoardMember, col(BoardMember.board_id) == col(Board.id))
        .outerjoin(User, col(User.id) == col(BoardMember.user_id))
        .where(or_(col(Board.item_id) == item.id,
                   and_(col(Board.commune_id) == item.commune_id, col(Board.kind) == rules.INSPECTION)))
        .order_by(col(Board.id).desc())).all()
    boards = {b.id: b for b, _u, _a in rows}
    live = [b for b in boards.values() if _in_force(b, today)]
    own = [b for b in live if b.item_id == item.id]
    commune = sorted((b for b in live if b.kind == rules.INSPECTION),
                     key=lambda b: (b.recognised_on, b.id), reverse=True)
    chosen = own[0] if own else (commune[0] if commune else None)
    if chosen is None:
        return None, frozenset()
    return chosen, frozenset(u for b, u, active in rows if b.id == chosen.id and u is not None and active)


def inspecting_board(session: Session, item: Item, today: date | None = None) -> Board | None:
    return inspecting(session, item, today)[0]


def member_ids(session: Session, board: Board | None) -> frozenset[int]:
    """The user ids of a board's members whose accounts are active."""
    if board is None:
        return frozenset()
    return frozenset(session.execute(
        select(col(BoardMember.user_id)).join(User, col(User.id) == col(BoardMember.user_id))
        .where(col(BoardMember.board_id) == board.id, col(User.is_active))).scalars())


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
    active = [] if recognised_only else _commune_villages(session, commune_id)
    out = []
    for b in boards:
        members = [MemberRow(m, name, villages.get(m.village_id, ""))
                   for m, name in rows if m.board_id == b.id]
        missing = ([] if b.recognised_on else
                   rules.missing_for_recognition(b.kind, [m.member.village_id for m in members], active))
        out.append(BoardView(b, members, codes.get(b.item_id, ""), codes.get(b.election_item_id, ""),
                             villages.get(b.village_id, "") if b.village_id else "", _in_force(b, today),
                             missing))
    return out
