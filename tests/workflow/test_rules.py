"""The whole stage × actor × action matrix of the workflow rules, pure, no database.

Every cell of the tables below is written out by hand: `ok` (allowed), `403` (Forbidden: this actor may
never do this to this item) or `409` (Conflict: the actor may, but not in the item's current state).
The expectations are never computed from civic.workflow.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from civic.errors import Conflict, Forbidden, NotFound
from civic.workflow import rules
from civic.workflow.rules import ActorFacts, ItemFacts
from civic.workflow.stages import TRANSITIONS

NOW = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
COMMUNE, OTHER_COMMUNE = 1, 2
VILLAGE, OTHER_VILLAGE = 10, 11  # both in COMMUNE



@pytest.fixture(autouse=True)
def clean_db():
    """Pure rules: nothing to empty (overrides the database fixture of tests/conftest.py)."""
    yield


ACTORS: dict[str, ActorFacts] = {
    "anonymous": ActorFacts(),
    "account": ActorFacts(user_id=100),  # signed in, no role, not the author
    "author": ActorFacts(user_id=101, is_author=True),
    "village_head": ActorFacts(user_id=102, head_villages=frozenset({VILLAGE})),
    "other_head": ActorFacts(user_id=103, head_villages=frozenset({OTHER_VILLAGE})),
    "supervisor": ActorFacts(user_id=104, supervisor_communes=frozenset({COMMUNE})),
    "other_supervisor": ActorFacts(user_id=105, supervisor_communes=frozenset({OTHER_COMMUNE})),
    "admin": ActorFacts(user_id=106, admin_communes=frozenset({COMMUNE})),
}
COLUMNS = tuple(ACTORS)

STATES = ("submitted", "know", "discuss", "do", "inspect", "closed/done", "closed/rejected",
          "closed/duplicate", "closed/redirected", "closed/withdrawn", "closed/not_approved",
          "closed/not_done")

# Columns: anonymous, account, author, village head (of the item's village), other_head (another village),
# supervisor (of the item's commune), other_supervisor (another commune), admin (of the item's commune).
_TRIAGE = """
submitted             403 403 403 ok  403 403 403 403
know                  403 403 403 409 403 403 403 403
discuss               403 403 403 409 403 403 403 403
do                    403 403 403 409 403 403 403 403
inspect               403 403 403 409 403 403 403 403
closed/done           403 403 403 409 403 403 403 403
closed/rejected       403 403 403 409 403 403 403 403
closed/duplicate      403 403 403 409 403 403 403 403
closed/redirected     403 403 403 409 403 403 403 403
closed/withdrawn      403 403 403 409 403 403 403 403
closed/not_approved   403 403 403 409 403 403 403 403
closed/not_done       403 403 403 409 403 403 403 403
"""

MATRIX: dict[str, str] = {
    "accept": _TRIAGE,
    "reject": _TRIAGE,
    "mark_duplicate": _TRIAGE,
    "redirect": _TRIAGE,
    "recategorize": _TRIAGE,
    "withdraw": """
submitted             403 403 ok  403 403 403 403 403
know                  403 403 ok  403 403 403 403 403
discuss               403 403 409 403 403 403 403 403
do                    403 403 409 403 403 403 403 403
inspect               403 403 409 403 403 403 403 403
closed/done           403 403 409 403 403 403 403 403
closed/rejected       403 403 409 403 403 403 403 403
closed/duplicate      403 403 409 403 403 403 403 403
closed/redirected     403 403 409 403 403 403 403 403
closed/withdrawn      403 403 409 403 403 403 403 403
closed/not_approved   403 403 409 403 403 403 403 403
closed/not_done       403 403 409 403 403 403 403 403
""",
    "request_review": """
submitted             403 403 409 403 403 403 403 403
know                  403 403 409 403 403 403 403 403
discuss               403 403 409 403 403 403 403 403
do                    403 403 409 403 403 403 403 403
inspect               403 403 409 403 403 403 403 403
closed/done           403 403 409 403 403 403 403 403
closed/rejected       403 403 ok  403 403 403 403 403
closed/duplicate      403 403 ok  403 403 403 403 403
closed/redirected     403 403 ok  403 403 403 403 403
closed/withdrawn      403 403 409 403 403 403 403 403
closed/not_approved   403 403 409 403 403 403 403 403
closed/not_done       403 403 409 403 403 403 403 403
""",
    "uphold": """
submitted             403 403 403 403 403 409 403 403
know                  403 403 403 403 403 409 403 403
discuss               403 403 403 403 403 409 403 403
do                    403 403 403 403 403 409 403 403
inspect               403 403 403 403 403 409 403 403
closed/done           403 403 403 403 403 409 403 403
closed/rejected       403 403 403 403 403 ok  403 403
closed/duplicate      403 403 403 403 403 ok  403 403
closed/redirected     403 403 403 403 403 ok  403 403
closed/withdrawn      403 403 403 403 403 409 403 403
closed/not_approved   403 403 403 403 403 409 403 403
closed/not_done       403 403 403 403 403 409 403 403
""",
    "send_back": """
