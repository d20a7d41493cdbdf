"""The stage tables: what stages and outcomes exist and which action moves an item where, by whom.

This file is data. The decisions that read it are in rules.py; the one function that moves an item is
service.transition().
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from civic.errors import N_


class Stage(StrEnum):
    SUBMITTED = "submitted"
    KNOW = "know"
    DISCUSS = "discuss"
    DO = "do"
    INSPECT = "inspect"
    CLOSED = "closed"


class Outcome(StrEnum):
    DONE = "done"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    REDIRECTED = "redirected"
    WITHDRAWN = "withdrawn"
    NOT_APPROVED = "not_approved"
    NOT_DONE = "not_done"


class Role(StrEnum):
    RESIDENT = "resident"
    SECRETARY = "secretary"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


# Who is acting, relative to one item. "author" is the reporter (an account or the manage link).
AUTHOR = "author"
SECRETARY = "secretary"  # a secretary of the item's village
SUPERVISOR = "supervisor"  # a supervisor of the item's commune
ADMIN = "admin"  # an admin of the item's commune
ANY_ACCOUNT = "account"  # any signed-in user

# The four public stages, in order: the strip on every status page.
STRIP: tuple[Stage, ...] = (Stage.KNOW, Stage.DISCUSS, Stage.DO, Stage.INSPECT)
OPEN_STAGES = frozenset({Stage.SUBMITTED, Stage.KNOW, Stage.DISCUSS, Stage.DO, Stage.INSPECT})

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
    Stage.SUBMITTED: N_("The village secretary will look at it and decide whether to take it up."),
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
    "concern": N_("Concern"),
    "recommendation": N_("Recommendation"),
    "proposal": N_("Proposal"),
}
KINDS = tuple(KIND_LABELS)
# Outcomes whose author may ask a supervisor for a review.
REVIEWABLE_OUTCOMES = frozenset({Outcome.REJECTED, Outcome.DUPLICATE, Outcome.REDIRECTED})


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    from_stages: frozenset[Stage]
    actors: frozenset[str]
    to_stage: Stage | None = None  # None: the stage does not change
    outcome: Outcome | None = None
    needs_reason: bool = False
    from_outcomes: frozenset[Outcome] = field(default_factory=frozenset)


def _t(action, label, from_stages, actors, to_stage=None, outcome=None, needs_reason=False, from_outcomes=()):
    return Transition(action, label, frozenset(from_stages), frozenset(actors), to_stage, outcome, needs_reason,
                      frozenset(from_outcomes))


TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    # Triage (DESIGN §2): a secretary of the item's village.
    _t("accept", N_("Accept"), {Stage.SUBMITTED}, {SECRETARY}, Stage.KNOW),
    _t("reject", N_("Reject"), {Stage.SUBMITTED}, {SECRETARY}, Stage.CLOSED, Outcome.REJECTED, True),
    _t("mark_duplicate", N_("Mark as duplicate"), {Stage.SUBMITTED}, {SECRETARY}, Stage.CLOSED,
       Outcome.DUPLICATE, True),
    _t("redirect", N_("Redirect"), {Stage.SUBMITTED}, {SECRETARY}, Stage.CLOSED, Outcome.REDIRECTED, True),
    _t("recategorize", N_("Change village or category"), {Stage.SUBMITTED}, {SECRETARY}),
    # The author may withdraw before the discussion starts.
    _t("withdraw", N_("Withdraw"), {Stage.SUBMITTED, Stage.KNOW}, {AUTHOR}, Stage.CLOSED, Outcome.WITHDRAWN),
    # Review on appeal: the author asks once within the window; a supervisor decides.
    _t("request_review", N_("Ask for a review"), {Stage.CLOSED}, {AUTHOR}, None, None, True,
       REVIEWABLE_OUTCOMES),
    _t("uphold", N_("Uphold the decision"), {Stage.CLOSED}, {SUPERVISOR}, None, None, True,
       REVIEWABLE_OUTCOMES),
    _t("send_back", N_("Send back to triage"), {Stage.CLOSED}, {SUPERVISOR}, Stage.SUBMITTED, None, True,
       REVIEWABLE_OUTCOMES),
    # Dân biết → Dân bàn → Dân làm (issue 4): preconditions are checked by civic.deliberation.rules.
    _t("open_discussion", N_("Open the discussion"), {Stage.KNOW}, {SECRETARY}, Stage.DISCUSS),
    _t("start_work", N_("Move to People do"), {Stage.DISCUSS}, {SECRETARY}, Stage.DO),
    _t("close_not_approved", N_("Close as not approved"), {Stage.DISCUSS}, {SECRETARY}, Stage.CLOSED,
       Outcome.NOT_APPROVED),
    # Dân làm → Dân kiểm tra → closed (issue 5): preconditions are checked by civic.implementation.rules
    # and civic.supervision.rules, through the facts workflow.service.facts() computes.
    _t("start_inspection", N_("Hand over for inspection"), {Stage.DO}, {SECRETARY}, Stage.INSPECT),
    _t("sign_off", N_("Sign off as done"), {Stage.INSPECT}, {SUPERVISOR}, Stage.CLOSED, Outcome.DONE),
    _t("rework", N_("Send back for rework"), {Stage.INSPECT}, {SUPERVISOR}, Stage.DO, None, True),
    _t("close_not_done", N_("Close as not done"), OPEN_STAGES, {SUPERVISOR}, Stage.CLOSED, Outcome.NOT_DONE, True),
    _t("reopen", N_("Reopen for inspection"), {Stage.CLOSED}, {SUPERVISOR}, Stage.INSPECT, None, True,
       {Outcome.DONE}),
)}

# Actions a secretary performs from the triage page, in the order the buttons appear.
# The desk page where each staff action is taken, and the label of the link to it, in the order shown.
DESKS: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("/triage/{code}", N_("Open in triage"), frozenset({"accept", "reject", "mark_duplicate", "redirect",
                                                         "recategorize"})),
    ("/review/{code}", N_("Review this decision"), frozenset({"uphold", "send_back"})),
    ("/deliberation/{code}", N_("Disclosure, meetings and decision"),
     frozenset({"open_discussion", "start_work", "close_not_approved"})),
    ("/do/{code}", N_("Contributions, budget and progress"), frozenset({"start_inspection"})),
    ("/inspect/{code}", N_("Inspection and sign-off"), frozenset({"sign_off", "rework", "close_not_done",
                                                                  "reopen"})),
)

TRIAGE_ACTIONS = ("accept", "reject", "mark_duplicate", "redirect", "recategorize")
REVIEW_ACTIONS = ("uphold", "send_back")
