"""A partner's token names its request only to that partner: the lookup needs the key that sent it, and the
item's idempotency key cannot be made (and replayed through the web form) without the server's secret."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from civic.db import unit_of_work
from civic.items.models import Item
from tests.builders import submit_form
from tests.items.test_pages import phone_shapes
from tests.open311.conftest import error_descriptions, parse, post

FORMATS = ("json", "xml")
PRIVATE = ("0912345678", "Trần Thị Riêng")


def _private_in(text: str) -> list[str]:
    return [s for s in [*phone_shapes(), PRIVATE[1], "/m/"] if s in text]


def _sent(client, site, token: str = "outbox-9") -> str:
    answer = post(client, site, token=token, phone="0912 345 678", first_name="Trần Thị", last_name="Riêng")
    assert answer.status_code == 200, answer.text
    return answer.json()[0]["service_request_id"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_token_lookup_without_an_api_key_is_refused(client, site, fmt):
    _sent(client, site)
    for query in ("?locale=en", "?api_key=&locale=en", "?jurisdiction_id=NS&locale=en"):
        answer = client.get(f"/open311/v2/tokens/outbox-9.{fmt}{query}")
        assert answer.status_code == 403, (query, answer.text)
        descriptions = error_descriptions(answer)  # the spec's error array, in the asked format
        assert descriptions == ["api_key: A valid api_key is required to look up a token."]
        assert "outbox-9" not in answer.text and "NS-" not in answer.text


@pytest.mark.parametrize("fmt", FORMATS)
def test_another_partner_s_key_finds_nothing_as_for_a_token_never_sent(client, site, fmt):
    code = _sent(client, site)
    other = client.get(f"/open311/v2/tokens/outbox-9.{fmt}?api_key={site.other_key}")
    never = client.get(f"/open311/v2/tokens/never-sent-9.{fmt}?api_key={site.other_key}")
    assert other.status_code == never.status_code == 404
    assert other.content == never.content, "another key learns nothing more than for an unknown token"
    assert code not in other.text
    mine = client.get(f"/open311/v2/tokens/outbox-9.{fmt}?api_key={site.api_key}")
    assert mine.status_code == 200
    if fmt == "json":
        assert mine.json() == [{"service_request_id": code, "token": "outbox-9"}]
    else:
        root = parse(mine)
        assert root.findtext("request/service_request_id") == code
        assert root.findtext("request/token") == "outbox-9"
    assert not _private_in(mine.text)


def test_another_partner_s_post_with_the_same_token_learns_nothing_private(client, site):
    code = _sent(client, site)
    answer = post(client, site, token="outbox-9", api_key=site.other_key)
    assert answer.status_code == 200
    assert answer.json()[0]["service_request_id"] != code
    assert not _private_in(answer.text) and code not in answer.text


def test_the_web_form_cannot_replay_a_partner_s_request(client, site):
    code = _sent(client, site)
    with unit_of_work() as db:
        item = db.execute(select(Item).where(Item.code == code)).scalar_one()
        stored = item.client_token
        assert item.manage_token_hash is None, "nobody is ever shown a manage link for a partner's request"
    guessed = f"api{site.api_key_id}-" + hashlib.sha256(b"outbox-9").hexdigest()[:48]
    assert stored != guessed, "the key is not made from the partner's token alone"

    # Someone who knows the partner's token sends it through the web form, as its key would look without
    # a secret: it is a new item of their own, nothing of the partner's.
    answer = client.post("/submit", data=dict(submit_form(client, site.village, site.drainage,
                                                          contact_phone="0987654321"),
                                              client_token=guessed), follow_redirects=True)
    assert answer.status_code == 200 and code not in answer.text
    assert not [s for s in [*phone_shapes(), PRIVATE[1]] if s in answer.text]
    with unit_of_work() as db:
        assert len(db.execute(select(Item)).all()) == 2, "a new item of the web sender's own"

    # Even the stored key itself (a leaked database row) gives the web form only the public page.
    replay = client.post("/submit", data=dict(submit_form(client, site.village, site.drainage,
                                                          contact_phone="0987654321"),
                                              client_token=stored), follow_redirects=False)
    assert replay.status_code == 303 and replay.headers["location"] == f"/items/{code}"
    page = client.get(replay.headers["location"])
    assert page.status_code == 200 and not _private_in(page.text)
