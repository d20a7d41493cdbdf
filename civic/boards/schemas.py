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


class BoardJoinForm(MemberForm):
    """A member who joins a recognised board: elected at a village meeting, then recognised by a decision
    of the commune People's Committee; they take office on the decision's date."""

    elected_on: Annotated[date | None, Day()] = None
    election_ref: Annotated[str, Text(3, rules.REF_MAX, N_("Please give the minutes of the election meeting "
                                                            "(3 to 120 characters)."))] = ""
    decision_no: Annotated[str, Text(2, rules.DECISION_MAX, N_("Please give the number of the decision "
                                                                 "(2 to 60 characters)."))] = ""
    recognised_on: Annotated[date | None, Day()] = None


LEAVE_MESSAGE = N_("Please choose why the member leaves.")


class BoardLeaveForm(MemberRefForm):
    """A member leaves the board before the term ends (moved away, resigned, dismissed, died), from a date."""

    reason: Annotated[str, Choice(tuple(rules.LEAVE_REASONS), LEAVE_MESSAGE)] = ""
    left_on: Annotated[date | None, Day()] = None


class BoardReplaceForm(BoardJoinForm):
    """One member leaves and another, elected in their place, takes office on the recognition's date."""

    target_id: Annotated[int | None, Id(N_("This member does not exist."), lenient=True)] = None
    reason: Annotated[str, Choice(tuple(rules.LEAVE_REASONS), LEAVE_MESSAGE)] = ""


class EndBoardForm(Form):
    """The board ends before its term: dissolved, or a project's board when the project is closed."""

    reason: Annotated[str, Choice(tuple(rules.END_REASONS), N_("Please choose why the board ends."))] = ""
    decision_no: Annotated[str, Text(2, rules.DECISION_MAX, N_("Please give the number of the decision "
                                                                 "(2 to 60 characters)."))] = ""
    ended_on: Annotated[date | None, Day()] = None


FORMS = (BoardForm, MemberForm, MemberRefForm, RecogniseForm, BoardJoinForm, BoardLeaveForm, BoardReplaceForm,
         EndBoardForm)


@dataclass(frozen=True)
class MemberRow:
    member: BoardMember
    name: str  # public: a board member holds a public office
    village: str
    in_office: bool = True
    replaces: str = ""  # the name of the member they replaced


@dataclass
class BoardView:
    board: Board
    members: list[MemberRow] = field(default_factory=list)
    item_code: str = ""
    election_item_code: str = ""
    village: str = ""
    in_force: bool = False
    missing: list[str] = field(default_factory=list)  # what keeps it from recognition, or from deciding
    former: list[MemberRow] = field(default_factory=list)  # members who left, with their dates
    complete: bool = True  # a recognised board whose members in office meet its rules
    ended: bool = False
