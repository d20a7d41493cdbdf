"""My activity: one page with every item a signed-in person is tied to (sent, supported, pledged to,
commented on, judged, followed), what changed since their last visit, paged in a fixed number of queries;
the old /me/items address leads there; a visitor who is not signed in learns how to sign in."""

from __future__ import annotations

import re
import time
from datetime import date, timedelta

from sqlalchemy import event, select, text

from civic import clock
from civic.activity import rules
from civic.activity.models import ActivityVisit
from civic.audit.models import AuditEvent
from civic.db import get_engine, unit_of_work
from civic.deliberation import service as deliberation
from civic.deliberation.models import Comment
from civic.deliberation.schemas import CommentForm
from civic.implementation.models import Pledge
from civic.items.models import Item
from civic.notify import service as notify
from civic.supervision.models import Verdict
from tests.builders import login, make_household_rep, make_item, move, setup_world, viewer
from tests.web.test_page_weight import BUDGET, weigh

NEW = '<strong class="badge">Mới</strong>'


def _cards(html: str) -> list[str]:
    return re.findall(r'<li class="card">(.*?)</li>', html, re.S)


def _card(html: str, code: str) -> str:
    found = [c for c in _cards(html) if code in c]
    assert len(found) == 1, (code, html[-3000:])
    return found[0]


def test_a_visitor_who_is_not_signed_in_learns_how_to_sign_in(client):
    setup_world()
    page = client.get("/me/activity")
    assert page.status_code == 200
    assert "Đăng nhập để theo dõi việc của bạn" in page.text
    assert 'href="/login?next=/me/activity"' in page.text and 'href="/register"' in page.text
    assert _cards(page.text) == []
    english = client.get("/me/activity?lang=en")
    assert "Sign in to follow what you did" in english.text


