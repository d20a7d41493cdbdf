"""Dân làm: settings, pledges with consent, deliveries and disputes, budget and spending, progress.

The only code that changes these tables: it loads, asks the rules, changes, records one audit event and
flushes; it never commits. Audit payloads hold ids and public amounts, never names.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, bindparam, case, func, or_, select
from sqlmodel import Session, col

from civic import clock
from civic.accounts.service import Viewer
from civic.areas.models import Household, HouseholdMember
from civic.areas.service import active_households
from civic.audit import service as audit
from civic.core.facts import ItemFacts
from civic.db import Plain, PlainModels, memoized, row_id
from civic.deliberation.service import check_pledge_allowed
from civic.errors import N_, Forbidden, Invalid, NotFound
from civic.implementation import rules
from civic.implementation.models import (
    BudgetLine,
    Delivery,
    ImplementationSetting,
    Pledge,
    ProgressUpdate,
    Spending,
)
from civic.implementation.schemas import (
    Budget,
    BudgetLineForm,
    BudgetRow,
    DeliveryBatchForm,
    DeliveryForm,
    DisputeForm,
    KindTotal,
    PledgeForm,
    PledgeOnBehalfForm,
    PledgeRow,
    ProgressForm,
    SettingsForm,
    SpendingForm,
    Totals,
    WithdrawForm,
)
from civic.items.models import Item
from civic.media import rules as media_rules
from civic.media import service as media
from civic.media.schemas import Prepared
from civic.workflow import service as workflow
from civic.workflow.stages import Stage

HUNDRED = Decimal(100)




def _facts(session: Session, item: Item) -> ItemFacts:
    return workflow.facts(session, item)


def _record(session: Session, item: Item, action: str, viewer: Viewer, role: str,
            payload: dict[str, Any]) -> None:
    item.updated_at = clock.now()
    session.flush()
    audit.record(session, commune_id=item.commune_id, item_id=item.id, action=action, actor_id=viewer.id,
                 actor_role=role, payload=payload)


def attach_evidence(session: Session, item: Item, viewer: Viewer, files: Sequence[Prepared] | None,
                    *, purpose: str, owner_kind: str, owner_id: int, role: str,
                    accept: tuple[str, ...] | None = None, field: str = "photos") -> list:
    """Store files as evidence of one row; [] when none. Dân làm's routes prepare them (civic.web.forms)
    before the writing transaction, so storing them is all that is left here."""
    if not files:
        return []
    return [media.attach(session, item=item, upload=f, purpose=purpose, actor_id=viewer.id,
                         owner_kind=owner_kind, owner_id=owner_id, actor_role=role,
                         accept=accept or media_rules.KINDS, field=field)
            for f in files]


def _amount(kind: str, money: int | None, quantity: Decimal | None) -> str:
    """An amount as a public fact for the audit payload: '1500000' đồng or '20.50' of a unit."""
    return str(money) if kind == rules.MONEY else str(quantity)


# --- facts for the workflow -------------------------------------------------------------------------------

_LATEST_PERCENT = Plain(select(col(ProgressUpdate.percent))
                        .where(col(ProgressUpdate.item_id) == bindparam("item_id"))
                        .order_by(col(ProgressUpdate.created_at).desc(), col(ProgressUpdate.id).desc())
                        .limit(1))


def latest_percent(session: Session, item_id: int) -> int:
    row = _LATEST_PERCENT.rows(session, {"item_id": item_id}).first()
    return row[0] if row else 0


def _delivered_subquery(item_id: Any):
    """What was delivered against each pledge of one item (an id, or a bound parameter): only that item's
    deliveries are summed (ix_delivery_item), never the whole table's."""
    return (select(col(Delivery.pledge_id), func.coalesce(func.sum(col(Delivery.money)), 0).label("money"),
                   func.coalesce(func.sum(func.round(col(Delivery.quantity) * 100)), 0).label("centi"),
                   func.count().label("n"))
            .where(col(Delivery.item_id) == item_id)
            .group_by(col(Delivery.pledge_id)).subquery())


