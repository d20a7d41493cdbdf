"""Pure Dân làm rules: plain facts in, a decision or a CivicError out. No session, no request."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from civic.core.facts import ActorFacts, ItemFacts
from civic.errors import N_, Conflict, Forbidden, Invalid
from civic.items.rules import clean_text
from civic.workflow.rules import relations
from civic.workflow.stages import SECRETARY, Stage

LAND, MONEY, LABOUR, MATERIALS = "land", "money", "labour", "materials"
KINDS = (LAND, MONEY, LABOUR, MATERIALS)
KIND_LABELS = {LAND: N_("Land"), MONEY: N_("Money"), LABOUR: N_("Labour"), MATERIALS: N_("Materials")}
UNIT_LABELS = {LAND: N_("m²"), MONEY: N_("đồng"), LABOUR: N_("person-days")}
# One pledge above these needs an explicit confirmation (a typo of three zeros is the usual cause).
PLAUSIBLE = {LAND: Decimal(100_000), MONEY: 10_000_000_000, LABOUR: Decimal(1_000)}
QUANTITY_MAX = Decimal("999999999999.99")  # what the column holds
MONEY_MAX = 10**15

SOURCES = ("state", "commune", "community", "sponsor")
SOURCE_LABELS = {"state": N_("State budget"), "commune": N_("Commune budget"),
                 "community": N_("Community contributions"), "sponsor": N_("Sponsors")}

TEXT_MAX = 2000
CENT = Decimal("0.01")


def _truthy(value: Any) -> bool:
    return str(value or "").strip().lower() in {"1", "on", "true", "yes"}


# --- numbers as people type them --------------------------------------------------------------------

_SPACES = re.compile(r"[\s\u00a0\u202f_]")


def parse_money(raw: Any, field: str = "amount") -> int:
    """Whole đồng: '1.500.000', '1,500,000', '1 500 000' or '1500000'; positive."""
    text = _SPACES.sub("", str(raw or ""))
    text = re.sub(r"(?i)(đồng|dong|đ|vnd)$", "", text)
    if not text:
        raise Invalid(N_("Please enter an amount."), field=field)
    if not re.fullmatch(r"-?\d{1,3}([.,]\d{3})+|-?\d+", text):
        raise Invalid(N_("Please enter a whole number of đồng, like 1.500.000."), field=field)
    value = int(text.replace(".", "").replace(",", ""))
    if value <= 0:
        raise Invalid(N_("The amount must be more than zero."), field=field)
    if value >= MONEY_MAX:
        raise Invalid(N_("This amount is far too large."), field=field)
    return value


def parse_quantity(raw: Any, field: str = "amount") -> Decimal:
    """A positive decimal with at most two places: '1.240', '1,240' (thousands), '12,5' or '12.5'."""
    text = _SPACES.sub("", str(raw or ""))
    if not text:
        raise Invalid(N_("Please enter an amount."), field=field)
    if not re.fullmatch(r"-?[\d.,]+", text) or not re.search(r"\d", text):
        raise Invalid(N_("Please enter a number, like 12,5 or 1.240."), field=field)
    seps = [i for i, c in enumerate(text) if c in ".,"]
    if seps:
        mark = text[seps[-1]]
        groups = re.split(r"[.,]", text)
        if all(text[i] == mark for i in seps) and all(len(g) == 3 for g in groups[1:]) and groups[0].lstrip("-")[:1] not in ("", "0"):
            text = text.replace(mark, "")  # "1.240", "1,240,000": thousands separators only
        elif all(text[i] != mark for i in seps[:-1]):
            text = re.sub(r"[.,]", "", text[:seps[-1]]) + "." + text[seps[-1] + 1:]  # "1.400,5", "12,5"
        else:
            raise Invalid(N_("Please enter a number, like 12,5 or 1.240."), field=field)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise Invalid(N_("Please enter a number, like 12,5 or 1.240."), field=field) from None
    if value <= 0:
        raise Invalid(N_("The amount must be more than zero."), field=field)
    if value != value.quantize(CENT):
        raise Invalid(N_("Please use at most two decimal places."), field=field)
    if value > QUANTITY_MAX:
        raise Invalid(N_("This amount is far too large."), field=field)
    return value.quantize(CENT)


def parse_day(raw: Any, field: str, today: date, *, required: bool = True, future: bool = False) -> date | None:
    text = str(raw or "").strip()
    if not text:
        if required:
            raise Invalid(N_("Please enter a date."), field=field)
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise Invalid(N_("Please enter a date like 2026-06-15."), field=field) from None
    if not future and day > today:
        raise Invalid(N_("This date is in the future."), field=field)
    if future and day < today:
        raise Invalid(N_("This date is in the past."), field=field)
    if day.year < 2000:
        raise Invalid(N_("Please enter a date like 2026-06-15."), field=field)
    return day


def _text(data: dict[str, Any], name: str, errors: dict[str, str], *, low: int, high: int, message: str,
          multiline: bool = False) -> str:
    value = clean_text(data.get(name), multiline=multiline)
    if len(value) < low or len(value) > high:
        errors[name] = message
    return value


# --- who may do what --------------------------------------------------------------------------------

def check_secretary(item: ItemFacts, actor: ActorFacts) -> None:
    """Pledges on behalf, deliveries, budget and progress: the secretary of the item's village."""
    if SECRETARY not in relations(item, actor):
        raise Forbidden(N_("Only the secretary of this item's village can do this."))


