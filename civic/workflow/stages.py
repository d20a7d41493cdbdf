"""The stage tables: what stages and outcomes exist and which action moves an item where, by whom.

This file is data. The decisions that read it are in rules.py; the one function that moves an item is
service.transition().
"""

from __future__ import annotations

from dataclasses import dataclass, field

from civic.core.kinds import (
    ADMIN,
    ANY_ACCOUNT,
    AUTHOR,
    INSPECTOR,
    OPEN_STAGES,
    SUPERVISOR,
    VILLAGE_HEAD,
    Action,
    Kind,
    Outcome,
    Role,
    Stage,
)
from civic.errors import N_

# The vocabulary lives in the leaf module; it is re-exported here beside the tables that use it.
__all__ = ["ADMIN", "ANY_ACCOUNT", "AUTHOR", "INSPECTOR", "Action", "OPEN_STAGES", "Outcome", "Role",
           "VILLAGE_HEAD",
           "Stage",
           "SUPERVISOR", "TRANSITIONS", "Transition"]


# The four public stages, in order: the strip on every status page.
STRIP: tuple[Stage, ...] = (Stage.KNOW, Stage.DISCUSS, Stage.DO, Stage.INSPECT)

STAGE_LABELS: dict[str, str] = {
    Stage.SUBMITTED: N_("Awaiting triage"),
    Stage.KNOW: N_("People know"),
    Stage.DISCUSS: N_("People discuss"),
    Stage.DO: N_("People do"),
    Stage.INSPECT: N_("People inspect"),
    Stage.CLOSED: N_("Closed"),
}
# The Vietnamese motto names of the four stages, shown beside their labels in both languages.
STAGE_MOTTO: dict[str, str] = {
    Stage.KNOW: "Dân biết",
    Stage.DISCUSS: "Dân bàn",
    Stage.DO: "Dân làm",
    Stage.INSPECT: "Dân kiểm tra",
}
STAGE_HINTS: dict[str, str] = {
    Stage.SUBMITTED: N_("The village head will look at it and decide whether to take it up."),
    Stage.KNOW: N_("The village is being told about it: notices, loudspeaker, meetings."),
    Stage.DISCUSS: N_("Households discuss it and decide by meeting or ballot."),
    Stage.DO: N_("The work is being done with the households' contributions."),
    Stage.INSPECT: N_("Supervisors and residents check the result."),
    Stage.CLOSED: N_("This item is closed."),
}
OUTCOME_LABELS: dict[str, str] = {
    Outcome.DONE: N_("Done"),
    Outcome.REJECTED: N_("Not taken up"),
    Outcome.DUPLICATE: N_("Duplicate"),
    Outcome.REDIRECTED: N_("Sent to another desk"),
    Outcome.WITHDRAWN: N_("Withdrawn by the author"),
    Outcome.NOT_APPROVED: N_("Not approved by the households"),
    Outcome.NOT_DONE: N_("Closed without being done"),
}
KIND_LABELS: dict[str, str] = {
    Kind.CONCERN: N_("Concern"),
    Kind.RECOMMENDATION: N_("Recommendation"),
    Kind.PROPOSAL: N_("Proposal"),
}
KINDS = tuple(KIND_LABELS)
# Outcomes whose author may ask a supervisor for a review.
REVIEWABLE_OUTCOMES = frozenset({Outcome.REJECTED, Outcome.DUPLICATE, Outcome.REDIRECTED})


@dataclass(frozen=True)
class Transition:
    """One row: who may move an item from which stages to where, what must hold first (`check`, a
    precondition a domain registered) and what else changes (`effect`, registered with its form)."""

    action: Action
    label: str
    from_stages: frozenset[Stage]
    actors: frozenset[str]
    to_stage: Stage | None = None  # None: the stage does not change
    outcome: Outcome | None = None
    needs_reason: bool = False
    from_outcomes: frozenset[Outcome] = field(default_factory=frozenset)
    check: str | None = None
    effect: str | None = None


def _t(action, label, from_stages, actors, to_stage=None, outcome=None, needs_reason=False, from_outcomes=(),
       *, check=None, effect=None):
    return Transition(action, label, frozenset(from_stages), frozenset(actors), to_stage, outcome,
                      needs_reason, frozenset(from_outcomes), check, effect)