def _open_pledges_statement() -> Plain:
    item_id: Any = bindparam("item_id")
    d = _delivered_subquery(item_id)
    pledged_centi = func.round(col(Pledge.quantity) * 100)
    short = or_(
        (col(Pledge.kind) == rules.MONEY) & (func.coalesce(d.c.money, 0) < col(Pledge.money)),
        (col(Pledge.kind) != rules.MONEY) & (func.coalesce(d.c.centi, 0) < pledged_centi),
    )
    return Plain(select(func.count()).select_from(Pledge).outerjoin(d, d.c.pledge_id == col(Pledge.id))
                 .where(col(Pledge.item_id) == item_id, col(Pledge.withdrawn_at).is_(None), short))


_OPEN_PLEDGES = _open_pledges_statement()


def open_pledges(session: Session, item_id: int) -> int:
    """Pledges neither withdrawn nor delivered in full."""
    return int(_OPEN_PLEDGES.rows(session, {"item_id": item_id}).scalar())


def workflow_facts(session: Session, item: Item) -> dict[str, Any]:
    """What the workflow rules need to know about Dân làm (two queries, only while the item is in it)."""
    if item.stage != Stage.DO:
        return {}
    return {"progress_percent": latest_percent(session, row_id(item)),
            "pledges_open": open_pledges(session, row_id(item))}


def work_started(session: Session, item_id: int) -> bool:
    """The work has started once a progress update reports more than 0 %."""
    return session.execute(select(col(ProgressUpdate.id))
                           .where(col(ProgressUpdate.item_id) == item_id, col(ProgressUpdate.percent) > 0)
                           .limit(1)).first() is not None


# --- settings -----------------------------------------------------------------------------------------------

_SETTING = PlainModels(select(ImplementationSetting)
                       .where(col(ImplementationSetting.item_id) == bindparam("item_id")),
                       ImplementationSetting)


def settings_for(session: Session, item: Item) -> ImplementationSetting | None:
    """The item's settings as a copy, to show (save_settings changes the session's own row)."""
    return _SETTING.first(session, {"item_id": item.id})


def save_settings(session: Session, item: Item, viewer: Viewer, clean: SettingsForm) -> ImplementationSetting:
    """The amounts needed and whether pledgers' names are public, as the households decided."""
    facts = _facts(session, item)
    rules.check_village_head(facts, viewer.facts())
    if item.stage not in (Stage.DO, Stage.INSPECT):
        rules.check_stage_do(facts)
    row = session.get(ImplementationSetting, item.id)
    if row is None:
        row = ImplementationSetting(item_id=row_id(item), updated_at=clock.now())
        session.add(row)
    row.publish_pledger_names = clean.publish_pledger_names
    row.needed_land_m2 = clean.needed_land_m2
    row.needed_money = clean.needed_money
    row.needed_labour_days = clean.needed_labour_days
    row.updated_at = clock.now()
    row.updated_by_id = viewer.id
    _record(session, item, "implementation_settings", viewer, "village_head", {
        "publish_names": clean.publish_pledger_names,
        "needed_land_m2": str(clean.needed_land_m2) if clean.needed_land_m2 is not None else None,
        "needed_money": clean.needed_money,
        "needed_labour_days": (str(clean.needed_labour_days) if clean.needed_labour_days is not None
                               else None)})
    return row


# --- households -------------------------------------------------------------------------------------------

def represented_households(session: Session, viewer: Viewer, village_id: int | None = None
                           ) -> list[Household]:
    """The households the viewer represents (optionally only in one village); read once for a page whose
    session remembers its reads (the status page's Dân làm and Dân kiểm tra both ask)."""
    if viewer.id is None:
        return []
    return list(memoized(session, ("represented_households", viewer.id, village_id),
                         lambda: _represented(session, viewer, village_id)))


def _represented(session: Session, viewer: Viewer, village_id: int | None) -> list[Household]:
    stmt = (select(Household).join(HouseholdMember, col(HouseholdMember.household_id) == col(Household.id))
            .where(col(HouseholdMember.user_id) == viewer.id, col(HouseholdMember.is_representative))
            .order_by(col(Household.id)))
    if village_id is not None:
        stmt = stmt.where(col(Household.village_id) == village_id)
    return list(session.execute(stmt).scalars())


def _active(household: Household, on: date) -> bool:
    return household.active_from <= on and (household.active_to is None or household.active_to > on)


def _household_by_code(session: Session, item: Item, code: str) -> Household:
    household = None
    if code:
        household = session.execute(select(Household).where(col(Household.code) == code,
                                                            col(Household.village_id) == item.village_id)
                                    ).scalar_one_or_none()
    if household is None:
        raise Invalid(N_("No household of this village has this code."), field="household")
    return household


