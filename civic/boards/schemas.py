"""Forms of the people's boards (parsed once, limits in one place) and what their pages show."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Annotated

from civic.boards import rules
from civic.boards.models import Board, BoardMember
from civic.core.inputs import Choice, Day, Form, Id, Phone, Text
from civic.errors import N_

CODE_MESSAGE = N_("Please give the item's code, like NS-2026-0042.")


class BoardForm(Form):
    """A board as elected: its kind, the project (an item's code) for an investment supervision board, the
    election meeting's date and minutes, the item that decided it if any, and the term."""

    kind: Annotated[str, Choice(tuple(rules.KINDS), N_("Please choose the kind of board."))] = ""
    item: Annotated[str, Text(0, 40, CODE_MESSAGE)] = ""
    elected_on: Annotated[date | None, Day()] = None
    election_ref: Annotated[str, Text(3, rules.REF_MAX, N_("Please give the minutes of the election meeting "
                                                            "(3 to 120 characters)."))] = ""
    election_item: Annotated[str, Text(0, 40, CODE_MESSAGE)] = ""
    term_starts_on: Annotated[date | None, Day()] = None
    term_ends_on: Annotated[date | None, Day(required=False)] = None


class MemberForm(Form):
    """A member: the person's phone number (their account, linked to a household of the register)."""

    phone: Annotated[str | None, Phone()] = None
    position: Annotated[str, Choice(tuple(rules.POSITIONS),
                                    N_("Please choose the member's position."))] = "member"


class MemberRefForm(Form):
    target_id: Annotated[int | None, Id(N_("This member does not exist."), lenient=True)] = None


class RecogniseForm(Form):
    """The commune People's Committee's decision recognising the board."""

    decision_no: Annotated[str, Text(2, rules.DECISION_MAX, N_("Please give the number of the decision "
                                                                 "(2 to 60 characters)."))] = ""
    recognised_on: Annotated[date | None, Day()] = None


FORMS = (BoardForm, MemberForm, MemberRefForm, RecogniseForm)


@dataclass(frozen=True)
class MemberRow:
    member: BoardMember
    name: str  # public: a board member holds a public office
    village: str


@dataclass
class BoardView:
    board: Board
    members: list[MemberRow] = field(default_factory=list)
    item_code: str = ""
    election_item_code: str = ""
    village: str = ""
    in_force: bool = False
    missing: list[str] = field(default_factory=list)  # what keeps it from recognition
