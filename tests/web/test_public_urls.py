"""Whatever is typed into an address of the public and resident pages, the answer is a page, never a 500:
digits of other scripts, numbers past any id, NUL, very long text, in every path and query parameter."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.builders import setup_item, setup_world

ODD = ["¹", "٣", "9" * 20, "9" * 5000, "\x00", "x" * 5000, "-1", "0", "1e9", "<b>", "%", "１２"]

QUERIES = {
    "/items": ("village", "category", "stage", "outcome", "kind", "q", "page"),
    "/submit": ("kind", "village", "category"),
    "/login": ("next",),
    "/register": ("next",),
    "/lang/en": ("next",),
    "/track": ("code",),
}


@pytest.fixture
def place(client):
    commune, a, _b, cat, _users = setup_world()
    return setup_item(commune, a, cat, stage="know").code


@pytest.mark.parametrize("value", ODD)
def test_odd_values_in_every_query_parameter(client, place, value):
    for path, names in QUERIES.items():
        for name in names:
            answer = client.get(f"{path}?{name}={quote(value)}", follow_redirects=False)
            assert answer.status_code in (200, 303, 404, 422), (path, name, value[:20], answer.status_code)
            if path in ("/login", "/register", "/lang/en") and answer.status_code == 303:
                assert answer.headers["location"].startswith("/")


@pytest.mark.parametrize("value", ODD)
def test_odd_values_in_every_path(client, place, value):
    for template in ("/villages/{}/feed.atom", "/villages/{}/meetings.ics", "/items/{}",
                     "/items/{}/feed.atom", "/submitted/{}", "/m/{}", "/items/{}/pledgers"):
        answer = client.get(template.format(quote(value, safe="")), follow_redirects=False)
        assert answer.status_code in (301, 303, 404), (template, value[:20], answer.status_code)


def test_a_village_id_in_another_script_is_not_found(client, place):
    for path in ("/villages/¹/feed.atom", "/villages/٣/meetings.ics", "/villages/1_0/feed.atom",
                 "/villages/%00/feed.atom", "/villages/99999999999999999999/meetings.ics"):
        assert client.get(path).status_code == 404, path


def test_odd_values_in_the_author_forms(client, place):
    from tests.builders import csrf_token

    token = csrf_token(client, "/submit")
    for value in ODD:
        for action in ("withdraw", "request_review"):
            answer = client.post(f"/items/{place}/author/{action}",
                                 data={"csrf_token": token, "manage_token": value, "reason": value},
                                 follow_redirects=False)
            assert answer.status_code in (403, 409, 422), (action, value[:20], answer.status_code)
