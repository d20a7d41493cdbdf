"""Review on appeal through the pages: the author asks, a supervisor upholds or sends the item back."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from civic import clock
from civic.db import unit_of_work
from civic.workflow.models import ReviewRequest
from tests.builders import browser, count, csrf_token, login, setup_item, setup_world, snapshot

DECIDED = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)
WHY = "Cống vẫn tắc, đề nghị Ban thanh tra xem xét lại."


@pytest.fixture
def rejected(client):
    """The resident's item, rejected at DECIDED; the client is logged in as the resident."""
    clock.freeze(DECIDED - timedelta(days=2))
    commune, a, b, cat, users = setup_world()
    clock.freeze(DECIDED)
    item = setup_item(commune, a, cat, stage="rejected", reporter=users["resident"],
                      title="Cống tắc bị từ chối")
    login(client, users["resident"])
    return commune, a, b, cat, users, item


def ask(client, code, reason=WHY, **extra):
    token = csrf_token(client, f"/items/{code}")
    return client.post(f"/items/{code}/author/request_review",
                       data={"csrf_token": token, "reason": reason, **extra}, follow_redirects=False)


def decide(client, code, action, reason="Quyết định của thôn là đúng quy định."):
    token = csrf_token(client, "/review")
    return client.post(f"/review/{code}/{action}", data={"csrf_token": token, "reason": reason},
                       follow_redirects=False)


def review_queue(client) -> list[str]:
    page = client.get("/review")
    assert page.status_code == 200
    return re.findall(r'<a class="card-title" href="/review/([^"]+)">', page.text)


def test_author_sees_the_review_form_and_asks(client, rejected):
    _c, _a, _b, _cat, users, item = rejected
    clock.advance(timedelta(days=10))
    page = client.get(f"/items/{item.code}").text
    assert f'action="/items/{item.code}/author/request_review"' in page
    answer = ask(client, item.code)
    assert answer.status_code == 303 and answer.headers["location"] == f"/items/{item.code}"
    assert f'action="/items/{item.code}/author/request_review"' not in client.get(f"/items/{item.code}").text
    with browser(client.app) as supervisor:
        login(supervisor, users["supervisor"])
        assert review_queue(supervisor) == [item.code]
        detail = supervisor.get(f"/review/{item.code}")
        assert detail.status_code == 200
        assert WHY in detail.text
        assert f'action="/review/{item.code}/uphold"' in detail.text
        assert f'action="/review/{item.code}/send_back"' in detail.text


def test_others_are_not_offered_the_review_form(client, rejected):
    _c, _a, _b, _cat, users, item = rejected
    with browser(client.app) as stranger:
        assert "request_review" not in stranger.get(f"/items/{item.code}").text
        login(stranger, users["village_head"])
        assert "request_review" not in stranger.get(f"/items/{item.code}").text
        answer = ask(stranger, item.code)
        assert answer.status_code == 403
    with unit_of_work() as db:
        assert count(db, ReviewRequest) == 0


def test_review_after_30_days_is_refused(client, rejected):
    _c, _a, _b, _cat, _users, item = rejected
    clock.advance(timedelta(days=30, seconds=1))
    assert "request_review" not in client.get(f"/items/{item.code}").text
    before = snapshot(item.code)
    assert ask(client, item.code).status_code == 409
    assert snapshot(item.code) == before


def test_review_on_the_30th_day_is_accepted(client, rejected):
    _c, _a, _b, _cat, _users, item = rejected
    clock.advance(timedelta(days=30))
    assert ask(client, item.code).status_code == 303


def test_a_second_request_is_refused(client, rejected):
    _c, _a, _b, _cat, _users, item = rejected
    assert ask(client, item.code).status_code == 303
    before = snapshot(item.code)
    assert ask(client, item.code, reason="Xin xem xét lại lần nữa.").status_code == 409
    assert snapshot(item.code) == before
    with unit_of_work() as db:
        assert count(db, ReviewRequest) == 1


def test_a_request_without_a_reason_is_explained(client, rejected):
    _c, _a, _b, _cat, _users, item = rejected
    answer = ask(client, item.code, reason="")
    assert answer.status_code == 422
    assert 'id="f-reason-error"' in answer.text
    with unit_of_work() as db:
        assert count(db, ReviewRequest) == 0