def _household_of_viewer(session: Session, item: Item, viewer: Viewer, household_id: int | None) -> Household:
    """A household the viewer represents, in the item's village; else refused with the reason."""
    mine = represented_households(session, viewer)
    wanted = household_id or 0
    household = next((h for h in mine if h.id == wanted), None)
    if household is None:
        in_village = [h for h in mine if h.village_id == item.village_id]
        if len(in_village) == 1 and not wanted:
            household = in_village[0]
    if household is None:
        if mine and not any(h.village_id == item.village_id for h in mine):
            rules.check_household(mine[0].village_id, True, _facts(session, item))
        if sum(h.village_id == item.village_id for h in mine) > 1:
            raise Invalid(N_("Please choose the household this is for."), field="household_id")
        raise Forbidden(N_("Only the representative of a household of this village can do this."))
    return household


# --- pledges ----------------------------------------------------------------------------------------------

def pledge(session: Session, item: Item, viewer: Viewer, clean: PledgeForm | PledgeOnBehalfForm, *,
           consent_scan: Sequence[Prepared] | None = None) -> Pledge:
    """A household's pledge with its consent: by its representative (PledgeForm), or by the village head on
    its behalf (PledgeOnBehalfForm, which names the household by its register code)."""
    facts = _facts(session, item)
    on_behalf = isinstance(clean, PledgeOnBehalfForm)
    if isinstance(clean, PledgeOnBehalfForm):
        rules.check_village_head(facts, viewer.facts())
        rules.check_stage_do(facts)
        household = _household_by_code(session, item, clean.household)
    else:
        rules.check_stage_do(facts)
        household = _household_of_viewer(session, item, viewer, clean.household_id)
    today = clock.today_local()
    rules.check_household(household.village_id, _active(household, today), facts)
    rules.check_pledge(clean.consent_on, today)
    check_pledge_allowed(session, item)  # the decision's method must be one the rules table allows
    assert clean.consent_on is not None  # a required field: the form refuses it empty
    raised_on = clock.as_utc(item.created_at).astimezone(clock.LOCAL_TZ).date()
    rules.check_consent_date(clean.consent_on, raised_on)
    in_person = isinstance(clean, PledgeOnBehalfForm) and clean.consent_in_person
    rules.check_land_consent(clean.kind, has_scan=bool(consent_scan), in_person=in_person,
                             by_village_head=on_behalf)
    row = Pledge(item_id=row_id(item), household_id=row_id(household), kind=clean.kind, money=clean.money,
                 quantity=clean.quantity, unit=clean.unit, description=clean.description,
                 parcel_ref=clean.parcel_ref, consent_text=clean.consent_text, consent_on=clean.consent_on,
                 witness_name=clean.witness_name, witness_role=clean.witness_role, pledged_by_id=viewer.id,
                 on_behalf=on_behalf, created_at=clock.now(),
                 consent_in_person=in_person and clean.kind == rules.LAND and not consent_scan)
    session.add(row)
    session.flush()
    role = "village_head" if on_behalf else "household"
    _record(session, item, "pledge_added", viewer, role,
            {"pledge_id": row.id, "household_id": household.id, "kind": clean.kind,
             "amount": _amount(clean.kind, clean.money, clean.quantity), "unit": clean.unit,
             "on_behalf": on_behalf,
             "consent": "scan" if consent_scan else ("in_person" if row.consent_in_person else "text")})
    scans = attach_evidence(session, item, viewer, consent_scan, purpose="consent", owner_kind="pledge",
                            owner_id=row_id(row), role=role, field="consent_scan")
    if scans:
        row.consent_scan_id = scans[0].id  # private whatever is asked (civic.media.rules.PRIVATE_PURPOSES)
    return row


def pledge_of_item(session: Session, item: Item, pledge_id: int) -> Pledge:
    """One pledge of this item; NotFound for any other id."""
    row = session.get(Pledge, pledge_id)
    if row is None or row.item_id != item.id:
        raise NotFound(N_("This pledge does not exist."))
    return row