def check_stage_do(item: ItemFacts) -> None:
    if item.stage != Stage.DO:
        raise Conflict(N_("This can be done only while the item is in People do (Dân làm)."))


def check_household(household_village_id: int | None, household_active: bool, item: ItemFacts) -> None:
    """A household pledges (or judges) only work of its own village, and only while in the register."""
    if household_village_id is None:
        raise Invalid(N_("No household of this village has this code."), field="household")
    if household_village_id != item.village_id:
        raise Forbidden(N_("This household is not in the village of this item."))
    if not household_active:
        raise Conflict(N_("This household is no longer in the village register."))


# --- pledges ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PledgeInput:
    kind: str
    money: int | None
    quantity: Decimal | None
    unit: str
    description: str
    parcel_ref: str
    consent_text: str
    consent_on: date
    witness_name: str
    witness_role: str


def validate_pledge(data: dict[str, Any], today: date) -> PledgeInput:
    """A pledge as typed: kind, a positive amount (large ones confirmed), the consent and its witness."""
    errors: dict[str, str] = {}
    kind = str(data.get("kind") or "")
    money = quantity = None
    if kind not in KINDS:
        errors["kind"] = N_("Please choose what the household gives: land, money, labour or materials.")
    else:
        try:
            if kind == MONEY:
                money = parse_money(data.get("amount"))
            else:
                quantity = parse_quantity(data.get("amount"))
        except Invalid as exc:
            errors["amount"] = exc.message
        limit = PLAUSIBLE.get(kind)
        amount = money if kind == MONEY else quantity
        if amount is not None and limit is not None and amount > limit and not _truthy(data.get("confirm_large")):
            errors["amount"] = {
                LAND: N_("Over 100,000 m² in one pledge is unusual. Check the number, and tick the "
                         "confirmation if it is right."),
                MONEY: N_("Over 10 billion đồng in one pledge is unusual. Check the number, and tick the "
                          "confirmation if it is right."),
                LABOUR: N_("Over 1,000 person-days in one pledge is unusual. Check the number, and tick the "
                           "confirmation if it is right."),
            }[kind]
    unit = description = parcel_ref = ""
    if kind == LAND:
        parcel_ref = _text(data, "parcel_ref", errors, low=2, high=120,
                           message=N_("Please give the land parcel (for example: parcel 123, map sheet 5)."))
    if kind == MATERIALS:
        description = _text(data, "description", errors, low=2, high=200,
                            message=N_("Please say what materials are given (2 to 200 characters)."))
        unit = _text(data, "unit", errors, low=1, high=40,
                     message=N_("Please give the unit of the quantity (bags, m³, pieces…)."))
    consent_text = _text(data, "consent_text", errors, low=10, high=TEXT_MAX, multiline=True,
                         message=N_("Please copy the consent text the household was shown (10 to 2,000 "
                                    "characters)."))
    consent_on = None
    try:
        consent_on = parse_day(data.get("consent_on"), "consent_on", today)
    except Invalid as exc:
        errors["consent_on"] = exc.message
    witness_name = _text(data, "witness_name", errors, low=2, high=120,
                         message=N_("Please give the witness's name."))
    witness_role = _text(data, "witness_role", errors, low=2, high=120,
                         message=N_("Please give the witness's role (village head, Front committee…)."))
    if errors:
        raise Invalid(errors=errors)
    return PledgeInput(kind, money, quantity, unit, description, parcel_ref, consent_text, consent_on,
                       witness_name, witness_role)


