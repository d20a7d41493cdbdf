"""Pure Dân kiểm tra rules: plain facts in, a decision or a CivicError out. No session, no request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from civic.core.facts import ActorFacts, ItemFacts
from civic.errors import N_, Conflict, Forbidden, Invalid
from civic.implementation.rules import parse_day
from civic.items.rules import clean_text
from civic.workflow.rules import relations
from civic.workflow.stages import SECRETARY, SUPERVISOR, Outcome, Stage

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
VERDICT_WINDOW_DAYS = 30
CHECKLIST_MAX = 30
TEXT_MAX = 2000


def _text(data: dict[str, Any], name: str, errors: dict[str, str], *, low: int, high: int, message: str) -> str:
    value = clean_text(data.get(name), multiline=True)
    if len(value) < low or len(value) > high:
        errors[name] = message
    return value


# --- who ----------------------------------------------------------------------------------------------

def check_supervisor(item: ItemFacts, actor: ActorFacts) -> None:
    if SUPERVISOR not in relations(item, actor):
        raise Forbidden(N_("Only a supervisor of this commune can do this."))


def check_answerer(item: ItemFacts, actor: ActorFacts) -> None:
    """Findings are answered by whoever carries out the work: the secretary of the item's village."""
    if SECRETARY not in relations(item, actor):
        raise Forbidden(N_("Only the secretary of this item's village can answer its findings."))


# --- inspections --------------------------------------------------------------------------------------

def check_open_inspection(item: ItemFacts) -> None:
    if item.stage != Stage.INSPECT:
        raise Conflict(N_("An inspection can be opened only while the item is in People inspect (Dân kiểm tra)."))
    if item.inspection_open:
        raise Conflict(N_("An inspection of this item is already open."))


def check_inspection_is_open(item: ItemFacts) -> None:
    if item.stage != Stage.INSPECT or not item.inspection_open:
        raise Conflict(N_("No inspection of this item is open."))


def clean_checklist(raw: Any) -> list[str]:
    """The checklist as typed, one entry a line; empty lines dropped, duplicates kept once."""
    labels: list[str] = []
    for line in str(raw or "").splitlines():
        label = clean_text(line)
        if label and label not in labels:
            labels.append(label)
    if not labels:
        raise Invalid(N_("The checklist needs at least one entry."), field="checklist")
    if len(labels) > CHECKLIST_MAX:
        raise Invalid(N_("A checklist has at most 30 entries."), field="checklist")
    if any(len(label) > 200 for label in labels):
        raise Invalid(N_("Each checklist entry has at most 200 characters."), field="checklist")
    return labels


def clean_checklist_label(raw: Any, existing: int) -> str:
    label = clean_text(raw)
    if not 2 <= len(label) <= 200:
        raise Invalid(N_("Please write the checklist entry (2 to 200 characters)."), field="label")
    if existing >= CHECKLIST_MAX:
        raise Invalid(N_("A checklist has at most 30 entries."), field="label")
    return label


def clean_mark(data: dict[str, Any]) -> tuple[str, str]:
    errors: dict[str, str] = {}
    mark = str(data.get("mark") or "")
    if mark not in MARKS:
        errors["mark"] = N_("Please choose: satisfactory, not satisfactory, or does not apply.")
    note = _text(data, "note", errors, low=0, high=500, message=N_("A note has at most 500 characters."))
    if mark == "not_ok" and not note:
        errors["note"] = N_("Please say what is not satisfactory.")
    if errors:
        raise Invalid(errors=errors)
    return mark, note


@dataclass(frozen=True)
class FindingInput:
    severity: str
    text: str
    due_on: date | None


def validate_finding(data: dict[str, Any], today: date) -> FindingInput:
    errors: dict[str, str] = {}
    severity = str(data.get("severity") or "")
    if severity not in SEVERITIES:
        errors["severity"] = N_("Please choose how serious the finding is.")
    text = _text(data, "text", errors, low=5, high=TEXT_MAX,
                 message=N_("Please describe the finding (5 to 2,000 characters)."))
    due_on = None
    try:
        due_on = parse_day(data.get("due_on"), "due_on", today, required=severity != "note", future=True)
    except Invalid as exc:
        errors["due_on"] = exc.message
    if errors:
        raise Invalid(errors=errors)
    return FindingInput(severity, text, due_on)