def withdraw(session: Session, item: Item, pledge_id: int, viewer: Viewer, form: WithdrawForm | None = None
             ) -> Pledge:
    """The household takes back its pledge (its representative, or the village head on its behalf)."""
    row = pledge_of_item(session, item, pledge_id)
    facts = _facts(session, item)
    own = any(h.id == row.household_id for h in represented_households(session, viewer, item.village_id))
    if not own:
        rules.check_village_head(facts, viewer.facts())
    delivered = session.execute(select(col(Delivery.id)).where(col(Delivery.pledge_id) == row.id)
                                .limit(1)).first()
    rules.check_withdraw(facts, withdrawn=row.withdrawn_at is not None, delivered=delivered is not None,
                         work_started=work_started(session, row_id(item)))
    row.withdrawn_at = clock.now()
    row.withdrawn_by_id = viewer.id
    row.withdraw_reason = form.reason if form is not None else ""
    _record(session, item, "pledge_withdrawn", viewer, "household" if own else "village_head",
            {"pledge_id": row.id, "household_id": row.household_id, "on_behalf": not own})
    return row


# --- deliveries ---------------------------------------------------------------------------------------------

def delivered_of(session: Session, pledge_row: Pledge) -> int | Decimal:
    money, centi = session.execute(
        select(func.coalesce(func.sum(col(Delivery.money)), 0),
               func.coalesce(func.sum(func.round(col(Delivery.quantity) * 100)), 0))
        .where(col(Delivery.pledge_id) == pledge_row.id)).one()
    return int(money) if pledge_row.kind == rules.MONEY else Decimal(int(centi)) / HUNDRED


def record_delivery(session: Session, item: Item, pledge_id: int, viewer: Viewer, clean: DeliveryForm,
                    evidence_files: Sequence[Prepared] | None = None) -> Delivery:
    """What the household actually gave against a pledge, with date and evidence; part or all of it.
    `clean` is the form of the pledge's kind (DeliveryForm.for_kind)."""
    row = pledge_of_item(session, item, pledge_id)
    facts = _facts(session, item)
    rules.check_village_head(facts, viewer.facts())
    rules.check_stage_do(facts)
    if DeliveryForm.for_kind(row.kind) is not type(clean):
        raise ValueError(f"a delivery against a {row.kind} pledge is read with DeliveryForm.for_kind()")
    pledged = rules.pledged_amount(row.kind, row.money, row.quantity)
    remaining = rules.open_amount(pledged, delivered_of(session, row))
    over = rules.check_delivery(clean.amount, remaining, confirmed_over=clean.confirm_over,
                                withdrawn=row.withdrawn_at is not None, delivered_on=clean.delivered_on,
                                today=clock.today_local())
    assert clean.delivered_on is not None  # a required field: the form refuses it empty
    return _write_delivery(session, item, row, viewer, clean.money, clean.quantity, clean.delivered_on,
                           clean.evidence, evidence_files, over=over)


def _write_delivery(session: Session, item: Item, row: Pledge, viewer: Viewer, money: Any, quantity: Any,
                    delivered_on: date, evidence: str, evidence_files: Any, *, over: bool,
                    **payload: Any) -> Delivery:
    """One delivery of a pledge: stored, audited and given its evidence files."""
    d = Delivery(item_id=row_id(item), pledge_id=row_id(row), household_id=row.household_id,
                 money=money, quantity=quantity, delivered_on=delivered_on, evidence=evidence,
                 over_confirmed=over, recorded_by_id=viewer.id, created_at=clock.now())
    session.add(d)
    session.flush()
    _record(session, item, "delivery_recorded", viewer, "village_head",
            {"delivery_id": d.id, "pledge_id": row.id, "kind": row.kind,
             "amount": _amount(row.kind, money, quantity), "unit": row.unit, "over_confirmed": over,
             **payload})
    attach_evidence(session, item, viewer, evidence_files, purpose="delivery", owner_kind="delivery",
                    owner_id=row_id(d), role="village_head", field="evidence_files")
    return d


NO_DELIVERY = N_("Please enter at least one delivery: an amount in a row of the table.")
NO_EVIDENCE = N_("Please describe the evidence or add a photo: it covers every delivery of this table.")
OVER_IN_TABLE = N_("This is more than what is left of the pledge (see Remaining). Record a larger delivery "
                   "on the pledge's own page, where it can be confirmed.")