A = Action
TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    # Triage: a village head of the item's village. Effects: civic/workflow/transitions.py.
    _t(A.ACCEPT, N_("Accept"), {Stage.SUBMITTED}, {VILLAGE_HEAD}, Stage.KNOW, effect="triage.acknowledge"),
    _t(A.REJECT, N_("Reject"), {Stage.SUBMITTED}, {VILLAGE_HEAD}, Stage.CLOSED, Outcome.REJECTED, True,
       effect="triage.acknowledge"),
    _t(A.MARK_DUPLICATE, N_("Mark as duplicate"), {Stage.SUBMITTED}, {VILLAGE_HEAD}, Stage.CLOSED,
       Outcome.DUPLICATE, True, effect="triage.mark_duplicate"),
    _t(A.REDIRECT, N_("Redirect"), {Stage.SUBMITTED}, {VILLAGE_HEAD}, Stage.CLOSED, Outcome.REDIRECTED, True,
       effect="triage.redirect"),
    _t(A.RECATEGORIZE, N_("Change village or category"), {Stage.SUBMITTED}, {VILLAGE_HEAD},
       effect="triage.recategorize"),
    # The author may withdraw before the discussion starts.
    _t(A.WITHDRAW, N_("Withdraw"), {Stage.SUBMITTED, Stage.KNOW}, {AUTHOR}, Stage.CLOSED, Outcome.WITHDRAWN),
    # Review on appeal: the author asks once within the window; a supervisor decides.
    _t(A.REQUEST_REVIEW, N_("Ask for a review"), {Stage.CLOSED}, {AUTHOR}, None, None, True,
       REVIEWABLE_OUTCOMES, check="review.may_request", effect="review.request"),
    _t(A.UPHOLD, N_("Uphold the decision"), {Stage.CLOSED}, {SUPERVISOR}, None, None, True,
       REVIEWABLE_OUTCOMES, check="review.pending", effect="review.uphold"),
    _t(A.SEND_BACK, N_("Send back to triage"), {Stage.CLOSED}, {SUPERVISOR}, Stage.SUBMITTED, None, True,
       REVIEWABLE_OUTCOMES, check="review.pending", effect="review.send_back"),
    # Dân biết → Dân bàn → Dân làm: civic/deliberation/transitions.py.
    # A village's matter is opened by its village head, a matter of the whole commune by the commune (the
    # effect checks which, by the scope chosen: civic.deliberation.rules.check_may_open).
    _t(A.OPEN_DISCUSSION, N_("Open the discussion"), {Stage.KNOW}, {VILLAGE_HEAD, SUPERVISOR, ADMIN},
       Stage.DISCUSS,
       check="deliberation.disclosure_period_over", effect="deliberation.open_discussion"),
    _t(A.START_WORK, N_("Move to People do"), {Stage.DISCUSS}, {VILLAGE_HEAD}, Stage.DO,
       check="deliberation.decision_passed", effect="deliberation.record_result"),
    _t(A.CLOSE_NOT_APPROVED, N_("Close as not approved"), {Stage.DISCUSS}, {VILLAGE_HEAD}, Stage.CLOSED,
       Outcome.NOT_APPROVED, check="deliberation.decision_failed", effect="deliberation.record_result"),
    # Dân làm → Dân kiểm tra → closed: civic/implementation/transitions.py, civic/supervision/transitions.py.
    _t(A.START_INSPECTION, N_("Hand over for inspection"), {Stage.DO}, {VILLAGE_HEAD}, Stage.INSPECT,
       check="implementation.ready_for_inspection", effect="supervision.hand_over"),
    # Signing off is the inspecting board's decision by majority (civic.boards); the move is made by the
    # member whose agreement completes the majority.
    _t(A.SIGN_OFF, N_("Sign off as done"), {Stage.INSPECT}, {INSPECTOR}, Stage.CLOSED, Outcome.DONE,
       check="supervision.may_sign_off", effect="supervision.sign_off"),
    _t(A.REWORK, N_("Send back for rework"), {Stage.INSPECT}, {SUPERVISOR}, Stage.DO, None, True,
       check="supervision.may_rework", effect="supervision.rework"),
    _t(A.CLOSE_NOT_DONE, N_("Close as not done"), OPEN_STAGES, {SUPERVISOR}, Stage.CLOSED, Outcome.NOT_DONE,
       True, effect="supervision.close_not_done"),
    _t(A.REOPEN, N_("Reopen for inspection"), {Stage.CLOSED}, {SUPERVISOR}, Stage.INSPECT, None, True,
       {Outcome.DONE}, check="supervision.may_reopen", effect="supervision.reopen"),
)}

# Actions a village head performs from the triage page, and a supervisor from the review page, in order.
TRIAGE_ACTIONS = (A.ACCEPT, A.REJECT, A.MARK_DUPLICATE, A.REDIRECT, A.RECATEGORIZE)
REVIEW_ACTIONS = (A.UPHOLD, A.SEND_BACK)
