"""Dân làm and Dân kiểm tra through HTTP, the bars across them: private things stay private, uploads attach
to the right rows, the status page loads in a fixed number of queries, and every new page stays under the
weight budget; odd input never answers 500."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from civic import clock
from civic.db import get_engine, unit_of_work
from civic.implementation import service as impl
from civic.implementation.schemas import (
    BudgetLineForm,
    DeliveryForm,
    PledgeForm,
    PledgeOnBehalfForm,
    ProgressForm,
    SettingsForm,
    SpendingForm,
)
from civic.media.models import Attachment
from civic.supervision import service as sup
from civic.supervision.schemas import AnswerForm, FindingForm, MarkForm, VerdictForm
from civic.web.pagecache import cache
from tests.boards.helpers import board_world, sign_off_by_board
from tests.builders import (
    browser,
    consent,
    consent_scan,
    csrf_token,
    households_of,
    login,
    make_item,
    make_representative,
    move,
    photo_bytes,
    pledge_data,
    viewer,
    world,
)

WITNESS = "Trịnh Công Chứng"
PARCEL = "Thửa 777, tờ bản đồ 42"
CONSENT_TEXT = "Hộ Ông Bảy tự nguyện hiến 120 m² đất vườn để làm mương thoát nước."
CONTACT = "0987654321"


def pledge(db, item, who, form, **kw):
    """impl.pledge, with the signed form's scan a household's own land pledge needs."""
    if form.kind == "land" and isinstance(form, PledgeForm) and "consent_scan" not in kw:
        kw["consent_scan"] = consent_scan()
    return impl.pledge(db, item, who, form, **kw)


def test_consent_scans_contacts_and_ballots_never_reach_a_public_page_or_the_api(client):
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = board_world(db)
        item = make_item(db, commune, a, cat, stage="do", contact_phone=CONTACT, contact_name="Người Báo Tin")
        code = item.code
        hh = households_of(db, a)
        secret_code = hh[6].code
        from civic.deliberation.models import Ballot, Decision

        now = clock.now()
        decision = Decision(item_id=item.id, method="paper_ballot", status="closed", question="Làm mương?",
                            created_at=now)
        db.add(decision)
        db.flush()
        db.add(Ballot(decision_id=decision.id, household_id=hh[6].id, choice="no", cast_at=now,
                      updated_at=now))
    login(client, users["village_head"])
    form = {"csrf_token": csrf_token(client, f"/do/{code}"), "household": secret_code, "kind": "land",
            "amount": "120", "parcel_ref": PARCEL, **consent(), "consent_text": CONSENT_TEXT,
            "witness_name": WITNESS}
    r = client.post(f"/do/{code}/pledge", data=form, follow_redirects=False,
                    files={"consent_scan": ("giay-hien-dat.jpg", photo_bytes((800, 600)), "image/jpeg")})
    assert r.status_code == 303, r.text[:3000]
    with unit_of_work() as db:
        scan = db.execute(select(Attachment).where(Attachment.purpose == "consent")).scalar_one()
        assert scan.private and scan.owner_kind == "pledge"
    pledge_page = client.get(f"/do/{code}/pledge/{scan.owner_id}").text
    assert f"/media/{scan.id}/" in pledge_page  # the village head sees the signed form
    secrets = [WITNESS, PARCEL, CONSENT_TEXT, CONTACT, "Người Báo Tin", f"/media/{scan.id}/", secret_code,
               "giay-hien-dat"]
    with browser(client.app) as anyone, browser(client.app) as resident:
        login(resident, users["resident"])
        paths = ["/", "/items", f"/items/{code}", "/items?stage=do", "/audit", "/open311/v2/requests.json",
                 "/open311/v2/requests.xml", f"/open311/v2/requests/{code}.json",
                 f"/open311/v2/requests/{code}.xml"]
        for who in (anyone, resident):
            for path in paths:
                page = who.get(path)
                assert page.status_code == 200, (path, page.status_code)
                for secret in secrets:
                    assert secret not in page.text, f"{secret!r} leaks on {path}"
            assert who.get(f"/media/{scan.id}/{_name(pledge_page, scan.id)}").status_code == 404
            assert who.get(f"/do/{code}/pledge/{scan.owner_id}",
                           follow_redirects=False).status_code in (403, 303)


def _name(html: str, att_id: int) -> str:
    return re.search(rf"/media/{att_id}/([^\"']+)", html).group(1)


def test_progress_photos_and_finding_photos_are_public_evidence_on_the_status_page(client):
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = board_world(db)
        item = make_item(db, commune, a, cat, stage="do")
        code = item.code
    login(client, users["village_head"])
    r = client.post(f"/do/{code}/progress", data={"csrf_token": csrf_token(client, f"/do/{code}"),
                                                  "percent": "40", "text": "Đã đào xong 200 m mương."},
                    files=[("photos", ("a.jpg", photo_bytes((900, 600)), "image/jpeg")),
                           ("photos", ("b.jpg", photo_bytes((600, 900)), "image/jpeg"))],
                    follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    bad = client.post(f"/do/{code}/progress", data={"csrf_token": csrf_token(client, f"/do/{code}"),
                                                    "percent": "50", "text": "Ảnh hỏng."},
                      files=[("photos", ("x.jpg", b"not a photo at all", "image/jpeg"))],
                      follow_redirects=False)
    assert bad.status_code == 422 and "Ảnh hỏng." in bad.text
    with browser(client.app) as anyone:
        html = anyone.get(f"/items/{code}").text
        assert len(re.findall(r'<img src="/media/\d+/thumb-', html)) == 2
        assert "40 %" in html


def _count_queries(client, path: str) -> int:
    n = {"q": 0}

    def on_query(*_args, **_kw):
        n["q"] += 1

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", on_query)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", on_query)
    return n["q"]


def _fill(db, item, users, reps, sec, su, n: int, stage: str) -> None:
    """n pledges with deliveries, n progress updates, n spending entries; then n findings, n verdicts."""
    line = impl.add_budget_line(db, item, sec, BudgetLineForm.parse({"source": "state", "label": "Ngân sách",
                                                                     "amount": "900.000.000"}))
    for k in range(n):
        p = pledge(db, item, reps[k], PledgeForm.parse(pledge_data("land", str(10 + k))))
        impl.record_delivery(db, item, p.id, sec, DeliveryForm.parse({
            "amount": str(10 + k), "delivered_on": clock.today_local().isoformat(), "evidence": "Biên bản"}))
        impl.add_spending(db, item, sec, SpendingForm.parse({
            "budget_line_id": str(line.id), "amount": "1.000.000", "description": "Vật liệu",
            "spent_on": clock.today_local().isoformat(), "document_ref": f"HĐ {k}"}))
        impl.post_progress(db, item, sec, ProgressForm.parse({"percent": str(min(100, 20 * (k + 1))),
                                                              "text": "Cập nhật tiến độ."}))
    impl.post_progress(db, item, sec, ProgressForm.parse({"percent": "100", "text": "Xong."}))
    if stage == "do":
        return
    move(db, item, "start_inspection", sec)
    ins = sup.open_new_inspection(db, item, su)
    for e in sup.checklist(db, [ins.id])[ins.id]:
        sup.mark_entry(db, item, su, MarkForm.parse({"target_id": e.id, "mark": "ok"}))
    for _k in range(n):
        f = sup.add_finding(db, item, su,
                            FindingForm.parse({"severity": "note", "text": "Cần dọn vệ sinh."}))
        sup.answer_finding(db, item, sec, AnswerForm.parse({"target_id": f.id, "answer": "Đã dọn xong."}))
    if stage == "inspect":
        return
    sign_off_by_board(db, item, users)
    for k in range(n):
        sup.give_verdict(db, item, reps[k], VerdictForm.parse({"verdict": "done", "satisfaction": "4"}))


@pytest.mark.parametrize("stage", ["do", "inspect", "done"])
def test_the_status_page_loads_in_a_fixed_number_of_queries(client, stage):
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = board_world(db)
        from tests.builders import make_village

        big = make_village(db, commune, "Làng Đông", households=12)
        users["village_head_big"] = None
        from civic.accounts import service as accounts

        accounts.grant(db, users["village_head"], role="village_head", commune_id=commune.id,
                       village_id=big.id)
        sec, su = viewer(db, users["village_head"]), viewer(db, users["inspector"])
        reps = [viewer(db, make_representative(db, commune, big, h)) for h in households_of(db, big)]
        small = make_item(db, commune, big, cat, stage="do")
        large = make_item(db, commune, big, cat, stage="do")
        _fill(db, small, users, reps, sec, su, 2, stage)
        _fill(db, large, users, reps, sec, su, 10, stage)
        codes = small.code, large.code
    cache.enabled = False
    try:
        client.get(f"/items/{codes[0]}")  # warm: the commune's id is looked up once a process
        counts = [_count_queries(client, f"/items/{c}") for c in codes]
        login(client, users["village_head"])
        counts += [_count_queries(client, f"/items/{c}") for c in codes]
    finally:
        cache.enabled = True
    assert counts[0] == counts[1] and counts[2] == counts[3], counts
    # 34 (43 for a village head) since the sections read what two of them need once (the item's facts,
    # the village's register, the households one represents) and the site's name once a request; was 44
    # (59); 35 since the Front work committee's answer shows on every stage; 44 for a village head since
    # the to-do number counts the matters of the whole commune their village has not reported on. The
    # figures are a ceiling against N+1, not a goal.
    assert counts[0] <= 35 and counts[2] <= 44, counts


def test_the_work_and_inspection_pages_stay_under_the_weight_budget(client):
    from tests.web.test_page_weight import BUDGET, weigh

    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = board_world(db)
        from tests.builders import make_village

        big = make_village(db, commune, "Làng Tây", households=60)
        from civic.accounts import service as accounts

        accounts.grant(db, users["village_head"], role="village_head", commune_id=commune.id,
                       village_id=big.id)
        sec, su = viewer(db, users["village_head"]), viewer(db, users["inspector"])
        hh = households_of(db, big)
        rep_user = make_representative(db, commune, big, hh[0])
        do_item = make_item(db, commune, big, cat, stage="do", title="Đào mương thoát nước xóm Giữa")
        impl.save_settings(db, do_item, sec, SettingsForm.parse({"needed_land_m2": "1.400",
                                                                 "publish_pledger_names": "1"}))
        for n, h in enumerate(hh[1:]):
            p = pledge(db, do_item, sec, PledgeOnBehalfForm.parse(pledge_data(
                "land" if n % 2 else "money", "25" if n % 2 else "1.000.000", household=h.code)))
            if n % 3:
                impl.record_delivery(db, do_item, p.id, sec, DeliveryForm.for_kind(p.kind).parse({
                    "amount": "25" if n % 2 else "1.000.000", "delivered_on": clock.today_local().isoformat(),
                    "evidence": "Biên bản bàn giao"}))
        pledge(db, do_item, viewer(db, rep_user), PledgeForm.parse(pledge_data()))
        for k in range(12):
            update = {"percent": str(5 * k), "text": "Tiến độ thi công tuần này: " * 3}
            impl.post_progress(db, do_item, sec, ProgressForm.parse(update))
        insp = make_item(db, commune, big, cat, stage="inspect")
        sup.open_new_inspection(db, insp, su)
        for _k in range(15):
            sup.add_finding(db, insp, su, FindingForm.parse(
                {"severity": "needs_fixing", "text": "Mặt mương bị nứt ở đoạn giữa. " * 3,
                 "due_on": (clock.today_local() + timedelta(days=5)).isoformat()}))
        codes = {"do": do_item.code, "inspect": insp.code}
        pledge_id = impl.pledge_rows(db, do_item, size=1)[0][0].pledge.id
    pages = [
        (None, "status: do, 60 pledges", f"/items/{codes['do']}"),
        (None, "status: inspect, 15 findings", f"/items/{codes['inspect']}"),
        ("village_head", "work desk", f"/do/{codes['do']}"),
        ("village_head", "a pledge", f"/do/{codes['do']}/pledge/{pledge_id}"),
        ("village_head", "inspection page (village head)", f"/inspect/{codes['inspect']}"),
        ("inspector", "inspection page", f"/inspect/{codes['inspect']}"),
        ("supervisor", "supervisor's queue", "/inspect"),
        ("rep", "household's pledges", f"/items/{codes['do']}/pledge"),
    ]
    who_users = {"village_head": users["village_head"], "supervisor": users["supervisor"], "rep": rep_user,
                 "inspector": users["inspector"]}
    for who, name, path in pages:
        with browser(client.app) as c:
            if who:
                login(c, who_users[who])
            sizes, problems = weigh(c, path)
            assert sizes["total"] < BUDGET, (name, sizes)
            assert not problems, (name, problems)


def test_the_supervisor_finds_the_queue_and_others_are_refused(client):
    with unit_of_work(write=True) as db:
        _commune, _a, _b, _cat, users = world(db)
    for role, status in (("supervisor", 200), ("village_head", 403), ("resident", 403)):
        with browser(client.app) as c:
            login(c, users[role])
            assert c.get("/inspect").status_code == status, role


def test_a_verdict_is_refused_after_the_window_even_if_the_page_was_open(client):
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = board_world(db)
        item = make_item(db, commune, a, cat, stage="inspect")
        su, _sec = viewer(db, users["inspector"]), viewer(db, users["village_head"])
        ins = sup.open_new_inspection(db, item, su)
        for e in sup.checklist(db, [ins.id])[ins.id]:
            sup.mark_entry(db, item, su, MarkForm.parse({"target_id": e.id, "mark": "ok"}))
        sign_off_by_board(db, item, users)
        rep = make_representative(db, commune, a)
        code = item.code
    login(client, rep)
    token = csrf_token(client, f"/items/{code}/verdict")
    clock.freeze(clock.now() + timedelta(days=30, hours=1))
    r = client.post(f"/items/{code}/verdict",
                    data={"csrf_token": token, "verdict": "done", "satisfaction": "5"},
                    follow_redirects=False)
    assert r.status_code == 409
    assert date.today()  # the real clock is untouched


ODD = ("99999999999999999999", "¹", "٣", "-1", "0", "1.5", "\x00", "x" * 5000, ["1", "2"], "")


def _post(c, path, page, **form):
    return c.post(path, data={"csrf_token": csrf_token(c, page), **form}, follow_redirects=False)


def test_odd_input_to_the_inspection_and_verdict_forms_never_answers_500(client):
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = board_world(db)
        item = make_item(db, commune, a, cat, stage="inspect")
        su = viewer(db, users["inspector"])
        ins = sup.open_new_inspection(db, item, su)
        entry = sup.checklist(db, [ins.id])[ins.id][0]
        finding = sup.add_finding(db, item, su,
                                  FindingForm.parse({"severity": "note", "text": "Cần dọn vệ sinh."}))
        rep = make_representative(db, commune, a)
        code = item.code
    login(client, users["inspector"])
    page = f"/inspect/{code}"
    for odd_code in ("¹", "a" * 41, "NS 1", "%00", "a.b"):
        assert client.get(f"/inspect/{odd_code}").status_code == 404, odd_code
        assert client.post(f"/inspect/{odd_code}/mark", data={}).status_code in (403, 404), odd_code
    assert _post(client, f"{page}/no_such_action", page).status_code == 404
    for odd in ODD:
        for action in ("mark", "remove_entry", "answer", "resolve"):
            r = _post(client, f"{page}/{action}", page, target_id=odd, mark="ok", answer="Đã dọn xong rồi.")
            assert r.status_code in (303, 403, 404, 409, 422), (action, odd, r.status_code)
        for field in ("mark", "note"):
            r = _post(client, f"{page}/mark", page, target_id=str(entry.id),
                      **{"mark": "not_ok", field: odd})
            assert r.status_code in (303, 422), (field, odd, r.status_code)
        for field, other in (("severity", {"text": "Nứt tấm đan.", "due_on": "2030-01-01"}),
                             ("text", {"severity": "note"}),
                             ("due_on", {"severity": "serious", "text": "Nứt."})):
            r = _post(client, f"{page}/finding", page, **other, **{field: odd})
            assert r.status_code in (303, 422), (field, odd, r.status_code)
        assert _post(client, f"{page}/add_entry", page, label=odd).status_code in (303, 422), odd
    for due in ("2026-02-30", "99999-01-01", "31/12/1999", "١٢/٠٦/٢٠٣٠", "2030-1-1T00:00"):
        r = _post(client, f"{page}/finding", page, severity="serious", text="Nứt tấm đan.", due_on=due)
        assert r.status_code == 422, due
    assert finding.id
    for odd in ODD:
        assert _post(client, f"{page}/rework", page, reason=odd).status_code in (303, 403, 409, 422), odd
        assert _post(client, f"{page}/sign_off", page, vote=odd).status_code in (303, 409, 422), odd
    login(client, rep)
    verdict = f"/items/{code}/verdict"
    for odd in ODD:
        for field in ("household_id", "verdict", "satisfaction", "comment"):
            values = {"verdict": "done", "satisfaction": "5", field: odd}
            r = _post(client, verdict, verdict, **values)
            assert r.status_code in (403, 409, 422), (field, odd, r.status_code)
        r = _post(client, f"/items/{code}/reopen-request", verdict, household_id=odd,
                  reason="Đoạn cuối chưa làm.")
        assert r.status_code in (403, 409, 422), (odd, r.status_code)


def test_a_finding_is_recorded_with_its_photos_and_a_refused_one_keeps_nothing(client):
    import html as html_text

    from civic.supervision.models import Finding
    from tests.builders import count

    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = board_world(db)
        item = make_item(db, commune, a, cat, stage="inspect")
        sup.open_new_inspection(db, item, viewer(db, users["inspector"]))
        code = item.code
    login(client, users["inspector"])
    page = f"/inspect/{code}"
    due = (clock.today_local() + timedelta(days=7)).isoformat()
    form = {"severity": "serious", "text": "Tấm đan nứt ở đoạn cuối.", "due_on": due}

    def send(files, **over):
        return client.post(f"{page}/finding", data={"csrf_token": csrf_token(client, page), **form, **over},
                           files=files, follow_redirects=False)

    def stored():
        with unit_of_work() as db:
            return count(db, Finding), count(db, Attachment)

    photo = ("photos", ("a.jpg", photo_bytes((900, 600)), "image/jpeg"))
    r = send([photo], text="x")  # a mistake elsewhere: the photo is not kept, and the form says so
    assert r.status_code == 422 and 'id="f-photos-error"' in r.text and 'id="f-finding-text-error"' in r.text
    r = send([("photos", ("khong-phai-anh.jpg", b"not a photo at all" * 10, "image/jpeg"))])
    assert r.status_code == 422 and "khong-phai-anh.jpg" in html_text.unescape(r.text)
    assert "Tấm đan nứt ở đoạn cuối." in html_text.unescape(r.text)
    r = send([photo] * 6)
    assert r.status_code == 422 and 'id="f-photos-error"' in r.text
    assert stored() == (0, 0)
    r = send([photo, ("photos", ("b.jpg", photo_bytes((600, 900), color=(9, 90, 9)), "image/jpeg"))])
    assert r.status_code == 303 and r.headers["location"] == page
    with unit_of_work() as db:
        finding = db.execute(select(Finding)).scalar_one()
        rows = db.execute(select(Attachment).order_by(Attachment.id)).scalars().all()
        assert [(x.owner_kind, x.owner_id, x.purpose) for x in rows] ==\
            [("finding", finding.id, "finding")] * 2
    with browser(client.app) as anyone:
        assert len(re.findall(r'<img src="/media/\d+/thumb-', anyone.get(f"/items/{code}").text)) == 2