def test_anonymous_author_asks_with_the_manage_link(client):
    clock.freeze(DECIDED)
    commune, a, _b, cat, users = setup_world()
    item = setup_item(commune, a, cat, stage="duplicate")
    manage = client.get(f"/m/{item._manage_token}")
    assert manage.status_code == 200
    assert f'action="/items/{item.code}/author/request_review"' in manage.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', manage.text).group(1)
    answer = client.post(f"/items/{item.code}/author/request_review",
                         data={"csrf_token": token, "manage_token": item._manage_token, "reason": WHY},
                         follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"/m/{item._manage_token}"
    with browser(client.app) as supervisor:
        login(supervisor, users["supervisor"])
        assert review_queue(supervisor) == [item.code]


def test_supervisor_upholds(client, rejected):
    _c, _a, _b, _cat, users, item = rejected
    ask(client, item.code)
    with browser(client.app) as supervisor:
        login(supervisor, users["supervisor"])
        answer = decide(supervisor, item.code, "uphold", "Việc này thuộc thẩm quyền cấp huyện.")
        assert answer.status_code == 303 and answer.headers["location"] == "/review"
        assert review_queue(supervisor) == []
        assert decide(supervisor, item.code, "uphold").status_code == 409
    after = snapshot(item.code)
    assert (after["stage"], after["outcome"]) == ("closed", "rejected")
    status = client.get(f"/items/{item.code}").text
    assert "Giám Sát" in status, "the timeline names the supervisor"
    assert "Việc này thuộc thẩm quyền cấp huyện." in status


def test_supervisor_sends_back_to_triage(client, rejected):
    _c, _a, _b, _cat, users, item = rejected
    ask(client, item.code)
    with browser(client.app) as supervisor:
        login(supervisor, users["supervisor"])
        assert decide(supervisor, item.code, "send_back", "Thôn cần xem xét lại.").status_code == 303
        assert review_queue(supervisor) == []
    after = snapshot(item.code)
    assert (after["stage"], after["outcome"]) == ("submitted", None)
    with browser(client.app) as village_head:
        login(village_head, users["village_head"])
        page = village_head.get("/triage").text
        assert f'href="/triage/{item.code}"' in page
        token = csrf_token(village_head, "/triage")
        assert village_head.post(f"/triage/{item.code}/accept", data={"csrf_token": token},
                              follow_redirects=False).status_code == 303
    assert snapshot(item.code)["stage"] == "know"


@pytest.mark.parametrize("who", ["resident", "village_head", "admin"])
def test_review_pages_are_for_supervisors(client, rejected, who):
    _c, _a, _b, _cat, users, item = rejected
    ask(client, item.code)
    with browser(client.app) as other:
        login(other, users[who])
        assert other.get("/review").status_code == 403
        token = csrf_token(other, "/submit")
        before = snapshot(item.code)
        answer = other.post(f"/review/{item.code}/uphold",
                            data={"csrf_token": token, "reason": "Giữ nguyên."})
        assert answer.status_code == 403
        assert snapshot(item.code) == before


def test_supervisor_decision_needs_a_reason_and_csrf(client, rejected):
    _c, _a, _b, _cat, users, item = rejected
    ask(client, item.code)
    with browser(client.app) as supervisor:
        login(supervisor, users["supervisor"])
        before = snapshot(item.code)
        answer = decide(supervisor, item.code, "send_back", reason="")
        assert answer.status_code == 422
        assert 'id="f-reason-error"' in answer.text
        assert supervisor.post(f"/review/{item.code}/send_back",
                               data={"reason": "Thôn xem lại."}).status_code == 403
        assert decide(supervisor, item.code, "reopen_everything").status_code == 404
        assert decide(supervisor, item.code, "accept").status_code == 404
        assert snapshot(item.code) == before
        assert review_queue(supervisor) == [item.code]


def test_supervisor_cannot_decide_without_a_request(client, rejected):
    _c, _a, _b, _cat, users, item = rejected
    with browser(client.app) as supervisor:
        login(supervisor, users["supervisor"])
        before = snapshot(item.code)
        assert decide(supervisor, item.code, "uphold").status_code == 409
        assert snapshot(item.code) == before


def test_supervisor_sees_private_contacts_of_the_commune(client):
    commune, a, b, cat, users = setup_world()
    item = setup_item(commune, b, cat, contact_phone="0966555444")
    login(client, users["supervisor"])
    assert "0966555444" in client.get(f"/items/{item.code}").text
    assert "0966555444" in client.get(f"/review/{item.code}").text
    with browser(client.app) as resident:
        login(resident, users["resident"])
        assert "0966555444" not in resident.get(f"/items/{item.code}").text
