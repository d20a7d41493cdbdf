"""The staff workspace's pure decisions: an item's next step (which desk, which action, by when) and how
alike two texts are. Plain facts in, a value out; no session, no clock."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from civic.core.facts import ItemFacts
from civic.core.kinds import Stage
from civic.errors import N_, Invalid

# The desks of an item, by route name (each takes the item's code).
TRIAGE = "triage_item"
DELIBERATION = "deliberation_desk"
WORK = "work_desk"
INSPECT = "inspect_page"
REVIEW = "review_item"
STATUS = "item_status"  # the item's public page, where the Front work committee's head answers

# What waits, and who it waits on.
HEAD = "village_head"
BOARD = "board"
SUPERVISOR = "supervisor"
FRONT = "front_head"


@dataclass(frozen=True)
class Waiting:
    """What the stage facts (ItemFacts) do not say but the to-do needs: the item's meetings and ballots,
    its unanswered findings, whether an appeal sent it back."""

    sent_back: bool = False
    meeting_on: date | None = None  # the next meeting not yet recorded (past or to come)
    meeting_held: bool = False  # that meeting's time has come: it can be recorded
    ballot_open: bool = False
    ballot_closes_on: date | None = None
    findings_unanswered: int = 0
    finding_due_on: date | None = None


@dataclass(frozen=True)
class NextStep:
    kind: str  # a key of LABELS
    desk: str  # a route name taking `code`
    due_on: date | None  # ordering of the to-do; None: no date (first)
    ready: bool = True  # False: the step waits for a date, not for the person (shown, not counted late)
    who: str = HEAD


LABELS: dict[str, str] = {
    "triage": N_("Triage the new item"),
    "sent_back": N_("Triage again: an appeal sent it back"),
    "disclose": N_("Post the disclosure"),
    "disclosure_running": N_("Open the discussion when the disclosure period is over"),
    "open_discussion": N_("Open the discussion: the disclosure period is over"),
    "schedule": N_("Schedule the village meeting or a ballot"),
    "hold_meeting": N_("Hold the village meeting"),
    "record_meeting": N_("Record the meeting and its vote"),
    "close_ballot": N_("Close the ballot and count it"),
    "start_work": N_("Start the work (Dân làm): the decision passed"),
    "close_not_approved": N_("Close the item: the decision did not pass"),
    "pledges": N_("Confirm or deliver the pledges"),
    "progress": N_("Record the progress of the work"),
    "hand_over": N_("Hand the work over for inspection"),
    "answer_findings": N_("Answer the findings"),
    "inspect": N_("Inspect the work handed over"),
    "appeal": N_("Decide the appeal"),
    "reopen_request": N_("Decide the request to reopen"),
    "front_answer": N_("Give the Front work committee's answer to an online vote"),
    "village_result": N_("Hold your village's meeting on this matter of the whole commune and record its "
                         "result"),
}

# The order of the kinds on the same due date: what the law dates first.
_RANK = {kind: n for n, kind in enumerate(LABELS)}


def next_step(item: ItemFacts, waiting: Waiting, *, today: date, stage_since: date,
              submitted_due: date | None = None) -> NextStep | None:
    """The village head's next step on an item, by its stage and state; None when nothing waits on them
    (a closed item, or one in inspection with every finding answered: that waits on the board).

    `stage_since` is the local day the item entered its stage; `submitted_due` the day a new item must be
    acknowledged by (working days, civic.workflow.rules.ack_status)."""
    stage = item.stage
    if stage == Stage.SUBMITTED:
        return NextStep("sent_back" if waiting.sent_back else "triage", TRIAGE, submitted_due or stage_since)
    if stage == Stage.KNOW:
        if item.disclosure_count == 0:
            return NextStep("disclose", DELIBERATION, stage_since)
        ready_on = item.disclosure_ready_on or stage_since
        if ready_on <= today:
            return NextStep("open_discussion", DELIBERATION, ready_on)
        return NextStep("disclosure_running", DELIBERATION, ready_on, ready=False)
    if stage == Stage.DISCUSS:
        if item.decision_passed:
            return NextStep("start_work", DELIBERATION, stage_since)
        if item.decision_failed:
            return NextStep("close_not_approved", DELIBERATION, stage_since)
        if waiting.ballot_open:
            return NextStep("close_ballot", DELIBERATION, waiting.ballot_closes_on or stage_since)
        if waiting.meeting_on is not None:
            if waiting.meeting_held:
                return NextStep("record_meeting", DELIBERATION, waiting.meeting_on)
            return NextStep("hold_meeting", DELIBERATION, waiting.meeting_on, ready=False)
        return NextStep("schedule", DELIBERATION, stage_since)
    if stage == Stage.DO:
        if item.pledges_open:
            return NextStep("pledges", WORK, stage_since)
        if item.progress_percent >= 100:
            return NextStep("hand_over", WORK, stage_since)
        return NextStep("progress", WORK, stage_since)
    if stage == Stage.INSPECT and waiting.findings_unanswered:
        return NextStep("answer_findings", INSPECT, waiting.finding_due_on or stage_since)
    return None


def overdue(step: NextStep, today: date) -> bool:
    """A step is late when it is the person's to take and its day has passed."""
    return step.ready and step.due_on is not None and step.due_on < today


def order_key(step: NextStep, item_id: int) -> tuple[date, int, int]:
    """The to-do's order: by due date, then the law's order of the steps, then the oldest item."""
    return (step.due_on or date.min, _RANK.get(step.kind, 99), item_id)


# --- similar items --------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")
SIMILAR_QUERY_MAX = 300  # characters of a similarity search: a title, a little more
SIMILAR_MIN = 0.3  # the share of common trigrams below which two texts are not offered as alike


def check_similar_query(text: str) -> str:
    """A similarity search is a title's worth of text: longer is refused, not cut (nothing is searched)."""
    if len(text) > SIMILAR_QUERY_MAX:
        raise Invalid(N_("Please search with at most %(max)s characters."), field="q", max=SIMILAR_QUERY_MAX)
    return text


def trigrams(folded: str) -> frozenset[str]:
    """The trigrams of a folded text as pg_trgm forms them: words are runs of letters and digits (anything
    else separates them), each padded with two spaces before and one after, so word starts weigh more."""
    out: set[str] = set()
    for word in _WORD.findall(folded):
        padded = f"  {word} "
        out.update(padded[i:i + 3] for i in range(len(padded) - 2))
    return frozenset(out)


def similarity(a: str, b: str) -> float:
    """How alike two folded texts are, 0 to 1: shared trigrams over all trigrams of both (pg_trgm's
    `similarity`), so SQLite and PostgreSQL rank alike."""
    ta, tb = trigrams(a), trigrams(b)
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / len(ta | tb)
