"""Signed checkpoints of the chain head, on the database and on the pages: /audit shows them, the JSON export
verifies with the published key, a rewritten history no longer leads to them, and the tables are compared
with what the events say."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import text

from civic import clock
from civic.audit import service as audit
from civic.audit import signing
from civic.audit.rules import GENESIS, checkpoint_message, link_hash
from civic.db import unit_of_work
from tests.builders import audit_events, setup_item, setup_world


def checkpointed(stage: str = "know"):
    commune, a, _b, cat, _users = setup_world()
    item = setup_item(commune, a, cat, stage=stage)
    with unit_of_work(write=True) as db:
        cp = audit.take_checkpoint(db, commune.id, commune.code)
    return commune, item, cp


def problems(commune) -> list[str]:
    with unit_of_work() as db:
        stored = [audit.as_checkpoint(r, commune.code) for r in audit.stored_checkpoints(db, commune.id)]
        return audit.check_checkpoints(db, commune.id, stored, signing.public_key())


def test_a_checkpoint_signs_the_current_head_and_the_chain_still_leads_to_it():
    commune, _item, cp = checkpointed()
    with unit_of_work() as db:
        head = audit.head(db, commune.id)
    assert (cp.seq, cp.hash) == (head.seq, head.hash) and cp.seq > 0
    assert cp.key_id == signing.public_key().key_id
    assert problems(commune) == []


def test_a_history_rewritten_and_re_hashed_no_longer_leads_to_the_checkpoint():
    """The attacker edits an old event and recomputes every later hash and the head: the chain is whole
    again, so only the checkpoint taken before shows it."""
    commune, _item, cp = checkpointed()
    with unit_of_work(write=True) as db:
        prev = GENESIS
        for ev in audit_events(db, commune.id):
            payload = json.loads(ev.payload)
            if ev.seq == 2:
                payload["forged"] = True
            digest = link_hash(prev, commune_id=ev.commune_id, seq=ev.seq, item_id=ev.item_id,
                               actor_id=ev.actor_id, actor_role=ev.actor_role, action=ev.action,
                               payload=payload, created_at=clock.as_utc(ev.created_at))
            db.execute(text("UPDATE audit_event SET payload = :p, prev_hash = :ph, hash = :h WHERE id = :i"),
                       {"p": json.dumps(payload), "ph": prev, "h": digest, "i": ev.id})
            prev = digest
        db.execute(text("UPDATE audit_head SET hash = :h WHERE commune_id = :c"),
                   {"h": prev, "c": commune.id})
    with unit_of_work() as db:
        assert audit.verify(db, commune.id).ok  # the re-hashed chain is consistent in itself
    assert problems(commune) == [f"checkpoint at event {cp.seq}: the chain has hash {prev[:16]}… there, the "
                                 f"checkpoint {cp.hash[:16]}… (the history before it was rewritten)"]


def test_a_stage_or_outcome_set_in_the_table_is_reported():
    commune, item, _cp = checkpointed("rejected")
    with unit_of_work() as db:
        assert audit.reconcile(db, commune.id) == []
    with unit_of_work(write=True) as db:
        db.execute(text("UPDATE item SET outcome = 'done' WHERE id = :i"), {"i": item.id})
    with unit_of_work() as db:
        found = [d.describe() for d in audit.reconcile(db, commune.id)]
    assert found == [f"item {item.id} ({item.code}): outcome is 'done' in the table, 'rejected' from the "
                     f"events"]


@pytest.mark.parametrize(("data", "message"), [
    ([], "not a checkpoint export"),
    ({"format": "civic-audit-checkpoint/1"}, "no valid Ed25519 public key"),
    ({"format": "civic-audit-checkpoint/1", "public_key": {"key": base64.b64encode(b"x" * 31).decode()}},
     "no valid Ed25519 public key"),
    ({"format": "civic-audit-checkpoint/1", "public_key": {"key": base64.b64encode(b"x" * 32).decode()}},
     "no list of checkpoints"),
    ({"format": "civic-audit-checkpoint/1", "public_key": {"key": base64.b64encode(b"x" * 32).decode()},
      "checkpoints": [{"seq": 1}]}, "checkpoint 1 lacks"),
    ({"format": "civic-audit-checkpoint/1", "public_key": {"key": base64.b64encode(b"x" * 32).decode()},
      "checkpoints": [{"seq": "1", "commune": "NS", "hash": "a", "taken_at": "t", "signature": "s"}]},
     "checkpoint 1 is malformed"),
])
def test_a_malformed_export_is_refused_with_a_reason(data, message):
    with pytest.raises(audit.BadExport, match=message):
        audit.parse_export(data)


def test_the_audit_page_shows_the_latest_checkpoints_and_the_public_key(client):
    clock.freeze(datetime(2026, 12, 5, 17, 30, tzinfo=UTC))  # 00:30 on 6 December in Vietnam
    commune, _item, cp = checkpointed()
    page = client.get("/audit?lang=vi")
    assert page.status_code == 200
    rows = re.findall(r'<tr><th scope="row">([\d.]+)</th><td>([^<]+)</td><td class="hash">([0-9a-f]{64})</td>'
                      r'<td class="hash">([A-Za-z0-9+/=]+)</td></tr>', page.text)
    assert rows == [(str(cp.seq), "06/12/2026", cp.hash, cp.signature)]
    assert signing.public_key().b64 in page.text
    assert 'href="/audit/checkpoints.json"' in page.text


def test_the_audit_page_says_when_no_checkpoint_was_taken(client):
    setup_world()
    page = client.get("/audit?lang=en")
    assert page.status_code == 200 and "No checkpoint has been taken yet." in page.text


def test_the_json_export_parses_and_every_signature_verifies_with_the_published_key(client):
    commune, a, _b, cat, _users = setup_world()
    with unit_of_work(write=True) as db:
        first = audit.take_checkpoint(db, commune.id, commune.code)
    setup_item(commune, a, cat, stage="know")
    with unit_of_work(write=True) as db:
        second = audit.take_checkpoint(db, commune.id, commune.code)
    answer = client.get("/audit/checkpoints.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["content-disposition"] == 'attachment; filename="audit-checkpoints-NS.json"'
    data = answer.json()
    assert data["commune"] == "NS" and data["public_key"]["algorithm"] == "Ed25519"
    assert [c["seq"] for c in data["checkpoints"]] == [first.seq, second.seq]
    # A partner checks the signatures with the library alone, not with civic's code.
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(data["public_key"]["key"]))
    for c in data["checkpoints"]:
        key.verify(base64.b64decode(c["signature"]),
                   checkpoint_message(commune=c["commune"], seq=c["seq"], hash=c["hash"],
                                      taken_at=c["taken_at"]))
    with unit_of_work() as db:
        parsed_key, parsed = audit.parse_export(data)
        assert audit.check_checkpoints(db, commune.id, parsed, parsed_key) == []


def test_the_printed_notice_pins_the_head_with_its_date(client):
    clock.freeze(datetime(2026, 12, 5, 17, 30, tzinfo=UTC))
    commune, a, _b, cat, _users = setup_world()
    item = setup_item(commune, a, cat, stage="know")
    with unit_of_work() as db:
        head = audit.head(db, commune.id)
    notice = client.get(f"/items/{item.code}/notice?lang=vi")
    assert notice.status_code == 200
    assert f"#{head.seq} {head.hash} · 06/12/2026" in notice.text


def test_a_checkpoint_file_signed_by_another_key_is_reported(tmp_path, capsys):
    """Someone who swapped the deployment's key re-signs a shortened history; the partner's copy still holds
    the old key, and verify says the keys differ and still checks the copy with the key it holds."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from civic.cli import main

    commune, _item, cp = checkpointed()
    other = Ed25519PrivateKey.generate()
    taken_at = "2026-12-06T01:00:00.000000+00:00"
    message = checkpoint_message(commune="NS", seq=cp.seq, hash=cp.hash, taken_at=taken_at)
    data = {"format": "civic-audit-checkpoint/1", "commune": "NS",
            "public_key": {"algorithm": "Ed25519", "key": base64.b64encode(
                other.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()},
            "checkpoints": [{"commune": "NS", "seq": cp.seq, "hash": cp.hash, "taken_at": taken_at,
                             "signature": base64.b64encode(other.sign(message)).decode()}]}
    path = tmp_path / "theirs.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert main(["audit", "verify", "--checkpoints", str(path)]) == 1
    out = capsys.readouterr()
    assert "the checkpoint file's public key" in out.err and "is not this deployment's key" in out.err
    assert f"NS: leads to all 1 file checkpoints (latest at event {cp.seq}" in out.out
