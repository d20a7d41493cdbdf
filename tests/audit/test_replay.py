"""Pure folding of audit events into the public state (civic/audit/replay.py) and the checkpoint rules."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from civic.audit import replay
from civic.audit.replay import Event, fold
from civic.audit.rules import GENESIS, checkpoint_message, checkpoint_problem, text_digest


@pytest.fixture(autouse=True)
def clean_db():
    """Pure rules: nothing to empty (overrides the database fixture of tests/conftest.py)."""
    yield


def ev(seq: int, action: str, item_id: int | None = 7, **payload) -> Event:
    return Event(seq, item_id, action, payload)


def test_an_item_s_stage_and_outcome_follow_its_moves():
    events = [ev(1, "submitted", code="NS-2026-0007", title_sha256=text_digest("Đường xóm"), kind="concern"),
              ev(2, "accept", **{"from": "submitted", "to": "know"}),
              ev(3, "open_discussion", **{"from": "know", "to": "discuss"}),
              ev(4, "close_not_approved", **{"from": "discuss", "to": "closed", "outcome": "not_approved"})]
    assert fold(events[:3]).rows[("item", 7)] == {"stage": "discuss", "outcome": None, "kind": "concern",
                                                   "code": "NS-2026-0007",
                                                   "title_sha256": text_digest("Đường xóm")}
    assert fold(events).rows[("item", 7)]["stage"] == "closed"
    assert fold(events).rows[("item", 7)]["outcome"] == "not_approved"


def test_reopening_and_sending_back_undo_the_closure():
    closed = [ev(1, "submitted", code="NS-2026-0007"),
              ev(2, "sign_off", inspection_id=3, **{"from": "inspect", "to": "closed", "outcome": "done"})]
    reopened = fold([*closed, ev(3, "reopen", **{"from": "closed", "to": "inspect"})]).rows[("item", 7)]
    assert (reopened["stage"], reopened["outcome"]) == ("inspect", None)
    upheld = fold([*closed, ev(3, "uphold", **{"from": "closed"})]).rows[("item", 7)]
    assert (upheld["stage"], upheld["outcome"]) == ("closed", "done")


def test_an_old_submitted_event_without_a_title_does_not_claim_one():
    assert "title_sha256" not in fold([ev(1, "submitted", code="NS-2026-0007")]).rows[("item", 7)]


def test_a_decision_s_tally_comes_from_its_recorded_event():
    state = fold([ev(1, "ballot_opened", decision_id=4, method="online_ballot"),
                  ev(2, "decision_recorded", decision_id=4, in_favour=51, against=20, abstain=3,
                     households=88, passed=True)])
    assert state.rows[("decision", 4)] == {"status": "closed", "yes": 51, "no": 20, "abstain": 3,
                                           "households_total": 88, "passed": True}
    assert state.item_of[("decision", 4)] == 7


def test_pledges_deliveries_and_money_figures():
    state = fold([ev(1, "pledge_added", pledge_id=1, kind="money", amount="1500000"),
                  ev(2, "pledge_added", pledge_id=2, kind="land", amount="20.50"),
                  ev(3, "pledge_withdrawn", pledge_id=2),
                  ev(4, "delivery_recorded", delivery_id=9, pledge_id=1, kind="money", amount="500000"),
                  ev(5, "budget_line_added", budget_line_id=2, source="state", amount=30000000),
                  ev(6, "spending_added", spending_id=3, budget_line_id=2, amount=1200000),
                  ev(7, "progress_posted", progress_id=5, percent=40)])
    assert state.rows[("pledge", 1)] == {"kind": "money", "money": Decimal(1500000), "withdrawn": False}
    assert state.rows[("pledge", 2)] == {"kind": "land", "quantity": Decimal("20.5"), "withdrawn": True}
    assert state.rows[("delivery", 9)] == {"money": Decimal(500000), "disputed": False}
    assert state.rows[("budget_line", 2)]["amount"] == 30000000
    assert state.rows[("spending", 3)]["amount"] == 1200000
    assert state.rows[("progress_update", 5)] == {"percent": 40}


def test_inspections_and_verdicts():
    state = fold([ev(1, "inspection_opened", inspection_id=3, checklist=2),
                  ev(2, "checklist_marked", inspection_id=3, entry_id=8, mark="not_ok"),
                  ev(3, "rework", inspection_id=3, findings_open=1, **{"from": "inspect", "to": "do"}),
                  ev(4, "inspection_opened", inspection_id=4, checklist=2),
                  ev(5, "close_not_done", inspection_id=4,
                     **{"from": "inspect", "to": "closed", "outcome": "not_done"}),
                  ev(6, "verdict_given", verdict_id=2, verdict="partly", satisfaction=3)])
    assert state.rows[("inspection", 3)] == {"result": "rework"}
    assert state.rows[("inspection", 4)] == {"result": "not_done"}
    assert state.rows[("checklist_entry", 8)] == {"mark": "not_ok"}
    assert state.rows[("verdict", 2)] == {"verdict": "partly", "satisfaction": 3}


def test_events_without_a_usable_row_id_are_ignored():
    state = fold([ev(1, "pledge_added", pledge_id="7", kind="money", amount="1"),
                  ev(2, "pledge_added", pledge_id=True, kind="money", amount="1"),
                  ev(3, "category_disclosure_days", item_id=None, category_id=1, **{"from": 5, "to": 7})])
    assert state.rows == {}


@pytest.mark.parametrize(("recomputed", "stored", "same"), [
    (Decimal("20.5"), 20.5, True), (Decimal("20.5"), "20.50", True), (Decimal(3), Decimal("3.00"), True),
    (Decimal(3), 4, False), (Decimal(3), None, False), (True, 1, True), (False, 0, True), (True, None, False),
    ("do", "do", True), ("do", "inspect", False), (None, None, True), (None, "done", False),
])
def test_values_compare_as_figures_not_as_text(recomputed, stored, same):
    assert replay.same(recomputed, stored) is same


def test_a_disagreement_reads_like_a_sentence():
    d = replay.Disagreement("decision", 4, "NS-2026-0007", "yes", 71, 51)
    assert d.describe() == "decision 4 (NS-2026-0007): yes is 71 in the table, 51 from the events"
    row = replay.Disagreement("pledge", 12, "NS-2026-0007", "row", "present", "no event records it")
    assert row.describe() == "pledge 12 (NS-2026-0007): present in the table, but no event records it"


AT = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)


def test_the_signed_message_names_commune_seq_hash_and_time():
    message = checkpoint_message(commune="NS", seq=12, hash="ab" * 32, taken_at=AT)
    assert message == checkpoint_message(commune="NS", seq=12, hash="ab" * 32,
                                         taken_at="2026-12-06T01:00:00.000000+00:00")
    for other in (dict(commune="XY"), dict(seq=11), dict(hash="cd" * 32), dict(taken_at=AT.replace(hour=2))):
        assert checkpoint_message(**{**dict(commune="NS", seq=12, hash="ab" * 32, taken_at=AT), **other}) \
            != message


def test_checkpoint_problems():
    h = "ab" * 32
    assert checkpoint_problem(seq=12, hash=h, signature_ok=True, head_seq=20, hash_at_seq=h) == ""
    assert "below the checkpoint" in checkpoint_problem(seq=12, hash=h, signature_ok=True, head_seq=9,
                                                        hash_at_seq=None)
    assert "rewritten" in checkpoint_problem(seq=12, hash=h, signature_ok=True, head_seq=20,
                                             hash_at_seq="cd" * 32)
    assert "no longer holds" in checkpoint_problem(seq=12, hash=h, signature_ok=True, head_seq=20,
                                                   hash_at_seq=None)
    assert "signature" in checkpoint_problem(seq=12, hash=h, signature_ok=False, head_seq=20, hash_at_seq=h)
    assert checkpoint_problem(seq=0, hash=GENESIS, signature_ok=True, head_seq=0, hash_at_seq=None) == ""


def test_supports_meetings_and_recategorizing():
    state = fold([ev(1, "submitted", code="NS-2026-0007", kind="concern", village_id=1, category_id=2),
                  ev(2, "recategorize", **{"from": "submitted", "village_from": 1, "village_to": 3,
                                           "category_from": 2, "category_to": 4}),
                  ev(3, "support_added", item_id=None, item="NS-2026-0007", support_id=5),
                  ev(4, "support_added", item_id=None, item="NS-2026-0007", support_id=6),
                  ev(5, "support_withdrawn", item_id=None, item="NS-2026-0007", support_id=5),
                  ev(6, "meeting_recorded", meeting_id=2, present=60, households=88, quorum=True,
                     clusters=0)])
    item = state.rows[("item", 7)]
    assert (item["kind"], item["village_id"], item["category_id"]) == ("concern", 3, 4)
    assert ("support", 5) not in state.rows and ("support", 5) in state.gone
    assert state.rows[("support", 6)] == {} and state.code_of[("support", 6)] == "NS-2026-0007"
    assert state.rows[("meeting", 2)] == {"households_present": 60, "households_total": 88, "quorum": True,
                                          "recorded": True, "by_cluster": False}


def test_old_meeting_board_and_vote_events_are_folded_leniently():
    """Events recorded before they carried the names' digests, the members' start or the vote's id claim
    nothing about those fields."""
    state = fold([ev(1, "meeting_recorded", meeting_id=2, present=60, households=88, quorum=True),
                  ev(2, "board_recognised", item_id=None, board_id=3, decision_no="1/QĐ",
                     recognised_on="2025-12-10", members=5),
                  ev(3, "sign_off_vote", inspection_id=4, board_id=3, agree=True, agreed=1, members=5)])
    assert "chair_sha256" not in state.rows[("meeting", 2)] and "by_cluster" not in state.rows[("meeting", 2)]
    assert not any(table == "board_member" for table, _row in state.rows)
    assert state.unnamed_votes == {4} and not any(table == "sign_off_vote" for table, _row in state.rows)


def test_a_member_replaced_leaves_on_the_newcomer_s_first_day_and_cleared_votes_are_gone():
    state = fold([ev(1, "board_member_replaced", item_id=None, board_id=3, member_id=9, user_id=40,
                     village_id=2, position="member", starts_on="2026-01-20", elected_on="2026-01-15",
                     election_ref="BB 7", decision_no="31/QĐ", replaces_id=5, reason="died",
                     ends_on="2026-01-20"),
                  ev(2, "inspection_opened", inspection_id=4),
                  ev(3, "sign_off_vote", inspection_id=4, board_id=3, agree=True, vote_id=11),
                  ev(4, "finding_added", finding_id=1, severity="note", votes_cleared=1)])
    assert state.rows[("board_member", 5)] == {"ends_on": date(2026, 1, 20), "end_reason": "died"}
    assert state.rows[("board_member", 9)]["starts_on"] == date(2026, 1, 20)
    assert state.rows[("board_member", 9)]["replaces_id"] == 5
    assert ("sign_off_vote", 11) in state.gone
