"""Dân làm shapes: the forms people fill in (parsed once, limits in one place) and what a page shows
(totals, budget, rows)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import BeforeValidator, ValidationInfo, field_validator

from civic.core.inputs import (
    Choice,
    Count,
    Day,
    Flag,
    Form,
    HouseholdCode,
    Id,
    Money,
    Quantity,
    Text,
    clean_text,
    fail,
    parse_id,
)
from civic.errors import N_
from civic.implementation import rules
from civic.implementation.models import BudgetLine, Pledge

TEXT_MAX = rules.TEXT_MAX
# The dates Dân làm asks for come from date inputs; a typed one is read as dd/mm/yyyy too.
DATE_MESSAGE = N_("Please enter a date like 2026-06-15.")
PARCEL_MESSAGE = N_("Please give the land parcel (for example: parcel 123, map sheet 5).")
MATERIALS_MESSAGE = N_("Please say what materials are given (2 to 200 characters).")
UNIT_MESSAGE = N_("Please give the unit of the quantity (bags, m³, pieces…).")

# --- forms ------------------------------------------------------------------------------------------------


class SettingsForm(Form):
    """What the households decided: the amounts needed (each optional) and whether pledgers are named."""

    needed_land_m2: Annotated[Decimal | None, Quantity(required=False)] = None
    needed_money: Annotated[int | None, Money(required=False)] = None
    needed_labour_days: Annotated[Decimal | None, Quantity(required=False)] = None
    publish_pledger_names: Annotated[bool, Flag()] = False


def _kind(info: ValidationInfo) -> str | None:
    """The pledge's kind when it was read; None when the kind itself was refused."""
    return info.data.get("kind")


class _PledgeFields(Form):
    """A pledge as typed: kind, a positive amount (large ones confirmed), the consent and its witness.

    Fields are read in order: `kind` and `confirm_large` come first because the amount and the
    kind-specific fields are read by kind."""

    kind: Annotated[str, Choice(rules.KINDS, N_("Please choose what the household gives: land, money, labour "
                                                "or materials."))] = ""
    confirm_large: Annotated[bool, Flag()] = False
    # Đồng (whole) for money, a quantity (two decimals) for land, labour and materials.
    amount: int | Decimal | None = None
    parcel_ref: Annotated[str, Text(0, 120, PARCEL_MESSAGE)] = ""
    description: Annotated[str, Text(0, 200, MATERIALS_MESSAGE)] = ""
    unit: Annotated[str, Text(0, 40, UNIT_MESSAGE)] = ""
    consent_text: Annotated[str, Text(10, TEXT_MAX, N_("Please copy the consent text the household was shown "
                                                       "(10 to 2,000 characters)."), multiline=True)] = ""
    consent_on: Annotated[date | None, Day(message=DATE_MESSAGE)] = None
    witness_name: Annotated[str, Text(2, 120, N_("Please give the witness's name."))] = ""
    witness_role: Annotated[str, Text(2, 120, N_("Please give the witness's role (village head, Front "
                                                 "committee…)."))] = ""

    @field_validator("amount", mode="before")
    @classmethod
    def _amount_by_kind(cls, raw: Any, info: ValidationInfo) -> int | Decimal | None:
        kind = _kind(info)
        if kind is None:
            return None  # the kind's own message says what is wrong
        amount = Money().parse(raw) if kind == rules.MONEY else Quantity().parse(raw)
        message = rules.implausible(kind, amount, confirmed=bool(info.data.get("confirm_large")))
        if message:
            raise fail(message)
        return amount

    @field_validator("parcel_ref", mode="wrap")
    @classmethod
    def _parcel_for_land(cls, raw: Any, handler: Any, info: ValidationInfo) -> str:
        return _only_for(rules.LAND, 2, raw, handler, info, PARCEL_MESSAGE)

    @field_validator("description", mode="wrap")
    @classmethod
    def _description_for_materials(cls, raw: Any, handler: Any, info: ValidationInfo) -> str:
        return _only_for(rules.MATERIALS, 2, raw, handler, info, MATERIALS_MESSAGE)

    @field_validator("unit", mode="wrap")
    @classmethod
    def _unit_for_materials(cls, raw: Any, handler: Any, info: ValidationInfo) -> str:
        return _only_for(rules.MATERIALS, 1, raw, handler, info, UNIT_MESSAGE)

    @property
    def money(self) -> int | None:
        return self.amount if self.kind == rules.MONEY else None  # type: ignore[return-value]

    @property
    def quantity(self) -> Decimal | None:
        return self.amount if self.kind != rules.MONEY else None  # type: ignore[return-value]


