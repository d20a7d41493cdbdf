"""Append to and verify the hash chain. Appending locks the chain head in the caller's transaction."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, column, func, insert, select, table, update
from sqlmodel import Session, col

from civic import clock
from civic.audit import replay, signing
from civic.audit.models import AuditCheckpoint, AuditEvent, AuditHead
from civic.audit.rules import (
    CHECKPOINT_FORMAT,
    GENESIS,
    canonical_json,
    checkpoint_message,
    checkpoint_problem,
    link_hash,
    stamp,
)
from civic.clock import as_utc
from civic.db import Plain, transaction_connection
from civic.errors import N_, Conflict

# Called by record() with each new event, in the same session and transaction, before it returns: civic.notify
# writes the outbox rows of the change here, so they commit or roll back with it.
LISTENERS: list[Callable[[Session, AuditEvent], None]] = []

# Keys that must never reach the public chain (docs/architecture.md, privacy).
PRIVATE_KEYS = {"phone", "contact_phone", "email", "contact_name", "password", "token", "manage_token"}


# A commune merged into another (civic/setup/communes.py): the last event of its chain, and the event of
# the receiving commune's chain that records the closed chain's final checkpoint (seq and hash).
MERGED_INTO = "commune_merged_into"
MERGED_FROM = "commune_merged_from"
CHAIN_CLOSED = N_("This commune was merged into another: its record is closed and takes no new changes. "
                  "Please use the pages of the commune it joined.")


def close_chain(session: Session, commune_id: int) -> None:
    """No event is appended to this chain any more (its commune was merged)."""
    session.execute(update(AuditHead).where(col(AuditHead.commune_id) == commune_id).values(closed=True))
    session.flush()


def merge_link_problem(session: Session, source_id: int, into_id: int, source_code: str) -> str | None:
    """Check the link between a merged commune's closed chain and the chain that continues it: the closed
    chain ends with its merge event, a stored checkpoint holds that very head, and the receiving chain has
    one merge event that records the same seq and hash. None when all holds, else what does not."""
    closed = head(session, source_id)
    last = session.execute(select(AuditEvent).where(col(AuditEvent.commune_id) == source_id,
                                                    col(AuditEvent.seq) == closed.seq)).scalar_one_or_none()
    if last is None or last.action != MERGED_INTO:
        return "the merged commune's chain does not end with its merge event"
    if not any(cp.seq == closed.seq and cp.hash == closed.hash
               for cp in stored_checkpoints(session, source_id)):
        return "no checkpoint holds the merged commune's final head"
    records = [json.loads(ev.payload) for ev in session.execute(select(AuditEvent).where(
        col(AuditEvent.commune_id) == into_id, col(AuditEvent.action) == MERGED_FROM)).scalars()]
    records = [r for r in records if r.get("from") == source_code]
    if len(records) != 1:
        return "the receiving commune's chain does not record the merge once"
    if records[0].get("closed_seq") != closed.seq or records[0].get("closed_hash") != closed.hash:
        return (f"the receiving chain records event {records[0].get('closed_seq')} "
                f"{records[0].get('closed_hash')}, the closed chain ends at {closed.seq} {closed.hash}")
    return None


def ensure_head(session: Session, commune_id: int) -> None:
    if session.get(AuditHead, commune_id) is None:
        session.add(AuditHead(commune_id=commune_id, seq=0, hash=GENESIS))
        session.flush()


@dataclass(frozen=True)
class LockedHead:
    """The chain head as lock_head() read it, locked until the transaction ends."""

    commune_id: int
    seq: int
    hash: str
    closed: bool = False


# Built once (building a statement costs more than running it); each runs with its values as parameters.
# The head is read as Plain: every writing transaction of a commune starts with it.
_HEAD_FOR_UPDATE = Plain(select(col(AuditHead.seq), col(AuditHead.hash), col(AuditHead.closed))
                         .where(col(AuditHead.commune_id) == bindparam("commune_id")).with_for_update())
_APPEND_EVENT = insert(AuditEvent)
_MOVE_HEAD = (update(AuditHead).where(col(AuditHead.commune_id) == bindparam("head_commune_id"))
              .values(seq=bindparam("new_seq"), hash=bindparam("new_hash")))


def lock_head(session: Session, commune_id: int) -> LockedHead:
    """Lock the commune's chain head for the rest of the transaction (SELECT … FOR UPDATE; SQLite's writing
    transaction holds it already) and read it; a commune without one gets its genesis head. A caller that
    must serialise on the chain before it appends passes the result to record() (which then reads nothing
    again)."""
    row = _HEAD_FOR_UPDATE.rows(session, {"commune_id": commune_id}).first()
    if row is None:
        ensure_head(session, commune_id)
        return LockedHead(commune_id, 0, GENESIS)
    return LockedHead(commune_id, row[0], row[1], bool(row[2]))


def record(session: Session, *, commune_id: int, action: str, item_id: int | None = None,
           actor_id: int | None = None, actor_role: str = "",
           payload: dict[str, Any] | None = None, locked: LockedHead | None = None) -> AuditEvent:
    """Append one event to the commune's chain, in the caller's transaction. `locked` is the head this
    transaction took with lock_head() and has appended nothing to since; without it the head is locked and
    read here. The event returned is not in the session (it is never changed): read it again to load it."""
    payload = dict(payload or {})
    leaked = PRIVATE_KEYS.intersection(payload)
    if leaked:
        raise ValueError(f"personal data in an audit payload: {sorted(leaked)}")
    session.flush()
    if locked is None or locked.commune_id != commune_id:
        locked = lock_head(session, commune_id)
    if locked.closed:
        raise Conflict(CHAIN_CLOSED)
    last_seq, prev = locked.seq, locked.hash
    seq = last_seq + 1
    created_at = clock.now()
    digest = link_hash(prev, commune_id=commune_id, seq=seq, item_id=item_id, actor_id=actor_id,
                       actor_role=actor_role, action=action, payload=payload, created_at=created_at)
    event = AuditEvent(commune_id=commune_id, seq=seq, item_id=item_id, actor_id=actor_id,
                       actor_role=actor_role, action=action, payload=canonical_json(payload),
                       created_at=created_at, prev_hash=prev, hash=digest)
    # Two plain statements on the transaction's connection (the caller's changes were flushed above): the
    # event is written once and never changed, so it needs no place in the session's unit of work.
    connection = transaction_connection(session)
    inserted = connection.execute(_APPEND_EVENT, {
        "commune_id": commune_id, "seq": seq, "item_id": item_id, "actor_id": actor_id,
        "actor_role": actor_role, "action": action, "payload": event.payload, "created_at": created_at,
        "prev_hash": prev, "hash": digest}).inserted_primary_key
    assert inserted is not None
    event.id = inserted[0]
    connection.execute(_MOVE_HEAD, {"head_commune_id": commune_id, "new_seq": seq, "new_hash": digest})
    for listener in LISTENERS:
        listener(session, event)
    return event


@dataclass
class ChainHead:
    commune_id: int
    seq: int
    hash: str
    at: datetime | None = None  # when the head event was recorded


def head(session: Session, commune_id: int) -> ChainHead:
    row = session.execute(select(col(AuditHead.seq), col(AuditHead.hash))
                          .where(col(AuditHead.commune_id) == commune_id)).first()
    if row is None:
        return ChainHead(commune_id, 0, GENESIS)
    at = session.execute(select(col(AuditEvent.created_at)).where(
        col(AuditEvent.commune_id) == commune_id, col(AuditEvent.seq) == row[0])).scalar_one_or_none()
    return ChainHead(commune_id, row[0], row[1], as_utc(at) if at is not None else None)


@dataclass
class VerifyResult:
    commune_id: int
    checked: int
    broken_seq: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def verify(session: Session, commune_id: int, batch: int = 5000) -> VerifyResult:
    """Recompute the chain from the start; name the first event whose link does not hold."""

    prev, expected_seq, checked = GENESIS, 1, 0
    while True:
        rows = session.execute(
            select(AuditEvent).where(col(AuditEvent.commune_id) == commune_id,
                                     col(AuditEvent.seq) >= expected_seq)
            .order_by(col(AuditEvent.seq)).limit(batch)
        ).scalars().all()
        if not rows:
            break
        for ev in rows:
            if ev.seq != expected_seq:
                return VerifyResult(commune_id, checked, expected_seq, "missing event")
            if ev.prev_hash != prev:
                return VerifyResult(commune_id, checked, ev.seq,
                                    "prev_hash does not match the previous event")
            try:
                payload = json.loads(ev.payload)
            except ValueError:
                return VerifyResult(commune_id, checked, ev.seq, "payload is not JSON")
            digest = link_hash(prev, commune_id=ev.commune_id, seq=ev.seq, item_id=ev.item_id,
                               actor_id=ev.actor_id, actor_role=ev.actor_role, action=ev.action,
                               payload=payload, created_at=as_utc(ev.created_at))
            if digest != ev.hash:
                return VerifyResult(commune_id, checked, ev.seq, "hash does not match the event's content")
            prev, expected_seq, checked = ev.hash, ev.seq + 1, checked + 1
        session.expunge_all()
    stored = head(session, commune_id)
    if stored.seq != checked or stored.hash != prev:
        return VerifyResult(commune_id, checked, checked + 1 if stored.seq > checked else checked,
                            "chain head does not match the last event")
    return VerifyResult(commune_id, checked)


def count_events(session: Session, commune_id: int) -> int:
    return session.execute(select(func.count()).select_from(AuditEvent)
                           .where(col(AuditEvent.commune_id) == commune_id)).scalar_one()


# --- checkpoints ----------------------------------------------------------------------------------------
# A checkpoint pins the chain head outside the chain: a signed, dated (commune, seq, hash) that partners keep
# (/audit/checkpoints.json) and paper notices print. Cutting the newest events and rewinding the head, or
# rewriting history and re-hashing it, no longer leads to a checkpoint taken before (OWASP ASVS v4 7.3.3).

@dataclass(frozen=True)
class Checkpoint:
    commune: str
    seq: int
    hash: str
    taken_at: str  # rules.stamp() of the UTC time
    signature: str
    key_id: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"commune": self.commune, "seq": self.seq, "hash": self.hash, "taken_at": self.taken_at,
                "signature": self.signature, "key_id": self.key_id}


def take_checkpoint(session: Session, commune_id: int, commune_code: str) -> AuditCheckpoint:
    """Sign and store the commune's current head (the caller checks the chain first)."""
    current = head(session, commune_id)
    now = clock.now()
    key = signing.public_key()
    row = AuditCheckpoint(commune_id=commune_id, seq=current.seq, hash=current.hash, taken_at=now,
                          key_id=key.key_id,
                          signature=signing.sign(checkpoint_message(commune=commune_code, seq=current.seq,
                                                                    hash=current.hash, taken_at=now)))
    session.add(row)
    session.flush()
    return row


