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
from civic.deliberation.matters import reaches
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
    # A matter of the whole commune: each village decides, the commune adds the results up.
    "village_results": N_("Each village decided; the commune added the results up"),
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

def is_village_head(actor: Any, village_id: int) -> bool:
    return village_id in getattr(actor, "head_villages", frozenset())


def is_supervisor(actor: Any, commune_id: int) -> bool:
    return commune_id in getattr(actor, "supervisor_communes", frozenset())


def official_role(actor: Any, commune_id: int, village_id: int) -> str:
    """The role under which a comment is an official reply, or "" for a resident's comment."""
    if is_village_head(actor, village_id):
        return "village_head"
    if is_supervisor(actor, commune_id):
        return "supervisor"
    return ""


def check_village_head(actor: Any, village_id: int) -> None:
    if not is_village_head(actor, village_id):
        raise Forbidden(N_("Only a village head of this item's village may do this."))


def check_stage(stage: str, allowed: frozenset[str] | set[str], message: str = "") -> None:
    if stage not in allowed:
        raise Conflict(message or N_("This cannot be done at the item's current stage."))


# --- Dân biết: disclosures and the minimum period ---------------------------------------------------

# How a disclosure counts (Law 10/2022/QH15, Chapter II, the articles on the forms and the time of making
# things known; Decree 61/2023/ND-CP for the draft village convention): a posting counts from its start,
# never from before the item was accepted (nothing can be made known before it exists), and only for the
# days it covered, start to end inclusive. The minimum period is met by consecutive days of coverage, by any
# channel together. The loudspeaker is a channel the law names with its own length (at least 3 consecutive
# days of broadcasting), so loudspeaker days count only in a run of LOUDSPEAKER_MIN_DAYS consecutive days; a
# draft village convention stays posted at least 30 days. Every category needs at least one day: a minimum
# of 0 would skip Dân biết altogether.
LOUDSPEAKER_MIN_DAYS = 3
MIN_DISCLOSURE_DAYS_FLOOR = 1
MAX_DISCLOSURE_DAYS = 90
LEGAL_MIN_DISCLOSURE_DAYS: dict[str, int] = {"village_convention": 30}  # category code -> days


@dataclass(frozen=True)
class Posting:
    channel: str
    starts_on: date
    ends_on: date


def legal_min_days(category_code: str) -> int:
    """The smallest minimum period an administrator may set for a category."""
    return max(MIN_DISCLOSURE_DAYS_FLOOR, LEGAL_MIN_DISCLOSURE_DAYS.get(category_code, 0))


def required_days(category_code: str, configured: int) -> int:
    """The period the item must be disclosed for: the category's setting, never below the legal minimum."""
    return max(configured, legal_min_days(category_code))


def check_min_disclosure_days(category_code: str, days: int) -> None:
    least = legal_min_days(category_code)
    if days < least:
        raise Invalid(N_("The minimum disclosure period of this category must be at least %(days)s days."),
                      field="days", days=least)


def check_disclosure_dates(starts_on: date, ends_on: date, accepted_on: date) -> None:
    """A posting cannot start before the item was accepted, nor end before it starts."""
    if starts_on < accepted_on:
        raise Invalid(N_("A disclosure cannot start before the item was accepted (%(date)s)."),
                      field="starts_on", date=accepted_on.isoformat())
    if ends_on < starts_on:
        raise Invalid(N_("The disclosure cannot end before it starts."), field="ends_on")


def _merge(spans: list[tuple[date, date]]) -> list[tuple[date, date]]:
    """Overlapping or touching spans (inclusive) joined into runs of consecutive days, in order."""
    runs: list[tuple[date, date]] = []
    for start, end in sorted(spans):
        if runs and start <= runs[-1][1] + timedelta(days=1):
            runs[-1] = (runs[-1][0], max(runs[-1][1], end))
        else:
            runs.append((start, end))
    return runs


