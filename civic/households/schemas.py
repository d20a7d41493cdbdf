"""What residents and village heads type about households, parsed once."""

from __future__ import annotations

import re
from typing import Annotated, Self

from pydantic import model_validator

from civic.core.inputs import Choice, Flag, Form, HouseholdCode, Id, Text, error
from civic.errors import N_, Invalid
from civic.households import rules

NO_VILLAGE = N_("Please choose a village.")
NO_MEMBER = N_("Please choose another member of your household.")
MAX_CODES = 300
CODES = N_("Please list household codes separated by spaces or commas (at most 300).")


class ClaimForm(Form):
    """The code of a household's letter, as the resident types it (checked for shape only here)."""

    code: Annotated[str, Text(0, 60, rules.CODE_SHAPE)] = ""

    @model_validator(mode="after")
    def _shape(self) -> Self:
        try:
            self.code = rules.normalize_code(self.code)
        except Invalid:
            raise error(rules.CODE_SHAPE, field="code") from None
        return self


class ClaimQuery(Form):
    """`?code=` of the letter's QR link: kept only when it has the shape of a code."""

    code: Annotated[str, Text(0, 60)] = ""

    def shaped(self) -> str:
        try:
            return rules.printed(rules.normalize_code(self.code))
        except Invalid:
            return ""


class LettersForm(Form):
    """Which letters to print: a village, optionally only households without a representative, or only
    the households whose codes are listed."""

    village_id: Annotated[int | None, Id(NO_VILLAGE)] = None
    unrepresented: Annotated[bool, Flag()] = False
    codes: Annotated[str, Text(0, 4000, CODES, multiline=True)] = ""

    def code_list(self) -> list[str]:
        """The listed household codes, as the register writes them (upper case)."""
        return [c.upper() for c in re.split(r"[\s,;]+", self.codes) if c]

    @model_validator(mode="after")
    def _codes(self) -> Self:
        listed = self.code_list()
        if len(listed) > MAX_CODES or any(len(c) > 32 for c in listed):
            raise error(CODES, field="codes")
        return self


class JoinForm(Form):
    """Ask to join a household of a village by its code in the register."""

    village_id: Annotated[int | None, Id(NO_VILLAGE)] = None
    household_code: Annotated[str, HouseholdCode()] = ""


class DecideJoinForm(Form):
    """The village head approves a join request, or refuses it with a reason the resident reads."""

    decision: Annotated[str, Choice(("approve", "refuse"), N_("Please approve or refuse the request."))] = ""
    reason: Annotated[str, Text(0, 400, N_("Please give the reason (3 to 400 characters)."),
                                multiline=True)] = ""

    @model_validator(mode="after")
    def _reason(self) -> Self:
        if self.decision == "refuse" and len(self.reason) < 3:
            raise error(N_("Please give the reason for refusing (3 to 400 characters)."), field="reason")
        return self


class HandoverForm(Form):
    """The representative hands the role to another member."""

    member_id: Annotated[int | None, Id(NO_MEMBER)] = None


FORMS = (ClaimForm, LettersForm, JoinForm, DecideJoinForm, HandoverForm)