def stored_checkpoints(session: Session, commune_id: int, limit: int | None = None) -> list[AuditCheckpoint]:
    """The commune's checkpoints, newest first."""
    query = (select(AuditCheckpoint).where(col(AuditCheckpoint.commune_id) == commune_id)
             .order_by(col(AuditCheckpoint.taken_at).desc(), col(AuditCheckpoint.id).desc()))
    return list(session.execute(query.limit(limit) if limit else query).scalars())


def as_checkpoint(row: AuditCheckpoint, commune_code: str) -> Checkpoint:
    return Checkpoint(commune_code, row.seq, row.hash, stamp(as_utc(row.taken_at)), row.signature, row.key_id)


def export_checkpoints(session: Session, commune_id: int, commune_code: str) -> dict[str, Any]:
    """Every checkpoint of the commune with the public key that checks them: the file partners keep."""
    key = signing.public_key_if_any()
    rows = reversed(stored_checkpoints(session, commune_id))
    return {"format": CHECKPOINT_FORMAT, "commune": commune_code,
            "public_key": ({"algorithm": signing.ALGORITHM, "key": key.b64, "key_id": key.key_id}
                           if key else None),
            "checkpoints": [as_checkpoint(r, commune_code).as_json() for r in rows]}


class BadExport(ValueError):
    """A checkpoint file that is not an export of /audit/checkpoints.json."""


