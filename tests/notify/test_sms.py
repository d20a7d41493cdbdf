"""The SMS channels against local servers implementing each provider's documented request and answer."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from civic.db import unit_of_work
from civic.notify import service as notify
from civic.notify import worker
from civic.notify.channels import Message, Permanent, Temporary
from civic.notify.channels.sms import AndroidGatewayChannel, BrandnameChannel
from civic.notify.models import Outbox
from tests.builders import make_item, move, viewer, world
from tests.notify.servers import HttpStub, android_gateway


def message(phone: str = "0912000111") -> Message:
    return Message("sms", phone, "NS-2026-0001", "NS-2026-0001: Dân biết", "a" * 40)


def test_the_android_gateway_gets_the_documented_request():
    with android_gateway() as stub:
        AndroidGatewayChannel(stub.url, "sms", "gw-pass").send(message())
        [seen] = stub.seen
        assert seen.path == "/message"
        assert seen.json() == {"id": "a" * 40, "message": "NS-2026-0001: Dân biết",
                               "phoneNumbers": ["+84912000111"]}


@pytest.mark.parametrize("status, headers, error, retry_after", [
    (500, {}, Temporary, None),
    (503, {}, Temporary, None),
    (429, {"Retry-After": "120"}, Temporary, 120.0),
    (400, {}, Permanent, None),
])
def test_gateway_failures(status, headers, error, retry_after):
    with android_gateway(fail=lambda seen: (status, headers, {"message": "nope"})) as stub:
        with pytest.raises(error) as caught:
            AndroidGatewayChannel(stub.url, "sms", "gw-pass").send(message())
        assert getattr(caught.value, "retry_after", None) == retry_after


def test_wrong_credentials_wait_for_the_admin_to_fix_them():
    with android_gateway() as stub, pytest.raises(Temporary) as caught:
        AndroidGatewayChannel(stub.url, "sms", "wrong").send(message())
    assert "401" in caught.value.reason


def test_a_gateway_that_does_not_answer_in_time_is_temporary():
    import time

    def slow(seen):
        time.sleep(1.5)
        return None

    with android_gateway(fail=slow) as stub, pytest.raises(Temporary) as caught:
        AndroidGatewayChannel(stub.url, "sms", "gw-pass", timeout=0.5).send(message())
    assert "timed out" in caught.value.reason


def test_a_phone_follower_confirms_with_the_code_from_the_sms_and_hears_of_the_change(monkeypatch, daytime):
    from civic.config import get_settings

    with android_gateway() as stub:
        monkeypatch.setattr(get_settings(), "sms_gateway_url", stub.url)
        monkeypatch.setattr(get_settings(), "sms_gateway_password", "gw-pass")
        with unit_of_work(write=True) as db:
            commune, a, _, cat, users = world(db)
            item = make_item(db, commune, a, cat)
            follow, _secret = notify.start_contact_follow(db, item, "sms", "0912000111", "vi")
            item_id, follow_id, head_id = item.id, follow.id, users["village_head"].id
        worker.run_once()
        [code_sms] = [s.json() for s in stub.seen if s.json()["phoneNumbers"] == ["+84912000111"]]
        code = re.search(r"\b\d{6}\b", code_sms["message"]).group(0)
        with unit_of_work(write=True) as db:
            from civic.accounts.models import User
            from civic.items.models import Item
            from civic.notify.models import Follow

            item = db.get(Item, item_id)
            notify.confirm_follow(db, db.get(Follow, follow_id), code)
            move(db, item, "accept", viewer(db, db.get(User, head_id)))
        worker.run_once()
        last = stub.seen[-1].json()
        assert last["phoneNumbers"] == ["+84912000111"] and "Dân biết" in last["message"]
        assert "TU CHOI" in last["message"]
        with unit_of_work() as db:
            statuses = {r.kind: r.status for r in db.execute(select(Outbox)).scalars()
                        if r.recipient.startswith("f:")}
        assert statuses == {"follow_code": "sent", "stage_changed": "sent"}


def brandname_stub(code: str = "100"):
    def answer(seen):
        body = seen.json()
        if not {"ApiKey", "SecretKey", "Phone", "Content", "Brandname", "SmsType"} <= set(body):
            return 200, {}, {"CodeResult": "99", "ErrorMessage": "missing field"}
        if body["ApiKey"] != "key" or body["SecretKey"] != "secret":
            return 200, {}, {"CodeResult": "101", "ErrorMessage": "Authorize failed"}
        return 200, {}, {"CodeResult": code, "SMSID": "123" if code == "100" else None}
    return HttpStub(answer)


def test_the_brandname_api_gets_the_documented_request():
    with brandname_stub() as stub:
        BrandnameChannel(stub.url + "/send", "key", "secret", "UBND-XA").send(message())
        body = stub.seen[0].json()
        assert body == {"ApiKey": "key", "SecretKey": "secret", "Phone": "0912000111",
                        "Content": "NS-2026-0001: Dân biết", "Brandname": "UBND-XA", "SmsType": "2",
                        "RequestId": "a" * 40}


def test_brandname_refusals():
    with brandname_stub("104") as stub, pytest.raises(Permanent):
        BrandnameChannel(stub.url, "key", "secret", "UBND-XA").send(message())
    with brandname_stub() as stub, pytest.raises(Temporary):  # wrong keys: the admin fixes the settings
        BrandnameChannel(stub.url, "key", "wrong", "UBND-XA").send(message())