def test_the_old_address_leads_to_the_activity_page(client):
    _c, _a, _b, _cat, users = setup_world()
    assert client.get("/me/items", follow_redirects=False).headers["location"].startswith("/login?next=")
    login(client, users["resident"])
    answer = client.get("/me/items", follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/me/activity")
    assert client.get("/c/NS/me/items", follow_redirects=False).headers["location"] == "/c/NS/me/activity"


def test_a_resident_without_a_household_sees_how_to_get_one(client):
    _c, a, _b, cat, users = setup_world()
    with unit_of_work(write=True) as db:
        mine = make_item(db, db.merge(_c), db.merge(a), db.merge(cat), reporter=db.merge(users["resident"]),
                         title="Cống ngõ 3 bị tắc")
    login(client, users["resident"])
    page = client.get("/me/activity").text
    assert "Bạn chưa được liên kết với hộ gia đình nào" in page and 'href="/household/claim"' in page
    assert "Bạn đã gửi" in _card(page, mine.code)


def test_every_kind_of_tie_is_listed_with_why_and_what_changed_since_the_last_visit(client):
    commune, a, _b, cat, users = setup_world()
    clock.freeze(clock.now())
    with unit_of_work(write=True) as db:
        commune, a, cat = db.merge(commune), db.merge(a), db.merge(cat)
        rep = make_household_rep(db, a, name="Chủ Hộ Hai")
        me = viewer(db, rep)
        household = sorted(me.household_ids)[0]
        sent = make_item(db, commune, a, cat, reporter=rep, title="Tôi gửi: đèn ngõ 7")
        supported = make_item(db, commune, a, cat, stage="know", title="Hộ tôi ủng hộ: sửa cống")
        deliberation.support(db, supported, me)
        commented = make_item(db, commune, a, cat, stage="know", title="Tôi góp ý: lịch họp")
        deliberation.add_comment(db, commented, me, CommentForm.parse({"body": "Nên họp tối thứ bảy."}))
        followed = make_item(db, commune, a, cat, stage="know", title="Tôi theo dõi: đường bê tông")
        notify.follow_account(db, followed, me)
        pledged = make_item(db, commune, a, cat, stage="do", title="Hộ tôi đóng góp: mương")
        db.add(Pledge(item_id=pledged.id, household_id=household, kind="labour", quantity=2,
                      consent_text="Đồng ý", consent_on=date(2026, 3, 1), witness_name="Ông Ba",
                      witness_role="Trưởng thôn", created_at=clock.now()))
        judged = make_item(db, commune, a, cat, stage="closed", title="Hộ tôi đánh giá: sân chơi")
        db.add(Verdict(item_id=judged.id, household_id=household, closure_at=clock.now(), verdict="done",
                       satisfaction=5, given_by_id=rep.id, created_at=clock.now()))
        stranger = make_item(db, commune, a, cat, stage="know", title="Không liên quan đến tôi")
    login(client, rep)

    first = client.get("/me/activity").text
    expected = {sent.code: "Bạn đã gửi", supported.code: "Hộ của bạn ủng hộ",
                commented.code: "Bạn đã bình luận", followed.code: "Bạn theo dõi",
                pledged.code: "Hộ của bạn đã đăng ký đóng góp", judged.code: "Hộ của bạn đã đánh giá"}
    for code, why in expected.items():
        assert why in _card(first, code), code
    assert stranger.code not in first
    assert NEW not in first, "the first visit has nothing to compare with"

    # Within the same visit nothing moves; an hour later the village head accepts the item I sent and
    # replies to the one I commented on: the next visit marks both, and only them.
    clock.advance(timedelta(hours=1))
    with unit_of_work(write=True) as db:
        head = viewer(db, users["village_head"])
        move(db, db.merge(sent), "accept", head)
        deliberation.add_comment(db, db.merge(commented), head,
                                 CommentForm.parse({"body": "Thôn sẽ họp tối thứ bảy."}))
        deliberation.add_comment(db, db.merge(commented), me, CommentForm.parse({"body": "Cảm ơn."}))
    clock.advance(timedelta(hours=1))
    second = client.get("/me/activity").text
    changed = _card(second, sent.code)
    assert NEW in changed and "Việc đã chuyển sang giai đoạn khác." in changed
    assert NEW not in _card(second, followed.code)
    assert NEW not in _card(second, supported.code)
    # A reload within the same visit keeps the markers.
    clock.advance(timedelta(minutes=5))
    assert NEW in _card(client.get("/me/activity").text, sent.code)
    # The visit after that compares with this one: nothing new any more.
    clock.advance(timedelta(hours=2))
    assert NEW not in client.get("/me/activity").text
    with unit_of_work() as db:
        assert db.get(ActivityVisit, rep.id) is not None


def test_the_visit_rule():
    t0 = clock.as_utc(clock.now())
    assert rules.next_visit(None, None, t0) == (t0, t0)
    assert rules.next_visit(t0, t0, t0 + timedelta(minutes=29)) == (t0, t0 + timedelta(minutes=29))
    assert rules.next_visit(t0, t0 + timedelta(minutes=29), t0 + timedelta(minutes=90)) == (
        t0 + timedelta(minutes=29), t0 + timedelta(minutes=90))


def test_a_thousand_items_load_in_a_fixed_number_of_queries_and_pages(client):
    commune, a, _b, cat, users = setup_world()
    with unit_of_work(write=True) as db:
        commune, a, cat = db.merge(commune), db.merge(a), db.merge(cat)
        rep = make_household_rep(db, a, name="Chủ Hộ Ba")
        template = make_item(db, commune, a, cat, reporter=rep, title="Việc mẫu số 0")
        base = db.execute(select(Item).where(Item.id == template.id)).scalar_one()
        columns = {c.name: getattr(base, c.name) for c in Item.__table__.columns if c.name != "id"}
        rows = []
        for i in range(1, 1000):
            row = Item(**{**columns, "code": f"NS-2026-9{i:04d}", "title": f"Việc mẫu số {i}",
                          "seq": 9000 + i, "client_token": None,
                          "manage_token_hash": None, "updated_at": base.updated_at + timedelta(seconds=i)})
            rows.append(row)
        db.add_all(rows)
        db.flush()
        for row in rows[::3]:
            db.add(Comment(item_id=row.id, author_id=rep.id, body="Ý kiến", created_at=clock.now()))
            db.add(AuditEvent(commune_id=commune.id, item_id=row.id, seq=10_000 + row.id, action="note",
                              actor_role="village_head", payload="{}", prev_hash="", hash=f"h{row.id}",
                              created_at=clock.now() + timedelta(hours=1)))
    if get_engine().dialect.name == "postgresql":
        # Planner statistics, as autovacuum keeps them: a table filled a moment ago has none.
        with get_engine().connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    login(client, rep)
    client.get("/me/activity")
    clock.freeze(clock.now() + timedelta(hours=2))
    client.get("/me/activity?page=2")  # a new visit starts; the login's "last seen" is written
    counted: list[str] = []
    engine = get_engine()

    def listener(conn, cursor, statement, *args):
        counted.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        started = time.perf_counter()
        first = client.get("/me/activity")
        elapsed = time.perf_counter() - started
        first_queries = len(counted)
        counted.clear()
        last = client.get("/me/activity?page=50")
        last_queries = len(counted)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert first.status_code == last.status_code == 200
    assert len(_cards(first.text)) == 20 and len(_cards(last.text)) == 20
    assert "Trang 1/50" in first.text and "Trang 50/50" in last.text
    assert "Việc mẫu số 999<" in first.text and "Việc mẫu số 0<" in last.text  # the latest change first
    assert first.text.count(NEW) >= 6  # every third item had a change since the last visit
    assert first_queries == last_queries and first_queries < 20, counted
    total, problems = weigh(client, "/me/activity")
    assert total["total"] < BUDGET and not problems, (total, problems)
    print(f"my activity, 1,000 items: {first_queries} queries, {elapsed * 1000:.0f} ms, "
          f"{len(first.content)} bytes")


def test_odd_page_numbers_never_fail(client):
    _c, _a, _b, _cat, users = setup_world()
    login(client, users["resident"])
    for query in ("page=abc", "page=0", "page=-1", "page=99999", "page=" + "9" * 40, "page=1&page=2"):
        answer = client.get(f"/me/activity?{query}")
        assert answer.status_code in (200, 404, 422), (query, answer.status_code)
        assert "Traceback" not in answer.text
    assert "Việc của tôi" in client.get("/me/activity?page=99999").text  # past the end: the last page