def coverage(postings: list[Posting], accepted_on: date | None) -> list[tuple[date, date]]:
    """The runs of consecutive days the postings really covered (inclusive), in order."""
    spans: list[tuple[date, date]] = []
    loud: list[tuple[date, date]] = []
    for p in postings:
        start = max(p.starts_on, accepted_on) if accepted_on is not None else p.starts_on
        if p.ends_on < start:
            continue
        (loud if p.channel == "loudspeaker" else spans).append((start, p.ends_on))
    spans += [r for r in _merge(loud) if (r[1] - r[0]).days + 1 >= LOUDSPEAKER_MIN_DAYS]
    return _merge(spans)


def longest_run(runs: list[tuple[date, date]]) -> int:
    return max(((end - start).days + 1 for start, end in runs), default=0)


def disclosure_ready_on(runs: list[tuple[date, date]], min_days: int) -> date | None:
    """The first day the item may move to Dân bàn: the day after the first run of `min_days` consecutive
    covered days ends, or None when no run is that long."""
    need = max(MIN_DISCLOSURE_DAYS_FLOOR, min_days)
    for start, end in runs:
        if (end - start).days + 1 >= need:
            return start + timedelta(days=need)
    return None


@dataclass(frozen=True)
class Blocker:
    message: str
    params: dict[str, Any]


def open_discussion_blocker(disclosure_count: int, ready_on: date | None, today: date) -> Blocker | None:
    """Why the item may not move to Dân bàn yet (shown beside the disabled button), or None."""
    if disclosure_count < 1:
        return Blocker(N_("Record at least one disclosure first (notice board, loudspeaker, meeting…)."), {})
    if ready_on is None:
        return Blocker(N_("The disclosures do not yet cover the minimum period of consecutive days: record "
                          "a disclosure that covers the missing days."), {})
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
    """Only a village of CLUSTER_MIN_HOUSEHOLDS or more meets by cluster (Law 10/2022/QH15 Art. 18); at
    least one household is on the roll; no more households than the register has on the meeting date."""
    if by_cluster and total < CLUSTER_MIN_HOUSEHOLDS:
        raise Invalid(N_("Only villages of %(min)s or more households may meet by cluster."),
                      field="name", min=CLUSTER_MIN_HOUSEHOLDS, present=present, total=total)
    if present < 1:
        raise Invalid(N_("Tick the households present on the meeting's roll first."), field="roll",
                      present=present, total=total)
    if present > total:
        raise Invalid(N_("%(present)s households cannot be represented: the register has %(total)s on the "
                         "meeting date."), field="roll", min=CLUSTER_MIN_HOUSEHOLDS,
                      present=present, total=total)


# --- the meeting: its roll, chair, secretary, counting committee; moving and cancelling -----------------
# Law 10/2022/QH15 Art. 18 and Decree 59/2023/ND-CP Art. 3: the village head convenes and chairs (when the
# post is vacant, the person the commune chairman designates); the meeting decides between a show of hands
# and a secret ballot; a secret ballot is counted by a committee of 3 to 5 people the meeting elects; the
# secretary is elected by more than half of those present.
COMMITTEE_MIN, COMMITTEE_MAX = 3, 5
ROLL_PAGE_SIZE = 100


def check_meeting_open(recorded: bool, cancelled_at: datetime | None) -> None:
    """A cancelled or already recorded meeting cannot be recorded, rolled, moved or cancelled again."""
    if cancelled_at is not None:
        raise Conflict(N_("This meeting was cancelled on %(date)s."), date=local_text(cancelled_at))
    if recorded:
        raise Conflict(N_("This meeting has already been recorded."))


def check_meeting_held(starts_at: datetime, now: datetime) -> None:
    """Nothing is recorded of a meeting before it takes place (its notice period ends before that)."""
    if now < starts_at:
        raise Conflict(N_("The meeting has not taken place yet: it is on %(date)s."),
                       date=local_text(starts_at))


@dataclass(frozen=True)
class RollHousehold:
    id: int
    code: str
    village_id: int
    active_from: date
    active_to: date | None


