"""Pure rules of Dân biết and Dân bàn: plain arguments in, a decision or a CivicError out.

The vote rules of Law 10/2022/QH15 on implementing grassroots democracy (Art. 15: what households decide;
Art. 18: the community meeting) and Decree 59/2023 (Art. 5: online voting): a meeting is valid only when
MORE than half of all households of the register are represented; a community decision passes only when
the households in favour are MORE than half of all households in the register on the decision date (not
half of those present). Anything that asks households for land, money or labour is never decided online or
by an authority alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from civic.clock import LOCAL_TZ
from civic.errors import N_, Conflict, Forbidden, Invalid

CHANNELS: dict[str, str] = {
    "notice_board": N_("Notice board"),
    "loudspeaker": N_("Loudspeaker"),
    "village_meeting": N_("Village meeting"),
    "written_notice": N_("Written notice to households"),
    "text_message": N_("Text message"),
    "group_chat": N_("The village's agreed group chat"),
    "website": N_("Website"),
}
METHODS: dict[str, str] = {
    "meeting_vote": N_("Vote at a village meeting"),
    "paper_ballot": N_("Household paper ballot"),
    "online_ballot": N_("Online ballot of household representatives"),
    "authority": N_("Decision of the authority"),
}
CHOICES: dict[str, str] = {"yes": N_("In favour"), "no": N_("Against"), "abstain": N_("Abstain")}
DISCLOSURE_STAGES = frozenset({"know", "discuss"})
COMMENT_STAGES = frozenset({"know", "discuss"})
SUPPORT_STAGES = frozenset({"know", "discuss"})
CLUSTER_MIN_HOUSEHOLDS = 200
MAX_CLUSTERS = 8
DEFAULT_MEETING_NOTICE_DAYS = 5


def local_text(moment: datetime) -> str:
    """A moment as local date and time for a message ("2026-06-15 19:30"), without a locale."""
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


# --- who ---------------------------------------------------------------------------------------------

def is_secretary(actor: Any, village_id: int) -> bool:
    return village_id in getattr(actor, "secretary_villages", frozenset())


def is_supervisor(actor: Any, commune_id: int) -> bool:
    return commune_id in getattr(actor, "supervisor_communes", frozenset())


def official_role(actor: Any, commune_id: int, village_id: int) -> str:
    """The role under which a comment is an official reply, or "" for a resident's comment."""
    if is_secretary(actor, village_id):
        return "secretary"
    if is_supervisor(actor, commune_id):
        return "supervisor"
    return ""


def check_secretary(actor: Any, village_id: int) -> None:
    if not is_secretary(actor, village_id):
        raise Forbidden(N_("Only a secretary of this item's village may do this."))


def check_stage(stage: str, allowed: frozenset[str] | set[str], message: str = "") -> None:
    if stage not in allowed:
        raise Conflict(message or N_("This cannot be done at the item's current stage."))


# --- Dân biết: disclosures and the minimum period ---------------------------------------------------

def disclosure_ready_on(first_start: date | None, min_days: int) -> date | None:
    """The first day the item may move to Dân bàn: the earliest disclosure's start plus the minimum days."""
    if first_start is None:
        return None
    return first_start + timedelta(days=max(0, min_days))


@dataclass(frozen=True)
class Blocker:
    message: str
    params: dict[str, Any]


def open_discussion_blocker(disclosure_count: int, ready_on: date | None, today: date) -> Blocker | None:
    """Why the item may not move to Dân bàn yet (shown beside the disabled button), or None."""
    if disclosure_count < 1 or ready_on is None:
        return Blocker(N_("Record at least one disclosure first (notice board, loudspeaker, meeting…)."), {})
    if today < ready_on:
        return Blocker(N_("The minimum disclosure period has not run yet: possible from %(date)s."),
                       {"date": ready_on})
    return None


# The question households decide in Dân bàn.
QUESTION_MIN, QUESTION_MAX = 5, 1000


# --- meetings ----------------------------------------------------------------------------------------

def check_meeting_notice(starts_at: datetime, now: datetime, notice_days: int) -> None:
    """Households are told at least `notice_days` days before the meeting."""
    if starts_at < now + timedelta(days=notice_days):
        raise Invalid(N_("A meeting must be announced at least %(days)s days before it is held: "
                         "choose %(date)s or later."), field="starts_at", days=notice_days,
                      date=local_text(now + timedelta(days=notice_days)))


