"""The stage × actor matrix of the moves out of Dân làm and Dân kiểm tra (start_inspection, sign_off, rework,
close_not_done, reopen), written out by hand, and each action's preconditions. Pure, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from civic.core.facts import ActorFacts
from civic.errors import Conflict, Forbidden
from civic.workflow import rules
from civic.workflow.rules import ItemFacts
from tests.workflow.test_rules import ACTORS as WORKFLOW_ACTORS
from tests.workflow.test_rules import COMMUNE, STATES, VILLAGE

BOARD = frozenset({107, 110, 111, 112, 113})  # the five members of the inspecting board
ACTORS = {**WORKFLOW_ACTORS, "inspector": ActorFacts(user_id=107), "other_inspector": ActorFacts(user_id=108)}
COLUMNS = tuple(ACTORS)

NOW = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clean_db():
    """Pure rules: nothing to empty."""
    yield


# Columns: anonymous, account, author, village head (of the item's village), other_head, supervisor (of the
# item's commune), other_supervisor, admin, inspector (a member of the board that inspects the item: the
# project's investment supervision board, else the commune's people's inspection board), other_inspector (a
# member of another board). Every precondition other than stage and actor is met. Signing off is the board's
# decision, never the commune official's alone.
MATRIX: dict[str, str] = {
    "start_inspection": """
submitted             403 403 403 409 403 403 403 403 403 403
know                  403 403 403 409 403 403 403 403 403 403
discuss               403 403 403 409 403 403 403 403 403 403
do                    403 403 403 ok  403 403 403 403 403 403
inspect               403 403 403 409 403 403 403 403 403 403
closed/done           403 403 403 409 403 403 403 403 403 403
closed/rejected       403 403 403 409 403 403 403 403 403 403
closed/duplicate      403 403 403 409 403 403 403 403 403 403
closed/redirected     403 403 403 409 403 403 403 403 403 403
closed/withdrawn      403 403 403 409 403 403 403 403 403 403
closed/not_approved   403 403 403 409 403 403 403 403 403 403
closed/not_done       403 403 403 409 403 403 403 403 403 403
""",
    "sign_off": """
submitted             403 403 403 403 403 403 403 403 409 403
know                  403 403 403 403 403 403 403 403 409 403
discuss               403 403 403 403 403 403 403 403 409 403
do                    403 403 403 403 403 403 403 403 409 403
inspect               403 403 403 403 403 403 403 403 ok  403
closed/done           403 403 403 403 403 403 403 403 409 403
closed/rejected       403 403 403 403 403 403 403 403 409 403
closed/duplicate      403 403 403 403 403 403 403 403 409 403
closed/redirected     403 403 403 403 403 403 403 403 409 403
closed/withdrawn      403 403 403 403 403 403 403 403 409 403
closed/not_approved   403 403 403 403 403 403 403 403 409 403
closed/not_done       403 403 403 403 403 403 403 403 409 403
""",
    "rework": """
submitted             403 403 403 403 403 409 403 403 403 403
know                  403 403 403 403 403 409 403 403 403 403
discuss               403 403 403 403 403 409 403 403 403 403
do                    403 403 403 403 403 409 403 403 403 403
inspect               403 403 403 403 403 ok  403 403 403 403
closed/done           403 403 403 403 403 409 403 403 403 403
closed/rejected       403 403 403 403 403 409 403 403 403 403
closed/duplicate      403 403 403 403 403 409 403 403 403 403
closed/redirected     403 403 403 403 403 409 403 403 403 403
closed/withdrawn      403 403 403 403 403 409 403 403 403 403
closed/not_approved   403 403 403 403 403 409 403 403 403 403
closed/not_done       403 403 403 403 403 409 403 403 403 403
""",
    "close_not_done": """
submitted             403 403 403 403 403 ok  403 403 403 403
know                  403 403 403 403 403 ok  403 403 403 403
discuss               403 403 403 403 403 ok  403 403 403 403
do                    403 403 403 403 403 ok  403 403 403 403
inspect               403 403 403 403 403 ok  403 403 403 403
closed/done           403 403 403 403 403 409 403 403 403 403
closed/rejected       403 403 403 403 403 409 403 403 403 403
closed/duplicate      403 403 403 403 403 409 403 403 403 403
closed/redirected     403 403 403 403 403 409 403 403 403 403
closed/withdrawn      403 403 403 403 403 409 403 403 403 403
closed/not_approved   403 403 403 403 403 409 403 403 403 403
closed/not_done       403 403 403 403 403 409 403 403 403 403
""",
    "reopen": """