def check_roll_household(household: RollHousehold | None, village_id: int, on: date) -> None:
    """A ticked household is one of the village's register on the meeting date."""
    if household is None or household.village_id != village_id:
        raise Invalid(N_("A ticked household is not of this village's register."), field="household")
    if not on_register(household.active_from, household.active_to, on):
        raise Invalid(N_("Household %(code)s is not on the register on the meeting date (%(date)s)."),
                      field="household", code=household.code, date=on.isoformat())


def check_secretary(votes: int, present: int) -> None:
    """The secretary is elected by more than half of those present (Decree 59/2023 Art. 3(5))."""
    if votes > present:
        raise Invalid(N_("%(votes)s votes for the secretary are more than the %(present)s present."),
                      field="secretary_votes", votes=votes, present=present)
    if votes * 2 <= present:
        raise Invalid(N_("The secretary needs the votes of more than half of those present (%(present)s)."),
                      field="secretary_votes", votes=votes, present=present)


def check_counting_committee(voting_mode: str, names: list[str]) -> None:
    """A secret ballot has a counting committee of 3 to 5 people elected by the meeting."""
    if voting_mode == "secret_ballot" and not COMMITTEE_MIN <= len(names) <= COMMITTEE_MAX:
        raise Invalid(N_("A secret ballot needs a counting committee of 3 to 5 people: one name a line."),
                      field="counting_committee", count=len(names))


def check_ballot_counts(issued: int, returned: int, valid: int, invalid: int, votes: int,
                        present: int) -> None:
    """The counting committee's figures add up: no more ballots than households present, returned ones are
    valid or invalid, and the votes come from the valid ballots."""
    if issued > present:
        raise Invalid(N_("%(issued)s ballots cannot be issued to %(present)s households present."),
                      field="ballots_issued", issued=issued, present=present)
    if returned > issued:
        raise Invalid(N_("More ballots returned than issued."), field="ballots_returned")
    if valid + invalid != returned:
        raise Invalid(N_("Valid and invalid ballots must add up to the ballots returned."),
                      field="ballots_valid")
    if votes > valid:
        raise Invalid(N_("The votes add up to more than the valid ballots."), field="yes")


def is_cancelled(cancelled_at: datetime | None) -> bool:
    return cancelled_at is not None


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


# --- the tally: the denominator and the ballots on one date ------------------------------------------
# Law 10/2022/QH15, Art. 18 (the community meeting) and Art. 21-22 (how the results of the households'
# deciding are counted and recognised): a decision passes when more than half of ALL households of the
# register agree, and it is the register on the decision date that is both the denominator and the list of
# households whose ballots count. A household that left the register before that date (or joined after it)
# has no ballot in the tally; its ballot is listed as excluded with the reason, so "more households in
# favour than on the register" cannot happen.

def on_register(active_from: date, active_to: date | None, on: date) -> bool:
    """The household is in the register on this date (it leaves on `active_to`, exclusive)."""
    return active_from <= on and (active_to is None or active_to > on)


@dataclass(frozen=True)
class CastBallot:
    choice: str
    household_code: str
    active_from: date
    active_to: date | None


@dataclass(frozen=True)
class Excluded:
    household_code: str
    reason: str  # left | joined
    on: date  # the day it left, or the day it joined


@dataclass(frozen=True)
class Tally:
    yes: int
    no: int
    abstain: int
    total: int  # households of the register on the decision date
    excluded: tuple[Excluded, ...]

    @property
    def counted(self) -> int:
        return self.yes + self.no + self.abstain

    @property
    def passed(self) -> bool:
        return passes(self.yes, self.total)


def excluded_ballots(ballots: list[CastBallot], decided_on: date) -> list[Excluded]:
    out = []
    for b in ballots:
        if on_register(b.active_from, b.active_to, decided_on):
            continue
        if b.active_from > decided_on:
            out.append(Excluded(b.household_code, "joined", b.active_from))
        else:
            assert b.active_to is not None  # not on the register, and it had joined: it left
            out.append(Excluded(b.household_code, "left", b.active_to))
    return sorted(out, key=lambda e: e.household_code)


