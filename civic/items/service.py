"""Items: submit, find, list and search, and the public projection of one item."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    column,
    delete,
    func,
    insert,
    or_,
    select,
    table,
    text,
    true,
    union,
)
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, col

from civic import clock
from civic.accounts.models import User
from civic.accounts.service import Viewer
from civic.areas import service as areas
from civic.areas.models import Commune
from civic.audit import rules as audit_rules
from civic.audit import service as audit
from civic.audit.models import AuditEvent
from civic.config import get_settings
from civic.core.kinds import Stage
from civic.db import Plain, PlainModels, row_id, transaction_connection
from civic.errors import N_, Forbidden, NotFound
from civic.items import rules
from civic.items.models import Category, Item, ItemAddition, ItemCount, ItemEdit
from civic.items.schemas import MANAGE_TOKEN_MAX, AdditionForm, EditForm, SubmitForm

# --- reading ----------------------------------------------------------------------------------------

def categories(session: Session, commune_id: int) -> list[Category]:
    return list(session.execute(select(Category).where(col(Category.commune_id) == commune_id,
                                                       col(Category.active))
                                .order_by(col(Category.position), col(Category.id))).scalars())


# Statements every status page or submission runs, built once: building a select() costs more than running
# one (civic/web/views.py, scripts/bench_cpu.py --profile); each runs with its values as parameters.
_BY_CODE = select(Item).where(col(Item.code) == bindparam("code"))
_MADE_BY = select(col(Item.id)).where(col(Item.client_token) == bindparam("token"))
_LAST_SEQ = select(func.max(col(Item.seq))).where(col(Item.commune_id) == bindparam("commune_id"),
                                                  col(Item.year) == bindparam("year"))
_MADE_BY_ID = Plain(_MADE_BY)
_ACTIVE_CATEGORIES = Plain(select(col(Category.id)).where(col(Category.commune_id) == bindparam("commune_id"),
                                                          col(Category.active)))
# Run as Plain inside the writing transaction, which every other submission waits for.
_MADE_BY_AND_LAST_SEQ = Plain(select(_MADE_BY.scalar_subquery().label("made_by"),
                                     _LAST_SEQ.scalar_subquery().label("last_seq")))


_SHOWN_BY_CODE = PlainModels(_BY_CODE, Item)


def get_by_code(session: Session, code: str, *, shown: bool = False) -> Item:
    """The item of a code. `shown`: for a page that only shows it (the status page), a copy that belongs to
    no session, read without the ORM's layer (civic.db.PlainModels), which costs more than the read."""
    canonical = rules.parse_code(code)
    item = None
    if canonical and shown:
        item = next(iter(_SHOWN_BY_CODE.objects(session, {"code": canonical})), None)
    elif canonical:
        item = session.execute(_BY_CODE, {"code": canonical}).scalar_one_or_none()
    if item is None:
        raise NotFound(N_("No item has the code %(code)s."), code=(code or "")[:40])
    return item


def get_by_manage_token(session: Session, token: str) -> Item:
    """The item of a manage link, whether or not the link has expired (see manage_link_expired)."""
    if not token or len(token) > MANAGE_TOKEN_MAX:
        raise NotFound(N_("This manage link is not valid."))
    digest = hashlib.sha256(token.encode()).hexdigest()
    item = session.execute(select(Item).where(col(Item.manage_token_hash) == digest)).scalar_one_or_none()
    if item is None:
        raise NotFound(N_("This manage link is not valid."))
    return item


def manage_link_expired(item: Item) -> bool:
    """Has this item's manage link stopped working (some time after the item closed)?"""
    return rules.manage_link_expired(clock.as_utc(item.closed_at), clock.now())


def is_manage_token(item: Item, manage_token: str | None) -> bool:
    """Is this the item's private manage link token, and does the link still work?"""
    if not manage_token or not item.manage_token_hash:
        return False
    if not hmac.compare_digest(hashlib.sha256(manage_token.encode()).hexdigest(), item.manage_token_hash):
        return False
    return not manage_link_expired(item)


def is_author(item: Item, viewer: Viewer, manage_token: str | None = None) -> bool:
    if viewer.id is not None and item.reporter_id == viewer.id:
        return True
    return is_manage_token(item, manage_token)


# --- submitting -------------------------------------------------------------------------------------

@dataclass
class Submitted:
    item: Item
    created: bool
    manage_token: str | None  # only for its own submitter, of an item without an account
    # Did this submission come from whoever sent the item (always, for a new item)? A replay of somebody
    # else's client token gets the item (for its public code) and nothing private.
    own: bool = True
    # A repeat of the same text by the same reporter within minutes (rules.is_repeat): this is that item.
    repeat: bool = False


