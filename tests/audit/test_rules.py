"""Pure parts of the audit chain: canonical JSON and the link hash."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from civic.audit.rules import GENESIS, canonical_json, link_hash


@pytest.fixture(autouse=True)
def clean_db():
    """Pure rules: nothing to empty (overrides the database fixture of tests/conftest.py)."""
    yield


AT = datetime(2026, 3, 2, 1, 30, 15, 123456, tzinfo=UTC)
FIELDS = dict(commune_id=1, seq=7, item_id=42, actor_id=3, actor_role="village_head", action="accept",
              payload={"from": "submitted", "to": "know"}, created_at=AT)


def test_genesis_is_64_zeros():
    assert GENESIS == "0" * 64


def test_canonical_json_is_sorted_compact_utf8():
    assert canonical_json({"b": 1, "a": "Đường", "c": {"z": None, "y": [1, 2]}}) ==\
        '{"a":"Đường","b":1,"c":{"y":[1,2],"z":null}}'


def test_link_hash_follows_the_design_formula():
    """hash = sha256(prev_hash + canonical JSON of the other fields), computed here by hand."""
    body = json.dumps({"action": "accept", "actor_id": 3, "actor_role": "village_head", "commune_id": 1,
                       "created_at": "2026-03-02T01:30:15.123456+00:00", "item_id": 42,
                       "payload": {"from": "submitted", "to": "know"}, "seq": 7},
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    expected = hashlib.sha256((GENESIS + body).encode("utf-8")).hexdigest()
    assert link_hash(GENESIS, **FIELDS) == expected


def test_link_hash_is_stable():
    first = link_hash(GENESIS, **FIELDS)
    assert first == link_hash(GENESIS, **dict(FIELDS, payload={"to": "know", "from": "submitted"}))
    assert len(first) == 64 and int(first, 16) >= 0


def test_the_same_instant_in_another_zone_gives_the_same_hash():
    hanoi = AT.astimezone(timezone(timedelta(hours=7)))
    assert link_hash(GENESIS, **FIELDS) == link_hash(GENESIS, **dict(FIELDS, created_at=hanoi))


@pytest.mark.parametrize(("field", "other"), [
    ("commune_id", 2),
    ("seq", 8),
    ("item_id", 43),
    ("item_id", None),
    ("actor_id", 4),
    ("actor_id", None),
    ("actor_role", "supervisor"),
    ("actor_role", ""),
    ("action", "reject"),
    ("payload", {"from": "submitted", "to": "closed"}),
    ("payload", {"from": "submitted", "to": "know", "reason": "x"}),
    ("payload", {}),
    ("created_at", AT + timedelta(microseconds=1)),
    ("created_at", AT + timedelta(days=1)),
])
def test_link_hash_changes_with_every_field(field, other):
    assert link_hash(GENESIS, **FIELDS) != link_hash(GENESIS, **dict(FIELDS, **{field: other}))


def test_link_hash_depends_on_the_previous_link():
    assert link_hash(GENESIS, **FIELDS) != link_hash("1" + GENESIS[1:], **FIELDS)


def test_vietnamese_text_in_a_payload_is_hashed_as_utf8():
    a = link_hash(GENESIS, **dict(FIELDS, payload={"reason": "Đường"}))
    b = link_hash(GENESIS, **dict(FIELDS, payload={"reason": "Duong"}))
    assert a != b
