"""Dân biết and Dân bàn forms: what the village head, the residents and the admin type, parsed once.

Checks that need the database or today's date (the meeting notice, the register's size, a vote that
opens in the past) are in rules.py and the service; these forms only say what was typed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import field_validator, model_validator

from civic.core.inputs import (
    Choice,
    Count,
    Day,
    Form,
    HouseholdCode,
    Id,
    Ids,
    LocalDateTime,
    Money,
    Quantity,
    Text,
    error,
    fail,
    parse_id,
)
from civic.deliberation.matters import MATTERS, REASON_MAX, SCOPES, VILLAGE_RESULTS, Asks
from civic.deliberation.rules import (
    CHANNELS,
    CHOICES,
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
NO_VILLAGE = N_("Please choose a village of this commune.")
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
    land_area: Annotated[Decimal | None, Quantity(required=False)] = None
    money_amount: Annotated[int | None, Money(required=False)] = None
    labour_quantity: Annotated[Decimal | None, Quantity(required=False)] = None
    ask_materials: Annotated[str, Text(0, 200, N_("Materials may have at most 200 characters."))] = ""
    matter_reason: Annotated[str, Text(0, REASON_MAX, N_("The reason may have at most 400 characters."))] = ""

    @property
    def asks(self) -> Asks:
        return Asks(self.land_area, self.money_amount, self.labour_quantity, self.ask_materials)

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
    # A matter of the whole commune: the village that meets (one the village head heads); empty for the
    # item's own village, or the only village the village head heads.
    village_id: Annotated[int | None, Id(NO_VILLAGE, required=False, lenient=True)] = None


CLUSTER_NAME = Text(2, 80, N_("Please name the cluster (2 to 80 characters)."))
REASON = Text(5, 400, N_("Please give the public reason (5 to 400 characters)."))
NO_CLUSTER = N_("This cluster does not exist.")
SECRETARY = N_("Please name the secretary the meeting elected.")
TWICE = N_("The same household is ticked twice: each household is counted once.")
# Law 10/2022/QH15 Art. 20(1): a decision of the community is written as a resolution, minutes, memorandum
# or agreement.
WRITTEN_FORMS: dict[str, str] = {"resolution": N_("Resolution"), "minutes": N_("Minutes"),
                                 "memorandum": N_("Memorandum"), "agreement": N_("Agreement")}
VOTING_MODES: dict[str, str] = {"show_of_hands": N_("Show of hands"), "secret_ballot": N_("Secret ballot")}
CHAIRS: dict[str, str] = {"village_head": N_("The village head (myself)"),
                          "designated": N_("A person the commune chairman designated (the post is vacant)")}


@dataclass(frozen=True)
class RollIds(Ids):
    """The households ticked on a roll: like Ids, but a household sent twice is refused, not dropped."""

    def parse(self, raw: Any) -> list[int]:
        values = raw if isinstance(raw, list | tuple) else ([] if raw in (None, "") else [raw])
        numbers = [parse_id(v) for v in values if str(v).strip() != ""]
        if len(numbers) > self.most:
            raise fail(self.message)
        if None not in numbers and len(set(numbers)) != len(numbers):
            raise fail(TWICE)
        return super().parse(raw)


CORRECTION_REASON = Text(0, 400, N_("The reason may have at most 400 characters."))


class RollForm(Form):
    """One page of a meeting's roll: the households shown on it, and those of them ticked as present. A
    household taken off the roll once saved needs the reason."""

    meeting_id: Annotated[int | None, Id(NO_MEETING, lenient=True)] = None
    cluster_id: Annotated[int | None, Id(NO_CLUSTER, required=False, lenient=True)] = None
    shown: Annotated[list[int], Ids(N_("Please tick households of the list."), most=500)] = []
    household: Annotated[list[int], RollIds(N_("Please tick households of the list."), most=500)] = []
    reason: Annotated[str, CORRECTION_REASON] = ""


class RollQuery(Form):
    """`?q=&page=&cluster=` of the roll page; anything unreadable shows the first page of everyone."""

    q: Annotated[str, Text(0, 60, N_("Search with at most 60 characters."))] = ""
    page: Annotated[int | None, Count(100_000, required=False)] = None
    cluster: Annotated[int | None, Id(NO_CLUSTER, required=False, lenient=True)] = None


class ClusterForm(Form):
    """A cluster of a village of 200 or more households that meets on its own, with its chair."""

    meeting_id: Annotated[int | None, Id(NO_MEETING, lenient=True)] = None
    name: Annotated[str, CLUSTER_NAME] = ""
    chair_name: Annotated[str, Text(2, 120, N_("Please name who chaired the meeting."))] = ""


class RecordMeetingForm(Form):
    """How the meeting went: the households present are those ticked on its roll (no typed number); the
    people present are optional. Who chaired (the village head, or the person the commune chairman
    designated when the post is vacant), the secretary the meeting elected and by how many votes, and how
    it votes (show of hands, or secret ballot with its counting committee of 3 to 5 people)."""

    meeting_id: Annotated[int | None, Id(NO_MEETING, lenient=True)] = None
    people_present: Annotated[int | None, Count(COUNT_MAX, N_("Please give a whole number of people."),
                                                NEGATIVE, required=False)] = None
    chair: Annotated[str, Choice(tuple(CHAIRS), N_("Please say who chaired the meeting."))] = "village_head"
    chair_name: Annotated[str, Text(0, 120, N_("Please name who chaired the meeting."))] = ""
    chair_designation_ref: Annotated[str, Text(0, 120, REF)] = ""
    minutes_taker_name: Annotated[str, Text(2, 120, SECRETARY)] = ""
    secretary_votes: Annotated[int | None, Count(COUNT_MAX, N_("Please give how many voted for the "
                                                                "secretary."), NEGATIVE)] = None
    voting_mode: Annotated[str, Choice(tuple(VOTING_MODES), N_("Please choose how the meeting votes."))] = ""
    counting_committee: Annotated[str, Text(0, 600, N_("At most 600 characters."), multiline=True)] = ""
    minutes_text: Annotated[str, Text(0, 5000, N_("The minutes summary may have at most 5000 characters."),
                                      multiline=True)] = ""

    @property
    def committee(self) -> list[str]:
        return [line.strip() for line in self.counting_committee.splitlines() if line.strip()]

    @model_validator(mode="after")
    def _chair(self) -> Self:
        if self.chair == "designated":
            if len(self.chair_name) < 2:
                raise error(N_("Please name who chaired the meeting."), field="chair_name")
            if len(self.chair_designation_ref) < 2:
                raise error(REF, field="chair_designation_ref")
        return self


class MoveMeetingForm(Form):
    """A new date for a meeting: a new notice period starts from the move."""

    meeting_id: Annotated[int | None, Id(NO_MEETING, lenient=True)] = None
    starts_at: Annotated[datetime, LocalDateTime(N_("Please give a date and time like 2026-06-15 19:30."))]\
        = None  # type: ignore[assignment]
    reason: Annotated[str, REASON] = ""


class CancelMeetingForm(Form):
    """A meeting called off, with the public reason."""

    meeting_id: Annotated[int | None, Id(NO_MEETING, lenient=True)] = None
    reason: Annotated[str, REASON] = ""


# --- decisions ----------------------------------------------------------------------------------------

class DecideForm(Form):
    """A decision by one of the four methods; each method reads its own fields:

    - meeting_vote: the counts of the last recorded meeting (or `meeting_id`'s);
    - paper_ballot: nothing (the count starts);
    - online_ballot: the two dates, and the date and reference of the community's agreement and of
      informing the commune People's Committee and the Front (Decree 59/2023 Art. 5);
    - authority: the document's number and text.
    """

    method: Annotated[str, Choice(tuple(m for m in METHODS if m != VILLAGE_RESULTS),
                                  N_("Please choose how the households decide."))] = ""
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
    # A secret ballot at the meeting: the counting committee's figures (form 02 of Decree 59/2023).
    ballots_issued: Annotated[int | None, _households(required=False)] = None
    ballots_returned: Annotated[int | None, _households(required=False)] = None
    ballots_valid: Annotated[int | None, _households(required=False)] = None
    ballots_invalid: Annotated[int | None, _households(required=False)] = None
    written_form: Annotated[str, Choice(tuple(WRITTEN_FORMS), N_("Please choose the written form of the "
                                                                 "decision."), required=False)] = "minutes"
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


# --- a matter of the whole commune ---------------------------------------------------------------------

VILLAGE_METHODS: dict[str, str] = {"meeting_vote": N_("Vote at the village meeting"),
                                   "paper_ballot": N_("Household paper ballot of the village")}


class VillageResultForm(Form):
    """A village's result on a matter of the whole commune, recorded once by its village head: the vote at
    its recorded meeting (the households present are its roll), or its household paper ballot (the ballots
    returned by households of its register)."""

    method: Annotated[str, Choice(tuple(VILLAGE_METHODS), N_("Please choose how the village decided."))] = ""
    village_id: Annotated[int | None, Id(NO_VILLAGE, required=False, lenient=True)] = None
    meeting_id: Annotated[int | None, Id(NO_MEETING, required=False, lenient=True)] = None
    returned: Annotated[int | None, _households(required=False)] = None
    yes: Annotated[int | None, _households()] = None
    no: Annotated[int | None, _households()] = None
    abstain: Annotated[int | None, _households()] = None
    # A secret ballot at the village's meeting: the counting committee's figures (form 02 of Decree 59/2023).
    ballots_issued: Annotated[int | None, _households(required=False)] = None
    ballots_returned: Annotated[int | None, _households(required=False)] = None
    ballots_valid: Annotated[int | None, _households(required=False)] = None
    ballots_invalid: Annotated[int | None, _households(required=False)] = None

    @model_validator(mode="after")
    def _method_fields(self) -> Self:
        if self.method == "meeting_vote" and self.meeting_id is None:
            raise error(N_("Record the meeting's attendance first."), field="meeting_id")
        if self.method == "paper_ballot" and self.returned is None:
            raise error(N_("Please give how many households returned their ballot."), field="returned")
        return self

    @property
    def counts(self) -> tuple[int, int, int]:
        return self.yes or 0, self.no or 0, self.abstain or 0


class CommuneDecisionForm(Form):
    """The commune adds the villages' results up and closes the decision; a village that has not reported
    needs the recorded reason (checked by rules.check_close_commune)."""

    reason: Annotated[str, Text(0, 400, N_("The reason may have at most 400 characters."),
                                multiline=True)] = ""
    written_form: Annotated[str, Choice(tuple(WRITTEN_FORMS), N_("Please choose the written form of the "
                                                                 "decision."), required=False)] = "minutes"


class PaperBallotForm(Form):
    """One household's returned paper ballot, entered by the village head."""

    household_code: Annotated[str, HouseholdCode()] = ""
    choice: Annotated[str, Choice(tuple(CHOICES), CHOICE)] = ""


# The count screen names each household's group of radio buttons b<household id>; its value is a choice, or
# empty for "no ballot entered".
BALLOT_NAME = re.compile(r"b([0-9]{1,19})")
COUNT_MOST = 500
NOT_OF_LIST = N_("Please enter ballots of households of the list.")


class CountForm(Form):
    """One page of the paper-ballot count: the households shown on it and each one's ballot (none, in
    favour, against, abstain); a reason when an entry already saved is changed or taken out."""

    shown: Annotated[list[int], Ids(NOT_OF_LIST, most=COUNT_MOST)] = []
    # "<household id>:<choice>", gathered by parse() from the b<id> groups.
    ballots: list[str] = []
    reason: Annotated[str, CORRECTION_REASON] = ""

    @classmethod
    def parse(cls, data: Mapping[str, Any] | None = None, **extra: Any) -> Self:
        data = data or {}
        getlist = getattr(data, "getlist", None)
        pairs: list[str] = []
        for key in list(data.keys()):
            match = BALLOT_NAME.fullmatch(str(key))
            if match is None:
                continue
            values = getlist(key) if getlist is not None else data[key]
            values = values if isinstance(values, list | tuple) else [values]
            pairs.extend(f"{match.group(1)}:{v if isinstance(v, str) else '?'}" for v in values)
        return super().parse(data, **{**extra, "ballots": pairs})

    @field_validator("ballots", mode="before")
    @classmethod
    def _ballots(cls, raw: Any) -> list[str]:
        pairs = raw if isinstance(raw, list | tuple) else []
        if len(pairs) > COUNT_MOST:
            raise fail(NOT_OF_LIST)
        seen: set[int] = set()
        out = []
        for pair in pairs:
            number, _sep, choice = str(pair).partition(":")
            household_id = parse_id(number)
            if household_id is None:
                raise fail(NOT_OF_LIST)
            if household_id in seen:
                raise fail(N_("The same household has two ballots: each household has one."))
            if choice.strip() not in ("", *CHOICES):
                raise fail(CHOICE)
            seen.add(household_id)
            out.append(f"{household_id}:{choice.strip()}")
        return out

    @property
    def choices(self) -> dict[int, str]:
        """Each household's ballot as sent: a choice, or "" for none."""
        return {int(n): c for n, _sep, c in (p.partition(":") for p in self.ballots)}


class CountQuery(Form):
    """`?q=&page=` of the count page; anything unreadable shows the first page of everyone."""

    q: Annotated[str, Text(0, 60, N_("Search with at most 60 characters."))] = ""
    page: Annotated[int | None, Count(100_000, required=False)] = None


class VoteForm(Form):
    """A household representative's online ballot."""

    choice: Annotated[str, Choice(tuple(CHOICES), CHOICE)] = ""


# --- the village Front work committee's answer to an online vote ----------------------------------------

class FrontAgreeForm(Form):
    """The committee agreed to an online vote on the item: the day it decided, where that is recorded."""

    decided_on: Annotated[date, Day(message=DATE, missing=DATE)] = None  # type: ignore[assignment]
    minutes_ref: Annotated[str, Text(2, 120, REF)] = ""
    note: Annotated[str, Text(0, 400, N_("The note may have at most 400 characters."), multiline=True)] = ""


class FrontRefuseForm(Form):
    """The committee did not agree: the day it decided, the public reason, where that is recorded."""

    decided_on: Annotated[date, Day(message=DATE, missing=DATE)] = None  # type: ignore[assignment]
    reason: Annotated[str, REASON] = ""
    minutes_ref: Annotated[str, Text(0, 120, REF)] = ""


class FrontWithdrawForm(Form):
    """The committee's answer taken back before an online ballot opened, with the public reason."""

    reason: Annotated[str, REASON] = ""


FRONT_FORMS = (FrontAgreeForm, FrontRefuseForm, FrontWithdrawForm)


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
         RecordMeetingForm, RollForm, RollQuery, ClusterForm, MoveMeetingForm, CancelMeetingForm, DecideForm,
         PaperBallotForm, CountForm, CountQuery, VoteForm, MinDisclosureDaysForm, VillageResultForm,
         CommuneDecisionForm)
