"""Pure Dân kiểm tra rules: plain facts in, a decision or a CivicError out. No session, no request."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from civic.boards import rules as board_rules
from civic.core.facts import ActorFacts, ItemFacts
from civic.core.kinds import INSPECTOR, SUPERVISOR, VILLAGE_HEAD, Outcome, Stage
from civic.errors import N_, Conflict, Forbidden, Invalid
from civic.media import rules as media_rules
from civic.workflow.rules import relations

# The default checklist of an inspection (msgids: stored as written, shown translated). Editable.
DEFAULT_CHECKLIST = (
    N_("Done as decided"),
    N_("Quality of the work"),
    N_("Contributions used as recorded"),
    N_("Spending matches the documents"),
    N_("Site clean and safe"),
)
MARKS = {"ok": N_("Satisfactory"), "not_ok": N_("Not satisfactory"), "not_applicable": N_("Does not apply")}
SEVERITIES = {"note": N_("Note"), "needs_fixing": N_("Needs fixing"), "serious": N_("Serious")}
VERDICTS = {"done": N_("Done as promised"), "partly": N_("Partly done"), "not_done": N_("Not done")}
SATISFACTION = range(1, 6)  # the scores a household may give
VERDICT_WINDOW_DAYS = 30
CHECKLIST_MAX = 30
LABEL_MAX = 200  # a checklist entry
NOTE_MAX = 500  # a mark's note
COMMENT_MAX = 1000  # a verdict's comment
TEXT_MAX = 2000  # a finding, an answer, a reason
# The files that come with a finding: photos, and PDF documents as well (the field is called "photos").
FINDING_FILES = media_rules.KINDS
FINDING_PHOTOS_MAX = 5


# --- who ----------------------------------------------------------------------------------------------

def check_supervisor(item: ItemFacts, actor: ActorFacts) -> None:
    if SUPERVISOR not in relations(item, actor):
        raise Forbidden(N_("Only a supervisor of this commune can do this."))


def check_inspector(item: ItemFacts, actor: ActorFacts) -> None:
    """The checklist, the findings and the sign-off belong to the people's board that inspects the item
    (the project's investment supervision board if it has one, else the commune's inspection board)."""
    if INSPECTOR in relations(item, actor):
        return
    if not item.inspectors:
        raise Conflict(N_("No recognised people's board can inspect this item yet: the commune administrator "
                          "records the board's election and its recognition first."))
    raise Forbidden(N_("Only a member of the board that inspects this item can do this."))


def check_answerer(item: ItemFacts, actor: ActorFacts) -> None:
    """Findings are answered by whoever carries out the work: the village head of the item's village."""
    if VILLAGE_HEAD not in relations(item, actor):
        raise Forbidden(N_("Only the village head of this item's village can answer its findings."))


# --- inspections --------------------------------------------------------------------------------------

def check_open_inspection(item: ItemFacts) -> None:
    if item.stage != Stage.INSPECT:
        raise Conflict(N_("An inspection can be opened only while the item is in People inspect "
                          "(Dân kiểm tra)."))
    if item.inspection_open:
        raise Conflict(N_("An inspection of this item is already open."))


def check_inspection_is_open(item: ItemFacts) -> None:
    if item.stage != Stage.INSPECT or not item.inspection_open:
        raise Conflict(N_("No inspection of this item is open."))


def check_checklist_room(existing: int) -> None:
    """One more entry fits on a checklist that has `existing` entries."""
    if existing >= CHECKLIST_MAX:
        raise Invalid(N_("A checklist has at most 30 entries."), field="label")


def due_in_past(due_on: date, today: date) -> bool:
    """A finding's due date must not be in the past (today is fine)."""
    return due_on < today


def check_answer(*, finding_resolved: bool) -> None:
    if finding_resolved:
        raise Conflict(N_("This finding is already resolved."))


def check_resolve(*, answered: bool, resolved: bool) -> None:
    if resolved:
        raise Conflict(N_("This finding is already resolved."))
    if not answered:
        raise Conflict(N_("A finding can be resolved only after the village head has answered it."))


# --- outcomes (called by the workflow rules) ------------------------------------------------------------

def check_sign_off_ready(item: ItemFacts) -> None:
    """What the checklist and findings must say before a board member can agree to sign off."""
    if not item.inspection_open:
        raise Conflict(N_("Open an inspection and mark its checklist before signing off."))
    if item.checklist_unmarked:
        raise Conflict(N_("%(count)s checklist entries are not marked yet."), count=item.checklist_unmarked)
    if item.checklist_not_met_uncovered:
        raise Conflict(N_("%(count)s checklist entries are marked not satisfactory without a finding that "
                          "covers them: record a finding for each."), count=item.checklist_not_met_uncovered)
    if item.serious_findings_open:
        raise Conflict(N_("A serious finding is still open: it must be answered and resolved before "
                          "signing off."))


def check_sign_off(item: ItemFacts) -> None:
    """The sign-off: a ready checklist, agreed by more than half of ALL the board's members."""
    check_sign_off_ready(item)
    board_rules.check_majority(item.sign_off_agreed, len(item.inspectors))


