"""Dân biết and Dân bàn through HTTP: the village head's desk, residents' comments, supports and votes, the
status page section, the printable notice and vote-count record, the admin's disclosure days; the status page
loads in a fixed number of queries and stays under the page-weight budget."""

from __future__ import annotations

import gzip
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from civic import clock
from civic.areas.models import Household
from civic.db import get_engine, unit_of_work
from civic.deliberation import service as deliberation
from civic.deliberation.models import Ballot, Comment, Decision, Disclosure, Meeting, Support
from civic.deliberation.schemas import (
    CommentForm,
    DecideForm,
    HideCommentForm,
    PaperBallotForm,
    RecordMeetingForm,
    ScheduleMeetingForm,
)
from civic.items.models import Category, Item
from civic.web.pagecache import cache
from tests.builders import (
    PASSWORD,
    audit_events,
    count,
    csrf_token,
    disclose,
    front_agrees,
    hold_meeting,
    leave_register,
    login,
    make_discuss_item,
    make_household_rep,
    make_item,
    viewer,
    world,
)

BUDGET = 30 * 1024

# The online ballot's records: the community agreed, the commune People's Committee and the Front were told.
AGREED = {"agreed_on": "2020-01-05", "agreement_ref": "Biên bản họp thôn 3/2020", "informed_on": "2020-01-06",
          "informed_ref": "CV 12/TB"}


def _world(households: int = 10):
    with unit_of_work(write=True) as db:
        commune, a, b, cat, users = world(db)
        return {"commune": commune, "a": a, "cat": cat, "users": users}


def _item(w, stage="know", **kw):
    with unit_of_work(write=True) as db:
        if stage == "discuss":
            item = make_discuss_item(db, w["commune"], w["a"], w["cat"], w["users"]["village_head"], **kw)
        else:
            item = make_item(db, w["commune"], w["a"], w["cat"], stage=stage, **kw)
        return item.code


def _rows(model) -> int:
    with unit_of_work() as db:
        return count(db, model)


def _full_item(w, comments=3, ballots=6, disclosures=1) -> str:
    """An item in Dân bàn with disclosures, comments (one hidden, one official), supports, a recorded meeting
    and a paper-ballot decision."""
    with unit_of_work(write=True) as db:
        sec_user = w["users"]["village_head"]
        item = make_discuss_item(db, w["commune"], w["a"], w["cat"], sec_user, title="Xây mương xóm Dưới")
        sec = viewer(db, sec_user)
        for _ in range(disclosures - 1):
            disclose(db, item, sec_user, days_ago=1)
        res = viewer(db, w["users"]["resident"])
        first = None
        for n in range(comments):
            c = deliberation.add_comment(db, item, res, CommentForm.parse({
                "body": f"Ý kiến số {n + 1}: nên làm sớm."}))
            first = first or c
        deliberation.add_comment(db, item, sec, CommentForm.parse({"body": "Thôn sẽ họp vào tuần sau."}))
        deliberation.hide_comment(db, item, sec, HideCommentForm.parse({
            "comment_id": str(first.id), "reason": "Nói tục"}))
        for n in range(3):
            deliberation.support(db, item, viewer(db, make_household_rep(db, w["a"], n)))
        start = (clock.now() + timedelta(days=5, minutes=5)).astimezone(clock.LOCAL_TZ)
        m = deliberation.schedule_meeting(db, item, sec, ScheduleMeetingForm.parse({
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"), "place": "Nhà văn hoá",
            "agenda": "Bàn làm mương"}))
        clock.advance(timedelta(days=6))
        hold_meeting(db, item, sec, m, 5, minutes_text="Không đủ số hộ.")
        deliberation.decide(db, item, sec, DecideForm.parse({"method": "paper_ballot"}))
        for n in range(ballots):
            deliberation.enter_paper_ballot(db, item, sec, PaperBallotForm.parse({
                "household_code": f"H{n:04d}", "choice": "yes" if n < 6 else "no"}))
        deliberation.close_count(db, item, sec)
        return item.code


@pytest.fixture
def frozen():
    clock.freeze(clock.now())
    yield


