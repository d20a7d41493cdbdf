"""The private manage link belongs to the browser that sent the item: a replay of its form from another
browser learns only the public code, the same browser retrying after a lost answer gets its link again,
and the link stops working some time after the item closed."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx

from civic import clock
from civic.items import rules
from tests.builders import browser, csrf_from, csrf_token, login, setup_world, snapshot, submit_form
from tests.items.test_pages import only_item, phone_shapes

NAME = "Bà Tư Riêng"
MANAGE_RE = re.compile(r'(?:http://testserver)?(/m/[A-Za-z0-9_-]{16,})')


def _send(client, a, cat, **over) -> tuple[dict, str]:
    """A resident without an account sends an item; returns the form sent and the manage link's path."""
    data = submit_form(client, a, cat, title="Cống trước nhà văn hoá bị tắc", contact_phone="0912 345 678",
                       contact_name=NAME, **over)
    answer = client.post("/submit", data=data, follow_redirects=True)
    assert answer.status_code == 200
    manage = MANAGE_RE.search(answer.text)
    assert manage, "the sender's receipt shows the manage link"
    return data, manage.group(1)


def _follow(client, response) -> list[httpx.Response]:
    """The response and every page its redirects lead to."""
    seen = [response]
    while response.status_code in (301, 302, 303, 307, 308) and len(seen) < 10:
        response = client.get(response.headers["location"], follow_redirects=False)
        seen.append(response)
    return seen


def _assert_nothing_private(responses: list[httpx.Response], manage: str) -> None:
    token = manage.rsplit("/", 1)[1]
    for response in responses:
        text = response.text + str(response.headers)
        assert response.status_code < 500, response.status_code
        assert token not in text and "/m/" not in text, f"manage link shown at {response.url}"
        for shape in phone_shapes():
            assert shape not in text, f"phone shown at {response.url}"
        assert NAME not in text


def test_a_replay_of_the_client_token_from_another_browser_shows_only_the_public_code(client):
    _commune, a, _b, cat, _users = setup_world()
    data, manage = _send(client, a, cat)
    item = only_item()

    with browser(client.app) as attacker:  # no cookie of the resident: its own session and CSRF token
        replay = submit_form(attacker, a, cat, title="Nội dung khác hẳn của kẻ gian",
                             contact_phone="0987654321")
        replay["client_token"] = data["client_token"]  # read off the resident's screen, outbox or logs
        answer = attacker.post("/submit", data=replay, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/items/{item.code}", "at most the public status page"
        pages = _follow(attacker, answer)
        assert pages[-1].status_code == 200 and item.code in pages[-1].text
        # The receipt page stays the resident's, and nothing else reveals the link either.
        pages += _follow(attacker, attacker.get(f"/submitted/{item.code}", follow_redirects=False))
        pages.append(attacker.get(f"/items/{item.code}"))
        _assert_nothing_private(pages, manage)

        # Without the link the attacker cannot withdraw the item.
        csrf = csrf_token(attacker)
        refused = attacker.post(f"/items/{item.code}/author/withdraw", data={"csrf_token": csrf})
        assert refused.status_code == 403
        _assert_nothing_private([refused], manage)
    assert snapshot(item.code)["stage"] == "submitted"
    assert snapshot(item.code)["items"] == 1, "the replay added nothing"

    # The resident's own link still works.
    page = client.get(manage)
    assert page.status_code == 200 and "0912345678" in page.text


def test_a_replay_from_a_signed_in_stranger_shows_only_the_public_code(client):
    _commune, a, _b, cat, users = setup_world()
    data, manage = _send(client, a, cat)
    item = only_item()
    with browser(client.app) as stranger:
        login(stranger, users["resident"])
        replay = dict(submit_form(stranger, a, cat, contact_phone=""), client_token=data["client_token"])
        answer = stranger.post("/submit", data=replay, follow_redirects=False)
        assert answer.headers["location"] == f"/items/{item.code}"
        _assert_nothing_private(_follow(stranger, answer), manage)


def test_the_same_browser_retrying_after_a_lost_answer_gets_its_receipt_again(client):
    _commune, a, _b, cat, _users = setup_world()
    data = submit_form(client, a, cat, contact_phone="0912 345 678", contact_name=NAME)
    before = dict(client.cookies)  # the cookie the browser has while the first answer is on its way
    first = client.post("/submit", data=data, follow_redirects=True)
    manage = MANAGE_RE.search(first.text).group(1)

    client.cookies.clear()  # the first answer never arrived (a dropped connection, a killed server)
    client.cookies.update(before)
    again = client.post("/submit", data=data, follow_redirects=False)
    item = only_item()
    assert again.status_code == 303 and again.headers["location"] == f"/submitted/{item.code}"
    receipt = client.get(again.headers["location"])
    assert MANAGE_RE.search(receipt.text).group(1) == manage, "the same manage link is shown again"
    page = client.get(manage)
    assert page.status_code == 200 and "0912345678" in page.text
    assert snapshot(item.code)["items"] == 1


def _withdraw(client, manage: str, code: str) -> None:
    page = client.get(manage).text
    done = client.post(f"/items/{code}/author/withdraw",
                       data={"csrf_token": csrf_from(page), "manage_token": manage.rsplit("/", 1)[1]},
                       follow_redirects=False)
    assert done.status_code == 303


def test_the_manage_link_expires_some_days_after_the_item_closed(client):
    _commune, a, _b, cat, _users = setup_world()
    _data, manage = _send(client, a, cat)
    item = only_item()
    _withdraw(client, manage, item.code)

    clock.advance(timedelta(days=rules.MANAGE_LINK_DAYS_AFTER_CLOSE - 1))
    still = client.get(manage)
    assert still.status_code == 200 and "0912345678" in still.text, "a closed item's link works a while"

    clock.advance(timedelta(days=1, minutes=1))
    with browser(client.app) as later:  # the link opened again later, in Vietnamese (the default)
        expired = later.get(manage)
        assert expired.status_code == 410
        assert "Đường liên kết quản lý này đã hết hạn" in expired.text
        assert f'href="/items/{item.code}"' in expired.text, "the public page is offered instead"
        assert expired.headers["cache-control"] == "no-store"
        for shape in phone_shapes():
            assert shape not in expired.text
        assert NAME not in expired.text and "Cống trước nhà văn hoá bị tắc" not in expired.text
        assert "withdraw" not in expired.text and 'name="manage_token"' not in expired.text
        later.get("/lang/en")
        assert "This manage link has expired" in later.get(manage).text

    # Its token no longer counts as the author's for a form either.
    csrf = csrf_token(client)
    refused = client.post(f"/items/{item.code}/author/request_review",
                          data={"csrf_token": csrf, "manage_token": manage.rsplit("/", 1)[1],
                                "reason": "Tôi muốn xem lại quyết định này."})
    assert refused.status_code == 403
    assert "0912345678" not in refused.text


def test_an_open_item_s_link_does_not_expire(client):
    _commune, a, _b, cat, _users = setup_world()
    _data, manage = _send(client, a, cat)
    clock.advance(timedelta(days=3 * rules.MANAGE_LINK_DAYS_AFTER_CLOSE))
    page = client.get(manage)
    assert page.status_code == 200 and "0912345678" in page.text