def check_answer(*, finding_resolved: bool) -> None:
    if finding_resolved:
        raise Conflict(N_("This finding is already resolved."))


def clean_answer(data: dict[str, Any]) -> str:
    errors: dict[str, str] = {}
    text = _text(data, "answer", errors, low=5, high=TEXT_MAX,
                 message=N_("Please write the answer (5 to 2,000 characters); it is shown publicly."))
    if errors:
        raise Invalid(errors=errors)
    return text


def check_resolve(*, answered: bool, resolved: bool) -> None:
    if resolved:
        raise Conflict(N_("This finding is already resolved."))
    if not answered:
        raise Conflict(N_("A finding can be resolved only after the secretary has answered it."))


# --- outcomes (called by the workflow rules) ------------------------------------------------------------

def check_sign_off(item: ItemFacts) -> None:
    if not item.inspection_open:
        raise Conflict(N_("Open an inspection and mark its checklist before signing off."))
    if item.checklist_unmarked:
        raise Conflict(N_("%(count)s checklist entries are not marked yet."), count=item.checklist_unmarked)
    if item.serious_findings_open:
        raise Conflict(N_("A serious finding is still open: it must be answered and resolved before signing off."))


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


def check_verdict(item: ItemFacts, now: datetime, *, already_given: bool, days: int = VERDICT_WINDOW_DAYS) -> None:
    if item.stage != Stage.CLOSED or item.outcome != Outcome.DONE:
        raise Conflict(N_("Households give their verdict once the work is signed off as done."))
    if not verdict_window_open(item.stage, item.outcome, item.closed_at, now, days):
        raise Conflict(N_("Verdicts can be given only within %(days)s days after the work was signed off."),
                       days=days)
    if already_given:
        raise Conflict(N_("Your household has already given its verdict; each household gives it once."))


@dataclass(frozen=True)
class VerdictInput:
    verdict: str
    satisfaction: int
    comment: str


def validate_verdict(data: dict[str, Any]) -> VerdictInput:
    errors: dict[str, str] = {}
    verdict = str(data.get("verdict") or "")
    if verdict not in VERDICTS:
        errors["verdict"] = N_("Please choose: done as promised, partly done, or not done.")
    raw = str(data.get("satisfaction") or "").strip()
    satisfaction = int(raw) if raw in {"1", "2", "3", "4", "5"} else 0
    if not satisfaction:
        errors["satisfaction"] = N_("Please choose a score from 1 to 5.")
    comment = _text(data, "comment", errors, low=0, high=1000, message=N_("A comment has at most 1,000 characters."))
    if errors:
        raise Invalid(errors=errors)
    return VerdictInput(verdict, satisfaction, comment)


def check_reopen_request(item: ItemFacts, now: datetime, *, household_verdict: str | None, already_asked: bool,
                         days: int = VERDICT_WINDOW_DAYS) -> None:
    if not verdict_window_open(item.stage, item.outcome, item.closed_at, now, days):
        raise Conflict(N_("Reopening can be asked only within %(days)s days after the work was signed off."),
                       days=days)
    if household_verdict != "not_done":
        raise Conflict(N_("Only a household that said the work was not done can ask to reopen it."))
    if already_asked:
        raise Conflict(N_("Your household has already asked to reopen this item."))


def clean_reason(data: dict[str, Any], name: str = "reason") -> str:
    errors: dict[str, str] = {}
    text = _text(data, name, errors, low=5, high=TEXT_MAX,
                 message=N_("Please give a reason of at least 5 characters; it is shown publicly."))
    if errors:
        raise Invalid(errors=errors)
    return text


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


def can_open_inspection(item: ItemFacts, actor: ActorFacts) -> bool:
    return is_supervisor(item, actor) and item.stage == Stage.INSPECT and not item.inspection_open


def can_edit_inspection(item: ItemFacts, actor: ActorFacts) -> bool:
    return is_supervisor(item, actor) and item.stage == Stage.INSPECT and item.inspection_open


def can_answer(item: ItemFacts, actor: ActorFacts) -> bool:
    return SECRETARY in relations(item, actor)


def check_staff_page(item: ItemFacts, actor: ActorFacts) -> None:
    """The inspection page: the commune's supervisors and the secretary of the item's village."""
    if not relations(item, actor) & {SUPERVISOR, SECRETARY}:
        raise Forbidden(N_("This page is for supervisors and the village secretary."))


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