def check_withdraw(item: ItemFacts, *, withdrawn: bool, delivered: bool, work_started: bool) -> None:
    """A household may take back its pledge until the work starts; a withdrawal is kept, never undone."""
    if withdrawn:
        raise Conflict(N_("This pledge was already withdrawn."))
    if item.stage != Stage.DO or work_started:
        raise Conflict(N_("The work has started: a pledge can no longer be withdrawn."))
    if delivered:
        raise Conflict(N_("Part of this pledge was already delivered: it can no longer be withdrawn."))


# --- deliveries -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeliveryInput:
    money: int | None
    quantity: Decimal | None
    delivered_on: date
    evidence: str
    over_confirmed: bool


def validate_delivery(data: dict[str, Any], *, kind: str, remaining: int | Decimal, withdrawn: bool,
                      today: date) -> DeliveryInput:
    """What was actually given against a pledge: all or part of it; more than pledged only when confirmed."""
    if withdrawn:
        raise Conflict(N_("This pledge was withdrawn; nothing can be delivered against it."))
    errors: dict[str, str] = {}
    money = quantity = None
    over = False
    try:
        if kind == MONEY:
            money = parse_money(data.get("amount"))
        else:
            quantity = parse_quantity(data.get("amount"))
        amount = money if kind == MONEY else quantity
        if amount > remaining:
            if _truthy(data.get("confirm_over")):
                over = True
            else:
                errors["amount"] = N_("This is more than what is left of the pledge. Check the amount, and "
                                      "tick the confirmation if the household really gave more.")
    except Invalid as exc:
        errors["amount"] = exc.message
    delivered_on = None
    try:
        delivered_on = parse_day(data.get("delivered_on"), "delivered_on", today)
    except Invalid as exc:
        errors["delivered_on"] = exc.message
    evidence = _text(data, "evidence", errors, low=3, high=300,
                     message=N_("Please describe the evidence: a handover record, a receipt, a photo (3 to 300 "
                                "characters)."))
    if errors:
        raise Invalid(errors=errors)
    return DeliveryInput(money, quantity, delivered_on, evidence, over)


def check_dispute(*, own_household: bool, already_disputed: bool) -> None:
    if not own_household:
        raise Forbidden(N_("Only the household a delivery was recorded for can dispute it."))
    if already_disputed:
        raise Conflict(N_("This delivery is already disputed."))


def clean_dispute(data: dict[str, Any]) -> str:
    errors: dict[str, str] = {}
    text = _text(data, "dispute_text", errors, low=5, high=TEXT_MAX, multiline=True,
                 message=N_("Please say what is wrong with this record (5 to 2,000 characters)."))
    if errors:
        raise Invalid(errors=errors)
    return text


# --- settings, budget, progress ---------------------------------------------------------------------

@dataclass(frozen=True)
class SettingsInput:
    publish_pledger_names: bool
    needed_land_m2: Decimal | None
    needed_money: int | None
    needed_labour_days: Decimal | None


def validate_settings(data: dict[str, Any]) -> SettingsInput:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, parse in (("needed_land_m2", parse_quantity), ("needed_money", parse_money),
                        ("needed_labour_days", parse_quantity)):
        raw = str(data.get(name) or "").strip()
        values[name] = None
        if raw:
            try:
                values[name] = parse(raw, name)
            except Invalid as exc:
                errors[name] = exc.message
    if errors:
        raise Invalid(errors=errors)
    return SettingsInput(_truthy(data.get("publish_pledger_names")), **values)


@dataclass(frozen=True)
class BudgetLineInput:
    source: str
    label: str
    amount: int


def validate_budget_line(data: dict[str, Any]) -> BudgetLineInput:
    errors: dict[str, str] = {}
    source = str(data.get("source") or "")
    if source not in SOURCES:
        errors["source"] = N_("Please choose where the money comes from.")
    label = _text(data, "label", errors, low=3, high=160,
                  message=N_("Please name the budget line (3 to 160 characters)."))
    amount = 0
    try:
        amount = parse_money(data.get("amount"))
    except Invalid as exc:
        errors["amount"] = exc.message
    if errors:
        raise Invalid(errors=errors)
    return BudgetLineInput(source, label, amount)


@dataclass(frozen=True)
class SpendingInput:
    budget_line_id: int
    amount: int
    spent_on: date
    description: str
    document_ref: str


