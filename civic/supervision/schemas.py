"""Dân kiểm tra shapes: the forms (parsed once, with their limits) and what a page shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from pydantic import ValidationInfo, field_validator, model_validator

from civic import clock
from civic.core.inputs import Choice, Day, Form, Id, Limits, Text, _Field, clean_text, error, fail
from civic.errors import N_
from civic.supervision import rules


class Checklist(_Field):
    """A checklist typed one entry a line: empty lines dropped, an entry typed twice kept once. Nothing
    typed at all is an empty list (the service then uses the default checklist)."""

    @property
    def limits(self) -> Limits:  # type: ignore[override]
        return Limits(0, rules.CHECKLIST_MAX * rules.LABEL_MAX)

    def parse(self, raw: Any) -> list[str]:
        if isinstance(raw, list | tuple):
            raw = raw[-1] if raw else None
        if raw is not None and not isinstance(raw, str):
            raise fail(N_("The checklist needs at least one entry."))
        text = raw or ""
        if not text.strip():
            return []
        labels: list[str] = []
        for line in text.splitlines():
            label = clean_text(line)
            if label and label not in labels:
                labels.append(label)
        if not labels:
            raise fail(N_("The checklist needs at least one entry."))
        if len(labels) > rules.CHECKLIST_MAX:
            raise fail(N_("A checklist has at most 30 entries."))
        if any(len(label) > rules.LABEL_MAX for label in labels):
            raise fail(N_("Each checklist entry has at most 200 characters."))
        return labels


class OpenInspectionForm(Form):
    """A supervisor opens an inspection: the checklist as typed, or the default one when left empty."""

    checklist: Annotated[list[str], Checklist()] = []


class ChecklistEntryForm(Form):
    """One more entry on the open inspection's checklist."""

    label: Annotated[str, Text(2, rules.LABEL_MAX,
                               N_("Please write the checklist entry (2 to 200 characters)."))] = ""


class EntryForm(Form):
    """Which checklist entry (removing one). An unreadable id is one no entry has: the service says so."""

    target_id: Annotated[int | None, Id(N_("This checklist entry does not exist."), lenient=True)] = None


class MarkForm(EntryForm):
    """A checklist entry marked, with a note; 'not satisfactory' needs the note."""

    mark: Annotated[str, Choice(tuple(rules.MARKS),
                                N_("Please choose: satisfactory, not satisfactory, or does not apply."))] = ""
    note: Annotated[str, Text(0, rules.NOTE_MAX, N_("A note has at most 500 characters."),
                              multiline=True)] = ""

    @model_validator(mode="after")
    def _note_says_why(self) -> MarkForm:
        if self.mark == "not_ok" and not self.note:
            raise error(N_("Please say what is not satisfactory."), field="note")
        return self


class FindingForm(Form):
    """A finding: how serious, what was found, and by when it is to be fixed (not needed for a note).
    The photos come with it as files (civic.web.supervision)."""

    severity: Annotated[str, Choice(tuple(rules.SEVERITIES),
                                    N_("Please choose how serious the finding is."))] = ""
    text: Annotated[str, Text(5, rules.TEXT_MAX, N_("Please describe the finding (5 to 2,000 characters)."),
                              multiline=True)] = ""
    due_on: Annotated[date | None, Day(required=False,
                                       message=N_("Please enter a date like 2026-06-15."))] = None
    # The checklist entry marked "not satisfactory" that this finding covers (optional).
    entry_id: Annotated[int | None, Id(N_("This checklist entry does not exist."), lenient=True,
                                       required=False)] = None

    @field_validator("due_on")
    @classmethod
    def _due_on(cls, value: date | None, info: ValidationInfo) -> date | None:
        # A severity that was not understood asks for a date too, as anything but a note does.
        if value is None and info.data.get("severity") != "note":
            raise fail(N_("Please enter a date."))
        if value is not None and rules.due_in_past(value, clock.today_local()):
            raise fail(N_("This date is in the past."))
        return value


class FindingRefForm(Form):
    """Which finding (resolving one). An unreadable id is one no finding has: the service says so."""

    target_id: Annotated[int | None, Id(N_("This finding does not exist."), lenient=True)] = None


class AnswerForm(FindingRefForm):
    """The village head's public answer to a finding."""

    answer: Annotated[str, Text(5, rules.TEXT_MAX,
                                N_("Please write the answer (5 to 2,000 characters); it is shown publicly."),
                                multiline=True)] = ""


class RefuseReopenForm(Form):
    """A supervisor does not reopen, with a public reason."""

    reason: Annotated[str, Text(5, rules.TEXT_MAX,
                                N_("Please give a reason of at least 5 characters; it is shown publicly."),
                                multiline=True)] = ""


class HouseholdChoice(Form):
    """Which of the viewer's households acts; none (or one not understood) means their only one here."""

    household_id: Annotated[int | None, Id(lenient=True, required=False)] = None


class ReopenRequestForm(HouseholdChoice, RefuseReopenForm):
    """A household that said 'not done' asks the supervisors to reopen, with a public reason."""


class VerdictForm(HouseholdChoice):
    """A household's verdict on the done work: done, partly or not, satisfaction 1 to 5, a comment."""

    verdict: Annotated[str, Choice(tuple(rules.VERDICTS),
                                   N_("Please choose: done as promised, partly done, or not done."))] = ""
    satisfaction: Annotated[int, Choice(tuple(str(n) for n in rules.SATISFACTION),
                                        N_("Please choose a score from 1 to 5."))] = 0
    comment: Annotated[str, Text(0, rules.COMMENT_MAX, N_("A comment has at most 1,000 characters."),
                                 multiline=True)] = ""


class SignOffVoteForm(Form):
    """A board member's word on signing the open inspection off: agree or not."""

    vote: Annotated[str, Choice(("agree", "disagree"),
                                N_("Please say whether you agree to sign off."))] = ""


FORMS = (SignOffVoteForm, OpenInspectionForm, ChecklistEntryForm, EntryForm, MarkForm, FindingForm,
         FindingRefForm,
         AnswerForm,
         RefuseReopenForm, ReopenRequestForm, VerdictForm)


@dataclass
class VerdictTotals:
    count: int
    by_verdict: dict[str, int]
    average: float | None  # satisfaction, one decimal, for display only
    households: int

    @property
    def any(self) -> bool:
        return self.count > 0


@dataclass
class SupervisorQueue:
    awaiting: list[Any]  # (item, inspection or None)
    past_due: list[Any]  # (item, finding)
    reopen: list[Any]  # (item, request)