NOT_IN_TABLE = N_("A row of the table is not a pledge of this item: reload the page and enter it again.")
ROW_REFUSED = N_("Nothing was saved: please correct the rows marked.")
# The evidence text of a batch that has only a photo (the column is required; shown as written).
PHOTO_ONLY = "Ảnh bằng chứng kèm theo"


def record_deliveries(session: Session, item: Item, viewer: Viewer, clean: DeliveryBatchForm,
                      evidence_files: Sequence[Prepared] | None = None) -> list[Delivery]:
    """Several deliveries from the desk's table in one post, all or nothing: every row is read by its
    pledge's kind and checked like one delivery (rules.check_delivery); a bad row gets its own message next
    to its inputs and nothing is saved. Each delivery is recorded and audited as a single one, with the
    batch's note and photo as its evidence."""
    facts = _facts(session, item)
    rules.check_village_head(facts, viewer.facts())
    rules.check_stage_do(facts)
    rows = clean.rows
    if not rows:
        first = clean.first_row
        raise Invalid(NO_DELIVERY, field=f"amount_{first}" if first is not None else None)
    errors: dict[str, Any] = {}
    if len(clean.evidence) < 3 and not evidence_files:
        errors["evidence"] = NO_EVIDENCE if not clean.evidence else N_(
            "Please describe the evidence: a handover record, a receipt, a photo (3 to 300 characters).")
    evidence = clean.evidence or PHOTO_ONLY
    pledges = {p.id: (p, code) for p, code in session.execute(
        select(Pledge, col(Household.code)).join(Household, col(Household.id) == col(Pledge.household_id))
        .where(col(Pledge.item_id) == item.id, col(Pledge.id).in_(sorted(rows) or [-1]))).all()}
    d = _delivered_subquery(item.id)
    done = {pid: (money, centi) for pid, money, centi in session.execute(
        select(d.c.pledge_id, d.c.money, d.c.centi).where(d.c.pledge_id.in_(sorted(rows) or [-1]))).all()}
    today = clock.today_local()
    ready: list[tuple[Pledge, DeliveryForm]] = []
    for pledge_id, (amount, on) in rows.items():
        # A row that is not in the table any more (another item's pledge, a withdrawn one) has no inputs to
        # show its message next to: the whole table is refused with it.
        found = pledges.get(pledge_id)
        if found is None:
            raise Invalid(NOT_IN_TABLE)
        row, household_code = found
        if row.withdrawn_at is not None:
            raise Invalid(N_("The pledge of household %(code)s was withdrawn; nothing can be delivered "
                             "against it."), code=household_code)
        try:
            form = DeliveryForm.for_kind(row.kind).parse({"amount": amount, "delivered_on": on or "",
                                                          "evidence": evidence})
        except Invalid as exc:
            for name, message in exc.errors.items():
                errors[f"on_{pledge_id}" if name == "delivered_on" else f"amount_{pledge_id}"] = message
            continue
        money, centi = done.get(pledge_id, (0, 0))
        delivered = int(money or 0) if row.kind == rules.MONEY else Decimal(int(centi or 0)) / HUNDRED
        remaining = rules.open_amount(rules.pledged_amount(row.kind, row.money, row.quantity), delivered)
        try:
            rules.check_delivery(form.amount, remaining, confirmed_over=False,
                                 withdrawn=row.withdrawn_at is not None, delivered_on=form.delivered_on,
                                 today=today)
        except Invalid as exc:
            for name, message in exc.errors.items():
                errors[f"on_{pledge_id}" if name == "delivered_on" else f"amount_{pledge_id}"] = (
                    OVER_IN_TABLE if name == "amount" else message)
            continue
        ready.append((row, form))
    if errors:
        raise Invalid(ROW_REFUSED, errors=errors)
    out = []
    for row, form in ready:
        assert form.delivered_on is not None  # a required field: the form refused it empty
        delivery = _write_delivery(session, item, row, viewer, form.money, form.quantity, form.delivered_on,
                                   evidence, evidence_files, over=False, batch=len(ready))
        out.append(delivery)
    return out