def days_until(moment: datetime, now: datetime) -> int:
    """Whole days left until a moment (0 on the day itself or after)."""
    seconds = (moment - now).total_seconds()
    return max(0, int(-(-seconds // 86400)))


def has_quorum(present: int, total: int) -> bool:
    """More than half of ALL households of the register are represented (Law 10/2022/QH15, Art. 18)."""
    return total > 0 and present * 2 > total


def passes(in_favour: int, total: int) -> bool:
    """More than half of ALL households of the register on the decision date are in favour
    (Law 10/2022/QH15, Art. 18); exactly half is not enough."""
    return total > 0 and in_favour * 2 > total


def check_attendance(present: int, by_cluster: bool, total: int) -> None:
    """Only a village of CLUSTER_MIN_HOUSEHOLDS or more meets by cluster; no more households are represented
    than the register has on the meeting date."""
    if by_cluster and total < CLUSTER_MIN_HOUSEHOLDS:
        raise Invalid(N_("Only villages of %(min)s or more households may meet by cluster."),
                      field="cluster_name_1", min=CLUSTER_MIN_HOUSEHOLDS, present=present, total=total)
    if present > total:
        raise Invalid(N_("%(present)s households cannot be represented: the register has %(total)s on the "
                         "meeting date."), field="households_present", min=CLUSTER_MIN_HOUSEHOLDS,
                      present=present, total=total)


# --- decisions ---------------------------------------------------------------------------------------

def check_counts(yes: int, no: int, abstain: int, present: int) -> None:
    """The votes at a meeting come from the households represented there."""
    if yes + no + abstain > present:
        raise Invalid(N_("The counts add up to %(sum)s, more than the %(present)s households present."),
                      field="yes", sum=yes + no + abstain, present=present)


def check_can_decide(stage: str, has_open: bool, has_result: bool) -> None:
    if stage != "discuss":
        raise Conflict(N_("A decision can be recorded only while the item is in People discuss."))
    if has_open:
        raise Conflict(N_("A ballot on this item is still open: close its count first."))
    if has_result:
        raise Conflict(N_("This item has already been decided."))


def check_method(method: str, asks_contribution: bool, leaders_agreed: bool) -> None:
    if method not in METHODS:
        raise Invalid(N_("Please choose how the households decide."), field="method")
    if method == "online_ballot":
        if asks_contribution:
            raise Conflict(N_("An online ballot is not allowed for an item that asks households for land, "
                              "money or labour: decide it at a meeting or by a household paper ballot."))
        if not leaders_agreed:
            raise Invalid(N_("An online ballot needs the agreement of the village head and the Front "
                             "committee."), field="leaders_agreed")
    if method == "authority" and asks_contribution:
        raise Conflict(N_("An item that asks households for land, money or labour must be decided by the "
                          "households, not by an authority."))


def check_meeting_vote(meeting_recorded: bool, quorum: bool | None) -> None:
    if not meeting_recorded:
        raise Invalid(N_("Record the meeting's attendance first."), field="meeting_id")
    if not quorum:
        raise Conflict(N_("The meeting did not reach quorum (more than half of all households), so its vote "
                          "is not valid. Use a household paper ballot instead."))


def check_ballot_window(opens_on: date, today: date) -> None:
    if opens_on < today:
        raise Invalid(N_("Voting cannot open in the past."), field="opens_on")


def check_voting_open(status: str, opens_at: datetime | None, closes_at: datetime | None,
                      now: datetime) -> None:
    if status != "open" or opens_at is None or closes_at is None:
        raise Conflict(N_("There is no open online ballot on this item."))
    if now < opens_at:
        raise Conflict(N_("Voting has not opened yet: it opens on %(date)s."), date=local_text(opens_at))
    if now >= closes_at:
        raise Conflict(N_("Voting closed on %(date)s."), date=local_text(closes_at))


def check_can_close(method: str, status: str, closes_at: datetime | None, now: datetime) -> None:
    if status != "open" or method not in ("paper_ballot", "online_ballot"):
        raise Conflict(N_("There is no open count to close."))
    if method == "online_ballot" and closes_at is not None and now < closes_at:
        raise Conflict(N_("The online ballot is open until %(date)s; it can be closed after that."),
                       date=local_text(closes_at))


def representative_household(households: list[tuple[int, bool]]) -> int:
    """The household the user casts the ballot for: one they represent in the item's village."""
    for household_id, is_representative in households:
        if is_representative:
            return household_id
    raise Forbidden(N_("Only the representative of a household of this village may vote."))


def decision_outcome(status: str, passed: bool | None) -> str:
    """"passed", "failed" or "" (still open, or none)."""
    if status != "closed" or passed is None:
        return ""
    return "passed" if passed else "failed"


def tally_reason(in_favour: int, total: int) -> str:
    """The public reason stored when a failed decision closes the item (shown as written, in Vietnamese)."""
    return f"Kết quả biểu quyết: {in_favour}/{total} hộ đồng ý, chưa được quá nửa tổng số hộ gia đình."
