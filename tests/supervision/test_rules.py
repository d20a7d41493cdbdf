"""The stage × actor matrix of the moves out of Dân làm and Dân kiểm tra (start_inspection, sign_off, rework,
close_not_done, reopen), written out by hand, and each action's preconditions. Pure, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from civic.errors import Conflict, Forbidden
from civic.workflow import rules
from civic.workflow.rules import ItemFacts
from tests.workflow.test_rules import ACTORS, COLUMNS, COMMUNE, STATES, VILLAGE

NOW = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clean_db():
    """Pure rules: nothing to empty."""
    yield


# Columns: anonymous, account, author, village head (of the item's village), other_head, supervisor (of the
# item's commune), other_supervisor, admin. Every precondition other than stage and actor is met.
MATRIX: dict[str, str] = {
    "start_inspection": """
submitted             403 403 403 409 403 403 403 403
know                  403 403 403 409 403 403 403 403
discuss               403 403 403 409 403 403 403 403
do                    403 403 403 ok  403 403 403 403
inspect               403 403 403 409 403 403 403 403
closed/done           403 403 403 409 403 403 403 403
closed/rejected       403 403 403 409 403 403 403 403
closed/duplicate      403 403 403 409 403 403 403 403
closed/redirected     403 403 403 409 403 403 403 403
closed/withdrawn      403 403 403 409 403 403 403 403
closed/not_approved   403 403 403 409 403 403 403 403
closed/not_done       403 403 403 409 403 403 403 403
""",
    "sign_off": """
submitted             403 403 403 403 403 409 403 403
know                  403 403 403 403 403 409 403 403
discuss               403 403 403 403 403 409 403 403
do                    403 403 403 403 403 409 403 403
inspect               403 403 403 403 403 ok  403 403
closed/done           403 403 403 403 403 409 403 403
closed/rejected       403 403 403 403 403 409 403 403
closed/duplicate      403 403 403 403 403 409 403 403
closed/redirected     403 403 403 403 403 409 403 403
closed/withdrawn      403 403 403 403 403 409 403 403
closed/not_approved   403 403 403 403 403 409 403 403
closed/not_done       403 403 403 403 403 409 403 403
""",
    "rework": """
submitted             403 403 403 403 403 409 403 403
know                  403 403 403 403 403 409 403 403
discuss               403 403 403 403 403 409 403 403
do                    403 403 403 403 403 409 403 403
inspect               403 403 403 403 403 ok  403 403
closed/done           403 403 403 403 403 409 403 403
closed/rejected       403 403 403 403 403 409 403 403
closed/duplicate      403 403 403 403 403 409 403 403
closed/redirected     403 403 403 403 403 409 403 403
closed/withdrawn      403 403 403 403 403 409 403 403
closed/not_approved   403 403 403 403 403 409 403 403
closed/not_done       403 403 403 403 403 409 403 403
""",
    "close_not_done": """
submitted             403 403 403 403 403 ok  403 403
know                  403 403 403 403 403 ok  403 403
discuss               403 403 403 403 403 ok  403 403
do                    403 403 403 403 403 ok  403 403
inspect               403 403 403 403 403 ok  403 403
closed/done           403 403 403 403 403 409 403 403
closed/rejected       403 403 403 403 403 409 403 403
closed/duplicate      403 403 403 403 403 409 403 403
closed/redirected     403 403 403 403 403 409 403 403
closed/withdrawn      403 403 403 403 403 409 403 403
closed/not_approved   403 403 403 403 403 409 403 403
closed/not_done       403 403 403 403 403 409 403 403
""",
    "reopen": """
submitted             403 403 403 403 403 409 403 403
know                  403 403 403 403 403 409 403 403
discuss               403 403 403 403 403 409 403 403
do                    403 403 403 403 403 409 403 403
inspect               403 403 403 403 403 409 403 403
closed/done           403 403 403 403 403 ok  403 403
closed/rejected       403 403 403 403 403 409 403 403
closed/duplicate      403 403 403 403 403 409 403 403
closed/redirected     403 403 403 403 403 409 403 403
closed/withdrawn      403 403 403 403 403 409 403 403
closed/not_approved   403 403 403 403 403 409 403 403
closed/not_done       403 403 403 403 403 409 403 403
""",
}


def ready(state: str, **over) -> ItemFacts:
    """An item in `state` that meets every precondition of these moves."""
    stage, _, outcome = state.partition("/")
    facts = dict(stage=stage, outcome=outcome or None, commune_id=COMMUNE, village_id=VILLAGE,
                 closed_at=NOW - timedelta(days=1) if stage == "closed" else None,
                 progress_percent=100, pledges_open=0, inspection_open=True, checklist_unmarked=0,
                 findings_open=1, serious_findings_open=0, reopen_pending=True)
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

SEC, SUP = ACTORS["village_head"], ACTORS["supervisor"]


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
    ({"findings_open": 0}, True)])
def test_sign_off(over, ok):
    assert rules.allowed("sign_off", ready("inspect", **over), SUP, NOW) is ok


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
    assert not rules.allowed("rework", replace(bare, stage="inspect"), SUP, NOW)
    assert not rules.allowed("reopen", replace(bare, stage="closed", outcome="done"), SUP, NOW)