def count_ballots(ballots: list[CastBallot], total: int, decided_on: date) -> Tally:
    """Counts only the ballots of households on the register on the decision date."""
    counts = {"yes": 0, "no": 0, "abstain": 0}
    for b in ballots:
        if on_register(b.active_from, b.active_to, decided_on) and b.choice in counts:
            counts[b.choice] += 1
    return Tally(counts["yes"], counts["no"], counts["abstain"], total,
                 tuple(excluded_ballots(ballots, decided_on)))


# --- the one-screen count of paper ballots: entries, corrections and removals ---------------------------
COUNT_PAGE_SIZE = 100
NO_BALLOT = ""  # the household's ballot is not entered (or is taken out)


@dataclass(frozen=True)
class CountChanges:
    """What one save of the count screen changes, by household id."""

    added: dict[int, str]
    changed: dict[int, str]
    removed: list[int]

    @property
    def corrections(self) -> bool:
        return bool(self.changed or self.removed)

    @property
    def any(self) -> bool:
        return bool(self.added) or self.corrections


def count_changes(recorded: dict[int, str], chosen: dict[int, str], shown: set[int]) -> CountChanges:
    """Compare what the screen sends with what is recorded: a household shown with the same choice again
    changes nothing (saving the same screen twice is harmless), a new choice is an entry, another choice is a
    correction, no choice where one was entered is a removal."""
    added: dict[int, str] = {}
    changed: dict[int, str] = {}
    removed: list[int] = []
    for household_id in sorted(shown | set(chosen)):
        new, old = chosen.get(household_id, NO_BALLOT), recorded.get(household_id, NO_BALLOT)
        if new == old:
            continue
        if old == NO_BALLOT:
            added[household_id] = new
        elif new == NO_BALLOT:
            removed.append(household_id)
        else:
            changed[household_id] = new
    return CountChanges(added, changed, removed)


REASON_MIN = 5


def check_correction_reason(corrections: bool, reason: str) -> None:
    """An entry already made is changed or taken out only with a reason, kept in the audit chain."""
    if corrections and len(reason.strip()) < REASON_MIN:
        raise Invalid(N_("Changing or taking out an entry already saved needs a reason (5 to 400 "
                         "characters)."), field="reason")


def check_count_open(counting: bool, closed_at: datetime | None) -> None:
    """Ballots are entered and corrected only while the count is open; once closed, the result stands."""
    if closed_at is not None:
        raise Conflict(N_("The count was closed on %(date)s: its ballots can no longer be entered or "
                          "changed."), date=local_text(closed_at))
    if not counting:
        raise Conflict(N_("There is no household paper ballot being counted on this item."))


def check_ballot_household(household: RollHousehold | None, village_id: int, on: date) -> None:
    """A ballot is entered for a household of the village's register on the day of the count (a ballot of a
    household off the register would not count: see count_ballots)."""
    if household is None or household.village_id != village_id:
        raise Invalid(N_("A household of the list is not of this village's register."), field="ballots")
    if not on_register(household.active_from, household.active_to, on):
        raise Invalid(N_("Household %(code)s is not on the register on %(date)s."), field="ballots",
                      code=household.code, date=on.isoformat())


def check_removed_roll(removed: int, reason: str) -> None:
    """A household taken off a meeting's roll once saved needs a reason, kept in the audit chain."""
    if removed and len(reason.strip()) < REASON_MIN:
        raise Invalid(N_("Taking a household off the roll needs a reason (5 to 400 characters)."),
                      field="reason")


def decision_outcome(status: str, passed: bool | None) -> str:
    """"passed", "failed" or "" (still open, or none)."""
    if status != "closed" or passed is None:
        return ""
    return "passed" if passed else "failed"


def tally_reason(in_favour: int, total: int) -> str:
    """The public reason stored when a failed decision closes the item (shown as written, in Vietnamese)."""
    return f"Kết quả biểu quyết: {in_favour}/{total} hộ đồng ý, chưa được quá nửa tổng số hộ gia đình."


# --- the village Front work committee's answer to an online vote --------------------------------------

