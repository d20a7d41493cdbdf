"""Building people's boards for tests: members from the register, recognised by the commune."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from civic.accounts import service as accounts
from civic.accounts.models import User
from civic.areas.models import Commune, Village
from civic.boards import service as boards
from civic.boards.models import Board
from civic.boards.schemas import BoardForm, MemberForm, RecogniseForm
from civic.items.models import Item
from tests.builders import households_of, make_user, viewer

ELECTED = date(2025, 12, 1)
RECOGNISED = date(2025, 12, 10)

NAMES = ("Lê Thị Thanh", "Phạm Văn Tra", "Hoàng Thị Nhân", "Vũ Văn Dân", "Đỗ Thị Ban", "Bùi Văn Sáu",
         "Ngô Thị Bảy")


def board_member(db: Session, commune: Commune, village: Village, index: int, name: str) -> User:
    """A resident linked to the village's household counted `index` from the end of the register (so the
    household representatives tests make from the start stay distinct)."""
    household = households_of(db, village)[-1 - index]
    user = make_user(db, "resident", commune=commune, village=village, name=name)
    accounts.link_household(db, user, household, representative=False)
    return user


def make_board(db: Session, commune: Commune, villages: list[Village], admin: User, *, size: int = 5,
               kind: str = "inspection", item: Item | None = None, recognise: bool = True,
               term_ends_on: str = "2030-12-01") -> tuple[Board, list[User]]:
    """A board of `size` members spread over the villages (a project's board: all from its village)."""
    who = viewer(db, admin)
    board = boards.create_board(db, who, BoardForm.parse({
        "kind": kind, "item": item.code if item else "", "elected_on": ELECTED.isoformat(),
        "election_ref": "Biên bản hội nghị số 3", "term_starts_on": ELECTED.isoformat(),
        "term_ends_on": term_ends_on if kind == "inspection" else ""}))
    members = []
    for n in range(size):
        village = villages[n % len(villages)]
        user = board_member(db, commune, village, n // len(villages), NAMES[n % len(NAMES)])
        boards.add_member(db, who, board.id, MemberForm.parse({"phone": user.phone,
                                                               "position": "head" if n == 0 else "member"}))
        members.append(user)
    if recognise:
        boards.recognise(db, who, board.id, RecogniseForm.parse({"decision_no": "125/QĐ-UBND",
                                                                 "recognised_on": RECOGNISED.isoformat()}))
    return board, members


def board_world(db: Session):
    """world() with the commune's people's inspection board of five, recognised: users["board"] are its
    members and users["inspector"] the first of them."""
    from tests.builders import world

    commune, a, b, cat, users = world(db)
    _board, users["board"] = make_board(db, commune, [a, b], users["admin"])
    users["inspector"] = users["board"][0]
    return commune, a, b, cat, users


def sign_off_by_board(db: Session, item: Item, users: dict, majority: int = 3) -> None:
    """The first `majority` members agree; the last of them signs the item off."""
    from civic.supervision import service as sup
    from civic.supervision.schemas import SignOffVoteForm

    for member in users["board"][:majority]:
        sup.vote_sign_off(db, item, viewer(db, member), SignOffVoteForm.parse({"vote": "agree"}))
    assert item.outcome == "done", "the board's majority did not sign it off"


def sign_off_by_inspecting_board(db: Session, item: Item) -> None:
    """The members of the board that inspects the item agree, by id, until their majority signs it off."""
    from civic.boards.rules import majority_of
    from civic.supervision import service as sup
    from civic.supervision.schemas import SignOffVoteForm

    _board, members = boards.inspecting(db, item)
    for user_id in sorted(members)[:majority_of(len(members))]:
        member = viewer(db, db.get(User, user_id))
        sup.vote_sign_off(db, item, member, SignOffVoteForm.parse({"vote": "agree"}))
    assert item.outcome == "done", "the board's majority did not sign it off"