def parse_export(data: Any) -> tuple[signing.PublicKey, list[Checkpoint]]:
    """The public key and checkpoints of an exported file; BadExport says what is wrong with it."""
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise BadExport(f"not a checkpoint export (format {CHECKPOINT_FORMAT!r} expected)")
    key_data = data.get("public_key")
    key = (signing.PublicKey.from_b64(key_data.get("key", "")) if isinstance(key_data, dict)
           and isinstance(key_data.get("key"), str) else None)
    if key is None:
        raise BadExport("the export has no valid Ed25519 public key")
    items = data.get("checkpoints")
    if not isinstance(items, list):
        raise BadExport("the export has no list of checkpoints")
    out = []
    for n, cp in enumerate(items, start=1):
        try:
            seq = cp["seq"]
            fields = (cp["commune"], cp["hash"], cp["taken_at"], cp["signature"])
        except (KeyError, TypeError):
            raise BadExport(f"checkpoint {n} lacks commune, seq, hash, taken_at or signature") from None
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0 \
                or not all(isinstance(f, str) for f in fields):
            raise BadExport(f"checkpoint {n} is malformed")
        out.append(Checkpoint(fields[0], seq, fields[1], fields[2], fields[3], str(cp.get("key_id", ""))))
    return key, out


def check_checkpoints(session: Session, commune_id: int, checkpoints: list[Checkpoint],
                      key: signing.PublicKey) -> list[str]:
    """Each way the chain no longer leads to a checkpoint (or a checkpoint's signature is forged)."""
    if not checkpoints:
        return []
    current = head(session, commune_id)
    wanted = {cp.seq for cp in checkpoints}
    hashes = dict(session.execute(select(col(AuditEvent.seq), col(AuditEvent.hash)).where(
        col(AuditEvent.commune_id) == commune_id, col(AuditEvent.seq).in_(wanted))).all())
    problems = []
    for cp in sorted(checkpoints, key=lambda c: (c.seq, c.taken_at)):
        message = checkpoint_message(commune=cp.commune, seq=cp.seq, hash=cp.hash, taken_at=cp.taken_at)
        problem = checkpoint_problem(seq=cp.seq, hash=cp.hash, signature_ok=signing.verify(key, message,
                                                                                           cp.signature),
                                     head_seq=current.seq, hash_at_seq=hashes.get(cp.seq))
        if problem:
            problems.append(problem)
    return problems