def validate_spending(data: dict[str, Any], *, line_ids: set[int], today: date) -> SpendingInput:
    errors: dict[str, str] = {}
    try:
        line_id = int(str(data.get("budget_line_id") or ""))
    except ValueError:
        line_id = 0
    if line_id not in line_ids:
        errors["budget_line_id"] = N_("Please choose a budget line of this item.")
    amount = 0
    try:
        amount = parse_money(data.get("amount"))
    except Invalid as exc:
        errors["amount"] = exc.message
    spent_on = None
    try:
        spent_on = parse_day(data.get("spent_on"), "spent_on", today)
    except Invalid as exc:
        errors["spent_on"] = exc.message
    description = _text(data, "description", errors, low=3, high=300,
                        message=N_("Please say what was paid for (3 to 300 characters)."))
    document_ref = _text(data, "document_ref", errors, low=2, high=120,
                         message=N_("Please give the invoice or receipt number."))
    if errors:
        raise Invalid(errors=errors)
    return SpendingInput(line_id, amount, spent_on, description, document_ref)


@dataclass(frozen=True)
class ProgressInput:
    percent: int
    text: str


def validate_progress(data: dict[str, Any]) -> ProgressInput:
    errors: dict[str, str] = {}
    raw = str(data.get("percent") or "").strip().rstrip("%").strip()
    percent = -1
    if re.fullmatch(r"\d{1,3}", raw):
        percent = int(raw)
    if not 0 <= percent <= 100:
        errors["percent"] = N_("Please enter a percentage from 0 to 100.")
    text = _text(data, "text", errors, low=5, high=TEXT_MAX, multiline=True,
                 message=N_("Please say what was done (5 to 2,000 characters)."))
    if errors:
        raise Invalid(errors=errors)
    return ProgressInput(percent, text)


# --- moving on to Dân kiểm tra ----------------------------------------------------------------------

def missing_for_inspection(progress_percent: int, pledges_open: int) -> list[tuple[str, dict[str, Any]]]:
    """What still stands between the work and its inspection, as messages with their parameters."""
    missing: list[tuple[str, dict[str, Any]]] = []
    if progress_percent < 100:
        missing.append((N_("The work is at %(percent)s %%; it must reach 100 %% first."),
                        {"percent": progress_percent}))
    if pledges_open:
        missing.append((N_("%(count)s pledges are neither delivered in full nor withdrawn."),
                        {"count": pledges_open}))
    return missing


def check_ready_for_inspection(progress_percent: int, pledges_open: int) -> None:
    missing = missing_for_inspection(progress_percent, pledges_open)
    if missing:
        message, params = missing[0]
        raise Conflict(message, **params)


# --- totals -----------------------------------------------------------------------------------------

def share(part: int | Decimal, whole: int | Decimal | None) -> int:
    """A bar's width in whole percent, 0..100 (exact arithmetic, rounded half up)."""
    if not whole or whole <= 0:
        return 0
    value = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(max(0, min(100, value)))


def open_amount(pledged: int | Decimal, delivered: int | Decimal) -> int | Decimal:
    return max(pledged - delivered, 0)


# --- what a page offers (decided here, rendered by the templates) ---------------------------------------

def shows_section(stage: str, outcome: str | None) -> bool:
    """The Dân làm section appears once the work starts and stays on the record after it closes."""
    return stage in (Stage.DO, Stage.INSPECT) or (stage == Stage.CLOSED and outcome in ("done", "not_done"))


def publishes_names(stage: str, outcome: str | None, decided_to_publish: bool) -> bool:
    """Pledging households are named in public only where the households decided so, and only once there is
    a Dân làm section to name them in."""
    return decided_to_publish and shows_section(stage, outcome)


def is_secretary(item: ItemFacts, actor: ActorFacts) -> bool:
    return SECRETARY in relations(item, actor)


def can_manage(item: ItemFacts, actor: ActorFacts) -> bool:
    """The secretary's page of the work: while it is done and while it is inspected."""
    return is_secretary(item, actor) and item.stage in (Stage.DO, Stage.INSPECT)


def accepts_pledges(item: ItemFacts) -> bool:
    return item.stage == Stage.DO


def offers_withdrawal(item: ItemFacts, work_started: bool) -> bool:
    """Whether a household's page offers to take a pledge back (the service checks each pledge again)."""
    return item.stage == Stage.DO and not work_started


def check_household_page(item: ItemFacts, represents_here: bool) -> None:
    if not represents_here:
        raise Forbidden(N_("Only the representative of a household of this village can open this page."))
