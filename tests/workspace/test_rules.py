"""The next step of an item, and how alike two texts are: expected values written out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from civic.core.facts import ItemFacts
from civic.errors import Invalid
from civic.items.rules import fold
from civic.workspace import rules
from civic.workspace.rules import Waiting

TODAY = date(2026, 3, 10)
SINCE = date(2026, 3, 2)


def step(stage: str, waiting: Waiting = Waiting(), **facts):
    return rules.next_step(ItemFacts(stage=stage, outcome=None, commune_id=1, village_id=1, **facts), waiting,
                           today=TODAY, stage_since=SINCE, submitted_due=date(2026, 3, 5))


@pytest.mark.parametrize(("stage", "waiting", "facts", "kind", "desk", "due", "ready"), [
    ("submitted", Waiting(), {}, "triage", "triage_item", date(2026, 3, 5), True),
    ("submitted", Waiting(sent_back=True), {}, "sent_back", "triage_item", date(2026, 3, 5), True),
    ("know", Waiting(), {}, "disclose", "deliberation_desk", SINCE, True),
    ("know", Waiting(), {"disclosure_count": 1, "disclosure_ready_on": date(2026, 3, 12)},
     "disclosure_running", "deliberation_desk", date(2026, 3, 12), False),
    ("know", Waiting(), {"disclosure_count": 1, "disclosure_ready_on": TODAY},
     "open_discussion", "deliberation_desk", TODAY, True),
    ("discuss", Waiting(), {}, "schedule", "deliberation_desk", SINCE, True),
    ("discuss", Waiting(meeting_on=date(2026, 3, 14)), {}, "hold_meeting", "deliberation_desk",
     date(2026, 3, 14), False),
    ("discuss", Waiting(meeting_on=date(2026, 3, 9), meeting_held=True), {}, "record_meeting",
     "deliberation_desk", date(2026, 3, 9), True),
    ("discuss", Waiting(ballot_open=True, ballot_closes_on=date(2026, 3, 8)), {}, "close_ballot",
     "deliberation_desk", date(2026, 3, 8), True),
    ("discuss", Waiting(), {"decision_passed": True}, "start_work", "deliberation_desk", SINCE, True),
    ("discuss", Waiting(), {"decision_failed": True}, "close_not_approved", "deliberation_desk", SINCE, True),
    ("do", Waiting(), {"pledges_open": 3}, "pledges", "work_desk", SINCE, True),
    ("do", Waiting(), {"progress_percent": 40}, "progress", "work_desk", SINCE, True),
    ("do", Waiting(), {"progress_percent": 100}, "hand_over", "work_desk", SINCE, True),
    ("inspect", Waiting(findings_unanswered=2, finding_due_on=date(2026, 3, 20)), {}, "answer_findings",
     "inspect_page", date(2026, 3, 20), True),
])
def test_the_next_step_follows_the_stage_and_state(stage, waiting, facts, kind, desk, due, ready):
    got = step(stage, waiting, **facts)
    assert got is not None
    assert (got.kind, got.desk, got.due_on, got.ready) == (kind, desk, due, ready)
    assert kind in rules.LABELS


def test_nothing_waits_on_the_village_head_in_inspection_without_findings_nor_when_closed():
    assert step("inspect") is None
    assert step("closed") is None


def test_a_meeting_held_but_not_recorded_comes_before_scheduling_and_a_passed_vote_before_all():
    held = Waiting(meeting_on=date(2026, 3, 9), meeting_held=True, ballot_open=False)
    assert step("discuss", held).kind == "record_meeting"
    assert step("discuss", held, decision_passed=True).kind == "start_work"


def test_late_is_a_past_due_date_of_a_step_the_person_can_take():
    assert rules.overdue(rules.NextStep("triage", rules.TRIAGE, date(2026, 3, 9)), TODAY)
    assert not rules.overdue(rules.NextStep("triage", rules.TRIAGE, TODAY), TODAY)
    waits = rules.NextStep("hold_meeting", rules.DELIBERATION, date(2026, 3, 1), ready=False)
    assert not rules.overdue(waits, TODAY)


def test_the_to_do_is_ordered_by_due_date_then_the_law_s_order_of_steps():
    a = rules.NextStep("progress", rules.WORK, date(2026, 3, 3))
    b = rules.NextStep("triage", rules.TRIAGE, date(2026, 3, 3))
    c = rules.NextStep("disclose", rules.DELIBERATION, date(2026, 3, 1))
    ordered = sorted([(a, 1), (b, 2), (c, 3)], key=lambda p: rules.order_key(*p))
    assert [s.kind for s, _id in ordered] == ["disclose", "triage", "progress"]


def test_trigrams_are_those_of_pg_trgm():
    # pg_trgm: SELECT show_trgm('cat') → {"  c"," ca","at ",cat}
    assert rules.trigrams("cat") == {"  c", " ca", "cat", "at "}
    assert rules.similarity("cat", "cat") == 1.0
    assert rules.similarity("cat", "dog") == 0.0
    # pg_trgm: similarity('cat', 'cats') = 3/6 = 0.5 ({"  c"," ca",cat} shared of 6)
    assert rules.similarity("cat", "cats") == pytest.approx(0.5)
    # Punctuation separates words, as in pg_trgm: similarity('hoa!', 'hoa') = 1
    assert rules.similarity("nha van hoa!", "nha-van hoa") == 1.0


def test_near_identical_titles_rank_first_and_diacritics_do_not_matter():
    title = fold("Cống bị tắc trước nhà văn hoá")
    candidates = {
        "same without marks": fold("Cong bi tac truoc nha van hoa"),
        "one word changed": fold("Cống bị tắc sau nhà văn hoá"),
        "same topic": fold("Nước tràn vì cống tắc"),
        "other": fold("Đèn đường ngõ 7 bị hỏng"),
    }
    ranked = sorted(candidates, key=lambda k: -rules.similarity(title, candidates[k]))
    assert ranked == ["same without marks", "one word changed", "same topic", "other"]
    assert rules.similarity(title, candidates["same without marks"]) == 1.0
    assert rules.similarity(title, candidates["other"]) < rules.SIMILAR_MIN


def test_a_similarity_search_longer_than_a_title_is_refused_not_cut():
    assert rules.check_similar_query("x" * rules.SIMILAR_QUERY_MAX) == "x" * rules.SIMILAR_QUERY_MAX
    with pytest.raises(Invalid) as err:
        rules.check_similar_query("đường " * 700)
    assert "q" in err.value.errors
