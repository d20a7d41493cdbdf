"""Who hears about what, and the outbox rows that carry it.

`on_event` is called by `civic.audit.service.record` for every event, inside the transaction of the change
that caused it: the outbox rows it writes commit or roll back with that change. Following, confirming a
phone or an address, preferences and stopping are the other services here."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlmodel import Session, col

from civic import clock
from civic.accounts import rules as account_rules
from civic.accounts.models import RoleGrant, User
from civic.accounts.service import Viewer
from civic.areas.models import Household, HouseholdMember
from civic.audit import service as audit
from civic.audit.models import AuditEvent
from civic.clock import LOCAL_TZ, as_utc
from civic.config import get_settings
from civic.db import row_id, transaction_connection
from civic.deliberation.models import Meeting
from civic.errors import N_, Conflict, Forbidden, Invalid, NotFound
from civic.items.models import Item
from civic.notify import channels, rules, texts
from civic.notify.models import Follow, NotifyPreference, NotifyStop, Outbox
from civic.workflow.stages import TRANSITIONS

CODE_MINUTES = 15  # a phone's one-time code
LINK_HOURS = 48  # an e-mail address's confirmation link
CODE_TRIES = 5
CODES_PER_ADDRESS_HOUR = 3
DIGEST_HOUR = 18  # the daily digest leaves at 18:00 Vietnam time


@dataclass(frozen=True)
class Recipient:
    key: str  # u:<user> | f:<follow> | h:<household>
    channel: str
    address: str
    language: str = "vi"
    quiet_from: int | None = None
    quiet_to: int | None = None
    digest: bool = False


def address_hash(address: str) -> str:
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()


def configured() -> set[str]:
    return set(channels.available(get_settings()))


def _mac(key: str, digest: str) -> str:
    secret = get_settings().secret_key.encode()
    return hmac.new(secret, f"civic-notify-stop|{key}|{digest}".encode(), hashlib.sha256).hexdigest()[:32]


def stop_token(key: str, address: str) -> str:
    """`<recipient>.<address digest>.<HMAC>`: names who stops without a row per message (HMAC-SHA256 with
    the site's secret key; cheap enough for a village of 2,000 households)."""
    digest = address_hash(address)[:16]
    return f"{key.replace(':', '-')}.{digest}.{_mac(key, digest)}"


def read_stop_token(token: str) -> tuple[str, str]:
    parts = token.split(".")
    if len(parts) != 3 or len(token) > 120:
        raise NotFound(N_("This link is not valid."))
    key, digest, mac = parts[0].replace("-", ":", 1), parts[1], parts[2]
    if not hmac.compare_digest(mac, _mac(key, digest)):
        raise NotFound(N_("This link is not valid."))
    return key, digest


def stop_link(key: str, address: str) -> str:
    return texts.absolute(f"/notify/stop/{stop_token(key, address)}")


def item_link(item: Item) -> str:
    return texts.absolute(f"/items/{item.code}")


# --- recipients -----------------------------------------------------------------------------------------

def _preferences(session: Session, user_ids: Iterable[int]) -> dict[int, NotifyPreference]:
    ids = list(set(user_ids))
    if not ids:
        return {}
    return {p.user_id: p for p in session.execute(
        select(NotifyPreference).where(col(NotifyPreference.user_id).in_(ids))).scalars()}


def account_recipients(session: Session, user_ids: Iterable[int], usable: set[str]) -> list[Recipient]:
    ids = sorted(set(user_ids))
    if not ids:
        return []
    users = session.execute(select(User).where(col(User.id).in_(ids), col(User.is_active))).scalars().all()
    prefs = _preferences(session, ids)
    out = []
    for user in users:
        p = prefs.get(row_id(user))
        if p is not None and p.stopped:
            continue
        stored = p.channels if p is not None else "email,sms"
        if p is not None and not p.push_subscription:
            stored = ",".join(c for c in stored.split(",") if c != "push")
        for channel in rules.account_channels(stored, has_email=bool(user.email), configured=usable):
            address = {"email": user.email or "", "push": p.push_subscription if p else ""}.get(channel,
                                                                                                user.phone)
            out.append(Recipient(f"u:{user.id}", channel, address, p.language if p else "vi",
                                 p.quiet_from if p else None, p.quiet_to if p else None,
                                 bool(p and p.digest)))
    return out


def follower_recipients(session: Session, item_id: int, usable: set[str]) -> list[Recipient]:
    rows = session.execute(select(Follow).where(col(Follow.item_id) == item_id,
                                                col(Follow.confirmed_at).is_not(None),
                                                col(Follow.stopped_at).is_(None))).scalars().all()
    out = account_recipients(session, [r.user_id for r in rows if r.user_id], usable)
    out += [Recipient(f"f:{r.id}", r.channel, r.address, r.language) for r in rows if not r.user_id]
    return out


def _holders(session: Session, commune_id: int, roles: set[str], village_id: int | None = None, *,
             on: date | None = None) -> list[int]:
    """The accounts holding one of `roles` in the commune (or one village of it) on the day `on` (today)."""
    q = select(RoleGrant).where(col(RoleGrant.commune_id) == commune_id, col(RoleGrant.role).in_(roles))
    if village_id is not None:
        q = q.where(col(RoleGrant.village_id) == village_id)
    day = clock.today_local() if on is None else on
    return [g.user_id for g in session.execute(q).scalars()
            if account_rules.in_force(g.starts_on, g.ends_on, day)]


def household_recipients(session: Session, village_id: int, usable: set[str],
                         household_ids: Iterable[int] | None = None) -> list[Recipient]:
    """Each household of the village register: its members' accounts, or the register's phone number."""
    today = clock.today_local()
    q = select(col(Household.id), col(Household.phone)).where(
        col(Household.village_id) == village_id, col(Household.active_from) <= today,
        or_(col(Household.active_to).is_(None), col(Household.active_to) > today))
    if household_ids is not None:
        q = q.where(col(Household.id).in_(list(household_ids)))
    households = session.execute(q).all()
    ids = [h for h, _ in households]
    members: dict[int, list[int]] = {}
    if ids:
        for hid, uid in session.execute(select(col(HouseholdMember.household_id),
                                               col(HouseholdMember.user_id)).where(col(HouseholdMember.household_id).in_(ids))):
            members.setdefault(hid, []).append(uid)
    out = account_recipients(session, [u for us in members.values() for u in us], usable)
    out += [Recipient(f"h:{hid}", "sms", phone) for hid, phone in households if hid not in members and phone]
    return out


# --- the outbox -------------------------------------------------------------------------------------------

def _stopped(session: Session, recipients: list[Recipient]) -> set[str]:
    hashes = {address_hash(r.address) for r in recipients if r.channel in ("sms", "email", "zalo")}
    found: set[str] = set()
    chunk = list(hashes)
    for n in range(0, len(chunk), 900):
        found.update(session.execute(select(col(NotifyStop.address_hash))
                                     .where(col(NotifyStop.address_hash).in_(chunk[n:n + 900]))).scalars())
    return found


def next_digest(now: datetime) -> datetime:
    local = now.astimezone(LOCAL_TZ)
    day = local.date() if local.hour < DIGEST_HOUR else local.date() + timedelta(days=1)
    return datetime.combine(day, time(DIGEST_HOUR), tzinfo=LOCAL_TZ).astimezone(now.tzinfo)


def enqueue(session: Session, *, commune_id: int, event_id: int | None, item: Item | None, kind: str,
            recipients: Iterable[Recipient], lines: Callable[[str], list[str]] | None = None,
            params: dict[str, Any] | None = None, urgent: bool = False, skip_user: int | None = None,
            usable: set[str] | None = None, code: str = "", link: str | None = None,
            stop: bool = True, key_extra: str = "", now: datetime | None = None,
            into: list[dict[str, Any]] | None = None) -> int:
    """Write one outbox row per (recipient, channel), once each; returns how many. `now` is the moment of
    the change the messages tell of (when a fan-out row is expanded later: the moment it was written); quiet
    hours and the digest hour count from it. With `into`, the rows are added to that list, not written."""
    usable = configured() if usable is None else usable
    now = clock.now() if now is None else now
    seen: set[tuple[str, str]] = set()
    picked = []
    for r in recipients:
        if (r.key, r.channel) in seen or not r.address or (skip_user and r.key == f"u:{skip_user}"):
            continue
        seen.add((r.key, r.channel))
        picked.append(r)
    stopped = _stopped(session, picked) if stop else set()
    code = code or (item.code if item else "")
    link = item_link(item) if link is None and item is not None else (link or "")
    written: dict[tuple[str, str], list[str]] = {}
    rows = []
    for r in picked:
        if stop and address_hash(r.address) in stopped:
            continue
        if (r.language, r.channel) not in written:
            written[(r.language, r.channel)] = lines(r.language) if lines else []
        w = texts.write(kind, r.language, code=code, channel=r.channel, link=link,
                        stop_link=stop_link(r.key, r.address) if stop else "",
                        lines=written[(r.language, r.channel)], **(params or {}))
        status = "queued" if r.channel in usable else "no_channel"
        after = rules.deliver_after(now, r.channel, urgent=urgent, quiet_from=r.quiet_from,
                                    quiet_to=r.quiet_to)
        if r.digest and not urgent and status == "queued":
            status, after = "held", max(after, next_digest(now))
        rows.append({"commune_id": commune_id, "event_id": event_id, "item_id": item.id if item else None,
                     "kind": kind, "channel": r.channel, "recipient": r.key, "address": r.address,
                     "subject": w.subject, "body": w.body,
                     "idempotency_key": rules.idempotency_key(event_id, r.key, r.channel, kind + key_extra),
                     "status": status, "attempts": 0, "urgent": urgent, "created_at": now,
                     "next_attempt_at": after, "claimed_at": None, "sent_at": None,
                     "last_error": "" if status != "no_channel" else "no channel"})
    if rows and key_extra:  # a reminder: once a day, however often the worker looks
        keys = [r["idempotency_key"] for r in rows]
        known = set(session.execute(select(col(Outbox.idempotency_key))
                                    .where(col(Outbox.idempotency_key).in_(keys))).scalars())
        rows = [r for r in rows if r["idempotency_key"] not in known]
    if into is not None:
        into.extend(rows)
    elif rows:
        session.execute(insert(Outbox), rows)
    return len(rows)


# --- what each event tells whom ---------------------------------------------------------------------------

def _payload(event: AuditEvent) -> dict[str, Any]:
    try:
        data = json.loads(event.payload)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _reason_line(reason: str) -> Callable[[str], list[str]]:
    return lambda locale: [texts.tr(locale, texts.REASON, reason=reason)] if reason else []


def _on_submitted(session: Session, event: AuditEvent, item: Item, data: dict[str, Any]) -> None:
    """The reporter follows the new item (in the submission's transaction); the village heads hear of it
    through one fan-out row, which the worker expands (_new_item_messages): the writing transaction of a
    submission reads no recipients."""
    follow: dict[str, Any] | None = None
    if item.reporter_id and not session.execute(select(col(Follow.id)).where(
            col(Follow.item_id) == item.id, col(Follow.user_id) == item.reporter_id)).first():
        follow = {"user_id": item.reporter_id}
    elif data.get("sms_consent") and item.contact_phone and not item.reporter_id:
        # The anonymous reporter ticked "tell me by SMS" on the form (the event records the consent).
        follow = {"channel": "sms", "address": item.contact_phone}
    if follow is not None:
        session.execute(insert(Follow).values(commune_id=item.commune_id, item_id=row_id(item),
                                              created_at=event.created_at, confirmed_at=event.created_at,
                                              **follow))
    # The message tells the title as it was sent, to everyone but the account that sent it.
    fanout(session, event, item, {"title": item.title[:120], "skip_user": event.actor_id})


def _on_move(session: Session, event: AuditEvent, item: Item, data: dict[str, Any]) -> None:
    usable = configured()
    recipients = follower_recipients(session, row_id(item), usable)
    reason = str(data.get("reason", ""))[:300]
    if data.get("outcome"):
        outcome = str(data["outcome"])
        enqueue(session, commune_id=item.commune_id, event_id=event.id, item=item, kind="closed",
                recipients=recipients, skip_user=event.actor_id, usable=usable, lines=_reason_line(reason),
                params={"outcome": texts.Lazy(texts.OUTCOME_NAMES.get(outcome, outcome))})
    elif data.get("to"):
        stage = str(data["to"])
        enqueue(session, commune_id=item.commune_id, event_id=event.id, item=item, kind="stage_changed",
                recipients=recipients, skip_user=event.actor_id, usable=usable, lines=_reason_line(reason),
                params={"stage": texts.Lazy(texts.STAGE_NAMES.get(stage, stage))})
    if event.action == "request_review":
        officials = _holders(session, item.commune_id, {"supervisor"})
        enqueue(session, commune_id=item.commune_id, event_id=event.id, item=item, kind="appeal",
                recipients=account_recipients(session, officials, usable), usable=usable,
                lines=_reason_line(reason))
    if event.action == "start_inspection":
        board = _holders(session, item.commune_id, {"inspection_member", "investment_monitor"})
        enqueue(session, commune_id=item.commune_id, event_id=event.id, item=item, kind="handed_over",
                recipients=account_recipients(session, board, usable), usable=usable)


def _on_meeting(session: Session, event: AuditEvent, item: Item, data: dict[str, Any]) -> None:
    """A whole village is invited: the request writes one fan-out row, the worker expands it into a message
    per household (a village of 2,000 households answers as fast as one of 20)."""
    if data.get("meeting_id"):
        fanout(session, event, item, {"meeting_id": data["meeting_id"]})


# One fan-out row: built once (building an insert's values costs more than running it), run with the row's
# values as parameters on the session's connection.
_FANOUT_ROW = insert(Outbox)


def fanout(session: Session, event: AuditEvent, item: Item, params: dict[str, Any]) -> None:
    """One row that stands for the messages of an event, in the event's transaction; the worker expands it
    (expand, FANOUT_KINDS) into one message per recipient in a transaction of its own."""
    now = clock.now()
    transaction_connection(session).execute(_FANOUT_ROW, {
        "commune_id": item.commune_id, "event_id": event.id, "item_id": item.id, "kind": event.action,
        "channel": "fanout", "recipient": "fanout", "address": "", "subject": "", "body": json.dumps(params),
        "status": "fanout", "attempts": 0,
        "idempotency_key": rules.idempotency_key(event.id, "fanout", "fanout", event.action), "urgent": False,
        "created_at": now, "next_attempt_at": now, "claimed_at": None, "sent_at": None, "last_error": ""})


@dataclass
class Expansion:
    """What one fan-out row becomes: its messages' outbox rows, and the row's own body once expanded."""

    fanout_id: int
    body: str
    rows: list[dict[str, Any]]


def plan_expansion(session: Session, row: Outbox) -> Expansion:
    """The messages of one fan-out row, read but not written (the worker reads them outside the writing
    transaction; write_expansion writes them)."""
    item = session.get(Item, row.item_id) if row.item_id else None
    try:
        params = json.loads(row.body)
    except ValueError:
        params = {}
    rows: list[dict[str, Any]] = []
    if item is not None and row.kind in FANOUT_KINDS:
        FANOUT_KINDS[row.kind](session, row, item, params, rows)
    return Expansion(row_id(row), json.dumps({**params, "messages": len(rows)}), rows)


def write_expansion(session: Session, expansion: Expansion) -> int:
    """Mark the fan-out row expanded and write its messages; nothing if it was expanded meanwhile (by
    another worker: the row's status is the guard). Returns how many messages were written."""
    done = session.execute(update(Outbox).where(col(Outbox.id) == expansion.fanout_id,
                                                col(Outbox.status) == "fanout")
                           .values(status="expanded", sent_at=clock.now(), body=expansion.body))
    if getattr(done, "rowcount", 1) != 1:
        return 0
    if expansion.rows:
        session.execute(insert(Outbox), expansion.rows)
    return len(expansion.rows)


def _meeting_messages(session: Session, row: Outbox, item: Item, params: dict[str, Any],
                      into: list[dict[str, Any]]) -> int:
    meeting = session.get(Meeting, params.get("meeting_id")) if params.get("meeting_id") else None
    if meeting is None:
        return 0
    usable = configured()
    starts = as_utc(meeting.starts_at)
    urgent = rules.is_urgent(row.kind, starts, as_utc(row.created_at))

    def lines(locale: str) -> list[str]:
        out = [item.title[:120], texts.tr(locale, texts.MEETING_LINE, when=texts.when(starts, locale),
                                          place=meeting.place[:120], agenda=meeting.agenda[:300])]
        if row.kind == "meeting_cancelled" and meeting.cancel_reason:
            out[1:] = [texts.tr(locale, texts.REASON, reason=meeting.cancel_reason[:200])]
        return out

    households = household_recipients(session, meeting.village_id, usable)
    return enqueue(session, commune_id=item.commune_id, event_id=row.event_id, item=item,
                   kind=row.kind, recipients=households, usable=usable, lines=lines, urgent=urgent, into=into)


def _new_item_messages(session: Session, row: Outbox, item: Item, params: dict[str, Any],
                       into: list[dict[str, Any]]) -> int:
    """A new item: the village heads and deputy heads of its village in office on the day it was sent, on
    their channels, as if written at that moment (quiet hours and digests count from it)."""
    usable = configured()
    sent_at = as_utc(row.created_at)
    heads = _holders(session, item.commune_id, {"village_head", "deputy_head"}, item.village_id,
                     on=clock.local_day(sent_at))
    title = str(params.get("title", item.title[:120]))
    skip = params.get("skip_user")
    return enqueue(session, commune_id=item.commune_id, event_id=row.event_id, item=item, kind="new_item",
                   recipients=account_recipients(session, heads, usable),
                   skip_user=skip if isinstance(skip, int) else None, usable=usable,
                   lines=lambda locale: [title], now=sent_at, into=into)


def _decision_messages(session: Session, row: Outbox, item: Item, params: dict[str, Any],
                       into: list[dict[str, Any]]) -> int:
    """A ballot for each household to return, or the households' decision."""
    from civic.deliberation.models import Decision

    decision = session.get(Decision, params.get("decision_id")) if params.get("decision_id") else None
    if decision is None:
        return 0
    usable = configured()

    def lines(locale: str) -> list[str]:
        out = [decision.question[:200]]
        if row.kind == "decision_recorded" and decision.passed is not None:
            out.append(texts.tr(locale, texts.PASSED if decision.passed else texts.NOT_PASSED))
        return out

    households = household_recipients(session, item.village_id, usable)
    return enqueue(session, commune_id=item.commune_id, event_id=row.event_id, item=item, kind=row.kind,
                   recipients=households, usable=usable, lines=lines, into=into)


FANOUT_KINDS: dict[str, Callable[[Session, Outbox, Item, dict[str, Any], list[dict[str, Any]]], int]] = {
    "submitted": _new_item_messages,
    "meeting_scheduled": _meeting_messages, "meeting_moved": _meeting_messages,
    "meeting_cancelled": _meeting_messages,
    "ballot_opened": _decision_messages, "decision_recorded": _decision_messages,
}


def _on_decision(session: Session, event: AuditEvent, item: Item, data: dict[str, Any]) -> None:
    if data.get("decision_id"):
        fanout(session, event, item, {"decision_id": data["decision_id"]})


def _on_pledge(session: Session, event: AuditEvent, item: Item, data: dict[str, Any]) -> None:
    if event.actor_role != "village_head":
        return  # the household pledged itself
    from civic.implementation.models import Pledge

    pledge = session.get(Pledge, data.get("pledge_id")) if data.get("pledge_id") else None
    household_id = getattr(pledge, "household_id", None)
    if household_id is None:
        return
    usable = configured()
    enqueue(session, commune_id=item.commune_id, event_id=event.id, item=item, kind="pledge_recorded",
            recipients=household_recipients(session, item.village_id, usable, [household_id]), usable=usable)


def _replied_to(session: Session, data: dict[str, Any]) -> tuple[list[int], str]:
    """The author of the comment this one answers (none if it answers nothing), and the answer's text."""
    from civic.deliberation.models import Comment

    comment = session.get(Comment, data.get("comment_id")) if data.get("comment_id") else None
    if comment is None:
        return [], ""
    earlier = session.get(Comment, comment.reply_to_id) if comment.reply_to_id else None
    return ([earlier.author_id] if earlier is not None else []), comment.body


def _on_reply(session: Session, event: AuditEvent, item: Item, data: dict[str, Any]) -> None:
    """An official reply: the item's followers hear it, and so does the author of the comment it answers."""
    usable = configured()
    authors, _ = _replied_to(session, data)
    recipients = follower_recipients(session, row_id(item), usable)
    recipients += account_recipients(session, authors, usable)
    enqueue(session, commune_id=item.commune_id, event_id=event.id, item=item, kind="reply",
            recipients=recipients, skip_user=event.actor_id,
            usable=usable, lines=lambda locale: [str(data.get("text", ""))[:300]])


def _on_comment(session: Session, event: AuditEvent, item: Item, data: dict[str, Any]) -> None:
    """A resident's answer to another comment: its author hears it (comments are public on the item page)."""
    authors, text = _replied_to(session, data)
    if not authors:
        return
    usable = configured()
    enqueue(session, commune_id=item.commune_id, event_id=event.id, item=item, kind="comment_reply",
            recipients=account_recipients(session, authors, usable), skip_user=event.actor_id,
            usable=usable, lines=lambda locale: [text[:300]])


HANDLERS: dict[str, Callable[[Session, AuditEvent, Item, dict[str, Any]], None]] = {
    "submitted": _on_submitted,
    "meeting_scheduled": _on_meeting,
    "meeting_moved": _on_meeting,
    "meeting_cancelled": _on_meeting,
    "pledge_added": _on_pledge,
    "ballot_opened": _on_decision,
    "decision_recorded": _on_decision,
    "official_reply": _on_reply,
    "comment_added": _on_comment,
}


def on_event(session: Session, event: AuditEvent) -> None:
    """The audit chain's listener: the outbox rows of one event, in its transaction."""
    handler = HANDLERS.get(event.action) or (_on_move if event.action in TRANSITIONS else None)
    if handler is None:
        return
    data = _payload(event)
    if event.item_id is not None:
        item = session.get(Item, event.item_id)
    else:  # an event kept off the item's timeline names its item by code (a resident's comment)
        code = data.get("item")
        item = session.execute(select(Item).where(col(Item.code) == code)).scalars().first() \
            if isinstance(code, str) else None
    if item is None:
        return
    handler(session, event, item, data)


# --- reminders to village heads ---------------------------------------------------------------------

def reminders(session: Session, now: datetime) -> int:
    """Village heads hear, once a day, of items whose acknowledgement is due on the next working day and of
    meetings held but not yet recorded (the worker looks every few minutes)."""
    from civic.workflow import calendar
    from civic.workflow import rules as workflow_rules

    today = now.astimezone(LOCAL_TZ).date()
    tomorrow = workflow_rules.add_working_days(today, 1, calendar.is_holiday)
    allowed = get_settings().ack_working_days
    usable = configured()
    made = 0
    for item in session.execute(select(Item).where(col(Item.stage) == "submitted")).scalars():
        submitted_on = as_utc(item.created_at).astimezone(LOCAL_TZ).date()
        if workflow_rules.add_working_days(submitted_on, allowed, calendar.is_holiday) == tomorrow:
            made += _remind(session, item, "triage_due", today.isoformat(), usable)
    held = session.execute(select(Meeting).where(col(Meeting.recorded_at).is_(None),
                                                 col(Meeting.starts_at) < now,
                                                 col(Meeting.starts_at) > now - timedelta(days=30))).scalars()
    for meeting in held:
        item = session.get(Item, meeting.item_id)
        if item is not None and item.stage == "discuss":
            made += _remind(session, item, "meeting_to_record", today.isoformat(), usable)
    made += _finding_reminders(session, today, tomorrow, usable)
    return made


def _finding_reminders(session: Session, today: date, tomorrow: date, usable: set[str]) -> int:
    """A finding not yet answered whose date to fix falls on the next working day, or has passed: the village
    head hears once a day for each item that has one (read from the open findings' index)."""
    from civic.supervision.models import Finding

    due = select(col(Finding.item_id)).where(
        col(Finding.resolved_at).is_(None), col(Finding.answered_at).is_(None),
        col(Finding.due_on).is_not(None), col(Finding.due_on) <= tomorrow)
    made = 0
    for item_id in sorted(set(session.execute(due).scalars())):
        item = session.get(Item, item_id)
        if item is not None and item.stage == "inspect":
            made += _remind(session, item, "finding_due", today.isoformat(), usable)
    return made


def _remind(session: Session, item: Item, kind: str, day: str, usable: set[str]) -> int:
    heads = _holders(session, item.commune_id, {"village_head"}, item.village_id)
    return enqueue(session, commune_id=item.commune_id, event_id=None, item=item, kind=kind,
                   recipients=account_recipients(session, heads, usable), usable=usable,
                   key_extra=f":{item.id}:{day}", lines=lambda locale: [item.title[:120]])


# --- following --------------------------------------------------------------------------------------------

def following(session: Session, item: Item, user_id: int | None) -> Follow | None:
    if not user_id:
        return None
    q = select(Follow).where(col(Follow.item_id) == item.id, col(Follow.user_id) == user_id,
                             col(Follow.stopped_at).is_(None))
    return session.execute(q).scalars().first()


def follow_account(session: Session, item: Item, viewer: Viewer) -> Follow:
    if viewer.user is None:
        raise Forbidden(N_("Please log in first."))
    row = session.execute(select(Follow).where(col(Follow.item_id) == item.id,
                                               col(Follow.user_id) == viewer.id)).scalars().first()
    now = clock.now()
    if row is None:
        row = Follow(commune_id=item.commune_id, item_id=row_id(item), user_id=viewer.id, created_at=now,
                     confirmed_at=now)
        session.add(row)
    row.stopped_at = None
    row.confirmed_at = row.confirmed_at or now
    session.flush()
    audit.record(session, commune_id=item.commune_id, action="follow_started", actor_id=viewer.id,
                 actor_role="resident",
                 payload={"follow_id": row.id, "item": item.code, "channel": "account"})
    return row


def unfollow_account(session: Session, item: Item, viewer: Viewer) -> None:
    row = following(session, item, viewer.id)
    if row is None:
        raise Conflict(N_("You do not follow this item."))
    row.stopped_at = clock.now()
    session.flush()
    audit.record(session, commune_id=item.commune_id, action="follow_stopped", actor_id=viewer.id,
                 actor_role="resident", payload={"follow_id": row.id, "item": item.code})


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


def start_contact_follow(session: Session, item: Item, channel: str, address: str, language: str
                         ) -> tuple[Follow, str]:
    """A follow by phone (a 6-digit code sent by SMS) or e-mail (a link): nothing is sent about the item
    until it is confirmed. At most a few codes an hour go to one address."""
    now = clock.now()
    usable = configured()
    if channel not in usable:
        raise Conflict(N_("This site cannot send messages of this kind yet."))
    recent = session.execute(select(col(Follow.id)).where(
        col(Follow.address) == address, col(Follow.created_at) > now - timedelta(hours=1))).all()
    if len(recent) >= CODES_PER_ADDRESS_HOUR:
        raise Conflict(N_("Too many codes were sent to this address. Please try again in an hour."))
    if session.execute(select(col(NotifyStop.address_hash))
                       .where(col(NotifyStop.address_hash) == address_hash(address))).first():
        session.execute(NotifyStop.__table__.delete().where(  # type: ignore[attr-defined]
            NotifyStop.__table__.c.address_hash == address_hash(address)))  # type: ignore[attr-defined]
    secret = (f"{secrets.randbelow(10 ** 6):06d}" if channel == "sms" else secrets.token_urlsafe(24))
    expires = now + (timedelta(minutes=CODE_MINUTES) if channel == "sms" else timedelta(hours=LINK_HOURS))
    row = Follow(commune_id=item.commune_id, item_id=row_id(item), channel=channel, address=address,
                 language=language, code_hash=_hash_code(secret), code_expires_at=expires, created_at=now)
    session.add(row)
    session.flush()
    event = audit.record(session, commune_id=item.commune_id, action="follow_requested",
                         payload={"follow_id": row.id, "item": item.code, "channel": channel})
    recipient = Recipient(f"f:{row.id}", channel, address, language)
    if channel == "sms":
        lines: Callable[[str], list[str]] = lambda locale: [secret]  # noqa: E731
        link = ""
        kind = "follow_code"
    else:
        link = texts.absolute(f"/notify/confirm/{row.id}/{secret}")
        lines = lambda locale: []  # noqa: E731
        kind = "follow_link"
    # The person asked for it this minute: quiet hours do not hold it back, and a stop does not apply.
    enqueue(session, commune_id=item.commune_id, event_id=event.id, item=item, kind=kind,
            recipients=[recipient], lines=lines, urgent=True, usable=usable, link=link, stop=False)
    return row, secret


def pending_follow(session: Session, item: Item, follow_id: int) -> Follow:
    row = session.get(Follow, follow_id)
    if row is None or row.item_id != item.id or row.user_id is not None:
        raise NotFound(N_("This link is not valid."))
    return row


def confirm_follow(session: Session, row: Follow, code: str) -> Follow:
    now = clock.now()
    if row.confirmed_at is not None:
        return row
    if row.attempts >= CODE_TRIES or row.code_expires_at is None or as_utc(row.code_expires_at) < now:
        raise Conflict(N_("This code has expired. Please ask for a new one."))
    if not secrets.compare_digest(row.code_hash, _hash_code(code)):
        row.attempts += 1
        session.flush()
        raise Invalid(N_("This code is not right."), field="code")
    row.confirmed_at = now
    row.code_hash = ""
    session.flush()
    audit.record(session, commune_id=row.commune_id, action="follow_confirmed",
                 payload={"follow_id": row.id, "channel": row.channel})
    return row


# --- the anonymous reporter's manage link ------------------------------------------------------------------

MANAGE_RESENDS_PER_DAY = 3


def resend_manage_link(session: Session, item: Item, phone: str) -> bool:
    """Send a new manage link by SMS to the phone the anonymous reporter gave (the old link stops working:
    only a hash of it was kept). Says nothing about whether the phone matched, so the page cannot be used to
    learn a reporter's number; at most a few a day per item."""
    if not item.contact_phone or item.reporter_id or item.manage_token_hash is None:
        return False
    if not hmac.compare_digest(item.contact_phone, phone):
        return False
    now = clock.now()
    sent = session.execute(select(col(Outbox.id)).where(
        col(Outbox.item_id) == item.id, col(Outbox.kind) == "manage_link",
        col(Outbox.created_at) > now - timedelta(days=1))).all()
    if len(sent) >= MANAGE_RESENDS_PER_DAY:
        raise Conflict(N_("Too many codes were sent to this address. Please try again in an hour."))
    token = secrets.token_urlsafe(32)
    item.manage_token_hash = hashlib.sha256(token.encode()).hexdigest()
    session.flush()
    event = audit.record(session, commune_id=item.commune_id, action="manage_link_resent",
                         payload={"item": item.code})
    link = texts.absolute(f"/m/{token}")
    enqueue(session, commune_id=item.commune_id, event_id=event.id, item=item, kind="manage_link",
            recipients=[Recipient(f"m:{item.id}", "sms", item.contact_phone)], link=link, urgent=True,
            stop=False)
    return True


# --- preferences and stopping -----------------------------------------------------------------------------

def preferences(session: Session, user_id: int) -> NotifyPreference:
    return session.get(NotifyPreference, user_id) or NotifyPreference(user_id=user_id)


def save_preferences(session: Session, viewer: Viewer, *, channels_chosen: list[str], quiet_from: int,
                     quiet_to: int, digest: bool, language: str, commune_id: int) -> NotifyPreference:
    if viewer.user is None:
        raise Forbidden(N_("Please log in first."))
    row = session.get(NotifyPreference, viewer.id)
    if row is None:
        row = NotifyPreference(user_id=row_id(viewer.user))
        session.add(row)
    row.channels = ",".join(c for c in rules.CHANNELS if c in channels_chosen)
    row.quiet_from, row.quiet_to, row.digest, row.language = quiet_from, quiet_to, digest, language
    row.stopped = not channels_chosen
    session.flush()
    audit.record(session, commune_id=commune_id, action="notify_preferences", actor_id=viewer.id,
                 actor_role="resident", payload={"channels": row.channels, "digest": digest})
    return row


def save_push(session: Session, viewer: Viewer, subscription: str, commune_id: int) -> NotifyPreference:
    """This browser's Web Push subscription becomes the account's "push" channel, tried first."""
    if viewer.user is None:
        raise Forbidden(N_("Please log in first."))
    row = session.get(NotifyPreference, viewer.id)
    if row is None:
        row = NotifyPreference(user_id=row_id(viewer.user))
        session.add(row)
    row.push_subscription = subscription
    row.channels = ",".join(["push", *[c for c in row.channels.split(",") if c and c != "push"]])
    row.stopped = False
    session.flush()
    audit.record(session, commune_id=commune_id, action="notify_push_added", actor_id=viewer.id,
                 actor_role="resident", payload={})
    return row


def stop(session: Session, token: str, commune_id: int) -> str:
    """A stop link: the follow ends, or the account hears nothing more, or the address is stopped."""
    key, digest = read_stop_token(token)
    kind, _, raw = key.partition(":")
    now = clock.now()
    if kind == "f" and raw.isdigit():
        row = session.get(Follow, int(raw))
        if row is not None and row.stopped_at is None:
            row.stopped_at = now
    elif kind == "u" and raw.isdigit():
        p = session.get(NotifyPreference, int(raw))
        if p is None:
            p = NotifyPreference(user_id=int(raw))
            session.add(p)
        p.stopped = True
    elif kind == "h" and raw.isdigit():
        household = session.get(Household, int(raw))
        if household is not None and household.phone and address_hash(household.phone)[:16] == digest:
            _stop_address(session, household.phone, now)
    else:
        raise NotFound(N_("This link is not valid."))
    session.flush()
    audit.record(session, commune_id=commune_id, action="notify_stopped", payload={"recipient_kind": kind})
    return kind


def _stop_address(session: Session, address: str, now: datetime) -> None:
    digest = address_hash(address)
    if session.get(NotifyStop, digest) is None:
        session.add(NotifyStop(address_hash=digest, created_at=now))
    for row in session.execute(select(Follow).where(col(Follow.address) == address,
                                                    col(Follow.stopped_at).is_(None))).scalars():
        row.stopped_at = now


def stop_by_reply(session: Session, phone: str, text: str, commune_id: int) -> bool:
    """An SMS reply "TU CHOI" from a phone: nothing more goes to it."""
    if not rules.is_stop_reply(text):
        return False
    _stop_address(session, phone, clock.now())
    session.flush()
    audit.record(session, commune_id=commune_id, action="notify_stopped", payload={"recipient_kind": "sms"})
    return True


# --- the commune admin's view ------------------------------------------------------------------------------

@dataclass
class OutboxSummary:
    counts: dict[str, int]
    problems: list[Outbox]


def summary(session: Session, commune_id: int, limit: int = 50) -> OutboxSummary:
    from sqlalchemy import func

    counts = dict(session.execute(select(col(Outbox.status), func.count()).where(
        col(Outbox.commune_id) == commune_id).group_by(col(Outbox.status))).all())
    problems = list(session.execute(select(Outbox).where(
        col(Outbox.commune_id) == commune_id, col(Outbox.status).in_(("dead", "no_channel")))
        .order_by(col(Outbox.id).desc()).limit(limit)).scalars())
    return OutboxSummary(counts, problems)