def test_status_page_shows_everything_and_never_who_voted_how(client, frozen):
    w = _world()
    code = _full_item(w)
    page = client.get(f"/items/{code}?lang=en")
    assert page.status_code == 200
    html = page.text
    assert "6 of 10 households in favour" in html and "passed" in html
    assert "3 of 10 households support this" in html
    assert "5 of 10 households represented" in html and "no quorum" in html
    assert "Bảng tin nhà văn hoá" in html
    assert "Nói tục" in html and "Ý kiến số 1" not in html  # hidden: reason public, text not
    assert "Ý kiến số 2" in html and "Official reply" in html
    assert "H0001" not in html and "H0000" not in html  # no household on the page
    assert f"/items/{code}/decisions/" in html


def test_vote_record_and_notice(client, frozen):
    w = _world()
    code = _full_item(w)
    with unit_of_work() as db:
        decision_id = db.execute(select(Decision.id)).scalar_one()
    record = client.get(f"/items/{code}/decisions/{decision_id}/record?lang=en")
    assert record.status_code == 200
    assert "form 04" in record.text and "6 of 10 households in favour" in record.text
    assert "H0000" not in record.text
    assert client.get(f"/items/{code}/decisions/999/record").status_code == 404
    assert client.get(f"/items/{code}/decisions/abc/record").status_code == 404
    notice = client.get(f"/items/{code}/notice?lang=en")
    assert notice.status_code == 200
    # The print styles are a file (the CSP blocks inline style) and the QR scales to the notice's 35 mm.
    assert '<svg viewBox="' in notice.text and "<style" not in notice.text
    css_href = re.search(r'<link rel="stylesheet" href="(/static/print[^"]*\.css)', notice.text)
    assert css_href, "the notice links its print style sheet"
    css = client.get(css_href.group(1))
    assert css.status_code == 200 and "@page{size:A4" in css.text and "@media print" in css.text
    with unit_of_work() as db:
        from civic.audit import service as audit

        head = audit.head(db, w["commune"].id)
    assert head.hash in notice.text and code in notice.text
    assert f"http://testserver/items/{code}" in notice.text
    from tests.web.test_page_weight import weigh

    size, problems = weigh(client, f"/items/{code}/notice")
    assert size["total"] < BUDGET and not problems, (size, problems)


def test_status_page_loads_in_a_fixed_number_of_queries_and_under_budget(client, frozen):
    w = _world()
    small = _full_item(w, comments=2, ballots=6, disclosures=1)
    big = _full_item(w, comments=30, ballots=10, disclosures=6)
    cache.enabled = False
    for code in (small, big):  # warm the per-process lookups (the commune of a code prefix)
        assert client.get(f"/items/{code}").status_code == 200
    counted: list[str] = []

    def listener(conn, cursor, statement, *args):
        counted.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", listener)
    try:
        sizes = {}
        queries = {}
        for code in (small, big):
            counted.clear()
            page = client.get(f"/items/{code}")
            assert page.status_code == 200
            queries[code] = len(counted)
            sizes[code] = len(gzip.compress(page.content))
    finally:
        event.remove(engine, "before_cursor_execute", listener)
        cache.enabled = True
    assert queries[small] == queries[big], queries
    assert queries[big] < 40
    from tests.web.test_page_weight import weigh  # HTML, CSS and JavaScript as sent

    total, problems = weigh(client, f"/items/{big}")
    assert total["total"] < BUDGET and not problems, (total, problems)