def _only_for(kind: str, shortest: int, raw: Any, handler: Any, info: ValidationInfo, message: str) -> str:
    """A field that only one kind of pledge has: required (at least `shortest` characters) for that kind,
    ignored (kept empty) for the others."""
    if _kind(info) != kind:
        return ""
    text = handler(raw)
    if len(text) < shortest:
        raise fail(message)
    return text


class PledgeForm(_PledgeFields):
    """A household's pledge by its representative; `household_id` chooses among the households they
    represent in the village (optional when there is one)."""

    household_id: Annotated[int | None, Id(required=False, lenient=True)] = None


class PledgeOnBehalfForm(_PledgeFields):
    """A pledge the village head records for a household without a phone, found by its register code."""

    household: Annotated[str, HouseholdCode(N_("No household of this village has this code."))] = ""
    # Land without a scan: the village head confirms the household consented in person, before the witness.
    consent_in_person: Annotated[bool, Flag()] = False


def _shortened(raw: Any) -> Any:
    """A free note that is cut to its length rather than refused (the withdrawal's optional reason)."""
    raw = raw[-1] if isinstance(raw, list | tuple) and raw else raw
    return clean_text(raw, multiline=True)[:TEXT_MAX]


class WithdrawForm(Form):
    """A household takes its pledge back; what it said is optional."""

    reason: Annotated[str, Text(0, TEXT_MAX, multiline=True), BeforeValidator(_shortened)] = ""


class DeliveryForm(Form):
    """What was given against a pledge of land, labour or materials (a quantity); `for_kind` gives the
    form of a pledge's kind."""

    amount: Annotated[Decimal | int | None, Quantity()] = None
    confirm_over: Annotated[bool, Flag()] = False
    delivered_on: Annotated[date | None, Day(message=DATE_MESSAGE)] = None
    evidence: Annotated[str, Text(3, 300, N_("Please describe the evidence: a handover record, a receipt, a "
                                             "photo (3 to 300 characters)."))] = ""

    @staticmethod
    def for_kind(kind: str) -> type[DeliveryForm]:
        return MoneyDeliveryForm if kind == rules.MONEY else DeliveryForm

    @property
    def money(self) -> int | None:
        return None

    @property
    def quantity(self) -> Decimal | None:
        return self.amount  # type: ignore[return-value]


class MoneyDeliveryForm(DeliveryForm):
    """What was given against a pledge of money, in whole đồng."""

    amount: Annotated[int | None, Money()] = None

    @property
    def money(self) -> int | None:
        return self.amount

    @property
    def quantity(self) -> Decimal | None:
        return None


# The deliveries table names each pledge's inputs amount_<pledge id> and on_<pledge id>.
DELIVERY_INPUT = re.compile(r"(amount|on)_([0-9]{1,19})")
BATCH_MOST = 200
NOT_OF_TABLE = N_("Please enter deliveries of pledges of the table.")
TWICE = N_("The same pledge is in the table twice: each pledge has one row.")


class DeliveryBatchForm(Form):
    """Several deliveries from the desk's table at once: an amount and a date per pledge (rows left empty are
    skipped), and one note and photo of evidence for the whole batch. Each amount is read by its pledge's
    kind (DeliveryForm.for_kind) in the service, which knows the kinds."""

    # "<pledge id>:<amount|on>:<text>", gathered by parse() from the amount_<id> and on_<id> inputs.
    cells: list[str] = []
    evidence: Annotated[str, Text(0, 300, N_("Please describe the evidence: a handover record, a receipt, a "
                                             "photo (3 to 300 characters)."))] = ""

    @classmethod
    def parse(cls, data: Mapping[str, Any] | None = None, **extra: Any) -> Self:
        data = data or {}
        getlist = getattr(data, "getlist", None)
        cells: list[str] = []
        for key in list(data.keys()):
            match = DELIVERY_INPUT.fullmatch(str(key))
            if match is None:
                continue
            values = getlist(key) if getlist is not None else data[key]
            values = values if isinstance(values, list | tuple) else [values]
            cells.extend(f"{match.group(2)}:{match.group(1)}:{v if isinstance(v, str) else ''}"
                         for v in values)
        return super().parse(data, **{**extra, "cells": cells})

    @field_validator("cells", mode="before")
    @classmethod
    def _cells(cls, raw: Any) -> list[str]:
        cells = raw if isinstance(raw, list | tuple) else []
        if len(cells) > 2 * BATCH_MOST:
            raise fail(NOT_OF_TABLE)
        seen: set[tuple[int, str]] = set()
        out = []
        for cell in cells:
            number, _sep, rest = str(cell).partition(":")
            part, _sep, text = rest.partition(":")
            pledge_id = parse_id(number)
            if pledge_id is None:
                raise fail(NOT_OF_TABLE)
            if (pledge_id, part) in seen:
                raise fail(TWICE)
            seen.add((pledge_id, part))
            out.append(f"{pledge_id}:{part}:{clean_text(text)[:40]}")
        return out

    @property
    def first_row(self) -> int | None:
        """The first pledge of the table as sent (where a table with nothing filled in says so)."""
        return int(self.cells[0].split(":", 1)[0]) if self.cells else None

    @property
    def rows(self) -> dict[int, tuple[str, str]]:
        """Each pledge's (amount, date) as typed, for the rows where either was filled in."""
        out: dict[int, dict[str, str]] = {}
        for cell in self.cells:
            number, part, text = cell.split(":", 2)
            out.setdefault(int(number), {})[part] = text
        return {pid: (v.get("amount", ""), v.get("on", "")) for pid, v in sorted(out.items())
                if v.get("amount", "")}


