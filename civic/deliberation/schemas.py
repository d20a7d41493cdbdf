"""Dân biết and Dân bàn forms: what the village head, the residents and the admin type, parsed once.

Checks that need the database or today's date (the meeting notice, the register's size, a vote that
opens in the past) are in rules.py and the service; these forms only say what was typed.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Self

from pydantic import model_validator

from civic.core.inputs import (
    Choice,
    Count,
    Day,
    Form,
    HouseholdCode,
    Id,
    LocalDateTime,
    Money,
    Quantity,
    Text,
    error,
)
from civic.deliberation.matters import MATTERS, REASON_MAX, SCOPES, Asks
from civic.deliberation.rules import (
    CHANNELS,
    CHOICES,
    MAX_CLUSTERS,
    MAX_DISCLOSURE_DAYS,
    METHODS,
    MIN_DISCLOSURE_DAYS_FLOOR,
)
from civic.errors import N_
from civic.workflow.schemas import TransitionForm

DATE = N_("Please give a date like 2026-06-15.")
HOUSEHOLDS = N_("Please give a whole number of households.")
NEGATIVE = N_("A number of households cannot be negative.")
PLACE = N_("Please say where (2 to 200 characters).")
CHOICE = N_("Please choose in favour, against or abstain.")
NO_MEETING = N_("This meeting does not exist.")
NO_COMMENT = N_("This comment does not exist.")
REF = N_("Please give the reference: a document number or where it is recorded (2 to 120 characters).")
COUNT_MAX = 9_999_999  # households: far above any village


def _households(required: bool = True) -> Count:
    return Count(COUNT_MAX, HOUSEHOLDS, NEGATIVE, required=required)


class OpenDiscussionForm(TransitionForm):
    """The question households decide (the item's title when left empty), its matter of Law 10/2022 Art. 15
    and scope, and what it asks of each household. The matter has no default: the village head chooses it,
    and a matter below what the asks imply needs a public reason (checked by matters.check_matter)."""

    question: Annotated[str, Text(0, 1000, N_("Please state the question the households decide (5 to 1000 "
                                              "characters)."), multiline=True)] = ""
    matter: Annotated[str, Choice(tuple(str(m) for m in MATTERS),
                                  N_("Please choose what kind of matter the households decide."))] = ""
    scope: Annotated[str, Choice(tuple(SCOPES), N_("Please choose whether one village or the whole commune "
                                                   "decides."))] = "village"
    ask_land_m2: Annotated[Decimal | None, Quantity(required=False)] = None
    ask_money: Annotated[int | None, Money(required=False)] = None
    ask_labour_days: Annotated[Decimal | None, Quantity(required=False)] = None
    ask_materials: Annotated[str, Text(0, 200, N_("Materials may have at most 200 characters."))] = ""
    matter_reason: Annotated[str, Text(0, REASON_MAX, N_("The reason may have at most 400 characters."))] = ""

    @property
    def asks(self) -> Asks:
        return Asks(self.ask_land_m2, self.ask_money, self.ask_labour_days, self.ask_materials)

    @property
    def matter_number(self) -> int:
        return int(self.matter)


# --- Dân biết -----------------------------------------------------------------------------------------

class DisclosureForm(Form):
    """How and where the item was made known, and for which days."""

    channel: Annotated[str, Choice(tuple(CHANNELS), N_("Please choose how the item was made known."))] = ""
    place: Annotated[str, Text(2, 200, PLACE)] = ""
    starts_on: Annotated[date, Day(message=DATE, missing=DATE)] = None  # type: ignore[assignment]
    ends_on: Annotated[date, Day(message=DATE, missing=DATE)] = None  # type: ignore[assignment]
    note: Annotated[str, Text(0, 400, N_("A note may have at most 400 characters."))] = ""

    @model_validator(mode="after")
    def _period(self) -> Self:
        if self.ends_on < self.starts_on:
            raise error(N_("The disclosure cannot end before it starts."), field="ends_on")
        return self


# --- comments -----------------------------------------------------------------------------------------

class CommentForm(Form):
    """A resident's comment, or an official reply (the service decides which from the viewer)."""

    body: Annotated[str, Text(2, 2000, N_("A comment needs 2 to 2000 characters."), multiline=True)] = ""
    reply_to: Annotated[int | None, Id(NO_COMMENT, required=False)] = None


class HideCommentForm(Form):
    """The village head hides a comment with a public reason; an unreadable id names no comment."""

    comment_id: Annotated[int | None, Id(NO_COMMENT, lenient=True)] = None
    reason: Annotated[str, Text(3, 400, N_("Please give the public reason for hiding it (3 to 400 "
                                           "characters)."))] = ""


class CommentPageQuery(Form):
    """`?comments=` on the status page; anything unreadable shows the first page."""

    comments: Annotated[int | None, Count(100_000, required=False)] = None


# --- meetings -----------------------------------------------------------------------------------------

class ScheduleMeetingForm(Form):
    """When (local time) and where the village meets, and what it discusses."""

    starts_at: Annotated[datetime, LocalDateTime(N_("Please give a date and time like 2026-06-15 19:30."))]\
        = None  # type: ignore[assignment]
    place: Annotated[str, Text(2, 200, PLACE)] = ""
    agenda: Annotated[str, Text(5, 2000, N_("Please give the agenda (5 to 2000 characters)."),
                                multiline=True)] = ""


CLUSTER_NAME = Text(0, 80, N_("Please name the cluster (at most 80 characters)."))


class RecordMeetingForm(Form):
    """Who came (all households at once, or the sum of up to eight clusters), who chaired, who took the
    minutes. Whether the village may meet by cluster and whether the count fits the register are checked
    against the register (rules.check_attendance)."""

    meeting_id: Annotated[int | None, Id(NO_MEETING, lenient=True)] = None
    households_present: Annotated[int | None, _households(required=False)] = None
    cluster_name_1: Annotated[str, CLUSTER_NAME] = ""
    cluster_present_1: Annotated[int | None, _households(required=False)] = None
    cluster_name_2: Annotated[str, CLUSTER_NAME] = ""
    cluster_present_2: Annotated[int | None, _households(required=False)] = None
    cluster_name_3: Annotated[str, CLUSTER_NAME] = ""
    cluster_present_3: Annotated[int | None, _households(required=False)] = None
    cluster_name_4: Annotated[str, CLUSTER_NAME] = ""
    cluster_present_4: Annotated[int | None, _households(required=False)] = None
    cluster_name_5: Annotated[str, CLUSTER_NAME] = ""
    cluster_present_5: Annotated[int | None, _households(required=False)] = None
    cluster_name_6: Annotated[str, CLUSTER_NAME] = ""
    cluster_present_6: Annotated[int | None, _households(required=False)] = None
    cluster_name_7: Annotated[str, CLUSTER_NAME] = ""
    cluster_present_7: Annotated[int | None, _households(required=False)] = None
    cluster_name_8: Annotated[str, CLUSTER_NAME] = ""
    cluster_present_8: Annotated[int | None, _households(required=False)] = None
    chair_name: Annotated[str, Text(2, 120, N_("Please name who chaired the meeting."))] = ""
    minutes_taker_name: Annotated[str, Text(2, 120, N_("Please name who took the minutes."))] = ""
    minutes_text: Annotated[str, Text(0, 5000, N_("The minutes summary may have at most 5000 characters."),
                                      multiline=True)] = ""

    @property
    def clusters(self) -> list[tuple[str, int]]:
        """The clusters filled in, as (name, households represented)."""
        out = []
        for n in range(1, MAX_CLUSTERS + 1):
            name, present = getattr(self, f"cluster_name_{n}"), getattr(self, f"cluster_present_{n}")
            if name or present is not None:
                out.append((name, present or 0))
        return out

    @property
    def present(self) -> int:
        """The households represented: the sum of the clusters when there are any."""
        clusters = self.clusters
        return sum(p for _n, p in clusters) if clusters else (self.households_present or 0)

    @model_validator(mode="after")
    def _attendance(self) -> Self:
        for n in range(1, MAX_CLUSTERS + 1):
            name, present = getattr(self, f"cluster_name_{n}"), getattr(self, f"cluster_present_{n}")
            if not name and present is None:
                continue
            if not name:
                raise error(N_("Please name the cluster (at most 80 characters)."), field=f"cluster_name_{n}")
            if present is None:
                raise error(HOUSEHOLDS, field=f"cluster_present_{n}")
        if not self.clusters and self.households_present is None:
            raise error(HOUSEHOLDS, field="households_present")
        return self



# --- decisions ----------------------------------------------------------------------------------------

class DecideForm(Form):
    """A decision by one of the four methods; each method reads its own fields:

    - meeting_vote: the counts of the last recorded meeting (or `meeting_id`'s);
    - paper_ballot: nothing (the count starts);
    - online_ballot: the two dates, and the date and reference of the community's agreement and of
      informing the commune People's Committee and the Front (Decree 59/2023 Art. 5);
    - authority: the document's number and text.
    """

    method: Annotated[str, Choice(tuple(METHODS), N_("Please choose how the households decide."))] = ""
    meeting_id: Annotated[int | None, Id(NO_MEETING, required=False, lenient=True)] = None
    yes: Annotated[int | None, _households(required=False)] = None
    no: Annotated[int | None, _households(required=False)] = None
    abstain: Annotated[int | None, _households(required=False)] = None
    opens_on: Annotated[date | None, Day(required=False, message=DATE, missing=DATE)] = None
    closes_on: Annotated[date | None, Day(required=False, message=DATE, missing=DATE)] = None
    agreed_on: Annotated[date | None, Day(required=False, message=DATE, missing=DATE)] = None
    agreement_ref: Annotated[str, Text(0, 120, REF)] = ""
    informed_on: Annotated[date | None, Day(required=False, message=DATE, missing=DATE)] = None
    informed_ref: Annotated[str, Text(0, 120, REF)] = ""
    document_no: Annotated[str, Text(0, 60, N_("Please give the document number (2 to 60 characters)."))] = ""
    document_text: Annotated[str, Text(0, 5000, N_("Please give the text of the decision (5 to 5000 "
                                                   "characters)."), multiline=True)] = ""

    @model_validator(mode="after")
    def _method_fields(self) -> Self:
        if self.method == "meeting_vote":
            for name in ("yes", "no", "abstain"):
                if getattr(self, name) is None:
                    raise error(HOUSEHOLDS, field=name)
        elif self.method == "online_ballot":
            for name in ("opens_on", "closes_on"):
                if getattr(self, name) is None:
                    raise error(DATE, field=name)
            if self.closes_on < self.opens_on:  # type: ignore[operator]
                raise error(N_("Voting cannot close before it opens."), field="closes_on")
            for day, ref in (("agreed_on", "agreement_ref"), ("informed_on", "informed_ref")):
                if getattr(self, day) is None:
                    raise error(DATE, field=day)
                if len(getattr(self, ref)) < 2:
                    raise error(REF, field=ref)
        elif self.method == "authority":
            if len(self.document_no) < 2:
                raise error(N_("Please give the document number (2 to 60 characters)."), field="document_no")
            if len(self.document_text) < 5:
                raise error(N_("Please give the text of the decision (5 to 5000 characters)."),
                            field="document_text")
        return self

    @property
    def counts(self) -> tuple[int, int, int]:
        return self.yes or 0, self.no or 0, self.abstain or 0


class PaperBallotForm(Form):
    """One household's returned paper ballot, entered by the village head."""

    household_code: Annotated[str, HouseholdCode()] = ""
    choice: Annotated[str, Choice(tuple(CHOICES), CHOICE)] = ""


class VoteForm(Form):
    """A household representative's online ballot."""

    choice: Annotated[str, Choice(tuple(CHOICES), CHOICE)] = ""


# --- the admin's setting ------------------------------------------------------------------------------

DAYS = N_("Please give a number of days from 1 to 90.")


class MinDisclosureDaysForm(Form):
    """The days a category's items stay in Dân biết before the discussion may open."""

    days: Annotated[int, Count(MAX_DISCLOSURE_DAYS, DAYS, DAYS)] = None  # type: ignore[assignment]

    @model_validator(mode="after")
    def _at_least_one(self) -> Self:
        # A minimum of 0 days would let an item skip Dân biết (Law 10/2022/QH15: disclosure before deciding).
        if self.days < MIN_DISCLOSURE_DAYS_FLOOR:
            raise error(DAYS, field="days")
        return self


FORMS = (OpenDiscussionForm, DisclosureForm, CommentForm, HideCommentForm, ScheduleMeetingForm,
         RecordMeetingForm, DecideForm, PaperBallotForm, VoteForm, MinDisclosureDaysForm)