# Decree 59/2023/NĐ-CP Art. 5: a village votes online only when the village head and the village Front work
# committee agree (and the community accepts it, the commune People's Committee and the Front informed).
# The committee's answer is recorded by its head, from their own account, while the item is in People know
# or People discuss and no decision has been started; it stands once an online ballot is open.
FRONT_STAGES = frozenset({"know", "discuss"})


def check_front_head(front_villages: frozenset[int], village_id: int) -> None:
    """Only the head of the item's village Front work committee speaks for it: not the village head, not
    the head of another village's committee."""
    if village_id not in front_villages:
        raise Forbidden(N_("Only the head of the Front work committee of this item's village may record its "
                           "answer to an online vote."))


def check_front_answer(*, stage: str, online_allowed: bool, answered: bool, decision_started: bool,
                       decided_on: date, accepted_on: date, today: date) -> None:
    """May the committee's answer be recorded now, with this date? Once per item (withdraw it to give
    another), before any decision is started, on a matter an online ballot may decide, dated between the
    day the item was accepted and today."""
    if stage not in FRONT_STAGES:
        raise Conflict(N_("The Front work committee's answer is recorded while the item is in People know or "
                          "People discuss."))
    if not online_allowed:
        raise Conflict(N_("An online ballot is allowed only for other self-managed affairs (Decree "
                          "59/2023 Art. 5), not for this matter: decide it at a meeting or by a "
                          "household paper ballot."))
    if decision_started:
        raise Conflict(N_("A decision on this item has already been started: the Front work committee's "
                          "answer can no longer be recorded."))
    if answered:
        raise Conflict(N_("The Front work committee's answer on this item is already recorded: withdraw it "
                          "first to record another."))
    if decided_on > today:
        raise Invalid(N_("This date cannot be in the future."), field="decided_on")
    if decided_on < accepted_on:
        raise Invalid(N_("The committee cannot have decided before the item was accepted (%(date)s)."),
                      field="decided_on", date=accepted_on.isoformat())


def check_front_withdraw(*, answered: bool, online_ballot_opened: bool) -> None:
    """The committee's answer may be withdrawn until an online ballot is opened on it, not after."""
    if not answered:
        raise Conflict(N_("There is no answer of the Front work committee to withdraw."))
    if online_ballot_opened:
        raise Conflict(N_("The online ballot is open: the Front work committee's agreement can no longer be "
                          "withdrawn."))


# --- a matter of the whole commune: the villages meet separately, the commune adds their results up --------
# Law 10/2022/QH15 Art. 15(1) and 21: for a matter of the whole commune every household of the commune is the
# denominator; each village holds its own meeting (or household ballot) and the results are added up on one
# decision date, the register of that date being the denominator and the list of households that count. The
# commune opens and decides it: an official with the commune's powers (a supervisor or an administrator of
# the commune). Each village's own meeting is convened, chaired and recorded by that village's head (Art.
# 18(1)), with the roll of that village's households.
COMMUNE_REASON_MIN, COMMUNE_REASON_MAX = 10, 400
REPORTED, NOT_REPORTED = "reported", "not_reported"


def has_commune_powers(actor: Any, commune_id: int) -> bool:
    """An official who acts for the commune: a supervisor or an administrator of this commune."""
    return is_supervisor(actor, commune_id) or commune_id in getattr(actor, "admin_communes", frozenset())


def check_commune_official(actor: Any, commune_id: int) -> None:
    if not has_commune_powers(actor, commune_id):
        raise Forbidden(N_("A matter of the whole commune is decided by the commune: only a commune official "
                           "(a supervisor or an administrator of the commune) may do this."))


def check_may_open(scope: str, actor: Any, commune_id: int, village_id: int) -> None:
    """Who opens the discussion: the village head for a village's matter, the commune for the commune's."""
    if scope == "commune":
        check_commune_official(actor, commune_id)
    elif not is_village_head(actor, village_id):
        raise Forbidden(N_("A matter of one village is opened by the village head of the item's village. A "
                           "commune official opens only matters of the whole commune."))