class DisputeForm(Form):
    dispute_text: Annotated[str, Text(5, TEXT_MAX, N_("Please say what is wrong with this record (5 to 2,000 "
                                                      "characters)."), multiline=True)] = ""


class BudgetLineForm(Form):
    source: Annotated[str, Choice(rules.SOURCES, N_("Please choose where the money comes from."))] = ""
    label: Annotated[str, Text(3, 160, N_("Please name the budget line (3 to 160 characters)."))] = ""
    amount: Annotated[int | None, Money()] = None


class SpendingForm(Form):
    """A payment from a budget line, with its invoice or receipt (the line is checked against the item's)."""

    budget_line_id: Annotated[int | None, Id(N_("Please choose a budget line of this item."))] = None
    amount: Annotated[int | None, Money()] = None
    spent_on: Annotated[date | None, Day(message=DATE_MESSAGE)] = None
    description: Annotated[str, Text(3, 300, N_("Please say what was paid for (3 to 300 characters)."))] = ""
    document_ref: Annotated[str, Text(2, 120, N_("Please give the invoice or receipt number."))] = ""


def _no_percent_sign(raw: Any) -> Any:
    """'60 %' and '60%' are 60."""
    raw = raw[-1] if isinstance(raw, list | tuple) and raw else raw
    return raw.strip().rstrip("%") if isinstance(raw, str) else raw


PERCENT_MESSAGE = N_("Please enter a percentage from 0 to 100.")


class ProgressForm(Form):
    percent: Annotated[int | None, Count(100, PERCENT_MESSAGE, PERCENT_MESSAGE),
                       BeforeValidator(_no_percent_sign)] = None
    text: Annotated[str, Text(5, TEXT_MAX, N_("Please say what was done (5 to 2,000 characters)."),
                              multiline=True)] = ""


FORMS = (SettingsForm, PledgeForm, PledgeOnBehalfForm, WithdrawForm, DeliveryForm, MoneyDeliveryForm,
         DeliveryBatchForm, DisputeForm, BudgetLineForm, SpendingForm, ProgressForm)


# --- what a page shows ------------------------------------------------------------------------------------

@dataclass
class KindTotal:
    kind: str
    pledged: int | Decimal = 0
    delivered: int | Decimal = 0
    needed: int | Decimal | None = None
    pledges: int = 0

    @property
    def target(self) -> int | Decimal:
        return self.needed if self.needed else self.pledged

    @property
    def delivered_share(self) -> int:
        return rules.share(self.delivered, self.target)


@dataclass
class Totals:
    kinds: dict[str, KindTotal]
    households_pledged: int
    households_in_register: int
    pledges_open: int
    withdrawn: int
    disputed: int
    materials: list[Any] = field(default_factory=list)  # (description, unit, pledged, delivered)

    @property
    def any(self) -> bool:
        return any(k.pledges for k in self.kinds.values()) or bool(self.materials)


@dataclass
class BudgetRow:
    line: BudgetLine
    spent: int

    @property
    def remaining(self) -> int:
        return self.line.amount - self.spent


@dataclass
class Budget:
    rows: list[BudgetRow]

    @property
    def total(self) -> int:
        return sum(r.line.amount for r in self.rows)

    @property
    def spent(self) -> int:
        return sum(r.spent for r in self.rows)

    @property
    def remaining(self) -> int:
        return self.total - self.spent

    def by_source(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            out[r.line.source] = out.get(r.line.source, 0) + r.line.amount
        return out


@dataclass
class PledgeRow:
    pledge: Pledge
    household_code: str
    delivered: int | Decimal
    deliveries: int
    head_name: str = ""

    @property
    def amount(self) -> int | Decimal:
        return rules.pledged_amount(self.pledge.kind, self.pledge.money, self.pledge.quantity)

    @property
    def remaining(self) -> int | Decimal:
        return rules.open_amount(self.amount, self.delivered)

    @property
    def complete(self) -> bool:
        return self.pledge.withdrawn_at is None and self.remaining == 0
