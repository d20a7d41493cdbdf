"""Pure parts of the audit chain: canonical JSON and the link hash."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def stamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def text_digest(text: str) -> str:
    """What the chain keeps of a public text that may later be redacted: its SHA-256, never the words."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def link_hash(prev_hash: str, *, commune_id: int, seq: int, item_id: int | None, actor_id: int | None,
              actor_role: str, action: str, payload: dict[str, Any], created_at: datetime) -> str:
    body = canonical_json({
        "action": action,
        "actor_id": actor_id,
        "actor_role": actor_role,
        "commune_id": commune_id,
        "created_at": stamp(created_at),
        "item_id": item_id,
        "payload": payload,
        "seq": seq,
    })
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


# --- checkpoints ----------------------------------------------------------------------------------------

CHECKPOINT_FORMAT = "civic-audit-checkpoint/1"


def checkpoint_message(*, commune: str, seq: int, hash: str, taken_at: datetime | str) -> bytes:
    """The bytes a checkpoint's signature covers: commune code, seq, head hash and UTC time."""
    when = taken_at if isinstance(taken_at, str) else stamp(taken_at)
    return canonical_json({"format": CHECKPOINT_FORMAT, "commune": commune, "seq": seq, "hash": hash,
                           "taken_at": when}).encode("utf-8")


def checkpoint_problem(*, seq: int, hash: str, signature_ok: bool, head_seq: int,
                       hash_at_seq: str | None) -> str:
    """What is wrong between one checkpoint and the chain as it is now; "" when the chain still leads to it.

    `hash_at_seq` is the hash of the chain's event number `seq` (None when there is no such event)."""
    if not signature_ok:
        return f"checkpoint at event {seq}: the signature does not verify with the deployment's public key"
    if head_seq < seq:
        return (f"checkpoint at event {seq}: the chain head is at event {head_seq}, below the checkpoint "
                f"(events were deleted and the head rewound)")
    if seq == 0:
        return "" if hash == GENESIS else f"checkpoint at event 0: hash {hash[:16]}… is not the genesis hash"
    if hash_at_seq is None:
        return f"checkpoint at event {seq}: the chain no longer holds that event"
    if hash_at_seq != hash:
        return (f"checkpoint at event {seq}: the chain has hash {hash_at_seq[:16]}… there, the checkpoint "
                f"{hash[:16]}… (the history before it was rewritten)")
    return ""