def dispute(session: Session, item: Item, delivery_id: int, viewer: Viewer, form: DisputeForm) -> Delivery:
    """A household says a delivery recorded for it is wrong. The dispute stays with the record."""
    d = session.get(Delivery, delivery_id)
    if d is None or d.item_id != item.id:
        raise NotFound(N_("This delivery does not exist."))
    own = any(h.id == d.household_id for h in represented_households(session, viewer))
    rules.check_dispute(own_household=own, already_disputed=d.disputed_at is not None)
    d.disputed_at = clock.now()
    d.disputed_by_id = viewer.id
    d.dispute_text = form.dispute_text
    _record(session, item, "delivery_disputed", viewer, "household", {"delivery_id": d.id})
    return d


# --- budget -----------------------------------------------------------------------------------------------

def add_budget_line(session: Session, item: Item, viewer: Viewer, clean: BudgetLineForm) -> BudgetLine:
    facts = _facts(session, item)
    rules.check_village_head(facts, viewer.facts())
    rules.check_stage_do(facts)
    assert clean.amount is not None  # a required field: the form refuses it empty
    line = BudgetLine(item_id=row_id(item), source=clean.source, label=clean.label, amount=clean.amount,
                      created_at=clock.now(), created_by_id=viewer.id)
    session.add(line)
    session.flush()
    _record(session, item, "budget_line_added", viewer, "village_head",
            {"budget_line_id": line.id, "source": clean.source, "label": clean.label, "amount": clean.amount})
    return line


def add_spending(session: Session, item: Item, viewer: Viewer, clean: SpendingForm,
                 document: Sequence[Prepared] | None = None) -> Spending:
    facts = _facts(session, item)
    rules.check_village_head(facts, viewer.facts())
    rules.check_stage_do(facts)
    line_ids = set(session.execute(select(col(BudgetLine.id))
                                   .where(col(BudgetLine.item_id) == item.id)).scalars())
    rules.check_spending(clean.budget_line_id, line_ids, clean.spent_on, clock.today_local())
    # Required fields: the form refuses them empty (and check_spending the line of another item).
    assert clean.budget_line_id is not None and clean.amount is not None and clean.spent_on is not None
    row = Spending(item_id=row_id(item), budget_line_id=clean.budget_line_id, amount=clean.amount,
                   spent_on=clean.spent_on, description=clean.description, document_ref=clean.document_ref,
                   created_at=clock.now(), created_by_id=viewer.id)
    session.add(row)
    session.flush()
    _record(session, item, "spending_added", viewer, "village_head",
            {"spending_id": row.id, "budget_line_id": clean.budget_line_id, "amount": clean.amount,
             "document_ref": clean.document_ref})
    attach_evidence(session, item, viewer, document, purpose="spending", owner_kind="spending",
                    owner_id=row_id(row), role="village_head", field="document")
    return row


# --- progress ---------------------------------------------------------------------------------------------

def post_progress(session: Session, item: Item, viewer: Viewer, clean: ProgressForm,
                  photos: Sequence[Prepared] | None = None) -> ProgressUpdate:
    facts = _facts(session, item)
    rules.check_village_head(facts, viewer.facts())
    rules.check_stage_do(facts)
    assert clean.percent is not None  # a required field: the form refuses it empty
    row = ProgressUpdate(item_id=row_id(item), percent=clean.percent, text=clean.text, created_at=clock.now(),
                         created_by_id=viewer.id)
    session.add(row)
    session.flush()
    _record(session, item, "progress_posted", viewer, "village_head",
            {"progress_id": row.id, "percent": clean.percent, "text": clean.text})
    attach_evidence(session, item, viewer, photos, purpose="progress", owner_kind="progress",
                    owner_id=row_id(row), role="village_head", accept=(media_rules.PHOTO,))
    return row


# --- reading: the public totals and lists ------------------------------------------------------------------

def _totals_statements():
    """The two statements of totals(), built once (building a select() costs more than running it)."""
    item_id = bindparam("item_id")
    d = _delivered_subquery(item_id)
    active = col(Pledge.withdrawn_at).is_(None)
    per_kind = (
        select(col(Pledge.kind), col(Pledge.description), col(Pledge.unit),
               func.count(),
               func.coalesce(func.sum(col(Pledge.money)), 0),
               func.coalesce(func.sum(func.round(col(Pledge.quantity) * 100)), 0),
               func.coalesce(func.sum(d.c.money), 0),
               func.coalesce(func.sum(d.c.centi), 0))
        .outerjoin(d, d.c.pledge_id == col(Pledge.id))
        .where(col(Pledge.item_id) == item_id, active)
        .group_by(col(Pledge.kind), col(Pledge.description), col(Pledge.unit)))
    disputed_deliveries = (select(func.count()).select_from(Delivery)
                           .where(col(Delivery.item_id) == item_id, col(Delivery.disputed_at).is_not(None))
                           .scalar_subquery())
    counts = (select(func.count(func.distinct(case((active, col(Pledge.household_id))))),
                     func.count(case((col(Pledge.withdrawn_at).is_not(None), 1))), disputed_deliveries)
              .where(col(Pledge.item_id) == item_id))
    return per_kind, counts