submitted             403 403 403 403 403 409 403 403 403 403
know                  403 403 403 403 403 409 403 403 403 403
discuss               403 403 403 403 403 409 403 403 403 403
do                    403 403 403 403 403 409 403 403 403 403
inspect               403 403 403 403 403 409 403 403 403 403
closed/done           403 403 403 403 403 ok  403 403 403 403
closed/rejected       403 403 403 403 403 409 403 403 403 403
closed/duplicate      403 403 403 403 403 409 403 403 403 403
closed/redirected     403 403 403 403 403 409 403 403 403 403
closed/withdrawn      403 403 403 403 403 409 403 403 403 403
closed/not_approved   403 403 403 403 403 409 403 403 403 403
closed/not_done       403 403 403 403 403 409 403 403 403 403
""",
}


def ready(state: str, **over) -> ItemFacts:
    """An item in `state` that meets every precondition of these moves."""
    stage, _, outcome = state.partition("/")
    facts = dict(stage=stage, outcome=outcome or None, commune_id=COMMUNE, village_id=VILLAGE,
                 closed_at=NOW - timedelta(days=1) if stage == "closed" else None,
                 progress_percent=100, pledges_open=0, inspection_open=True, checklist_unmarked=0,
                 findings_open=1, serious_findings_open=0, reopen_pending=True, inspectors=BOARD,
                 sign_off_agreed=3, checklist_not_met_uncovered=0)
    facts.update(over)
    return ItemFacts(**facts)


def _cells():
    for action, table in MATRIX.items():
        rows = [line.split() for line in table.strip().splitlines()]
        assert [r[0] for r in rows] == list(STATES)
        for state, *expected in rows:
            for actor, want in zip(COLUMNS, expected, strict=True):
                yield pytest.param(action, state, actor, want, id=f"{action}-{state}-{actor}")


@pytest.mark.parametrize(("action", "state", "actor", "want"), list(_cells()))
def test_matrix(action, state, actor, want):
    item, who = ready(state), ACTORS[actor]
    if want == "ok":
        assert rules.check(action, item, who, NOW).action == action
    else:
        with pytest.raises(Forbidden if want == "403" else Conflict):
            rules.check(action, item, who, NOW)


# --- preconditions -----------------------------------------------------------------------------------

SEC, SUP, INS = ACTORS["village_head"], ACTORS["supervisor"], ACTORS["inspector"]


@pytest.mark.parametrize(("percent", "open_pledges", "ok"), [
    (100, 0, True), (99, 0, False), (0, 0, False), (100, 1, False), (100, 40, False), (50, 3, False)])
def test_inspection_starts_only_at_100_percent_with_every_pledge_delivered_or_withdrawn(
        percent, open_pledges, ok):
    item = ready("do", progress_percent=percent, pledges_open=open_pledges)
    assert rules.allowed("start_inspection", item, SEC, NOW) is ok


def test_the_refusal_names_what_is_missing():
    with pytest.raises(Conflict) as exc:
        rules.check("start_inspection", ready("do", progress_percent=80, pledges_open=2), SEC, NOW)
    assert exc.value.params == {"percent": 80}
    with pytest.raises(Conflict) as exc:
        rules.check("start_inspection", ready("do", pledges_open=2), SEC, NOW)
    assert exc.value.params == {"count": 2}


@pytest.mark.parametrize(("over", "ok"), [
    ({}, True), ({"serious_findings_open": 1, "findings_open": 1}, False),
    ({"inspection_open": False}, False), ({"checklist_unmarked": 2}, False), ({"findings_open": 3}, True),
    ({"findings_open": 0}, True),
    # The board decides by majority of ALL its five members (Law 10/2022/QH15, Decree 59/2023).
    ({"sign_off_agreed": 0}, False), ({"sign_off_agreed": 1}, False), ({"sign_off_agreed": 2}, False),
    ({"sign_off_agreed": 5}, True),
    # A row marked not satisfactory blocks the sign-off unless a finding covers it.
    ({"checklist_not_met_uncovered": 1}, False)])
def test_sign_off(over, ok):
    assert rules.allowed("sign_off", ready("inspect", **over), INS, NOW) is ok
    assert not rules.allowed("sign_off", ready("inspect", **over), SUP, NOW)


@pytest.mark.parametrize(("over", "ok"), [
    ({}, True), ({"findings_open": 0}, False), ({"inspection_open": False}, False),
    ({"serious_findings_open": 1}, True)])
def test_rework_needs_an_open_inspection_and_a_finding(over, ok):
    assert rules.allowed("rework", ready("inspect", **over), SUP, NOW) is ok


def test_reopen_needs_a_households_request():
    assert not rules.allowed("reopen", ready("closed/done", reopen_pending=False), SUP, NOW)


def test_defaults_of_the_new_facts_block_every_precondition():
    """An item whose facts were not computed moves nowhere by these preconditions."""
    bare = ItemFacts(stage="do", outcome=None, commune_id=COMMUNE, village_id=VILLAGE)
    assert not rules.allowed("start_inspection", bare, SEC, NOW)
    assert not rules.allowed("sign_off", replace(bare, stage="inspect"), SUP, NOW)
    assert not rules.allowed("sign_off", replace(bare, stage="inspect", inspectors=BOARD), INS, NOW)
    assert not rules.allowed("rework", replace(bare, stage="inspect"), SUP, NOW)
    assert not rules.allowed("reopen", replace(bare, stage="closed", outcome="done"), SUP, NOW)


# --- the inspection's own forms: the board's members, nobody else ------------------------------------------

@pytest.mark.parametrize(("actor", "want"), [
    ("inspector", "ok"), ("other_inspector", "403"), ("supervisor", "403"), ("village_head", "403"),
    ("admin", "403"), ("account", "403"), ("anonymous", "403")])
def test_only_a_member_of_the_inspecting_board_marks_the_checklist_and_raises_findings(actor, want):
    from civic.supervision import rules as sup_rules

    item = ready("inspect")
    if want == "ok":
        sup_rules.check_inspector(item, ACTORS[actor])
        assert sup_rules.can_edit_inspection(item, ACTORS[actor])
    else:
        with pytest.raises(Forbidden):
            sup_rules.check_inspector(item, ACTORS[actor])
        assert not sup_rules.can_edit_inspection(item, ACTORS[actor])


def test_without_a_board_the_refusal_says_that_no_board_is_recognised():
    from civic.supervision import rules as sup_rules

    with pytest.raises(Conflict) as caught:
        sup_rules.check_inspector(ready("inspect", inspectors=frozenset()), SUP)
    assert caught.value.message.startswith("No recognised people's board can inspect this item yet")


@pytest.mark.parametrize(("actor", "ok"), [
    ("inspector", True), ("supervisor", True), ("village_head", True), ("other_inspector", False),
    ("other_head", False), ("account", False)])
def test_the_inspection_page_is_for_the_board_the_official_and_the_village_head(actor, ok):
    from civic.supervision import rules as sup_rules

    if ok:
        sup_rules.check_staff_page(ready("inspect"), ACTORS[actor])
    else:
        with pytest.raises(Forbidden):
            sup_rules.check_staff_page(ready("inspect"), ACTORS[actor])


@pytest.mark.parametrize(("actor", "over", "offered"), [
    ("inspector", {}, True), ("inspector", {"checklist_unmarked": 1}, False),
    ("inspector", {"checklist_not_met_uncovered": 1}, False),
    ("inspector", {"serious_findings_open": 1}, False), ("inspector", {"inspection_open": False}, False),
    ("supervisor", {}, False), ("other_inspector", {}, False), ("village_head", {}, False)])
def test_the_sign_off_form_is_offered_to_board_members_once_the_checklist_allows_it(actor, over, offered):
    from civic.supervision import rules as sup_rules

    assert sup_rules.can_agree_to_sign_off(ready("inspect", **over), ACTORS[actor]) is offered
