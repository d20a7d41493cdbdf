"""Pure rules of the people's boards: plain facts in, a decision or a CivicError out.

Law 10/2022/QH15 on implementing grassroots democracy and Decree 59/2023/ND-CP give Dân kiểm tra to two
bodies: the commune's people's inspection board (Ban thanh tra nhân dân: at least 5 members, at least one
from each village, deciding collectively by majority) and, for one project, the community investment
supervision board (Ban giám sát đầu tư của cộng đồng: at most 5 residents of the project's village). Both act
once the commune People's Committee has recognised their election.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from civic.errors import N_, Conflict, Invalid

INSPECTION, INVESTMENT = "inspection", "investment"
KINDS = {INSPECTION: N_("People's inspection board"),
         INVESTMENT: N_("Community investment supervision board")}
KINDS_VI = {INSPECTION: "Ban thanh tra nhân dân", INVESTMENT: "Ban giám sát đầu tư của cộng đồng"}
POSITIONS = {"head": N_("Head of the board"), "member": N_("Member")}
# The role each kind's members hold in civic (civic.accounts.rules.ROLES).
MEMBER_ROLE = {INSPECTION: "inspection_member", INVESTMENT: "investment_monitor"}

# Why a member leaves before the term ends; `board_ended` marks the members of a board that ended early.
LEAVE_REASONS = {"moved_away": N_("Moved away"), "resigned": N_("Resigned"), "dismissed": N_("Dismissed"),
                 "died": N_("Died")}
BOARD_ENDED = "board_ended"
DISSOLVED, PROJECT_CLOSED = "dissolved", "project_closed"
END_REASONS = {DISSOLVED: N_("Dissolved"), PROJECT_CLOSED: N_("The project is closed")}

INSPECTION_MIN = 5  # members of a people's inspection board, at least
INVESTMENT_MAX = 5  # members of a community investment supervision board, at most
REF_MAX = 120
DECISION_MAX = 60


def check_term(starts_on: date, ends_on: date | None, elected_on: date) -> None:
    errors: dict[str, str] = {}
    if ends_on is not None and ends_on <= starts_on:
        errors["term_ends_on"] = N_("The term must end after it starts.")
    if starts_on < elected_on:
        errors["term_starts_on"] = N_("The term cannot start before the election.")
    if errors:
        raise Invalid(errors=errors)


def check_election(elected_on: date, today: date) -> None:
    if elected_on > today:
        raise Invalid(N_("This date is in the future."), field="elected_on")


def check_investment_item(item_commune_id: int | None, commune_id: int, has_board: bool) -> None:
    """A project's board: an item of this commune, one board per project."""
    if item_commune_id != commune_id:
        raise Invalid(N_("No item of this commune has this code."), field="item")
    if has_board:
        raise Conflict(N_("This project already has a community investment supervision board."))


def check_editable(recognised: bool) -> None:
    """Members change only before recognition: the committee recognised these people, not others."""
    if recognised:
        raise Conflict(N_("This board is recognised: its members can no longer change. A change of members "
                          "is a new election."))


def check_new_member(kind: str, *, members: int, already: bool, household_village_id: int | None,
                     project_village_id: int | None) -> None:
    """One more member: from the register, not twice, and for a project's board a resident of its village
    and no more than five."""
    if household_village_id is None:
        raise Invalid(N_("This person is not in the household register of the commune."), field="phone")
    if already:
        raise Conflict(N_("This person is already a member of this board."))
    if kind == INVESTMENT:
        if household_village_id != project_village_id:
            raise Invalid(N_("A member of a community investment supervision board lives in the project's "
                             "village."), field="phone")
        if members >= INVESTMENT_MAX:
            raise Conflict(N_("A community investment supervision board has at most 5 members."))


def missing_for_recognition(kind: str, member_villages: Iterable[int], commune_villages: Iterable[int]
                            ) -> list[str]:
    """What keeps a board from being recognised (message ids; empty when nothing does)."""
    members = list(member_villages)
    missing: list[str] = []
    if kind == INSPECTION:
        if len(members) < INSPECTION_MIN:
            missing.append(N_("A people's inspection board has at least 5 members."))
        if set(commune_villages) - set(members):
            missing.append(N_("A people's inspection board has at least one member from each village."))
    elif not members:
        missing.append(N_("A board needs at least one member."))
    return missing


def check_recognition(kind: str, *, recognised: bool, member_villages: Iterable[int],
                      commune_villages: Iterable[int], elected_on: date, recognised_on: date, today: date
                      ) -> None:
    if recognised:
        raise Conflict(N_("This board is already recognised."))
    missing = missing_for_recognition(kind, member_villages, commune_villages)
    if missing:
        raise Conflict(missing[0])
    if recognised_on > today:
        raise Invalid(N_("This date is in the future."), field="recognised_on")
    if recognised_on < elected_on:
        raise Invalid(N_("The recognition cannot come before the election."), field="recognised_on")


def in_force(recognised_on: date | None, term_starts_on: date, term_ends_on: date | None, today: date,
             ended_on: date | None = None) -> bool:
    """A board acts from its recognition and the start of its term until its term ends, or until the day
    before the commune ended it."""
    return (recognised_on is not None and recognised_on <= today and term_starts_on <= today
            and (term_ends_on is None or today < term_ends_on) and (ended_on is None or today < ended_on))