# --- the tables against the events ----------------------------------------------------------------------

def _events(session: Session, commune_id: int, batch: int = 5000):
    after = 0
    while True:
        rows = session.execute(select(col(AuditEvent.seq), col(AuditEvent.item_id), col(AuditEvent.action),
                                      col(AuditEvent.payload))
                               .where(col(AuditEvent.commune_id) == commune_id, col(AuditEvent.seq) > after)
                               .order_by(col(AuditEvent.seq)).limit(batch)).all()
        if not rows:
            return
        for seq, item_id, action, payload in rows:
            try:
                data = json.loads(payload)
            except ValueError:
                data = {}  # verify() names the event; the rest of the chain is still replayed
            yield replay.Event(seq, item_id, action, data if isinstance(data, dict) else {})
        after = rows[-1][0]


def reconcile(session: Session, commune_id: int) -> list[replay.Disagreement]:
    """Replay the commune's events and name every table field that says something else (the audit domain
    sits below the others, so the tables are read by name, not through their models)."""
    state = replay.fold(_events(session, commune_id))
    item_t = table("item", column("id"), column("commune_id"), column("code"))
    codes: dict[int, str] = dict(session.execute(select(item_t.c.id, item_t.c.code)
                                                 .where(item_t.c.commune_id == commune_id)).all())
    expected: dict[str, dict[int, dict[str, Any]]] = {}
    for (name, row), values in state.rows.items():
        expected.setdefault(name, {})[row] = values
    found: list[replay.Disagreement] = []
    of_commune = select(item_t.c.id).where(item_t.c.commune_id == commune_id)
    boards_t = table("board", column("id"), column("commune_id"))
    inspections_t = table("inspection", column("id"), column("item_id"))
    board_where = {  # the rows of the commune's boards, every one of which an event names
        "board": lambda t: t.c.commune_id == commune_id,
        "board_member": lambda t: t.c.board_id.in_(select(boards_t.c.id)
                                                   .where(boards_t.c.commune_id == commune_id)),
        "sign_off_vote": lambda t: t.c.inspection_id.in_(select(inspections_t.c.id)
                                                         .where(inspections_t.c.item_id.in_(of_commune))),
    }
    for name in sorted(set(expected) | set(replay.ID_KEYS) | set(replay.BOARD_TABLES) | {"item"}):
        rows = expected.get(name, {})
        fields = sorted({f for values in rows.values() for f in values})
        columns = sorted({replay.column_of(f) for f in fields} - {"id", "item_id", "commune_id"})
        has_item = name in replay.ID_KEYS
        extra = {"board_member": ["board_id"], "sign_off_vote": ["inspection_id"]}.get(name, [])
        t = table(name, column("id"), column("item_id"), column("commune_id"),
                  *[column(c) for c in sorted(set(columns) | set(extra))])
        picked = [t.c.id, *([t.c.item_id] if has_item else []),
                  *[t.c[c] for c in sorted(set(columns) | set(extra))]]
        if name == "item":
            where = t.c.commune_id == commune_id
        elif has_item:
            where = t.c.item_id.in_(of_commune)
        elif name in board_where:
            where = board_where[name](t)
        else:
            where = t.c.id.in_(list(rows) or [-1])
        stored = {r["id"]: dict(r) for r in session.execute(select(*picked).where(where)).mappings()}
        if name == "item" or has_item or name in board_where:
            for row_id, values in stored.items():
                if row_id in rows or (name == "sign_off_vote" and values.get("inspection_id") in
                                      state.unnamed_votes):  # votes of events that did not name them
                    continue
                item_id = row_id if name == "item" else values.get("item_id")
                why = "events removed it" if (name, row_id) in state.gone else "no event records it"
                found.append(replay.Disagreement(name, row_id, codes.get(item_id or 0, ""), "row",
                                                 "present", why))
        for row_id, values in sorted(rows.items()):
            item_id = state.item_of.get((name, row_id))
            code = (codes.get(item_id or 0) or state.item_codes.get(item_id or 0)
                    or state.code_of.get((name, row_id), ""))
            stored_row = stored.get(row_id)
            if stored_row is None:
                found.append(replay.Disagreement(name, row_id, code, "row", "missing", "events record it"))
                continue
            for field, want in sorted(values.items()):
                have = replay.table_value(field, stored_row)
                if replay.same(want, have):
                    continue
                if field in replay.DIGEST_OF:  # the events keep a digest: name the column and its text
                    text_column = replay.DIGEST_OF[field]
                    found.append(replay.Disagreement(name, row_id, code, text_column,
                                                     stored_row.get(text_column),
                                                     f"a text with SHA-256 {str(want)[:16]}…"))
                    continue
                found.append(replay.Disagreement(name, row_id, code, field, replay.shown(have),
                                                 replay.shown(want)))
    found.extend(_counted(session, state, codes))
    return found


def _counted(session: Session, state: replay.State, codes: dict[int, str]) -> list[replay.Disagreement]:
    """Rows counted per parent (the households on a meeting's roll) against the count the events give."""
    found = []
    for (child, key), parent in sorted(replay.COUNTED.items()):
        wanted = {parent_id: n for (c, k, parent_id), n in state.counts.items() if (c, k) == (child, key)}
        if not wanted:
            continue
        t = table(child, column(key))
        have = dict(session.execute(select(t.c[key], func.count()).where(t.c[key].in_(sorted(wanted)))
                                    .group_by(t.c[key])).all())
        for parent_id, n in sorted(wanted.items()):
            if have.get(parent_id, 0) != n:
                item_id = state.item_of.get((parent, parent_id))
                found.append(replay.Disagreement(parent, parent_id, codes.get(item_id or 0, ""),
                                                 f"{child} rows", have.get(parent_id, 0), n))
    return found