_TOTALS_PER_KIND, _TOTALS_COUNTS = (Plain(s) for s in _totals_statements())


def totals(session: Session, item: Item, setting: ImplementationSetting | None = None) -> Totals:
    """Pledged, delivered and needed per kind, households pledged out of the register: exact, in 3 queries
    (and the open pledges while the work goes on)."""
    rows = _TOTALS_PER_KIND.rows(session, {"item_id": item.id})
    kinds = {k: KindTotal(k) for k in (rules.LAND, rules.MONEY, rules.LABOUR)}
    materials = []
    for kind, description, unit, n, money, centi, d_money, d_centi in rows:
        if kind == rules.MATERIALS:
            materials.append((description, unit, Decimal(int(centi)) / HUNDRED,
                              Decimal(int(d_centi)) / HUNDRED))
            continue
        t = kinds[kind]
        t.pledges += n
        if kind == rules.MONEY:
            t.pledged += int(money)
            t.delivered += int(d_money)
        else:
            t.pledged += Decimal(int(centi)) / HUNDRED
            t.delivered += Decimal(int(d_centi)) / HUNDRED
    if setting is not None:
        kinds[rules.LAND].needed = setting.needed_land_m2
        kinds[rules.MONEY].needed = setting.needed_money
        kinds[rules.LABOUR].needed = setting.needed_labour_days
    households, withdrawn, disputed = _TOTALS_COUNTS.rows(session, {"item_id": item.id}).first()
    register = active_households(session, item.village_id, clock.today_local())
    pledges_open = open_pledges(session, row_id(item)) if item.stage == Stage.DO else 0
    return Totals(kinds, households, register, pledges_open, withdrawn, disputed,
                  sorted(materials, key=lambda m: m[0]))


_NAMED = (select(col(Household.id), col(Household.head_name))
          .join(Pledge, col(Pledge.household_id) == col(Household.id))
          .where(col(Pledge.item_id) == bindparam("item_id"), col(Pledge.withdrawn_at).is_(None),
                 col(Household.head_name) != "")
          .distinct())
_NAMED_TOTAL = Plain(select(func.count()).select_from(_NAMED.subquery()))
_NAMED_PAGE = Plain(_NAMED.order_by(col(Household.head_name), col(Household.id))
                    .offset(bindparam("offset", type_=Integer)).limit(bindparam("limit", type_=Integer)))


def public_names(session: Session, item: Item, limit: int = 40, page: int = 1) -> tuple[list[str], int]:
    """A page of the pledging households' heads' names, by name, and how many there are. The caller shows
    them only where the decision says they may be published (ImplementationSetting.publish_pledger_names)."""
    total = int(_NAMED_TOTAL.rows(session, {"item_id": item.id}).scalar())
    rows = _NAMED_PAGE.rows(session, {"item_id": item.id, "offset": (page - 1) * limit, "limit": limit})
    return [name for _id, name in rows], total


def _budget_statement():
    spent = (select(col(Spending.budget_line_id), func.sum(col(Spending.amount)).label("spent"))
             .where(col(Spending.item_id) == bindparam("item_id")).group_by(col(Spending.budget_line_id))
             .subquery())
    return (select(BudgetLine, func.coalesce(spent.c.spent, 0))
            .outerjoin(spent, spent.c.budget_line_id == col(BudgetLine.id))
            .where(col(BudgetLine.item_id) == bindparam("item_id")).order_by(col(BudgetLine.id))
            .limit(bindparam("limit", type_=Integer)))


_BUDGET = PlainModels(_budget_statement(), BudgetLine, extra=1)


def budget(session: Session, item: Item, limit: int = 100) -> Budget:
    """The budget's lines (copies, to show) with what was spent on each."""
    rows = _BUDGET.with_extra(session, {"item_id": item.id, "limit": limit})
    return Budget([BudgetRow(line, int(s)) for line, s in rows])