submitted             403 403 403 403 403 409 403 403
know                  403 403 403 403 403 409 403 403
discuss               403 403 403 403 403 409 403 403
do                    403 403 403 403 403 409 403 403
inspect               403 403 403 403 403 409 403 403
closed/done           403 403 403 403 403 409 403 403
closed/rejected       403 403 403 403 403 ok  403 403
closed/duplicate      403 403 403 403 403 ok  403 403
closed/redirected     403 403 403 403 403 ok  403 403
closed/withdrawn      403 403 403 403 403 409 403 403
closed/not_approved   403 403 403 403 403 409 403 403
closed/not_done       403 403 403 403 403 409 403 403
""",
}


def _cells():
    for action, table in MATRIX.items():
        rows = [line.split() for line in table.strip().splitlines()]
        assert [r[0] for r in rows] == list(STATES), f"{action}: rows must be exactly {STATES}"
        for state, *expected in rows:
            assert len(expected) == len(COLUMNS), f"{action}/{state}: one cell per actor"
            for actor, want in zip(COLUMNS, expected, strict=True):
                yield pytest.param(action, state, actor, want, id=f"{action}-{state}-{actor}")


def item_in(state: str, action: str) -> ItemFacts:
    """An item in `state`, decided yesterday; for uphold/send_back its author has asked for a review."""
    stage, _, outcome = state.partition("/")
    closed = stage == "closed"
    pending = closed and action in ("uphold", "send_back")
    return ItemFacts(stage=stage, outcome=outcome or None, commune_id=COMMUNE, village_id=VILLAGE,
                     closed_at=NOW - timedelta(days=1) if closed else None,
                     review_requested=pending, review_pending=pending)


def test_the_matrix_covers_every_action_of_the_stage_table():
    """Each action is covered here or by a domain's own matrix (a module-level MATRIX in a tests/<domain>/
    test_rules.py)."""
    import importlib
    from pathlib import Path

    covered = set(MATRIX)
    for path in sorted(Path(__file__).parent.parent.glob("*/test_rules.py")):
        if path != Path(__file__):
            module = importlib.import_module(f"tests.{path.parent.name}.{path.stem}")
            covered |= set(getattr(module, "MATRIX", {}))
    assert covered == set(TRANSITIONS)


@pytest.mark.parametrize(("action", "state", "actor", "want"), list(_cells()))
def test_matrix(action, state, actor, want):
    item, who = item_in(state, action), ACTORS[actor]
    if want == "ok":
        assert rules.check(action, item, who, NOW).action == action
        assert rules.allowed(action, item, who, NOW)
    else:
        error = Forbidden if want == "403" else Conflict
        with pytest.raises(error) as exc:
            rules.check(action, item, who, NOW)
        assert exc.value.status == int(want)
        assert not rules.allowed(action, item, who, NOW)


def test_unknown_action_is_not_found():
    with pytest.raises(NotFound) as exc:
        rules.check("delete_everything", item_in("submitted", "accept"), ACTORS["village_head"], NOW)
    assert exc.value.status == 404


# --- the review window ---------------------------------------------------------------------------

CLOSED_AT = datetime(2026, 5, 1, 8, 30, tzinfo=UTC)


def rejected(**over) -> ItemFacts:
    facts = dict(stage="closed", outcome="rejected", commune_id=COMMUNE, village_id=VILLAGE,
                 closed_at=CLOSED_AT)
    facts.update(over)
    return ItemFacts(**facts)


@pytest.mark.parametrize("after", [timedelta(0), timedelta(days=1), timedelta(days=29, hours=23),
                                   timedelta(days=30)])
def test_review_can_be_asked_until_the_30th_day(after):
    assert rules.check("request_review", rejected(), ACTORS["author"], CLOSED_AT + after)


@pytest.mark.parametrize("after", [timedelta(days=30, seconds=1), timedelta(days=31), timedelta(days=365)])
def test_review_cannot_be_asked_after_30_days(after):
    with pytest.raises(Conflict):
        rules.check("request_review", rejected(), ACTORS["author"], CLOSED_AT + after)


def test_review_window_length_is_a_setting():
    now = CLOSED_AT + timedelta(days=10, seconds=1)
    with pytest.raises(Conflict):
        rules.check("request_review", rejected(), ACTORS["author"], now, review_window_days=10)
    assert rules.allowed("request_review", rejected(), ACTORS["author"], now, review_window_days=11)


def test_review_can_be_asked_only_once():
    asked = rejected(review_requested=True, review_pending=True)
    with pytest.raises(Conflict):
        rules.check("request_review", asked, ACTORS["author"], CLOSED_AT + timedelta(days=1))
    decided = rejected(review_requested=True, review_pending=False)
    with pytest.raises(Conflict):
        rules.check("request_review", decided, ACTORS["author"], CLOSED_AT + timedelta(days=1))


def test_review_of_a_closure_without_a_date_is_refused():
    with pytest.raises(Conflict):
        rules.check("request_review", rejected(closed_at=None), ACTORS["author"], NOW)


@pytest.mark.parametrize("action", ["uphold", "send_back"])
@pytest.mark.parametrize("outcome", ["rejected", "duplicate", "redirected"])
def test_supervisor_decides_only_a_pending_review(action, outcome):
    nobody_asked = rejected(outcome=outcome)
    with pytest.raises(Conflict):
        rules.check(action, nobody_asked, ACTORS["supervisor"], NOW)
    already_decided = rejected(outcome=outcome, review_requested=True, review_pending=False)
    with pytest.raises(Conflict):
        rules.check(action, already_decided, ACTORS["supervisor"], NOW)
    pending = rejected(outcome=outcome, review_requested=True, review_pending=True)
    assert rules.check(action, pending, ACTORS["supervisor"], NOW).action == action


def test_supervisor_may_decide_a_pending_review_even_after_the_window():
    pending = rejected(review_requested=True, review_pending=True)
    assert rules.allowed("uphold", pending, ACTORS["supervisor"], CLOSED_AT + timedelta(days=90))


# --- what each actor is offered -----------------------------------------------------------------

def test_village_head_is_offered_every_triage_action_on_a_new_item():
    item = item_in("submitted", "accept")
    assert sorted(rules.allowed_actions(item, ACTORS["village_head"], NOW)) == sorted(
        ["accept", "reject", "mark_duplicate", "redirect", "recategorize"])


def test_author_is_offered_withdraw_on_a_new_item_and_review_on_a_rejection():
    assert rules.allowed_actions(item_in("submitted", "withdraw"), ACTORS["author"], NOW) == ["withdraw"]
    assert (rules.allowed_actions(rejected(), ACTORS["author"], CLOSED_AT + timedelta(days=2))
            == ["request_review"])
    assert rules.allowed_actions(rejected(), ACTORS["author"], CLOSED_AT + timedelta(days=31)) == []


def test_supervisor_is_offered_uphold_and_send_back_on_a_pending_review():
    pending = rejected(review_requested=True, review_pending=True)
    assert sorted(rules.allowed_actions(pending, ACTORS["supervisor"], NOW)) == ["send_back", "uphold"]


@pytest.mark.parametrize("actor", ["anonymous", "account", "other_head", "other_supervisor", "admin"])
def test_bystanders_are_offered_nothing(actor):
    for state in STATES:
        assert rules.allowed_actions(item_in(state, "uphold"), ACTORS[actor], NOW) == []


def test_an_actor_with_two_relations_keeps_both():
    """A village head who raised an item in their own village may still withdraw it, as its author."""
    both = ActorFacts(user_id=7, is_author=True, head_villages=frozenset({VILLAGE}))
    item = item_in("know", "withdraw")
    assert rules.allowed("withdraw", item, both, NOW)
    assert rules.acting_role(item, both, "withdraw") == "author"
    assert rules.acting_role(item_in("submitted", "accept"), both, "accept") == "village_head"


def test_timeline_role_of_each_actor():
    head = ACTORS["village_head"]
    assert rules.acting_role(item_in("submitted", "accept"), head, "accept") == "village_head"
    assert rules.acting_role(rejected(review_pending=True), ACTORS["supervisor"], "uphold") == "supervisor"
    assert rules.acting_role(rejected(), ACTORS["author"], "request_review") == "author"


# --- who may open the staff pages -----------------------------------------------------------------

@pytest.mark.parametrize(("queue", "actor", "ok"), [
    ("triage", "village_head", True), ("triage", "other_head", True),
    ("triage", "anonymous", False), ("triage", "account", False), ("triage", "author", False),
    ("triage", "supervisor", False), ("triage", "admin", False),
    ("review", "supervisor", True), ("review", "other_supervisor", True),
    ("review", "anonymous", False), ("review", "account", False), ("review", "village_head", False),
    ("review", "admin", False),
])
def test_queue_pages(queue, actor, ok):
    if ok:
        rules.check_queue(queue, ACTORS[actor])
    else:
        with pytest.raises(Forbidden):
            rules.check_queue(queue, ACTORS[actor])


@pytest.mark.parametrize(("actor", "ok"), [
    ("village_head", True), ("supervisor", True), ("admin", True),
    ("other_head", False), ("other_supervisor", False), ("author", False), ("account", False),
    ("anonymous", False),
])
def test_private_details_of_an_item(actor, ok):
    item = item_in("submitted", "accept")
    if ok:
        rules.check_staff_view(item, ACTORS[actor])
    else:
        with pytest.raises(Forbidden):
            rules.check_staff_view(item, ACTORS[actor])
