"""The vote rules of Dân bàn and the periods of Dân biết, pure, no database. Expectations are written out by
hand, never computed from civic.deliberation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civic.deliberation import rules
from civic.deliberation.schemas import DecideForm, DisclosureForm
from civic.errors import Conflict, Forbidden, Invalid
from civic.workflow import rules as wrules
from civic.workflow.rules import ActorFacts, ItemFacts


@pytest.fixture(autouse=True)
def clean_db():
    """Pure rules: nothing to empty (overrides the database fixture of tests/conftest.py)."""
    yield


# --- quorum and passing -------------------------------------------------------------------------

@pytest.mark.parametrize(("present", "total", "ok"), [
    (33, 64, True), (32, 64, False), (31, 64, False), (64, 64, True), (0, 64, False),
    (3, 5, True), (2, 5, False), (1, 1, True), (0, 0, False), (101, 200, True), (100, 200, False),
])
def test_quorum_is_more_than_half_of_all_households(present, total, ok):
    assert rules.has_quorum(present, total) is ok


@pytest.mark.parametrize(("yes", "total", "ok"), [
    (32, 64, False),  # exactly 50 %: not passed
    (33, 64, True),   # just above
    (38, 64, True), (31, 64, False), (0, 64, False), (64, 64, True),
    (50, 100, False), (51, 100, True), (2, 3, True), (1, 3, False), (1, 2, False), (0, 0, False),
])
def test_passing_is_more_than_half_of_all_households_at_50_and_just_above(yes, total, ok):
    assert rules.passes(yes, total) is ok


def test_passing_counts_all_households_not_those_present():
    # 40 present of 64, 30 in favour: 75 % of those present, but not more than half of all 64.
    assert rules.has_quorum(40, 64)
    assert not rules.passes(30, 64)


# --- counts ----------------------------------------------------------------------------------------

def _counts(data: dict, present: int) -> tuple[int, int, int]:
    """The counts as typed at a meeting, checked against the households present."""
    counts = DecideForm.parse({"method": "meeting_vote", **data}).counts
    rules.check_counts(*counts, present)
    return counts


def test_counts_within_those_present():
    assert _counts({"yes": "30", "no": "5", "abstain": "2"}, 40) == (30, 5, 2)
    assert _counts({"yes": "40", "no": "0", "abstain": "0"}, 40) == (40, 0, 0)


@pytest.mark.parametrize(("data", "field"), [
    ({"yes": "-1", "no": "0", "abstain": "0"}, "yes"),
    ({"yes": "ba", "no": "0", "abstain": "0"}, "yes"),
    ({"yes": "1.5", "no": "0", "abstain": "0"}, "yes"),
    ({"yes": "1", "no": "", "abstain": "0"}, "no"),
    ({"yes": "30", "no": "10", "abstain": "1"}, "yes"),  # 41 > 40 present
])
def test_bad_counts_are_refused(data, field):
    with pytest.raises(Invalid) as exc:
        _counts(data, 40)
    assert field in exc.value.errors
    assert exc.value.status == 422


def test_attendance_is_the_roll_and_cannot_exceed_the_register():
    rules.check_attendance(33, False, 64)
    assert rules.has_quorum(33, 64) and not rules.has_quorum(32, 64)
    with pytest.raises(Invalid) as exc:
        rules.check_attendance(65, False, 64)
    assert "roll" in exc.value.errors
    with pytest.raises(Invalid) as exc:  # nobody ticked
        rules.check_attendance(0, False, 64)
    assert "roll" in exc.value.errors


def test_clusters_only_for_villages_of_200_households():
    # Law 10/2022/QH15 Art. 18: a village of 200 or more households may meet by cluster.
    rules.check_attendance(112, True, 210)
    assert rules.has_quorum(112, 210) and not rules.has_quorum(100, 210)
    with pytest.raises(Invalid) as exc:
        rules.check_attendance(112, True, 199)
    assert "name" in exc.value.errors


def test_meeting_vote_needs_a_recorded_meeting_with_quorum():
    with pytest.raises(Invalid):
        rules.check_meeting_vote(False, None)
    with pytest.raises(Conflict):
        rules.check_meeting_vote(True, False)
    rules.check_meeting_vote(True, True)


def test_voting_window():
    opens = datetime(2026, 6, 1, tzinfo=UTC)
    closes = datetime(2026, 6, 8, tzinfo=UTC)
    with pytest.raises(Conflict):
        rules.check_voting_open("open", opens, closes, opens - timedelta(seconds=1))
    rules.check_voting_open("open", opens, closes, opens)
    rules.check_voting_open("open", opens, closes, closes - timedelta(seconds=1))
    with pytest.raises(Conflict):
        rules.check_voting_open("open", opens, closes, closes)
    with pytest.raises(Conflict):
        rules.check_voting_open("closed", opens, closes, opens + timedelta(days=1))


def test_only_a_representative_votes():
    assert rules.representative_household([(7, False), (9, True)]) == 9
    with pytest.raises(Forbidden):
        rules.representative_household([(7, False)])
    with pytest.raises(Forbidden):
        rules.representative_household([])


def test_a_decision_only_in_discuss_and_only_once():
    rules.check_can_decide("discuss", False, False)
    for stage in ("know", "do", "closed", "submitted"):
        with pytest.raises(Conflict):
            rules.check_can_decide(stage, False, False)
    with pytest.raises(Conflict):
        rules.check_can_decide("discuss", True, False)
    with pytest.raises(Conflict):
        rules.check_can_decide("discuss", False, True)


# --- periods: disclosure and meeting notice -----------------------------------------------------------

def test_disclosure_ending_before_it_starts_is_refused():
    with pytest.raises(Invalid) as exc:
        DisclosureForm.parse({"channel": "notice_board", "place": "Nhà văn hoá", "starts_on": "2026-06-10",
                              "ends_on": "2026-06-09"})
    assert "ends_on" in exc.value.errors
    ok = DisclosureForm.parse({"channel": "loudspeaker", "place": "Loa thôn", "starts_on": "2026-06-10",
                               "ends_on": "10/06/2026"})
    assert ok.starts_on == ok.ends_on == date(2026, 6, 10)
    with pytest.raises(Invalid) as exc:
        DisclosureForm.parse({"channel": "pigeon", "place": "", "starts_on": "mai", "ends_on": ""})
    assert set(exc.value.errors) == {"channel", "place", "starts_on", "ends_on"}


def test_disclosure_period_blocks_until_the_ready_date():
    runs = rules.coverage([rules.Posting("notice_board", date(2026, 6, 10), date(2026, 6, 16))], None)
    ready = rules.disclosure_ready_on(runs, 3)
    assert ready == date(2026, 6, 13)
    assert rules.open_discussion_blocker(0, None, date(2026, 7, 1)) is not None
    blocker = rules.open_discussion_blocker(1, ready, date(2026, 6, 12))
    assert blocker is not None and blocker.params == {"date": date(2026, 6, 13)}
    assert rules.open_discussion_blocker(1, ready, date(2026, 6, 13)) is None


def test_meeting_notice_is_at_least_the_setting():
    now = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
    rules.check_meeting_notice(now + timedelta(days=5), now, 5)
    with pytest.raises(Invalid) as exc:
        rules.check_meeting_notice(now + timedelta(days=5) - timedelta(minutes=1), now, 5)
    assert "starts_at" in exc.value.errors
    rules.check_meeting_notice(now + timedelta(days=2), now, 2)  # configurable
    assert rules.days_until(now + timedelta(days=4, hours=1), now) == 5
    assert rules.days_until(now - timedelta(days=1), now) == 0


# --- the matrix of this module's transitions ----------------------------------------------------------

NOW = datetime(2026, 6, 15, 3, 0, tzinfo=UTC)  # 10:00 in Hà Nội, 15 June
SEC = ActorFacts(user_id=2, head_villages=frozenset({10}))
OTHERS = {
    "anonymous": ActorFacts(), "account": ActorFacts(user_id=1),
    "author": ActorFacts(user_id=3, is_author=True),
    "other_head": ActorFacts(user_id=4, head_villages=frozenset({11})),
    "supervisor": ActorFacts(user_id=5, supervisor_communes=frozenset({1})),
    "admin": ActorFacts(user_id=6, admin_communes=frozenset({1})),
}


def facts(stage, **over):
    stage, _, outcome = stage.partition("/")
    return ItemFacts(stage=stage, outcome=outcome or None, commune_id=1, village_id=10, **over)


READY = dict(disclosure_count=1, disclosure_ready_on=date(2026, 6, 15))
# action, facts that satisfy it, the one stage it starts from, who else may act (the commune's officials open
# a matter of the whole commune: the effect checks the scope, civic.deliberation.rules.check_may_open)
ROWS = [
    ("open_discussion", READY, "know", {"supervisor", "admin"}),
    ("start_work", dict(decision_passed=True), "discuss", set()),
    ("close_not_approved", dict(decision_failed=True), "discuss", set()),
]
STATES = ("submitted", "know", "discuss", "do", "inspect", "closed/done", "closed/not_approved")
# The actions this module's matrix covers (tests/workflow/test_rules.py checks every action is
# covered).
MATRIX = {action: start for action, _good, start, _also in ROWS}


@pytest.mark.parametrize(("action", "good", "start", "also"), ROWS)
@pytest.mark.parametrize("state", STATES)
def test_matrix_of_deliberation_transitions(action, good, start, also, state):
    item = facts(state, **good)
    for who in [SEC, *(OTHERS[name] for name in sorted(also))]:
        if state == start:
            assert wrules.check(action, item, who, NOW).action == action
        else:
            with pytest.raises(Conflict):
                wrules.check(action, item, who, NOW)
    for name, who in OTHERS.items():
        if name not in also:
            with pytest.raises(Forbidden):
                wrules.check(action, item, who, NOW)


def test_open_discussion_needs_a_disclosure_and_the_period():
    with pytest.raises(Conflict):
        wrules.check("open_discussion", facts("know"), SEC, NOW)
    with pytest.raises(Conflict):
        wrules.check("open_discussion", facts("know", disclosure_count=1,
                                              disclosure_ready_on=date(2026, 6, 16)), SEC, NOW)
    assert wrules.allowed("open_discussion", facts("know", **READY), SEC, NOW)


def test_moving_on_needs_the_matching_result():
    with pytest.raises(Conflict):
        wrules.check("start_work", facts("discuss"), SEC, NOW)
    with pytest.raises(Conflict):
        wrules.check("start_work", facts("discuss", decision_failed=True), SEC, NOW)
    with pytest.raises(Conflict):
        wrules.check("close_not_approved", facts("discuss", decision_passed=True), SEC, NOW)
    assert wrules.allowed_actions(facts("discuss", decision_passed=True), SEC, NOW,
                                  ["start_work", "close_not_approved"]) == ["start_work"]


# --- disclosure that counts ------------------------------------------------------------------------

def _p(channel: str, start: date, end: date) -> rules.Posting:
    return rules.Posting(channel, start, end)


D = date(2026, 6, 10)


def test_a_one_day_posting_covers_one_day_and_never_meets_three():
    runs = rules.coverage([_p("notice_board", D, D)], D)
    assert runs == [(D, D)] and rules.longest_run(runs) == 1
    assert rules.disclosure_ready_on(runs, 3) is None
    blocker = rules.open_discussion_blocker(1, None, D + timedelta(days=30))
    assert blocker is not None and "do not yet cover" in blocker.message


def test_days_before_the_acceptance_do_not_count_and_such_a_posting_is_refused():
    accepted = D
    runs = rules.coverage([_p("notice_board", D - timedelta(days=10), D + timedelta(days=1))], accepted)
    assert runs == [(D, D + timedelta(days=1))]  # two real days, not twelve
    assert rules.disclosure_ready_on(runs, 3) is None
    with pytest.raises(Invalid) as exc:
        rules.check_disclosure_dates(D - timedelta(days=1), D + timedelta(days=5), accepted)
    assert "starts_on" in exc.value.errors and exc.value.params["date"] == "2026-06-10"
    with pytest.raises(Invalid) as exc:
        rules.check_disclosure_dates(D + timedelta(days=2), D + timedelta(days=1), accepted)
    assert "ends_on" in exc.value.errors
    rules.check_disclosure_dates(D, D, accepted)


def test_postings_by_any_channel_add_up_only_when_consecutive():
    board = _p("notice_board", D, D)
    site = _p("website", D + timedelta(days=1), D + timedelta(days=2))
    assert rules.disclosure_ready_on(rules.coverage([board, site], D), 3) == D + timedelta(days=3)
    gap = _p("website", D + timedelta(days=2), D + timedelta(days=3))  # the second day is missing
    runs = rules.coverage([board, gap], D)
    assert rules.longest_run(runs) == 2 and rules.disclosure_ready_on(runs, 3) is None
    # Overlapping postings do not count a day twice.
    twice = [_p("notice_board", D, D + timedelta(days=1)), _p("website", D, D + timedelta(days=1))]
    assert rules.disclosure_ready_on(rules.coverage(twice, D), 3) is None


def test_the_loudspeaker_counts_only_in_three_consecutive_days():
    two = [_p("loudspeaker", D, D + timedelta(days=1))]
    assert rules.coverage(two, D) == []
    assert rules.disclosure_ready_on(rules.coverage(two + [_p("notice_board", D + timedelta(days=2),
                                                              D + timedelta(days=2))], D), 3) is None
    three = [_p("loudspeaker", D, D), _p("loudspeaker", D + timedelta(days=1), D + timedelta(days=2))]
    assert rules.disclosure_ready_on(rules.coverage(three, D), 3) == D + timedelta(days=3)


def test_the_minimum_is_at_least_one_day_and_the_legal_minimum_of_a_convention():
    with pytest.raises(Invalid) as exc:
        rules.check_min_disclosure_days("drainage", 0)
    assert "days" in exc.value.errors
    rules.check_min_disclosure_days("drainage", 1)
    with pytest.raises(Invalid) as exc:
        rules.check_min_disclosure_days("village_convention", 29)
    assert exc.value.params["days"] == 30
    rules.check_min_disclosure_days("village_convention", 30)
    assert rules.required_days("drainage", 0) == 1  # a 0 stored before this rule still means one day
    assert rules.required_days("village_convention", 3) == 30
    assert rules.required_days("drainage", 7) == 7


# --- the tally on the decision date -----------------------------------------------------------------

def test_six_in_favour_five_of_whom_left_is_one_of_five():
    joined, left, decided = date(2020, 1, 1), date(2026, 12, 3), date(2026, 12, 5)
    ballots = [rules.CastBallot("yes", f"H{n:04d}", joined, left if n else None) for n in range(6)]
    tally = rules.count_ballots(ballots, 5, decided)
    assert (tally.yes, tally.total, tally.counted, tally.passed) == (1, 5, 1, False)
    assert [(e.household_code, e.reason, e.on) for e in tally.excluded] ==\
        [(f"H{n:04d}", "left", left) for n in range(1, 6)]
    late = rules.count_ballots([rules.CastBallot("yes", "H0009", date(2026, 12, 6), None)], 5, decided)
    assert late.yes == 0 and late.excluded[0].reason == "joined"


@st.composite
def _registers(draw):
    """A register of households with random joins and leaves, one ballot or none from each, and a date."""
    base = date(2026, 1, 1)
    households = []
    for n in range(draw(st.integers(0, 25))):
        joined = base + timedelta(days=draw(st.integers(0, 60)))
        left = draw(st.one_of(st.none(), st.integers(1, 60).map(lambda d, j=joined: j + timedelta(days=d))))
        choice = draw(st.sampled_from(["yes", "no", "abstain", None]))
        households.append((f"H{n:04d}", joined, left, choice))
    return households, base + timedelta(days=draw(st.integers(0, 130)))


@settings(max_examples=200, deadline=None)
@given(_registers())
def test_never_more_in_favour_than_households_on_the_register(case):
    households, decided = case
    total = sum(rules.on_register(j, left, decided) for _c, j, left, _ch in households)
    ballots = [rules.CastBallot(ch, c, j, left) for c, j, left, ch in households if ch]
    tally = rules.count_ballots(ballots, total, decided)
    assert tally.yes <= tally.counted <= tally.total
    assert tally.passed == (tally.yes * 2 > tally.total)
    assert tally.counted + len(tally.excluded) == len(ballots)
    for e in tally.excluded:  # each excluded household was really off the register that day
        _c, j, left, _ch = next(h for h in households if h[0] == e.household_code)
        assert not rules.on_register(j, left, decided)
        assert e.on == (left if e.reason == "left" else j)


# --- the one-screen paper-ballot count ----------------------------------------------------------------

def test_a_count_screen_saved_again_changes_nothing_and_other_choices_are_corrections():
    recorded = {1: "yes", 2: "no", 3: "abstain"}
    same = rules.count_changes(recorded, {1: "yes", 2: "no", 3: "abstain", 4: ""}, {1, 2, 3, 4})
    assert (same.added, same.changed, same.removed, same.any) == ({}, {}, [], False)
    new = rules.count_changes(recorded, {4: "yes", 5: "no"}, {1, 2, 3, 4, 5})  # 1-3 shown without a choice
    assert (new.added, new.changed, new.removed) == ({4: "yes", 5: "no"}, {}, [1, 2, 3])
    fix = rules.count_changes(recorded, {1: "no", 2: "no", 3: ""}, {1, 2, 3})
    assert (fix.added, fix.changed, fix.removed, fix.corrections) == ({}, {1: "no"}, [3], True)
    unseen = rules.count_changes(recorded, {}, set())  # households not on this page are left alone
    assert not unseen.any


def test_a_correction_needs_a_reason_of_five_characters():
    rules.check_correction_reason(False, "")  # new ballots only
    rules.check_correction_reason(True, "Nhầm!")
    for reason in ("", "    ", "Nhầm"):
        with pytest.raises(Invalid, match="needs a reason") as exc:
            rules.check_correction_reason(True, reason)
        assert "reason" in exc.value.errors
    rules.check_removed_roll(0, "")
    with pytest.raises(Invalid, match="off the roll needs a reason"):
        rules.check_removed_roll(2, "ok")


def test_nothing_is_entered_after_the_count_closed_or_without_a_count():
    rules.check_count_open(True, None)
    closed = datetime(2026, 6, 1, 12, 30, tzinfo=UTC)
    with pytest.raises(Conflict, match="closed") as exc:
        rules.check_count_open(False, closed)
    assert exc.value.params["date"] == "2026-06-01 19:30"  # Hà Nội time
    with pytest.raises(Conflict, match="no household paper ballot"):
        rules.check_count_open(False, None)


def test_a_ballot_is_of_a_household_of_the_village_register_on_the_day():
    day = date(2026, 6, 1)
    def household(joined: date, left: date | None) -> rules.RollHousehold:
        return rules.RollHousehold(7, "HD-007", 1, joined, left)

    here = household(date(2020, 1, 1), None)
    rules.check_ballot_household(here, 1, day)
    rules.check_ballot_household(household(date(2020, 1, 1), date(2026, 6, 2)), 1, day)  # leaves tomorrow
    rules.check_ballot_household(household(day, None), 1, day)  # joined today
    for h, message in ((None, "not of this village"), (here, "not of this village"),
                       (household(date(2020, 1, 1), day), "not on the register"),  # left today
                       (household(date(2026, 6, 2), None), "not on the register")):  # joins tomorrow
        village = 2 if h is here else 1
        with pytest.raises(Invalid, match=message):
            rules.check_ballot_household(h, village, day)