def in_office(starts_on: date | None, ends_on: date | None, today: date) -> bool:
    """A member is in office from the day their recognition takes effect until the day before they left."""
    return starts_on is not None and starts_on <= today and (ends_on is None or today < ends_on)


def missing_in_office(kind: str, in_office_villages: Iterable[int], served_villages: Iterable[int],
                      commune_villages: Iterable[int]) -> list[str]:
    """What a recognised board lacks since members left (message ids; empty when complete): a people's
    inspection board under 5 members, or without a member for a village that had one (a village added to
    the commune after the recognition waits for the next election), a project's board without members."""
    members = list(in_office_villages)
    missing: list[str] = []
    if kind == INSPECTION:
        if len(members) < INSPECTION_MIN:
            missing.append(N_("A people's inspection board has at least 5 members."))
        if (set(served_villages) & set(commune_villages)) - set(members):
            missing.append(N_("A people's inspection board has at least one member from each village."))
    elif not members:
        missing.append(N_("A board needs at least one member."))
    return missing


def check_complete(complete: bool) -> None:
    """A board under its minimum cannot decide (sign an inspection off) until new members are recognised."""
    if not complete:
        raise Conflict(N_("This board is not complete: it cannot sign off until the commune People's "
                          "Committee recognises new members."))


# --- changes after recognition ------------------------------------------------------------------------

def check_changeable(*, recognised: bool, ended: bool) -> None:
    """Members leave, join or are replaced only on a recognised board that has not ended."""
    if ended:
        raise Conflict(N_("This board has ended: its members can no longer change."))
    if not recognised:
        raise Conflict(N_("This board is not recognised yet: add or remove its members before the "
                          "recognition."))


def check_change_dates(*, elected_on: date, recognised_on: date, board_recognised_on: date, today: date
                       ) -> None:
    """A new member: elected at a village meeting, then recognised by the commune People's Committee; the
    change takes effect on the recognition's date, which cannot precede the election or the board's own
    recognition, and is not in the future (it is recorded once decided)."""
    errors: dict[str, str] = {}
    if elected_on > today:
        errors["elected_on"] = N_("This date is in the future.")
    if recognised_on > today:
        errors["recognised_on"] = N_("This date is in the future.")
    elif recognised_on < elected_on:
        errors["recognised_on"] = N_("The recognition cannot come before the election.")
    elif recognised_on < board_recognised_on:
        errors["recognised_on"] = N_("A change of members takes effect after the board's recognition.")
    if errors:
        raise Invalid(errors=errors)


def check_leaving(*, in_office_since: date | None, leaves_on: date, field: str) -> None:
    """A member leaves after the day they took office, and only once."""
    if in_office_since is None:
        raise Conflict(N_("This member is no longer in office."))
    if leaves_on <= in_office_since:
        raise Invalid(N_("A member leaves after the day they took office."), field=field)


def check_leave_date(left_on: date, today: date) -> None:
    if left_on > today:
        raise Invalid(N_("This date is in the future."), field="left_on")


def check_replacement(kind: str, *, before: Iterable[int], after: Iterable[int],
                      commune_villages: Iterable[int]) -> None:
    """A replacement keeps the board's rules: no village that had a member on the people's inspection
    board is left without one (the newcomer usually comes from the village of the member who leaves)."""
    if kind != INSPECTION:
        return
    villages = set(commune_villages)
    if (villages - set(after)) - (villages - set(before)):
        raise Invalid(N_("After this change a village would have no member on the people's inspection "
                         "board: the new member must come from the village of the member who leaves."),
                      field="phone")


def check_end(*, kind: str, reason: str, ended: bool, recognised_on: date | None, project_closed: bool,
              ended_on: date, today: date) -> None:
    """A board ends early once: dissolved, or a project's board when its project is closed."""
    if ended:
        raise Conflict(N_("This board has already ended."))
    if recognised_on is None:
        raise Conflict(N_("This board is not recognised yet."))
    if reason == PROJECT_CLOSED:
        if kind != INVESTMENT:
            raise Invalid(N_("Only a project's board ends with its project."), field="reason")
        if not project_closed:
            raise Invalid(N_("The project is not closed yet."), field="reason")
    if ended_on > today:
        raise Invalid(N_("This date is in the future."), field="ended_on")
    if ended_on <= recognised_on:
        raise Invalid(N_("A board ends after the day of its recognition."), field="ended_on")


def grant_term(recognised_on: date, term_starts_on: date, term_ends_on: date | None
               ) -> tuple[date, date | None]:
    """The members' roles run from the later of the recognition and the term's start to the term's end."""
    return max(recognised_on, term_starts_on), term_ends_on


# --- deciding by majority -----------------------------------------------------------------------------

def majority_of(members: int) -> int:
    """How many members make a majority of ALL members (not of those who voted): more than half."""
    return members // 2 + 1


def has_majority(agreed: int, members: int) -> bool:
    return members > 0 and agreed * 2 > members


def check_majority(agreed: int, members: int) -> None:
    """A board decides collectively: more than half of all its members must agree."""
    if members <= 0:
        raise Conflict(N_("No recognised board can inspect this item yet."))
    if not has_majority(agreed, members):
        raise Conflict(N_("The board decides by majority: %(agreed)s of %(members)s members agreed; at least "
                          "%(needed)s must agree."), agreed=agreed, members=members,
                       needed=majority_of(members))
