"""Pure Dân làm rules: plain facts in, a decision or a CivicError out. No session, no request."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from civic.core.facts import ActorFacts, ItemFacts
from civic.errors import N_, Conflict, Forbidden, Invalid
from civic.workflow.rules import relations
from civic.workflow.stages import VILLAGE_HEAD, Stage

LAND, MONEY, LABOUR, MATERIALS = "land", "money", "labour", "materials"
KINDS = (LAND, MONEY, LABOUR, MATERIALS)
KIND_LABELS = {LAND: N_("Land"), MONEY: N_("Money"), LABOUR: N_("Labour"), MATERIALS: N_("Materials")}
UNIT_LABELS = {LAND: N_("m²"), MONEY: N_("đồng"), LABOUR: N_("person-days")}
# One pledge above these needs an explicit confirmation (a typo of three zeros is the usual cause).
PLAUSIBLE: dict[str, int | Decimal] = {LAND: Decimal(100_000), MONEY: 10_000_000_000, LABOUR: Decimal(1_000)}

SOURCES = ("state", "commune", "community", "sponsor")
SOURCE_LABELS = {"state": N_("State budget"), "commune": N_("Commune budget"),
                 "community": N_("Community contributions"), "sponsor": N_("Sponsors")}

TEXT_MAX = 2000


# --- who may do what --------------------------------------------------------------------------------

def check_village_head(item: ItemFacts, actor: ActorFacts) -> None:
    """Pledges on behalf, deliveries, budget and progress: the village head of the item's village."""
    if VILLAGE_HEAD not in relations(item, actor):
        raise Forbidden(N_("Only the village head of this item's village can do this."))


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

IMPLAUSIBLE = {
    LAND: N_("Over 100,000 m² in one pledge is unusual. Check the number, and tick the confirmation if it is "
             "right."),
    MONEY: N_("Over 10 billion đồng in one pledge is unusual. Check the number, and tick the confirmation if "
              "it is right."),
    LABOUR: N_("Over 1,000 person-days in one pledge is unusual. Check the number, and tick the confirmation "
               "if it is right."),
}


def implausible(kind: str, amount: int | Decimal | None, *, confirmed: bool) -> str | None:
    """Why one pledge's amount needs a confirmation (a typo of three zeros is the usual cause), or None."""
    limit = PLAUSIBLE.get(kind)
    if amount is None or limit is None or confirmed or amount <= limit:
        return None
    return IMPLAUSIBLE[kind]


def check_pledge(consent_on: date | None, today: date) -> None:
    """What a pledge's form cannot know: the consent was given by today."""
    if consent_on is not None and consent_on > today:
        raise Invalid(N_("This date is in the future."), field="consent_on")


def check_consent_date(consent_on: date, item_raised_on: date) -> None:
    """A household consents to give for an item that exists: a consent dated before it was raised is a
    mistake (or a form signed for something else)."""
    if consent_on < item_raised_on:
        raise Invalid(N_("The consent cannot be dated before the item was raised (%(date)s)."),
                      field="consent_on", date=item_raised_on.strftime("%d/%m/%Y"))


def check_land_consent(kind: str, *, has_scan: bool, in_person: bool, by_village_head: bool) -> None:
    """Land is given only with evidence of the household's consent: the scan of the signed form, or the
    village head's record that the household consented in person before the witness named on the pledge."""
    if kind != LAND or has_scan:
        return
    if by_village_head and in_person:
        return
    if by_village_head:
        raise Invalid(N_("A land pledge needs the scan of the signed consent form, or your confirmation that "
                         "the household consented in person before the witness."), field="consent_scan")
    raise Invalid(N_("A land pledge needs the scan or a photo of the signed consent form."),
                  field="consent_scan")


def check_withdraw(item: ItemFacts, *, withdrawn: bool, delivered: bool, work_started: bool) -> None:
    """A household may take back its pledge until the work starts; a withdrawal is kept, never undone."""
    if withdrawn:
        raise Conflict(N_("This pledge was already withdrawn."))
    if item.stage != Stage.DO or work_started:
        raise Conflict(N_("The work has started: a pledge can no longer be withdrawn."))
    if delivered:
        raise Conflict(N_("Part of this pledge was already delivered: it can no longer be withdrawn."))


# --- deliveries -------------------------------------------------------------------------------------

def check_delivery(amount: int | Decimal | None, remaining: int | Decimal, *, confirmed_over: bool,
                   withdrawn: bool, delivered_on: date | None, today: date) -> bool:
    """What was actually given against a pledge: all or part of it; more than pledged only when confirmed.
    Returns whether it is more than what was left."""
    if withdrawn:
        raise Conflict(N_("This pledge was withdrawn; nothing can be delivered against it."))
    errors: dict[str, str] = {}
    over = amount is not None and amount > remaining
    if over and not confirmed_over:
        errors["amount"] = N_("This is more than what is left of the pledge. Check the amount, and tick the "
                              "confirmation if the household really gave more.")
    if delivered_on is not None and delivered_on > today:
        errors["delivered_on"] = N_("This date is in the future.")
    if errors:
        raise Invalid(errors=errors)
    return over


def check_dispute(*, own_household: bool, already_disputed: bool) -> None:
    if not own_household:
        raise Forbidden(N_("Only the household a delivery was recorded for can dispute it."))
    if already_disputed:
        raise Conflict(N_("This delivery is already disputed."))


# --- budget ----------------------------------------------------------------------------------------

def check_spending(budget_line_id: int | None, line_ids: set[int], spent_on: date | None, today: date
                   ) -> None:
    """A payment comes from one of the item's budget lines and was made by today."""
    errors: dict[str, str] = {}
    if budget_line_id not in line_ids:
        errors["budget_line_id"] = N_("Please choose a budget line of this item.")
    if spent_on is not None and spent_on > today:
        errors["spent_on"] = N_("This date is in the future.")
    if errors:
        raise Invalid(errors=errors)


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
    return int(max(Decimal(0), min(Decimal(100), value)))


def pledged_amount(kind: str, money: int | None, quantity: Decimal | None) -> int | Decimal:
    """A pledge's amount: whole đồng for money, else its quantity. Every pledge is stored with the one its
    kind needs (the form requires it), so a missing one is a broken row."""
    amount = money if kind == MONEY else quantity
    if amount is None:
        raise ValueError(f"a {kind} pledge without its amount")
    return amount


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


def is_village_head(item: ItemFacts, actor: ActorFacts) -> bool:
    return VILLAGE_HEAD in relations(item, actor)


def can_manage(item: ItemFacts, actor: ActorFacts) -> bool:
    """The village head's page of the work: while it is done and while it is inspected."""
    return is_village_head(item, actor) and item.stage in (Stage.DO, Stage.INSPECT)


def accepts_pledges(item: ItemFacts) -> bool:
    return item.stage == Stage.DO


def offers_withdrawal(item: ItemFacts, work_started: bool) -> bool:
    """Whether a household's page offers to take a pledge back (the service checks each pledge again)."""
    return item.stage == Stage.DO and not work_started


def check_household_page(item: ItemFacts, represents_here: bool) -> None:
    if not represents_here:
        raise Forbidden(N_("Only the representative of a household of this village can open this page."))