def test_desk_disclosure_and_the_disabled_button_with_reason_and_date(client, frozen):
    w = _world()
    code = _item(w, "know")
    login(client, w["users"]["village_head"])
    desk = client.get(f"/deliberation/{code}?lang=en")
    assert desk.status_code == 200
    assert "Record at least one disclosure first" in desk.text and "disabled" in desk.text
    token = csrf_token(client, f"/deliberation/{code}")
    today = clock.today_local()
    bad = client.post(f"/deliberation/{code}/disclosure?lang=en", data={
        "csrf_token": token, "channel": "notice_board", "place": "Nhà văn hoá",
        "starts_on": today.isoformat(), "ends_on": (today - timedelta(days=1)).isoformat()})
    assert bad.status_code == 422
    assert "cannot end before it starts" in bad.text and 'value="Nhà văn hoá"' in bad.text
    assert _rows(Disclosure) == 0
    ok = client.post(f"/deliberation/{code}/disclosure", data={
        "csrf_token": token, "channel": "notice_board", "place": "Nhà văn hoá",
        "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=5)).isoformat()},
        follow_redirects=False)
    assert ok.status_code == 303 and _rows(Disclosure) == 1
    desk = client.get(f"/deliberation/{code}?lang=en")
    ready = today + timedelta(days=3)
    assert "possible from" in desk.text and ready.strftime("%Y") in desk.text
    refused = client.post(f"/deliberation/{code}/open_discussion", data={
        "csrf_token": token, "question": "Làm mương?", "matter": "1"})
    assert refused.status_code == 409
    clock.advance(timedelta(days=3))
    desk = client.get(f"/deliberation/{code}")
    assert 'action="/deliberation/' + code + '/open_discussion"' in desk.text
    moved = client.post(f"/deliberation/{code}/open_discussion", data={
        "csrf_token": token, "question": "Có làm mương không?", "matter": "1"},
        follow_redirects=False)
    assert moved.status_code == 303
    with unit_of_work() as db:
        assert db.execute(select(Item.stage).where(Item.code == code)).scalar_one() == "discuss"


def _six_of_five(w) -> tuple[str, int]:
    """Six households vote yes by paper ballot; five of them leave the register before the count closes."""
    with unit_of_work(write=True) as db:
        sec_user = w["users"]["village_head"]
        item = make_discuss_item(db, w["commune"], w["a"], w["cat"], sec_user, title="Xây mương xóm Dưới")
        sec = viewer(db, sec_user)
        deliberation.decide(db, item, sec, DecideForm.parse({"method": "paper_ballot"}))
        for n in range(6):
            deliberation.enter_paper_ballot(db, item, sec, PaperBallotForm.parse({
                "household_code": f"H{n:04d}", "choice": "yes"}))
        leave_register(db, w["a"], [f"H{n:04d}" for n in range(1, 6)],
                       clock.today_local() + timedelta(days=1))
        clock.advance(timedelta(days=2))
        decision = deliberation.close_count(db, item, sec)
        return item.code, decision.id


def test_six_in_favour_of_whom_five_left_reads_one_of_five_on_the_page_and_the_record(client, frozen):
    w = _world()
    code, decision_id = _six_of_five(w)
    left_on = clock.today_local() - timedelta(days=1)
    left, left_vi = f"{left_on.day} {left_on.strftime('%b %Y')}", left_on.strftime("%d/%m/%Y")
    for url in (f"/items/{code}", f"/items/{code}/decisions/{decision_id}/record"):
        en = client.get(url + "?lang=en").text
        assert "6 of 5" not in en and "1 of 5 households in favour — not passed" in en, url
        assert "5 ballots not counted" in en
        for n in range(1, 6):
            assert f"Household H{n:04d} left the register on {left}" in en
        assert "H0000 left" not in en and "Chủ Hộ" not in en
        vi = client.get(url + "?lang=vi").text
        assert "1/5 hộ gia đình tán thành" in vi and "6/5" not in vi, url
        assert f"Hộ H0001 đã rời sổ hộ ngày {left_vi}" in vi
    record = client.get(f"/items/{code}/decisions/{decision_id}/record?lang=en").text
    assert re.search(r"Ballots counted</th><td>1<", record)
    assert re.search(r"Ballots not counted</th><td>5<", record)


def test_a_one_day_posting_does_not_open_the_discussion_over_http(client, frozen):
    w = _world()
    code = _item(w, "know")
    login(client, w["users"]["village_head"])
    token = csrf_token(client, f"/deliberation/{code}")
    today = clock.today_local()
    desk = client.get(f"/deliberation/{code}?lang=vi")
    assert f"Không sớm hơn ngày {today.strftime('%d/%m/%Y')}" in desk.text
    early = client.post(f"/deliberation/{code}/disclosure?lang=vi", data={
        "csrf_token": token, "channel": "notice_board", "place": "Nhà văn hoá",
        "starts_on": (today - timedelta(days=5)).isoformat(), "ends_on": today.isoformat()})
    assert early.status_code == 422 and "trước ngày" in early.text and _rows(Disclosure) == 0
    ok = client.post(f"/deliberation/{code}/disclosure", data={
        "csrf_token": token, "channel": "notice_board", "place": "Nhà văn hoá",
        "starts_on": today.isoformat(), "ends_on": today.isoformat()}, follow_redirects=False)
    assert ok.status_code == 303 and _rows(Disclosure) == 1
    clock.advance(timedelta(days=5))
    desk = client.get(f"/deliberation/{code}?lang=en")
    assert "do not yet cover the minimum period" in desk.text
    status = client.get(f"/items/{code}?lang=en")
    assert "3 consecutive days; the disclosures so far cover 1." in status.text
    refused = client.post(f"/deliberation/{code}/open_discussion", data={
        "csrf_token": token, "question": "Làm mương?", "matter": "1"})
    assert refused.status_code == 409
    with unit_of_work() as db:
        assert db.execute(select(Item.stage).where(Item.code == code)).scalar_one() == "know"


def test_the_admin_cannot_set_a_minimum_of_zero_days(client, frozen):
    w = _world()
    login(client, w["users"]["admin"])
    token = csrf_token(client, "/admin/categories")
    cid = w["cat"].id
    bad = client.post(f"/admin/categories/{cid}?lang=en", data={"csrf_token": token, "days": "0"})
    assert bad.status_code == 422 and "from 1 to 90" in bad.text
    with unit_of_work() as db:
        assert db.get(Category, cid).min_disclosure_days == 3


def test_only_the_village_head_uses_the_desk(client, frozen):
    w = _world()
    code = _item(w, "know")
    login(client, w["users"]["other_head"])
    assert client.get(f"/deliberation/{code}").status_code == 403
    token = csrf_token(client, "/items")
    answer = client.post(f"/deliberation/{code}/disclosure", data={
        "csrf_token": token, "channel": "notice_board", "place": "Nhà văn hoá", "starts_on": "2026-01-01",
        "ends_on": "2026-01-02"})
    assert answer.status_code == 403 and _rows(Disclosure) == 0


def test_bad_meeting_and_decision_input(client, frozen):
    w = _world()
    code = _item(w, "discuss")
    login(client, w["users"]["village_head"])
    token = csrf_token(client, f"/deliberation/{code}")
    soon = (clock.now() + timedelta(days=2)).astimezone(clock.LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")
    r = client.post(f"/deliberation/{code}/schedule_meeting?lang=en", data={
        "csrf_token": token, "starts_at": soon, "place": "Nhà văn hoá", "agenda": "Bàn làm mương"})
    assert r.status_code == 422 and "at least 5 days" in r.text and _rows(Meeting) == 0
    r = client.post(f"/deliberation/{code}/decide", data={"csrf_token": token, "method": "online_ballot",
                                                          "opens_on": "2099-01-01", "closes_on": "2099-01-02",
                                                          **AGREED})
    assert r.status_code == 409 and _rows(Decision) == 0
    r = client.post(f"/deliberation/{code}/decide", data={"csrf_token": token, "method": "paper_ballot"},
                    follow_redirects=False)
    assert r.status_code == 303
    for choice, status in (("yes", 303), ("no", 409)):
        r = client.post(f"/deliberation/{code}/paper_ballot",
                        data={"csrf_token": token, "household_code": "H0003", "choice": choice},
                        follow_redirects=False)
        assert r.status_code == status
    r = client.post(f"/deliberation/{code}/paper_ballot", data={"csrf_token": token, "household_code": "nope",
                                                                "choice": "yes"})
    assert r.status_code == 422
    assert _rows(Ballot) == 1
    r = client.post(f"/deliberation/{code}/frobnicate", data={"csrf_token": token})
    assert r.status_code == 404


def test_resident_comments_supports_and_votes(client, frozen):
    w = _world()
    code = _item(w, "discuss", asks_contribution=False)
    with unit_of_work(write=True) as db:
        rep = make_household_rep(db, w["a"], 0)
        item = db.execute(select(Item).where(Item.code == code)).scalar_one()
        today = clock.today_local()
        front_agrees(db, item)
        deliberation.decide(db, item, viewer(db, w["users"]["village_head"]), DecideForm.parse({
            "method": "online_ballot", "opens_on": today.isoformat(),
            "closes_on": (today + timedelta(days=2)).isoformat(), **AGREED}))
    anon = client.post(f"/items/{code}/comment", data={"csrf_token": "x", "body": "hi"})
    assert anon.status_code == 403 and _rows(Comment) == 0
    login(client, rep)
    page = client.get(f"/items/{code}")
    token = csrf_token(client, f"/items/{code}")
    assert 'action="/items/' + code + '/vote"' in page.text
    empty = client.post(f"/items/{code}/comment?lang=en", data={"csrf_token": token, "body": " "})
    assert empty.status_code == 422 and "2 to 2000" in empty.text and _rows(Comment) == 0
    ok = client.post(f"/items/{code}/comment", data={"csrf_token": token, "body": "Tôi đồng ý."},
                     follow_redirects=False)
    assert ok.status_code == 303 and _rows(Comment) == 1
    assert client.post(f"/items/{code}/support", data={"csrf_token": token},
                       follow_redirects=False).status_code == 303
    assert client.post(f"/items/{code}/support", data={"csrf_token": token}).status_code == 409
    assert _rows(Support) == 1
    bad = client.post(f"/items/{code}/vote", data={"csrf_token": token, "choice": "maybe"})
    assert bad.status_code == 422 and _rows(Ballot) == 0
    for choice in ("no", "yes"):
        r = client.post(f"/items/{code}/vote", data={"csrf_token": token, "choice": choice},
                        follow_redirects=False)
        assert r.status_code == 303
    with unit_of_work() as db:
        assert [b.choice for b in db.execute(select(Ballot)).scalars()] == ["yes"]
    clock.advance(timedelta(days=3))
    late = client.post(f"/items/{code}/vote", data={"csrf_token": token, "choice": "no"})
    assert late.status_code == 409


def test_a_non_representative_cannot_vote(client, frozen):
    w = _world()
    code = _item(w, "discuss", asks_contribution=False)
    with unit_of_work(write=True) as db:
        item = db.execute(select(Item).where(Item.code == code)).scalar_one()
        today = clock.today_local()
        front_agrees(db, item)
        deliberation.decide(db, item, viewer(db, w["users"]["village_head"]), DecideForm.parse({
            "method": "online_ballot", "opens_on": today.isoformat(), "closes_on": today.isoformat(),
            **AGREED}))
    login(client, w["users"]["resident"])  # a resident without a household
    token = csrf_token(client, f"/items/{code}")
    assert client.post(f"/items/{code}/vote", data={"csrf_token": token, "choice": "yes"}).status_code == 403
    assert _rows(Ballot) == 0


def test_admin_sets_the_minimum_disclosure_days(client, frozen):
    w = _world()
    login(client, w["users"]["admin"])
    page = client.get("/admin/categories")
    assert page.status_code == 200
    cid = w["cat"].id
    token = csrf_token(client, "/admin/categories")
    bad = client.post(f"/admin/categories/{cid}", data={"csrf_token": token, "days": "-2"})
    assert bad.status_code == 422
    ok = client.post(f"/admin/categories/{cid}", data={"csrf_token": token, "days": "7"},
                     follow_redirects=False)
    assert ok.status_code == 303
    with unit_of_work() as db:
        assert db.get(Category, cid).min_disclosure_days == 7


def test_the_admin_page_is_for_admins(client, frozen):
    w = _world()
    login(client, w["users"]["village_head"])
    assert client.get("/admin/categories").status_code == 403
    token = csrf_token(client, "/items")
    assert client.post(f"/admin/categories/{w['cat'].id}", data={"csrf_token": token,
                                                                 "days": "1"}).status_code == 403


def test_passed_item_moves_to_do_from_the_desk(client, frozen):
    w = _world()
    code = _item(w, "discuss", asks_contribution=False)
    login(client, w["users"]["village_head"])
    token = csrf_token(client, f"/deliberation/{code}")
    assert client.post(f"/deliberation/{code}/start_work", data={"csrf_token": token}).status_code == 409
    r = client.post(f"/deliberation/{code}/decide", data={"csrf_token": token, "method": "authority",
                                                          "document_no": "15/QĐ-UBND",
                                                          "document_text": "Xã sửa đèn bằng ngân sách xã."},
                    follow_redirects=False)
    assert r.status_code == 303
    r = client.post(f"/deliberation/{code}/start_work", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    with unit_of_work() as db:
        assert db.execute(select(Item.stage).where(Item.code == code)).scalar_one() == "do"
    status = client.get(f"/items/{code}?lang=en")
    assert "15/QĐ-UBND" in status.text


__all__ = ["PASSWORD"]


def _png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def test_disclosure_proof_photo_and_meeting_minutes_are_attached(client, frozen):
    from civic.media.models import Attachment

    w = _world()
    code = _item(w, "discuss")
    login(client, w["users"]["village_head"])
    token = csrf_token(client, f"/deliberation/{code}")
    today = clock.today_local()
    r = client.post(f"/deliberation/{code}/disclosure", data={
        "csrf_token": token, "channel": "notice_board", "place": "Nhà văn hoá",
        "starts_on": today.isoformat(), "ends_on": today.isoformat()},
        files={"proof": ("bang-tin.png", _png(), "image/png")}, follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    bad = client.post(f"/deliberation/{code}/disclosure", data={
        "csrf_token": token, "channel": "notice_board", "place": "Nhà văn hoá",
        "starts_on": today.isoformat(), "ends_on": today.isoformat()},
        files={"proof": ("x.png", b"not an image", "image/png")})
    assert bad.status_code == 422
    with unit_of_work() as db:
        rows = list(db.execute(select(Attachment)).scalars())
        disclosure_id = db.execute(select(Disclosure.id).order_by(Disclosure.id.desc()).limit(1)).scalar_one()
    assert [(a.owner_kind, a.purpose) for a in rows] == [("disclosure", "disclosure_proof")]
    assert _rows(Disclosure) == 2  # the one made by the builder and this one; the refused one left nothing
    assert rows[0].owner_id == disclosure_id
    page = client.get(f"/items/{code}")
    assert f"/media/{rows[0].id}/" in page.text

    start = (clock.now() + timedelta(days=5, minutes=5)).astimezone(clock.LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")
    assert client.post(f"/deliberation/{code}/schedule_meeting", data={
        "csrf_token": token, "starts_at": start, "place": "Nhà văn hoá", "agenda": "Bàn làm mương"},
        follow_redirects=False).status_code == 303
    clock.advance(timedelta(days=6))
    with unit_of_work() as db:
        meeting_id = db.execute(select(Meeting.id)).scalar_one()
    with unit_of_work() as db:
        village_id = db.execute(select(Item.village_id).where(Item.code == code)).scalar_one()
        ids = [str(h) for h in db.execute(select(Household.id).where(Household.village_id == village_id)
                                          .order_by(Household.code).limit(6)).scalars()]
    r = client.post(f"/deliberation/{code}/roll/{meeting_id}/mark", data={
        "csrf_token": token, "meeting_id": str(meeting_id), "shown": ids, "household": ids},
        follow_redirects=False)
    assert r.status_code == 303
    r = client.post(f"/deliberation/{code}/record_meeting", data={
        "csrf_token": token, "meeting_id": str(meeting_id), "secretary_votes": "6",
        "voting_mode": "show_of_hands", "minutes_taker_name": "Bà Lan"},
        files={"minutes": ("bien-ban.png", _png(), "image/png")},
        follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    with unit_of_work() as db:
        owners = sorted((a.owner_kind, a.purpose) for a in db.execute(select(Attachment)).scalars())
    assert owners == [("disclosure", "disclosure_proof"), ("meeting", "minutes")]


def test_anonymous_visitors_are_offered_a_login_to_comment_only_while_comments_are_taken(client):
    from civic.db import unit_of_work
    from tests.builders import make_item, world

    with unit_of_work(write=True) as db:
        commune, a, _b, cat, _users = world(db)
        open_code = make_item(db, commune, a, cat, stage="know").code
        closed_code = make_item(db, commune, a, cat, stage="rejected").code
    prompt = "Đăng nhập để bình luận hoặc ủng hộ"  # "Log in to comment or support", beside the comments
    assert prompt in client.get(f"/items/{open_code}").text
    assert prompt not in client.get(f"/items/{closed_code}").text


def test_a_cached_status_page_counts_the_days_to_a_meeting_down_without_any_change(client):
    """Public pages are cached until the commune's audit chain moves; a countdown moves with time alone."""
    w = _world()
    with unit_of_work(write=True) as db:
        item = make_discuss_item(db, w["commune"], w["a"], w["cat"], w["users"]["village_head"])
        start = (clock.now() + timedelta(days=6, hours=1)).astimezone(clock.LOCAL_TZ)
        sec = viewer(db, w["users"]["village_head"])
        deliberation.schedule_meeting(db, item, sec, ScheduleMeetingForm.parse({
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"), "place": "Nhà văn hoá",
            "agenda": "Bàn làm mương"}))
        code = item.code
    before = re.search(r"Còn (\d+) ngày nữa", client.get(f"/items/{code}").text)
    assert before, "no countdown on the page"
    assert before.group(0) in client.get(f"/items/{code}").text  # served from the cache
    clock.advance(timedelta(days=2))
    after = re.search(r"Còn (\d+) ngày nữa", client.get(f"/items/{code}").text)
    assert after and int(after.group(1)) == int(before.group(1)) - 2,\
        (before.group(0), after and after.group(0))


def test_a_household_withdraws_its_support_and_may_give_it_again(client, frozen):
    w = _world()
    code = _item(w, "know")
    with unit_of_work(write=True) as db:
        rep = make_household_rep(db, w["a"], 0)
        other = make_household_rep(db, w["a"], 1, name="Hộ Khác")
    withdraw = f'action="/items/{code}/support/withdraw"'
    login(client, other)
    token = csrf_token(client, f"/items/{code}")
    nothing = client.post(f"/items/{code}/support/withdraw", data={"csrf_token": token})
    assert nothing.status_code == 409 and _rows(Support) == 0  # a household that never supported it
    login(client, rep)
    token = csrf_token(client, f"/items/{code}")
    assert withdraw not in client.get(f"/items/{code}").text
    assert client.post(f"/items/{code}/support", data={"csrf_token": token},
                       follow_redirects=False).status_code == 303
    page = client.get(f"/items/{code}?lang=en")
    assert "1 of 10 households support this" in page.text and withdraw in page.text
    gone = client.post(f"/items/{code}/support/withdraw", data={"csrf_token": token}, follow_redirects=False)
    assert gone.status_code == 303 and _rows(Support) == 0
    page = client.get(f"/items/{code}?lang=en")
    assert "0 of 10 households support this" in page.text
    assert withdraw not in page.text and f'action="/items/{code}/support"' in page.text
    with unit_of_work() as db:
        actions = [e.action for e in audit_events(db)]
    assert actions.count("support_added") == 1 and actions.count("support_withdrawn") == 1
    again = client.post(f"/items/{code}/support", data={"csrf_token": token}, follow_redirects=False)
    assert again.status_code == 303 and _rows(Support) == 1


def test_a_support_cannot_be_withdrawn_once_the_item_has_moved_on(client, frozen):
    w = _world()
    code = _item(w, "know")
    with unit_of_work(write=True) as db:
        rep = make_household_rep(db, w["a"], 0)
        item = db.execute(select(Item).where(Item.code == code)).scalar_one()
        deliberation.support(db, item, viewer(db, rep))
        item.stage = "do"  # the households decided; supports are part of the record now
    login(client, rep)
    token = csrf_token(client, f"/items/{code}")
    assert f'action="/items/{code}/support/withdraw"' not in client.get(f"/items/{code}").text
    refused = client.post(f"/items/{code}/support/withdraw", data={"csrf_token": token})
    assert refused.status_code == 409 and _rows(Support) == 1


def test_nothing_a_user_types_answers_500(client, frozen):
    """Unreadable page numbers show the first page; unreadable ids are a 404 or the form's own message."""
    w = _world()
    code = _full_item(w, comments=2, ballots=6)
    for page in ("¹", "99999999999999999999", "-3", "0", "abc", "٣", "2" * 7):
        answer = client.get(f"/items/{code}", params={"comments": page})
        assert answer.status_code == 200, page
    for bad in ("99999999999999999999", "0", "¹", "-1"):
        assert client.get(f"/items/{code}/decisions/{bad}/record").status_code == 404, bad
    assert client.get("/items/x/notice").status_code == 404
    login(client, w["users"]["village_head"])
    token = csrf_token(client, f"/deliberation/{code}")
    for action, data, status in (
            ("hide_comment", {"comment_id": "¹", "reason": "Lạc đề quá"}, 404),
            ("hide_comment", {"comment_id": "99999999999999999999", "reason": "Lạc đề quá"}, 404),
            ("record_meeting", {"meeting_id": "99999999999999999999", "secretary_votes": "¹",
                                "voting_mode": "show_of_hands", "minutes_taker_name": "Bà Lan"}, 422),
            ("schedule_meeting", {"starts_at": "31/02/2026 19:00", "place": "Nhà văn hoá",
                                  "agenda": "Bàn làm mương"}, 422),
            ("decide", {"method": "meeting_vote", "yes": "¹", "no": "0", "abstain": "0"}, 422),
            ("decide", {"method": ["paper_ballot", "x"]}, 422),
            ("paper_ballot", {"household_code": "H" * 300, "choice": "yes"}, 422),
    ):
        answer = client.post(f"/deliberation/{code}/{action}", data={"csrf_token": token, **data})
        assert answer.status_code == status, (action, data, answer.status_code)
    login(client, w["users"]["admin"])
    token = csrf_token(client, "/admin/categories")
    for bad in ("99999999999999999999", "abc", "0"):
        assert client.post(f"/admin/categories/{bad}",
                           data={"csrf_token": token, "days": "3"}).status_code == 404
    cid = w["cat"].id
    for days in ("¹", "91", "9" * 30, ""):
        answer = client.post(f"/admin/categories/{cid}", data={"csrf_token": token, "days": days})
        assert answer.status_code == 422, days


def test_the_desk_takes_dates_as_vietnamese_write_them(client, frozen):
    w = _world()
    code = _item(w, "know")
    login(client, w["users"]["village_head"])
    token = csrf_token(client, f"/deliberation/{code}")
    today = clock.today_local()
    ok = client.post(f"/deliberation/{code}/disclosure", data={
        "csrf_token": token, "channel": "loudspeaker", "place": "Loa thôn",
        "starts_on": today.strftime("%d/%m/%Y"),
        "ends_on": (today + timedelta(days=2)).isoformat()}, follow_redirects=False)
    assert ok.status_code == 303
    with unit_of_work() as db:
        row = db.execute(select(Disclosure)).scalar_one()
    assert (row.starts_on, row.ends_on) == (today, today + timedelta(days=2))


def test_the_desk_forms_take_their_limits_from_the_forms(client, frozen):

    w = _world()
    with unit_of_work(write=True) as db:
        item = make_discuss_item(db, w["commune"], w["a"], w["cat"], w["users"]["village_head"])
        start = (clock.now() + timedelta(days=5, minutes=5)).astimezone(clock.LOCAL_TZ)
        deliberation.schedule_meeting(db, item, viewer(db, w["users"]["village_head"]),
                                      ScheduleMeetingForm.parse({
                                          "starts_at": start.strftime("%d/%m/%Y %H:%M"),
                                          "place": "Nhà văn hoá", "agenda": "Bàn làm mương"}))
        code = item.code
    clock.advance(timedelta(days=6))
    login(client, w["users"]["village_head"])
    desk = client.get(f"/deliberation/{code}")
    assert desk.status_code == 200
    assert f'action="/deliberation/{code}/record_meeting"' in desk.text
    chair = RecordMeetingForm.limits()["chair_name"].max
    assert re.search(rf'name="chair_name"[^>]*maxlength="{chair}"', desk.text)
    token = csrf_token(client, f"/deliberation/{code}")
    bad = client.post(f"/deliberation/{code}/record_meeting?lang=en", data={
        "csrf_token": token, "meeting_id": "1", "people_present": "-4", "secretary_votes": "3",
        "voting_mode": "show_of_hands", "minutes_taker_name": "Bà Lan"})
    assert bad.status_code == 422 and "cannot be negative" in bad.text


def test_starting_a_paper_count_says_the_vote_opened_not_that_a_decision_was_recorded(client, frozen):
    w = _world()
    code = _item(w, "discuss")
    login(client, w["users"]["village_head"])
    token = csrf_token(client, f"/deliberation/{code}")
    r = client.post(f"/deliberation/{code}/decide", data={"csrf_token": token, "method": "paper_ballot"})
    assert r.status_code == 200
    assert "Đã mở biểu quyết; quyết định được ghi nhận khi kết thúc kiểm phiếu." in r.text
    assert "Đã ghi nhận quyết định." not in r.text