def check_village_of_commune(village_commune_id: int | None, commune_id: int) -> None:
    if village_commune_id != commune_id:
        raise Invalid(N_("Please choose a village of this commune."), field="village_id")


def check_reporting_head(actor: Any, village_id: int) -> None:
    """A village's meeting and result are its own village head's; never another village's."""
    if not is_village_head(actor, village_id):
        raise Forbidden(N_("Only the village head of that village may hold and record its meeting or record "
                           "its result."))


def check_not_reported(already: bool, village: str) -> None:
    """A village records its result once."""
    if already:
        raise Conflict(N_("The result of %(village)s has already been recorded: a village records its result "
                          "once."), village=village)


@dataclass(frozen=True)
class VillageReport:
    """One village on the decision date: its register then, and its result as recorded (None: no result).
    `present` is the households represented at its meeting (its roll on the register of the decision date)
    or whose ballots were returned."""

    village_id: int
    name: str
    households: int
    present: int | None = None
    yes: int = 0
    no: int = 0
    abstain: int = 0


@dataclass(frozen=True)
class VillageLine:
    village_id: int
    name: str
    households: int
    present: int
    yes: int
    no: int
    abstain: int
    reported: bool


@dataclass(frozen=True)
class CommuneTally:
    lines: tuple[VillageLine, ...]
    households: int  # every household of the commune's register on the decision date
    present: int
    yes: int
    no: int
    abstain: int
    quorum: bool
    passed: bool

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(line.name for line in self.lines if not line.reported)

    @property
    def reported(self) -> int:
        return sum(1 for line in self.lines if line.reported)


def village_line(report: VillageReport) -> VillageLine:
    """A village's line as it counts: a village that did not report counts no household present or in
    favour. A figure is never more than the households it stands for on the decision date: a show of hands
    names no household, so when households of the roll left the register before that date the village
    counts at most the households still present, in favour first taken away (the cautious reading)."""
    if report.present is None:
        return VillageLine(report.village_id, report.name, report.households, 0, 0, 0, 0, False)
    present = max(0, min(report.present, report.households))
    yes = max(0, min(report.yes, present))
    no = max(0, min(report.no, present - yes))
    abstain = max(0, min(report.abstain, present - yes - no))
    return VillageLine(report.village_id, report.name, report.households, present, yes, no, abstain, True)


def add_up(reports: list[VillageReport], quorum: str, threshold: str) -> CommuneTally:
    """The villages' results added up against every household of the commune on the decision date: a quorum
    of households represented and the threshold of households in favour, both shares of ALL households
    (civic.deliberation.matters.reaches: more than half, or at least two thirds). The decision passes when
    both are reached."""
    lines = tuple(village_line(r) for r in sorted(reports, key=lambda r: (r.name, r.village_id)))
    households = sum(line.households for line in lines)
    present = sum(line.present for line in lines)
    yes = sum(line.yes for line in lines)
    no = sum(line.no for line in lines)
    abstain = sum(line.abstain for line in lines)
    has_quorum_ = reaches(quorum, present, households)
    return CommuneTally(lines, households, present, yes, no, abstain, has_quorum_,
                        has_quorum_ and reaches(threshold, yes, households))


def check_close_commune(missing: tuple[str, ...], reason: str) -> None:
    """The commune decision is closed with every village's result, or with the recorded reason why a
    village did not report (it then counts as no household in favour, and the record says so)."""
    if missing and len(reason.strip()) < COMMUNE_REASON_MIN:
        raise Invalid(N_("These villages have not reported their result: %(villages)s. To close the "
                         "decision anyway, record why (10 to 400 characters); a village that did not meet "
                         "counts as no households in favour."), field="reason", villages=", ".join(missing))


def commune_tally_reason(in_favour: int, total: int) -> str:
    """The public reason stored when a failed commune-wide decision closes the item (in Vietnamese)."""
    return (f"Kết quả cộng các thôn: {in_favour}/{total} hộ gia đình toàn xã đồng ý, chưa đạt tỷ lệ "
            "theo quy định.")
