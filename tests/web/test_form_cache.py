"""The submission form kept with holes for its tokens: every anonymous visitor gets it with a CSRF token of
their own session and a client token of their own form, never another visitor's, and the form follows the
commune's villages at once."""

from __future__ import annotations

import pytest

from civic.areas import service as areas
from civic.db import unit_of_work
from civic.items.models import Item
from civic.web import pagecache
from tests.builders import browser, count, csrf_from, hidden_value, item_data, login, setup_world


@pytest.fixture
def kept(client, kept_pages):
    """The app's client with the page cache on, and the keys of the pages it rendered and kept."""
    return client, kept_pages


def tokens(page) -> tuple[str, str]:
    assert page.status_code == 200
    assert pagecache.hole("") not in page.text
    return csrf_from(page.text), hidden_value(page.text, "client_token")


def test_two_visitors_get_the_kept_form_with_their_own_tokens_and_both_can_send_it(kept):
    client, renders = kept
    _commune, a, _b, cat, _users = setup_world()
    first = client.get("/submit")
    with browser(client.app) as other:
        second = other.get("/submit")
        assert len([k for k in renders if k[0] == "submit"]) == 1  # rendered once, served twice
        (csrf_1, client_1), (csrf_2, client_2) = tokens(first), tokens(second)
        assert csrf_1 != csrf_2 and client_1 != client_2
        assert csrf_2 not in first.text and csrf_1 not in second.text
        again = tokens(client.get("/submit"))
        assert again[0] == csrf_1 and again[1] not in (client_1, client_2)  # same session, a new form

        for browser_, csrf, token, title in ((client, csrf_1, client_1, "Cống ngõ 3 bị tắc"),
                                             (other, csrf_2, client_2, "Đèn ngõ 7 không sáng")):
            data = item_data(a, cat, title=title, csrf_token=csrf, client_token=token)
            answer = browser_.post("/submit", data=data, follow_redirects=False)
            assert answer.status_code == 303, answer.text[:300]
        # Another visitor's token is refused, kept form or not.
        data = item_data(a, cat, title="Thêm một việc", csrf_token=csrf_1, client_token="x" * 32)
        assert other.post("/submit", data=data, follow_redirects=False).status_code == 403
    with unit_of_work() as db:
        assert count(db, Item) == 2


def test_a_new_village_shows_on_the_kept_form_at_once(kept):
    client, _renders = kept
    commune, _a, _b, _cat, _users = setup_world()
    assert "Thôn Đồng Mới" not in client.get("/submit").text
    with unit_of_work(write=True) as db:
        areas.create_village(db, commune, name="Thôn Đồng Mới")
    assert "Thôn Đồng Mới" in client.get("/submit").text


def test_a_signed_in_resident_and_a_pre_filled_link_get_their_own_form(kept):
    client, renders = kept
    _commune, a, _b, cat, users = setup_world()
    assert 'name="contact_phone"' in client.get("/submit").text  # anonymous: a phone to be reached at
    linked = client.get("/submit", params={"village": a.id, "category": cat.id}).text
    assert f'<option value="{a.id}" selected>' in linked
    assert f'<option value="{a.id}" selected>' not in client.get("/submit").text
    login(client, users["resident"])
    mine = client.get("/submit").text
    assert 'name="contact_phone"' not in mine  # signed in: the account is the contact
    assert len([k for k in renders if k[0] == "submit"]) == 1
