"""Staff desks offer only the forms the viewer may use: each form shown, posted as a careful person fills
it in, never answers 403 (the same checks as the POST: the workflow's actors and preconditions, and each
domain's role rules). Run per role on the demo commune."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from sqlalchemy import select

from civic.accounts.models import User
from civic.accounts.service import hash_password
from civic.db import unit_of_work
from civic.items.models import Item
from civic.seed import demo
from tests import fuzz_support as fz

# What the desks show, checked against what the services allow: the same on any database (tests/conftest.py).
pytestmark = pytest.mark.pages

DESK = re.compile(r"^/(triage|review|deliberation|do|inspect)/[A-Z]{2,3}-\d{4}-\d{3,5}(/pledge/\d+)?$")
DESK_PREFIXES = ("/triage", "/review", "/deliberation", "/do", "/inspect")
# The village head of another village of the demo commune (the demo gives them random passwords).
OTHER_HEAD = ("0900000005", "other-village-village_head-9")
# Forms each role must find on the desks, so a crawl that stopped reaching them fails instead of passing.
MUST_FIND = {
    "village_head": {"/deliberation/{code}/schedule_meeting", "/deliberation/{code}/disclosure",
                  "/triage/{code}/accept", "/do/{code}/budget", "/inspect/{code}/answer"},
    "supervisor": {"/review/{code}/uphold", "/inspect/{code}/mark", "/inspect/{code}/finding"},
}


def _codes() -> list[str]:
    with unit_of_work() as db:
        return list(db.execute(select(Item.code).order_by(Item.id)).scalars())


def _log_in(client, role: str) -> str:
    if role != "other_head":
        return fz.log_in(client, role)
    with unit_of_work(write=True) as db:
        user = db.execute(select(User).where(User.phone == OTHER_HEAD[0])).scalar_one()
        user.password_hash = hash_password(OTHER_HEAD[1])
    client.cookies.clear()
    page = client.get("/login")
    answer = client.post("/login", data={"csrf_token": fz.csrf_of(page.text), "phone": OTHER_HEAD[0],
                                         "password": OTHER_HEAD[1]}, follow_redirects=False)
    assert answer.status_code == 303
    return fz.csrf_of(client.get("/submit").text)


def _desk_pages(client) -> dict[str, str]:
    """Every desk page of every demo item this client may open (and the pledge pages linked from them)."""
    seeds = [f"{prefix}/{code}" for code in _codes() for prefix in DESK_PREFIXES]
    pages = fz.crawl(client, seeds, most=2000)
    return {path: html for path, html in pages.items() if DESK.match(path)}


def _desk_forms(pages: dict[str, str]) -> list[fz.PageForm]:
    return [f for f in fz.forms_of(pages) if f.action.startswith((*DESK_PREFIXES, "/media/"))]


@pytest.mark.parametrize("role", ["resident", "village_head", "supervisor", "admin", "other_head"])
def test_every_form_a_desk_shows_is_one_the_viewer_may_post(client, role):
    fz.load_demo()
    csrf = _log_in(client, role)
    pages = _desk_pages(client)
    forms = _desk_forms(pages)
    found = {fz.shape(f.action) for f in forms}
    assert MUST_FIND.get(role, set()) <= found, sorted(MUST_FIND[role] - found)
    refused = []
    statuses = Counter()
    for form in forms:
        answer = fz.post(client, form, fz.baseline(form), csrf)
        statuses[answer.status_code] += 1
        if answer.status_code in (401, 403):
            refused.append(f"{answer.status_code} {form.action} (shown on {form.page})")
    assert not refused, "forms shown that the viewer may not use:\n" + "\n".join(refused)
    if role in MUST_FIND:  # the careful values reach the services, not only the form checks (422)
        assert statuses[303] > len(forms) / 2, dict(statuses)


def _item(title: str) -> str:
    with unit_of_work() as db:
        return db.execute(select(Item.code).where(Item.title == title)).scalar_one()


def test_a_supervisor_follows_the_deliberation_desk_without_the_village_heads_forms(client):
    fz.load_demo()
    code = _item(demo.DISCUSS_DEMO)
    fz.log_in(client, "village_head")
    own = client.get(f"/deliberation/{code}")
    assert own.status_code == 200
    assert f'action="/deliberation/{code}/schedule_meeting"' in own.text  # the village head's desk has it

    fz.log_in(client, "supervisor")
    page = client.get(f"/deliberation/{code}")
    assert page.status_code == 200
    assert 'id="desk-readonly"' in page.text
    for action in ("schedule_meeting", "record_meeting", "disclosure", "decide", "paper_ballot",
                   "close_count", "open_discussion", "hide_comment"):
        assert f"/deliberation/{code}/{action}" not in page.text, action
    assert "<form" not in page.text.split("</header>", 1)[1]  # no form below the menu at all


def test_the_village_head_of_another_village_gets_no_desk_of_this_village(client):
    fz.load_demo()
    _log_in(client, "other_head")
    code = _item(demo.DISCUSS_DEMO)  # an item of Hưng Đạo
    for prefix in DESK_PREFIXES:
        answer = client.get(f"{prefix}/{code}")
        assert answer.status_code in (403, 404), prefix
        assert "/deliberation/" + code + "/" not in answer.text