def check_rework(item: ItemFacts) -> None:
    if not item.inspection_open:
        raise Conflict(N_("Open an inspection and record what must be fixed before sending the work back."))
    if not item.findings_open:
        raise Conflict(N_("Record at least one finding, so the village knows what to fix."))


def check_reopen(item: ItemFacts) -> None:
    if not item.reopen_pending:
        raise Conflict(N_("No household has asked to reopen this item."))


# --- the residents' verdict -----------------------------------------------------------------------------

def verdict_window_open(stage: str, outcome: str | None, closed_at: datetime | None, now: datetime,
                        days: int = VERDICT_WINDOW_DAYS) -> bool:
    return (stage == Stage.CLOSED and outcome == Outcome.DONE and closed_at is not None
            and closed_at <= now <= closed_at + timedelta(days=days))


def check_verdict(item: ItemFacts, now: datetime, *, already_given: bool,
                  days: int = VERDICT_WINDOW_DAYS) -> None:
    if item.stage != Stage.CLOSED or item.outcome != Outcome.DONE:
        raise Conflict(N_("Households give their verdict once the work is signed off as done."))
    if not verdict_window_open(item.stage, item.outcome, item.closed_at, now, days):
        raise Conflict(N_("Verdicts can be given only within %(days)s days after the work was signed off."),
                       days=days)
    if already_given:
        raise Conflict(N_("Your household has already given its verdict; each household gives it once."))


def check_reopen_request(item: ItemFacts, now: datetime, *, household_verdict: str | None,
                         already_asked: bool, days: int = VERDICT_WINDOW_DAYS) -> None:
    if not verdict_window_open(item.stage, item.outcome, item.closed_at, now, days):
        raise Conflict(N_("Reopening can be asked only within %(days)s days after the work was signed off."),
                       days=days)
    if household_verdict != "not_done":
        raise Conflict(N_("Only a household that said the work was not done can ask to reopen it."))
    if already_asked:
        raise Conflict(N_("Your household has already asked to reopen this item."))


def check_refuse_reopen(item: ItemFacts, actor: ActorFacts) -> None:
    check_supervisor(item, actor)
    check_reopen(item)


# --- the supervisor's queue -----------------------------------------------------------------------------

def past_due(due_on: date | None, resolved: bool, today: date) -> bool:
    return due_on is not None and not resolved and due_on < today


# --- what a page offers ---------------------------------------------------------------------------------

def shows_section(stage: str, outcome: str | None) -> bool:
    return stage == Stage.INSPECT or (stage == Stage.CLOSED and outcome in (Outcome.DONE, Outcome.NOT_DONE))


def is_supervisor(item: ItemFacts, actor: ActorFacts) -> bool:
    return SUPERVISOR in relations(item, actor)


def is_inspector(item: ItemFacts, actor: ActorFacts) -> bool:
    return INSPECTOR in relations(item, actor)


def can_open_inspection(item: ItemFacts, actor: ActorFacts) -> bool:
    return is_inspector(item, actor) and item.stage == Stage.INSPECT and not item.inspection_open


def can_edit_inspection(item: ItemFacts, actor: ActorFacts) -> bool:
    return is_inspector(item, actor) and item.stage == Stage.INSPECT and item.inspection_open


def can_agree_to_sign_off(item: ItemFacts, actor: ActorFacts) -> bool:
    """The members' sign-off form (agree or not) is offered once the checklist allows a sign-off: every
    entry marked, each "not satisfactory" covered by a finding, no serious finding open."""
    if not can_edit_inspection(item, actor):
        return False
    try:
        check_sign_off_ready(item)
    except Conflict:
        return False
    return True


def can_answer(item: ItemFacts, actor: ActorFacts) -> bool:
    return VILLAGE_HEAD in relations(item, actor)


def check_staff_page(item: ItemFacts, actor: ActorFacts) -> None:
    """The inspection page: the inspecting board's members, the commune's supervisors and the village head
    of the item's village."""
    if not relations(item, actor) & {SUPERVISOR, VILLAGE_HEAD, INSPECTOR}:
        raise Forbidden(N_("This page is for the inspecting board, supervisors and the village head."))


def check_queue(actor: ActorFacts) -> None:
    if not actor.supervisor_communes:
        raise Forbidden(N_("This page is for supervisors."))


def takes_verdicts(item: ItemFacts, now: datetime, days: int = VERDICT_WINDOW_DAYS) -> bool:
    return verdict_window_open(item.stage, item.outcome, item.closed_at, now, days)


def is_closed_done(item: ItemFacts) -> bool:
    return item.stage == Stage.CLOSED and item.outcome == Outcome.DONE


def offers_reopen(item: ItemFacts, now: datetime, household_verdict: str | None, already_asked: bool) -> bool:
    try:
        check_reopen_request(item, now, household_verdict=household_verdict, already_asked=already_asked)
    except Conflict:
        return False
    return True