def spending_page(session: Session, item: Item, page: int = 1, size: int = 20) -> tuple[list[Spending], int]:
    total = session.execute(select(func.count()).select_from(Spending)
                            .where(col(Spending.item_id) == item.id)).scalar_one()
    return latest_spending(session, item, size, offset=(page - 1) * size), total


# The status page only shows these: plain rows made into models of no session (civic.db.PlainModels).
_LATEST_SPENDING = PlainModels(select(Spending).where(col(Spending.item_id) == bindparam("item_id"))
                               .order_by(col(Spending.spent_on).desc(), col(Spending.id).desc())
                               .offset(bindparam("offset", type_=Integer))
                               .limit(bindparam("limit", type_=Integer)), Spending)


def latest_spending(session: Session, item: Item, limit: int = 10, *, offset: int = 0) -> list[Spending]:
    """The latest spending, newest first (the status page: spending_page without its count)."""
    return _LATEST_SPENDING.objects(session, {"item_id": item.id, "offset": offset, "limit": limit})


_PROGRESS = PlainModels(select(ProgressUpdate).where(col(ProgressUpdate.item_id) == bindparam("item_id"))
                        .order_by(col(ProgressUpdate.created_at).desc(), col(ProgressUpdate.id).desc())
                        .limit(bindparam("limit", type_=Integer)), ProgressUpdate)


def progress(session: Session, item: Item, limit: int = 10) -> list[ProgressUpdate]:
    """The latest progress updates, newest first."""
    return _PROGRESS.objects(session, {"item_id": item.id, "limit": limit})


def pledge_rows(session: Session, item: Item, *, household_ids: list[int] | None = None,
                pledge_id: int | None = None, page: int = 1, size: int = 25) -> tuple[list[PledgeRow], int]:
    """Pledges with what was delivered against each, for the village head's page, a household or one pledge's
    page (2 queries)."""
    d = _delivered_subquery(item.id)
    where = [col(Pledge.item_id) == item.id]
    if household_ids is not None:
        where.append(col(Pledge.household_id).in_(household_ids or [-1]))
    if pledge_id is not None:
        where.append(col(Pledge.id) == pledge_id)
    total = session.execute(select(func.count()).select_from(Pledge).where(*where)).scalar_one()
    rows = session.execute(
        select(Pledge, col(Household.code), func.coalesce(d.c.money, 0), func.coalesce(d.c.centi, 0),
               func.coalesce(d.c.n, 0), col(Household.head_name))
        .join(Household, col(Household.id) == col(Pledge.household_id))
        .outerjoin(d, d.c.pledge_id == col(Pledge.id))
        .where(*where).order_by(col(Pledge.withdrawn_at).is_not(None), col(Household.code), col(Pledge.id))
        .offset((page - 1) * size).limit(size)).all()
    out = []
    for p, code, money, centi, n, head in rows:
        delivered = int(money) if p.kind == rules.MONEY else Decimal(int(centi)) / HUNDRED
        out.append(PledgeRow(p, code, delivered, int(n), head or ""))
    return out, total


def recent_deliveries(session: Session, item: Item, limit: int = 10) -> list[tuple[Delivery, str, str, str]]:
    """The item's latest deliveries with the household's code and the pledge's kind and unit, newest first
    (what the desk shows after a table was saved)."""
    rows = session.execute(
        select(Delivery, col(Household.code), col(Pledge.kind), col(Pledge.unit))
        .join(Pledge, col(Pledge.id) == col(Delivery.pledge_id))
        .join(Household, col(Household.id) == col(Delivery.household_id))
        .where(col(Delivery.item_id) == item.id)
        .order_by(col(Delivery.created_at).desc(), col(Delivery.id).desc()).limit(limit)).all()
    return [(d, code, kind, unit) for d, code, kind, unit in rows]


def deliveries_for(session: Session, item: Item, household_ids: list[int], limit: int = 100
                   ) -> list[Delivery]:
    if not household_ids:
        return []
    return list(session.execute(select(Delivery).where(col(Delivery.item_id) == item.id,
                                                       col(Delivery.household_id).in_(household_ids))
                                .order_by(col(Delivery.delivered_on).desc(), col(Delivery.id).desc())
                                .limit(limit)).scalars())