def _manage_token(client_token: str | None, submitter: str | None) -> str:
    """The private manage link's token: random; or, for a form with a client token sent from a known
    browser session, an HMAC under the server's secret of the client token and `submitter` (a secret
    that session held before the form was sent: its CSRF token). So the same browser retrying after a lost
    answer gets its link again, and nobody can make it without the server's secret and both values."""
    if client_token and submitter:
        key = get_settings().secret_key.encode()
        message = b"manage\0" + client_token.encode() + b"\0" + submitter.encode()
        digest = hmac.new(key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return secrets.token_urlsafe(32)


def _replay(existing: Item, client_token: str, viewer: Viewer, submitter: str | None) -> Submitted:
    """A form whose client token already made `existing`. Only its own submitter, recognised by the
    manage token its session derives again or by the account, gets anything more than the item's public
    code (OWASP ASVS 4.0 V4.2.1: no access to another user's record by knowing or guessing its key)."""
    token = _manage_token(client_token, submitter) if submitter and existing.manage_token_hash else None
    if token is not None and not hmac.compare_digest(hashlib.sha256(token.encode()).hexdigest(),
                                                     existing.manage_token_hash or ""):
        token = None
    own = token is not None or (viewer.id is not None
                                and viewer.id in (existing.reporter_id, existing.entered_by_id))
    return Submitted(existing, False, token, own)


@dataclass(frozen=True)
class SubmissionPlan:
    """What a submission stores that needs no writing: the form checked against the commune's villages
    and categories, the contact and asks kept, the search text, the digest and the folded text, and the
    manage link's token. Made by prepare_submission before the writing transaction, so that transaction
    only looks for a repeat, numbers the item, inserts it and appends its audit event."""

    replay: bool = False  # this form's client token had already made an item: submit() returns it
    anonymous: bool = True
    contact_name: str = ""
    contact_phone: str = ""
    asks: rules.ItemAsks = field(default_factory=rules.ItemAsks)
    search_text: str = ""
    title_sha256: str = ""
    text_key: tuple[str, str] = ("", "")
    text_digest: str = ""
    manage_token: str | None = None
    attributes: str = "{}"


def prepare_submission(session: Session, commune: Commune, form: SubmitForm, viewer: Viewer, *,
                       channel: str = "web", on_behalf: bool = False, require_contact: bool = True,
                       attributes: dict[str, Any] | None = None, submitter: str | None = None
                       ) -> SubmissionPlan:
    """The checks and the values of submit() that change nothing, read in any session (a page's read
    session, before the writing one opens). Raises what submit() would for the same form; a form whose
    client token already made an item is not checked again (submit() returns that item)."""
    if form.client_token and _made_by(session, form.client_token) is not None:
        return SubmissionPlan(replay=True)
    return _plan(session, commune, form, viewer, channel=channel, on_behalf=on_behalf,
                 require_contact=require_contact, attributes=attributes, submitter=submitter)


def _made_by(session: Session, client_token: str) -> Item | None:
    """The item a form's client token made, if any."""
    found = _MADE_BY_ID.rows(session, {"token": client_token}).first()
    return session.get(Item, found[0]) if found else None


def _plan(session: Session, commune: Commune, form: SubmitForm, viewer: Viewer, *, channel: str,
          on_behalf: bool, require_contact: bool, attributes: dict[str, Any] | None,
          submitter: str | None) -> SubmissionPlan:
    if on_behalf and not viewer.villages("village_head"):
        raise Forbidden(N_("Only a village head can file an item on behalf of a resident."))
    # The form's village, if it is the commune's and takes new items (a merged village takes none).
    village_ids = ({form.village_id} if form.village_id and areas.takes_items(session, row_id(commune),
                                                                               form.village_id) else set())
    if on_behalf:
        village_ids &= set(viewer.villages("village_head"))
    category_ids = set(_ACTIVE_CATEGORIES.rows(session, {"commune_id": commune.id}).scalars())
    anonymous = viewer.user is None or on_behalf
    rules.check_submission(form, village_ids=village_ids, category_ids=category_ids,
                           needs_phone=anonymous and not on_behalf and require_contact, needs_name=on_behalf)
    contact_name, contact_phone = rules.kept_contact(form, anonymous=anonymous)
    return SubmissionPlan(
        anonymous=anonymous, contact_name=contact_name, contact_phone=contact_phone,
        asks=rules.kept_asks(form),
        search_text=rules.searchable_text(form.title, form.description, form.address,
                                          stage=Stage.SUBMITTED, outcome=None,
                                          untriaged_detail=get_settings().untriaged_public_detail),
        # A digest, not the text: `civic audit verify` can check the item table's title while the chain
        # (which can never be edited) keeps no words a resident may later need redacted.
        title_sha256=audit_rules.text_digest(form.title),
        text_key=(key := rules.text_key(form.title, form.description)),
        text_digest=rules.text_digest(key),
        manage_token=_manage_token(form.client_token, submitter) if anonymous and channel != "api" else None,
        attributes=json.dumps(attributes or {}, ensure_ascii=False, sort_keys=True),
    )


def submit(session: Session, commune: Commune, form: SubmitForm, viewer: Viewer, *, channel: str = "web",
           on_behalf: bool = False, require_contact: bool = True, attributes: dict[str, Any] | None = None,
           partner: tuple[int, str] | None = None, submitter: str | None = None,
           recent_codes: Collection[str] = (), plan: SubmissionPlan | None = None) -> Submitted:
    """Create an item (or return the one this form's client token already created).

    `partner` (api key id, name) is the Open311 client that filed it, kept in the audit chain, and
    `attributes` the values of its category's Open311 attributes.

    `require_contact=False` (the Open311 channel) takes a submission without an account and without a
    phone; a phone that is given was checked by the form and is kept in the private contact fields.

    `submitter` is a secret the sending browser's session held when the form was shown (the web pages pass
    its CSRF token): a repeat of the form from that session gets the manage link again; a repeat from
    anyone else gets `own=False` and no manage link. An item filed through the API has no manage link:
    its answer never shows one.

    The same text sent again within minutes by the same reporter (the same account, the same phone, or
    the same browser session: `recent_codes` are the items it sent) returns the item it made, with
    `repeat=True`; only the account or the session that sent it gets it as its own.

    `plan` is what prepare_submission made of the same form with the same arguments before this
    transaction; without it, submit() makes it here.
    """
    client_token = form.client_token
    if plan is None or plan.replay:  # a form not checked yet: a replay is not checked again
        if client_token:
            existing = _made_by(session, client_token)
            if existing is not None:
                return _replay(existing, client_token, viewer, submitter)
        plan = _plan(session, commune, form, viewer, channel=channel, on_behalf=on_behalf,
                     require_contact=require_contact, attributes=attributes, submitter=submitter)
    anonymous, asks = plan.anonymous, plan.asks

    # Take the commune's chain head first: it serialises code allocation for the commune (and the look
    # for a repeat of the same text, so two quick sends cannot both make an item). Then one statement reads
    # the item this form's client token made meanwhile (a second tab, a retry after a lost answer) and the
    # commune's last number of the year.
    head = audit.lock_head(session, row_id(commune))
    year = clock.today_local().year
    made_by, last = _MADE_BY_AND_LAST_SEQ.rows(session, {
        "token": client_token, "commune_id": commune.id, "year": year}).first()
    if made_by is not None and client_token:
        existing = session.get(Item, made_by)
        assert existing is not None  # read in this transaction a moment ago
        return _replay(existing, client_token, viewer, submitter)
    earlier = _repeat_of(session, commune, plan.text_key, plan.text_digest, viewer, anonymous=anonymous,
                         on_behalf=on_behalf, phone=plan.contact_phone, recent_codes=recent_codes)
    if earlier is not None:
        return earlier
    now = clock.now()
    seq = (last or 0) + 1
    manage_token = plan.manage_token
    item = Item(
        commune_id=row_id(commune), code=rules.format_code(commune.code, year, seq), year=year, seq=seq,
        kind=form.kind, category_id=form.category_id, village_id=form.village_id, title=form.title,
        description=form.description, address=form.address, lat=form.lat, lng=form.lng,
        stage=Stage.SUBMITTED, reporter_id=None if anonymous else viewer.id,
        contact_name=plan.contact_name, contact_phone=plan.contact_phone, show_name=form.show_name,
        channel="assisted" if on_behalf else channel,
        entered_by_id=viewer.id if on_behalf else None, client_token=client_token,
        manage_token_hash=hashlib.sha256(manage_token.encode()).hexdigest() if manage_token else None,
        attributes=plan.attributes,
        ask_land_m2=asks.land_m2, ask_money=asks.money, ask_labour_days=asks.labour_days,
        ask_materials=asks.materials,
        search_text=plan.search_text, text_key_sha256=plan.text_digest,
        created_at=now, updated_at=now, stage_changed_at=now,
    )
    _insert_new(session, item)
    payload = {"code": item.code, "kind": item.kind, "village_id": item.village_id,
               "category_id": item.category_id, "channel": item.channel}
    payload["title_sha256"] = plan.title_sha256
    if asks.any:
        payload["asks"] = [k for k, v in (("land", asks.land_m2), ("money", asks.money),
                                          ("labour", asks.labour_days), ("materials", asks.materials)) if v]
    if partner is not None:
        payload["api_key_id"], payload["partner"] = partner
    if anonymous and not on_behalf and plan.contact_phone and form.notify_sms:
        payload["sms_consent"] = True  # the reporter's consent to be told by SMS (civic/notify follows)
    audit.record(session, commune_id=item.commune_id, item_id=item.id, action="submitted",
                 actor_id=viewer.id, actor_role="village_head" if on_behalf else "author", payload=payload,
                 locked=head)
    return Submitted(item, True, manage_token)


# A new item is written by one prebuilt INSERT on the transaction's connection, not by the session's unit
# of work (which cost about 0.4 ms of Python a submission, inside the one writer's turn), and then joins the
# session as if it had been read: what the transaction does with it afterwards (its photos, a later change)
# goes through the session as before.
_ITEM_COLUMNS = tuple(c.key for c in Item.__table__.columns if c.key != "id")  # type: ignore[attr-defined]
_INSERT_ITEM = insert(Item)


def _insert_new(session: Session, item: Item) -> None:
    session.flush()  # what the session holds is written first, as the unit of work would
    inserted = transaction_connection(session).execute(
        _INSERT_ITEM, {name: getattr(item, name) for name in _ITEM_COLUMNS}).inserted_primary_key
    assert inserted is not None
    item.id = inserted[0]
    make_transient_to_detached(item)
    session.add(item)


# The columns the look for a repeat reads of each recent item (plain rows: it loads no item it does not
# return).
_RECENT: tuple[Any, ...] = (col(Item.id), col(Item.code), col(Item.title), col(Item.description),
                            col(Item.created_at), col(Item.reporter_id), col(Item.entered_by_id),
                            col(Item.commune_id))
# A reporter's items of the last minutes with the same words (their digest), or from before the digest was
# kept (migration 0015r), newest first. Each half reads the digest's index (migration 0016k): a few rows
# however many items the reporter sent in those minutes (one phone may send thousands); the index of the
# column that names the reporter would read all of them. On SQLite the statement names its index, as its
# planner (without statistics) may take the reporter's instead. Plain: read inside the writing transaction.
_MINE_SQL = ("SELECT {columns} FROM item{hint} WHERE {who} = :who AND commune_id = :commune_id "
             "AND text_key_sha256 {words} AND created_at > :since")
_MINE = {name: {dialect: Plain(text(" UNION ALL ".join(
    _MINE_SQL.format(columns=", ".join(c.key for c in _RECENT), hint=hint, who=name, words=words)
    for words in ("= :digest", "IS NULL")) + " ORDER BY id DESC LIMIT 20")
    .bindparams(bindparam("since", type_=_RECENT[4].type)).columns(*_RECENT))  # [4]: created_at's type
    for dialect, hint in (("sqlite", " INDEXED BY ix_item_text_key_created"), ("postgresql", ""))}
    for name in ("entered_by_id", "reporter_id", "contact_phone")}
_SAME_WORDS = or_(col(Item.text_key_sha256) == bindparam("digest"), col(Item.text_key_sha256).is_(None))
# The items a browser session sent, by code alone (its unique index: with the commune too, SQLite may scan
# the commune's items).
_BY_CODES = select(*_RECENT).where(col(Item.code).in_(bindparam("codes", expanding=True)), _SAME_WORDS)


def _repeat_of(session: Session, commune: Commune, key: tuple[str, str], digest: str, viewer: Viewer, *,
               anonymous: bool, on_behalf: bool, phone: str, recent_codes: Collection[str]
               ) -> Submitted | None:
    """The item this reporter sent with the same text a few minutes ago, if any (rules.is_repeat): among
    the newest 20 of the reporter's items of the last minutes and those its browser session sent, with the
    same words (`digest`, rules.text_digest of `key`). Each is read by its own index (the reporter's
    account, phone or village head, and the codes), never by a scan of every item the commune received in
    those minutes."""
    now = clock.now()
    since = now - rules.REPEAT_WINDOW
    mine: tuple[str, Any] | None = None
    if on_behalf and viewer.id is not None:
        mine = ("entered_by_id", viewer.id)
    elif not anonymous and viewer.id is not None:
        mine = ("reporter_id", viewer.id)
    elif phone:
        mine = ("contact_phone", phone)
    codes = [c for c in list(recent_codes)[-10:] if isinstance(c, str)]
    rows: dict[int, Any] = {}
    connection = session.connection()  # plain rows: the ORM's layer would only cost time
    if mine is not None:
        params = {"who": mine[1], "since": since, "commune_id": commune.id, "digest": digest}
        for row in _MINE[mine[0]][connection.dialect.name].rows(session, params):
            rows[row.id] = row
    if codes:
        for row in connection.execute(_BY_CODES, {"codes": codes, "digest": digest}):
            if row.commune_id == commune.id and clock.as_utc(row.created_at) > since:
                rows[row.id] = row
    for item_id in sorted(rows, reverse=True)[:20]:
        row = rows[item_id]
        if rules.is_repeat_of(key, now, earlier_title=row.title, earlier_description=row.description,
                              earlier_at=clock.as_utc(row.created_at)):
            own = row.code in codes or (viewer.id is not None
                                        and viewer.id in (row.reporter_id, row.entered_by_id))
            item = session.get(Item, item_id)
            assert item is not None  # read in this transaction a moment ago
            return Submitted(item, False, None, own, repeat=True)
    return None


# --- after sending: the reporter edits (before triage) and adds ------------------------------------------

def _check_author(is_author: bool) -> None:
    if not is_author:
        raise Forbidden(N_("Only the resident who sent this item can change it or add to it."))


def edit(session: Session, item: Item, viewer: Viewer, form: EditForm, *, is_author: bool) -> ItemEdit:
    """The reporter's new title and text, before triage; the old ones stay in `item_edit` for staff."""
    _check_author(is_author)
    rules.check_editable(item.stage)
    rules.check_edit_changes(item.title, item.description, form.title, form.description)
    now = clock.now()
    change = ItemEdit(item_id=row_id(item), old_title=item.title, old_description=item.description,
                      new_title=form.title, new_description=form.description, edited_by_id=viewer.id,
                      created_at=now)
    session.add(change)
    item.title, item.description = form.title, form.description
    reindex(item)
    item.updated_at = now
    session.flush()
    # Digests only: the chain keeps no words a resident may later need redacted.
    audit.record(session, commune_id=item.commune_id, item_id=item.id, action="item_edited",
                 actor_id=viewer.id, actor_role="author",
                 payload={"edit_id": change.id, "title_sha256": audit_rules.text_digest(item.title),
                          "text_sha256": audit_rules.text_digest(item.description)})
    return change


def add(session: Session, item: Item, viewer: Viewer, form: AdditionForm, *, photos: int, photos_before: int,
        is_author: bool) -> ItemAddition:
    """A dated addition of information (and, attached by the caller, `photos` photos, the item having
    `photos_before` of the reporter's already) at any stage."""
    _check_author(is_author)
    rules.check_addition(form.body, photos, photos_before)
    addition = ItemAddition(item_id=row_id(item), body=form.body, created_by_id=viewer.id,
                            created_at=clock.now())
    session.add(addition)
    item.updated_at = addition.created_at
    session.flush()
    audit.record(session, commune_id=item.commune_id, item_id=item.id, action="item_added_to",
                 actor_id=viewer.id, actor_role="author",
                 payload={"addition_id": addition.id, "photos": photos,
                          "text_sha256": audit_rules.text_digest(form.body) if form.body else ""})
    return addition


# Shown, never changed: plain rows made into models of no session (civic.db.PlainModels).
_ADDITIONS = PlainModels(select(ItemAddition).where(col(ItemAddition.item_id) == bindparam("item_id"))
                         .order_by(col(ItemAddition.id)).limit(200), ItemAddition)
_EDITS = PlainModels(select(ItemEdit).where(col(ItemEdit.item_id) == bindparam("item_id"))
                     .order_by(col(ItemEdit.id)).limit(200), ItemEdit)


def additions(session: Session, item_id: int) -> list[ItemAddition]:
    return _ADDITIONS.objects(session, {"item_id": item_id})


def edits(session: Session, item_id: int) -> list[ItemEdit]:
    return _EDITS.objects(session, {"item_id": item_id})


# --- lists ------------------------------------------------------------------------------------------

@dataclass
class ListFilters:
    village_id: int | None = None
    stage: str | None = None
    outcome: str | None = None
    kind: str | None = None
    category_id: int | None = None
    q: str = ""
    page: int = 1

    def query_args(self) -> dict[str, Any]:
        out = {k: v for k, v in (("village", self.village_id), ("stage", self.stage),
                                 ("outcome", self.outcome), ("kind", self.kind),
                                 ("category", self.category_id), ("q", self.q)) if v}
        return out


@dataclass
class Page:
    rows: list[Any]
    total: int
    page: int
    page_size: int
    # True when a text search matched more than SEARCH_COUNT_CAP items and counting stopped there.
    capped: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1


SEARCH_COUNT_CAP = 1000

LIST_COLUMNS = (col(Item.id), col(Item.code), col(Item.kind), col(Item.title), col(Item.stage),
                col(Item.outcome), col(Item.village_id), col(Item.category_id), col(Item.created_at),
                col(Item.updated_at))


ITEM_FTS = table("item_fts", column("rowid"))


def _fts_match(session: Session, words: list[str]) -> str | None:
    """The FTS5 query of the words of three letters or more (SQLite only: the trigram table `item_fts` of
    migration 0010s), each a quoted string, so no word is read as an FTS operator."""
    indexed = [w for w in words if len(w) >= 3] if _is_sqlite(session) else []
    return " AND ".join('"' + w.replace('"', '""') + '"' for w in indexed) or None


def _like(words: list[str]) -> list[Any]:
    out = []
    for word in words:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        out.append(col(Item.search_text).like(f"%{escaped}%", escape="\\"))
    return out


def _code_condition(q: str) -> Any | None:
    """A search that looks like an item's code, whole or in part ('NS-2026-0022', 'ns 2026 22', '0022')."""
    code = rules.code_search(q)
    if code is None:
        return None
    conds = [col(Item.seq) == code.seq]
    if code.year is not None:
        conds.append(col(Item.year) == code.year)
    else:  # the (commune, year, seq) index: one probe a year
        conds.append(col(Item.year).in_(range(rules.FIRST_YEAR, clock.today_local().year + 1)))
    if code.prefix is not None:
        conds.append(col(Item.code).like(f"{code.prefix}-%"))
    return and_(*conds)


def _is_sqlite(session: Session) -> bool:
    bind = session.get_bind()
    return bind.dialect.name == "sqlite"


SEARCH_WORDS = 6


def reindex(item: Item) -> None:
    """The item's search text after its words or its stage changed (the search indexes follow the column),
    and the digest of its words the look for a repeated submission reads by."""
    item.text_key_sha256 = rules.text_digest(rules.text_key(item.title, item.description))
    item.search_text = rules.searchable_text(item.title, item.description, item.address, stage=item.stage,
                                             outcome=item.outcome,
                                             untriaged_detail=get_settings().untriaged_public_detail)


# The list without a search: one statement for each set of filters given (village, stage, outcome, kind,
# category: 32 at most), built when first asked and run as plain rows, newest first, a page at a time.
_LIST_FILTERS = (("village_id", Item.village_id), ("stage", Item.stage), ("outcome", Item.outcome),
                 ("kind", Item.kind), ("category_id", Item.category_id))
_LISTS: dict[tuple[bool, ...], tuple[Plain, Plain]] = {}


def _filtered(given: tuple[bool, ...]) -> tuple[Plain, Plain]:
    """The page's rows and the count of the items the filters `given` match."""
    found = _LISTS.get(given)
    if found is None:
        chosen = [col(attr) == bindparam(name) for (name, attr), on in zip(_LIST_FILTERS, given, strict=True)
                  if on]
        where = and_(col(Item.commune_id) == bindparam("commune_id"), *chosen)
        rows = Plain(select(*LIST_COLUMNS).where(where)
                     .order_by(col(Item.created_at).desc(), col(Item.id).desc())
                     .offset(bindparam("offset", type_=Integer)).limit(bindparam("limit", type_=Integer)))
        found = _LISTS[given] = (rows, Plain(select(func.count()).select_from(Item).where(where)))
    return found


def _page_number(total: int, page: int, page_size: int) -> int:
    """The page asked for, within the pages there are (the last one past the end, the first when none)."""
    return max(1, min(page, max(1, -(-total // page_size))))


def list_public(session: Session, commune_id: int, f: ListFilters, page_size: int = 20) -> Page:
    if not f.q:
        values = {"commune_id": commune_id, **{name: getattr(f, name) for name, _attr in _LIST_FILTERS}}
        rows, count = _filtered(tuple(bool(values[name]) for name, _attr in _LIST_FILTERS))
        if f.outcome or f.kind or f.category_id:
            total = count.rows(session, values).scalar()
        else:
            total = counted(session, commune_id, village_id=f.village_id, stage=f.stage)
        page = _page_number(total, f.page, page_size)
        shown = rows.rows(session, {**values, "offset": (page - 1) * page_size, "limit": page_size})
        return Page(list(shown), total, page, page_size, False)
    conds: list[Any] = [col(Item.commune_id) == commune_id,
                        *(col(attr) == getattr(f, name) for name, attr in _LIST_FILTERS if getattr(f, name))]
    words = rules.fold(f.q).split()[:SEARCH_WORDS]
    code = rules.code_search(f.q)
    match = _fts_match(session, words)
    code_match = _code_condition(f.q)
    if code is not None and code.prefix and code.year:  # a whole code names one item: no text holds it
        words, match = [], None
        code_match = col(Item.code) == rules.format_code(code.prefix, code.year, code.seq)
    if match and code_match is None:
        # SQLite: the trigram index drives, newest (highest id) first, and stops after the page it needs;
        # the short words and the filters are checked on the items it yields.
        short = [w for w in words if len(w) < 3]
        stmt = (select(*LIST_COLUMNS).select_from(ITEM_FTS.join(Item, col(Item.id) == ITEM_FTS.c.rowid))
                .where(text("item_fts MATCH :match").bindparams(match=match), *conds, *_like(short)))
        order: tuple[Any, ...] = (ITEM_FTS.c.rowid.desc(),)
    else:
        order = (col(Item.created_at).desc(), col(Item.id).desc())
        if match and code_match is not None:
            # A partial code ('0022') is also looked for in the text: the ids of both, each from its
            # index (a code's digits are rare in the text), then the filters and the short words.
            short = [w for w in words if len(w) < 3]
            ids = union(select(ITEM_FTS.c.rowid.label("id")).where(
                text("item_fts MATCH :match").bindparams(match=match)),
                select(col(Item.id)).where(col(Item.commune_id) == commune_id, code_match))
            found = ids.subquery()
            stmt = (select(*LIST_COLUMNS).select_from(found.join(Item, col(Item.id) == found.c.id))
                    .where(*conds, or_(code_match, *_like(short)) if short else true()))
            order = (col(Item.id).desc(),)
        else:
            text_match = and_(*_like(words))
            stmt = select(*LIST_COLUMNS).where(*conds, text_match if code_match is None
                                               else or_(code_match, text_match) if words else code_match)
    # A text search is counted only so far: at most SEARCH_COUNT_CAP + 1 matches, then it stops.
    limited = stmt.with_only_columns(col(Item.id)).order_by(*order).limit(SEARCH_COUNT_CAP + 1).subquery()
    total = session.execute(select(func.count()).select_from(limited)).scalar_one()
    capped = total > SEARCH_COUNT_CAP
    return _page(session, stmt, min(total, SEARCH_COUNT_CAP), f.page, page_size, order, capped)


def _page(session: Session, stmt: Any, total: int, page: int, page_size: int, order: tuple[Any, ...],
          capped: bool = False) -> Page:
    page = _page_number(total, page, page_size)
    rows = session.execute(stmt.order_by(*order).offset((page - 1) * page_size).limit(page_size)).all()
    return Page(list(rows), total, page, page_size, capped)


def counted(session: Session, commune_id: int, *, village_id: int | None = None, stage: str | None = None
            ) -> int:
    """Items of the commune (of a village, in a stage) from the counters, without counting the items."""
    return int(_COUNTED[bool(village_id), bool(stage)].rows(
        session, {"commune_id": commune_id, "village_id": village_id, "stage": stage}).scalar())


# The counters' sums, with a village and a stage given or not.
_COUNTED = {(by_village, by_stage): Plain(
    select(func.coalesce(func.sum(col(ItemCount.n)), 0)).where(
        col(ItemCount.commune_id) == bindparam("commune_id"),
        col(ItemCount.village_id) == bindparam("village_id") if by_village else true(),
        col(ItemCount.stage) == bindparam("stage") if by_stage else true()))
    for by_village in (False, True) for by_stage in (False, True)}


def stage_counts(session: Session, commune_id: int) -> dict[str, int]:
    rows = session.execute(select(col(ItemCount.stage), func.sum(col(ItemCount.n)))
                           .where(col(ItemCount.commune_id) == commune_id)
                           .group_by(col(ItemCount.stage))).all()
    return {stage: int(n) for stage, n in rows if n}


def recount(session: Session, repair: bool = False) -> list[tuple[int, int, str, int, int]]:
    """Compare the counters with the items: (commune, village, stage, kept, actual) for each that differs.
    With `repair`, the counters are written again from the items."""
    actual = {(c, v, s): n for c, v, s, n in session.execute(
        select(col(Item.commune_id), col(Item.village_id), col(Item.stage), func.count())
        .group_by(col(Item.commune_id), col(Item.village_id), col(Item.stage))).all()}
    kept = {(c, v, s): n for c, v, s, n in session.execute(
        select(col(ItemCount.commune_id), col(ItemCount.village_id), col(ItemCount.stage),
               col(ItemCount.n))).all()}
    wrong = sorted((c, v, s, kept.get((c, v, s), 0), actual.get((c, v, s), 0))
                   for c, v, s in set(actual) | set(kept)
                   if kept.get((c, v, s), 0) != actual.get((c, v, s), 0))
    if repair and wrong:
        session.execute(delete(ItemCount))
        # New stamps: no list page cached before the repair is served after it.
        session.add_all(ItemCount(commune_id=c, village_id=v, stage=s, n=n, stamp=secrets.randbits(31))
                        for (c, v, s), n in actual.items())
        session.flush()
    return wrong


def latest_by_stage(session: Session, commune_id: int, stages: tuple[str, ...], per_stage: int = 3
                    ) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for stage in stages:
        out[stage] = list(session.execute(
            select(*LIST_COLUMNS).where(col(Item.commune_id) == commune_id, col(Item.stage) == stage)
            .order_by(col(Item.created_at).desc(), col(Item.id).desc()).limit(per_stage)).all())
    return out


def my_items(session: Session, user_id: int, limit: int = 100) -> list[Any]:
    return list(session.execute(select(*LIST_COLUMNS).where(col(Item.reporter_id) == user_id)
                                .order_by(col(Item.created_at).desc()).limit(limit)).all())


# --- the public timeline ----------------------------------------------------------------------------

@dataclass
class TimelineEntry:
    action: str
    at: datetime
    role: str
    actor_name: str  # officials by name; residents never by contact
    payload: dict[str, Any]
    seq: int = 0  # the event's place in the commune's chain: the timeline pages by it


_TIMELINE = Plain(select(col(AuditEvent.action), col(AuditEvent.created_at), col(AuditEvent.actor_role),
                         col(AuditEvent.payload), col(AuditEvent.actor_id), col(User.display_name),
                         col(AuditEvent.seq))
                  .outerjoin(User, col(User.id) == col(AuditEvent.actor_id))
                  .where(col(AuditEvent.item_id) == bindparam("item_id")).order_by(col(AuditEvent.seq))
                  .limit(bindparam("limit", type_=Integer)))


def timeline(session: Session, item: Item, limit: int = 20_000) -> list[TimelineEntry]:
    """Every event of the item, oldest first (civic/web/timeline.py folds and pages them)."""
    rows = _TIMELINE.rows(session, {"item_id": item.id, "limit": limit})
    return [TimelineEntry(action, clock.as_utc(at), role,
                          _public_name(role, name, actor_id, item.show_name, item.contact_name),
                          json.loads(payload), seq)
            for action, at, role, payload, actor_id, name, seq in rows]


def _public_name(role: str, account_name: str | None, actor_id: int | None, show_name: bool,
                 contact_name: str) -> str:
    """Officials by name; the reporter only if they chose to show it."""
    if role != "author":
        return account_name or ""
    if not show_name:
        return ""
    return contact_name or (account_name if actor_id is not None else "") or ""


@dataclass
class FeedEntry:
    seq: int
    code: str
    title: str
    entry: TimelineEntry


def public_events(session: Session, *, item_id: int | None = None, village_id: int | None = None,
                  limit: int = 50) -> list[FeedEntry]:
    """The latest public changes of one item or of a village's items, newest first (for feeds)."""
    stmt = (select(col(AuditEvent.seq), col(AuditEvent.action), col(AuditEvent.created_at),
                   col(AuditEvent.actor_role), col(AuditEvent.payload), col(AuditEvent.actor_id),
                   col(User.display_name), col(Item.code), col(Item.title), col(Item.show_name),
                   col(Item.contact_name))
            .join(Item, col(Item.id) == col(AuditEvent.item_id))
            .outerjoin(User, col(User.id) == col(AuditEvent.actor_id)))
    if item_id is not None:
        stmt = stmt.where(col(AuditEvent.item_id) == item_id)
    if village_id is not None:
        stmt = stmt.where(col(Item.village_id) == village_id)
    rows = session.execute(stmt.order_by(col(AuditEvent.id).desc()).limit(limit)).all()
    return [FeedEntry(seq, code, title, TimelineEntry(action, clock.as_utc(at), role,
                                                      _public_name(role, name, actor_id, show, contact),
                                                      json.loads(payload)))
            for seq, action, at, role, payload, actor_id, name, code, title, show, contact in rows]


_DISPLAY_NAME = Plain(select(col(User.display_name)).where(col(User.id) == bindparam("id")))


def reporter_display(session: Session, item: Item) -> str:
    """The reporter's name when they chose to show it, else ''. Never a phone or an email."""
    if not item.show_name:
        return ""
    if item.contact_name:
        return item.contact_name
    if item.reporter_id:
        return _DISPLAY_NAME.rows(session, {"id": item.reporter_id}).scalar() or ""
    return ""
