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
