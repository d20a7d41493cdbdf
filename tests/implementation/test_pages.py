"""Dân làm and Dân kiểm tra through the pages: the village head's desk, a household's pledge, deliveries and
disputes, the public totals, the inspection, the verdict; bad input answered with 422 and nothing stored."""

from __future__ import annotations

import re
from datetime import timedelta

from civic import clock
from civic.db import unit_of_work
from civic.implementation.models import Delivery, Pledge, ProgressUpdate
from civic.supervision.models import Finding, Verdict
from tests.boards.helpers import board_world
from tests.builders import (
    browser,
    consent,
    count,
    csrf_token,
    households_of,
    login,
    make_item,
    make_representative,
    pdf_bytes,
    snapshot,
)


def build(stage="do"):
    with unit_of_work(write=True) as db:
        commune, a, b, cat, users = board_world(db)
        item = make_item(db, commune, a, cat, stage=stage, title="Xây mương thoát nước xóm Dưới")
        reps = [make_representative(db, commune, a, h, name=f"Chủ Hộ {n}") for n, h in
                enumerate(households_of(db, a)[:3])]
        outsider = make_representative(db, commune, b, name="Hộ Thôn Khác")
        codes = [h.code for h in households_of(db, a)]
        return item.code, users, reps, outsider, codes


def post(client, path, page, **form):
    return client.post(path, data={"csrf_token": csrf_token(client, page), **form}, follow_redirects=False)


SCAN = ("consent_scan", ("phieu-dong-y.pdf", pdf_bytes(1), "application/pdf"))


def post_with_scan(client, path, page, **form):
    """A pledge form sent with the scan of the signed consent form."""
    return client.post(path, data={"csrf_token": csrf_token(client, page), **form}, files=[SCAN],
                       follow_redirects=False)


def rows_of(model):
    with unit_of_work() as db:
        return count(db, model)


def test_a_household_pledges_the_village_head_delivers_and_the_public_sees_the_totals(client, app):
    code, users, reps, _outsider, codes = build()
    login(client, reps[0])
    page = client.get(f"/items/{code}/pledge")
    assert page.status_code == 200 and f'action="/items/{code}/pledge"' in page.text
    r = post_with_scan(client, f"/items/{code}/pledge", f"/items/{code}/pledge", kind="land", amount="1.240",
                       parcel_ref="Thửa 12, tờ 3", **consent())
    assert r.status_code == 303, r.text[:2000]
    with browser(app) as sec:
        login(sec, users["village_head"])
        r = post(sec, f"/do/{code}/settings", f"/do/{code}", needed_land_m2="1.400", publish_pledger_names="")
        assert r.status_code == 303
        desk = sec.get(f"/do/{code}")
        pledge_id = re.search(rf'href="/do/{code}/pledge/(\d+)"', desk.text).group(1)
        r = post(sec, f"/do/{code}/pledge/{pledge_id}/deliver", f"/do/{code}/pledge/{pledge_id}",
                 amount="1.240", delivered_on=clock.today_local().isoformat(),
                 evidence="Biên bản bàn giao số 7")
        assert r.status_code == 303
    with browser(app) as anyone:
        status = anyone.get(f"/items/{code}")
        assert status.status_code == 200
        text = re.sub(r"\s+", " ", status.text)
        # "1,240 of 1,400 m² delivered", in whichever words the catalogue has
        assert re.search(r"1[.,]240[^<0-9]{1,12}1[.,]400 m²", text), text[text.find("do-contrib"):][:800]
        assert "<progress" in status.text
        assert re.search(r">1[^<0-9]{1,12}10 ", text)  # households pledged out of the register
        assert "Chủ Hộ" not in status.text and "Thửa 12" not in status.text  # names not published


def test_bad_pledges_are_refused_with_422_and_nothing_is_stored(client):
    code, _users, reps, outsider, _codes = build()
    login(client, reps[0])
    for form in ({"kind": "land", "amount": "0"}, {"kind": "money", "amount": "-100000"},
                 {"kind": "land", "amount": "200.000"}, {"kind": "labour", "amount": "5000"},
                 {"kind": "money", "amount": "20.000.000.000"}):
        r = post(client, f"/items/{code}/pledge", f"/items/{code}/pledge", parcel_ref="Thửa 1", **consent(),
                 **form)
        assert r.status_code == 422, form
        assert 'aria-invalid="true"' in r.text and form["amount"] in r.text  # the value is kept
    assert rows_of(Pledge) == 0
    r = post_with_scan(client, f"/items/{code}/pledge", f"/items/{code}/pledge", kind="land",
                       amount="200.000", confirm_large="1", parcel_ref="Thửa 1", **consent())
    assert r.status_code == 303
    with browser(client.app) as other:
        login(other, outsider)
        assert other.get(f"/items/{code}/pledge").status_code == 403
        token = csrf_token(other, "/login")
        r = other.post(f"/items/{code}/pledge",
                       data={"csrf_token": token, "kind": "land", "amount": "5", "parcel_ref": "Thửa 1",
                             **consent()}, follow_redirects=False)
        assert r.status_code == 403
    assert rows_of(Pledge) == 1


def test_a_delivery_larger_than_its_pledge_needs_a_confirmation_and_a_household_can_dispute_it(client, app):
    code, users, reps, _outsider, codes = build()
    login(client, users["village_head"])
    r = post(client, f"/do/{code}/pledge", f"/do/{code}", household=codes[1], kind="money", amount="500.000",
             **consent())
    assert r.status_code == 303
    pledge_id = re.search(rf'href="/do/{code}/pledge/(\d+)"', client.get(f"/do/{code}").text).group(1)
    path = f"/do/{code}/pledge/{pledge_id}"
    form = dict(amount="800.000", delivered_on=clock.today_local().isoformat(), evidence="Phiếu thu số 3")
    r = post(client, f"{path}/deliver", path, **form)
    assert r.status_code == 422 and rows_of(Delivery) == 0
    r = post(client, f"{path}/deliver", path, confirm_over="1", **form)
    assert r.status_code == 303 and rows_of(Delivery) == 1
    with browser(app) as rep:
        login(rep, reps[1])
        page = rep.get(f"/items/{code}/pledge")
        assert "Phiếu thu số 3" in page.text  # the household sees the delivery recorded for it
        delivery_id = re.search(rf'/items/{code}/delivery/(\d+)/dispute', page.text).group(1)
        r = post(rep, f"/items/{code}/delivery/{delivery_id}/dispute", f"/items/{code}/pledge",
                 dispute_text="")
        assert r.status_code == 422
        r = post(rep, f"/items/{code}/delivery/{delivery_id}/dispute", f"/items/{code}/pledge",
                 dispute_text="Hộ tôi chỉ nộp 500.000 đồng.")
        assert r.status_code == 303
    with browser(app) as other:
        login(other, reps[0])
        token = csrf_token(other, f"/items/{code}/pledge")
        r = other.post(f"/items/{code}/delivery/{delivery_id}/dispute",
                       data={"csrf_token": token, "dispute_text": "Không phải của tôi."},
                       follow_redirects=False)
        assert r.status_code == 403


def test_the_desk_says_what_is_missing_then_hands_over_for_inspection(client):
    code, users, reps, _outsider, codes = build()
    login(client, users["village_head"])
    before = snapshot(code)
    r = post(client, f"/do/{code}/progress", f"/do/{code}", percent="150", text="Xong.")
    assert r.status_code == 422 and snapshot(code) == before
    r = post(client, f"/do/{code}/progress", f"/do/{code}", percent="100", text="Hoàn thành toàn bộ mương.")
    assert r.status_code == 303 and rows_of(ProgressUpdate) == 1
    post(client, f"/do/{code}/pledge", f"/do/{code}", household=codes[4], kind="labour", amount="2",
         **consent())
    desk = client.get(f"/do/{code}")
    assert f'action="/do/{code}/start_inspection"' not in desk.text  # not offered: a pledge is open
    r = post(client, f"/do/{code}/start_inspection", f"/do/{code}")
    assert r.status_code == 409 and snapshot(code)["stage"] == "do"
    pledge_id = re.search(rf'href="/do/{code}/pledge/(\d+)"', desk.text).group(1)
    post(client, f"/do/{code}/pledge/{pledge_id}/deliver", f"/do/{code}/pledge/{pledge_id}", amount="2",
         delivered_on=clock.today_local().isoformat(), evidence="Sổ chấm công")
    assert f'action="/do/{code}/start_inspection"' in client.get(f"/do/{code}").text
    r = post(client, f"/do/{code}/start_inspection", f"/do/{code}")
    assert r.status_code == 303 and snapshot(code)["stage"] == "inspect"


def test_only_the_village_head_opens_the_desk(client):
    code, users, reps, _outsider, _codes = build()
    assert "/login" in str(client.get(f"/do/{code}", follow_redirects=True).url)
    for who in (users["other_head"], users["supervisor"], reps[0]):
        with browser(client.app) as c:
            login(c, who)
            assert c.get(f"/do/{code}").status_code == 403


def board_signs_off(app, users, code, page, members=(1, 2)):
    """Further members of the board agree, each from their own phone; the last makes the majority."""
    for n in members:
        with browser(app) as member:
            login(member, users["board"][n])
            r = post(member, f"{page}/sign_off", page, vote="agree")
    return r


def test_inspection_findings_answers_sign_off_and_verdicts(client, app):
    code, users, reps, _outsider, _codes = build(stage="inspect")
    with browser(app) as official:
        login(official, users["supervisor"])
        assert official.get("/inspect").status_code == 200 and code in official.get("/inspect").text
        page = f"/inspect/{code}"
        # The commune official no longer inspects: the board does.
        assert post(official, f"{page}/open", page, checklist="Đúng thiết kế").status_code == 403
    login(client, users["inspector"])
    assert post(client, f"{page}/open", page,
                checklist="Đúng thiết kế\nChất lượng bê tông").status_code == 303
    html = client.get(page).text
    entry_ids = list(dict.fromkeys(re.findall(r'name="target_id" value="(\d+)"', html)))
    due = (clock.today_local() + timedelta(days=7)).isoformat()
    r = post(client, f"{page}/finding", page, severity="serious", text="Tấm đan nứt đoạn cuối.", due_on=due)
    assert r.status_code == 303
    for entry in entry_ids[:2]:
        assert post(client, f"{page}/mark", page, target_id=entry, mark="ok").status_code == 303
    r = post(client, f"{page}/sign_off", page, vote="agree")
    assert r.status_code == 409 and snapshot(code)["stage"] == "inspect"
    finding_id = str(_one(Finding).id)
    with browser(app) as other:
        login(other, users["other_head"])
        token = csrf_token(other, "/login")
        r = other.post(f"{page}/answer", data={"csrf_token": token, "target_id": finding_id,
                                               "answer": "Tôi trả lời thay."}, follow_redirects=False)
        assert r.status_code == 403
    with browser(app) as sec:
        login(sec, users["village_head"])
        assert post(sec, f"{page}/answer", page, target_id=finding_id,
                    answer="Đã thay 3 tấm đan ngày hôm qua.").status_code == 303
    assert post(client, f"{page}/resolve", page, target_id=finding_id).status_code == 303
    r = post(client, f"{page}/sign_off", page, vote="agree")  # one member of five: recorded, not enough
    assert r.status_code == 303 and r.headers["location"] == page and snapshot(code)["stage"] == "inspect"
    assert "1 of 5 members agree" in client.get(f"{page}?lang=en").text
    r = board_signs_off(app, users, code, page)
    assert r.status_code == 303 and snapshot(code)["outcome"] == "done"
    public = client.get(f"/items/{code}?lang=en").text
    assert "Đã thay 3 tấm đan ngày hôm qua." in public
    assert "3 of 5 members of the board agreed." in public
    assert "Lê Thị Thanh" in public and "Hoàng Thị Nhân" in public
    with browser(app) as rep:
        login(rep, reps[0])
        r = post(rep, f"/items/{code}/verdict", f"/items/{code}/verdict", verdict="not_done",
                 satisfaction="2")
        assert r.status_code == 303
        r = post(rep, f"/items/{code}/verdict", f"/items/{code}/verdict", verdict="done", satisfaction="5")
        assert r.status_code == 409 and rows_of(Verdict) == 1
        r = post(rep, f"/items/{code}/reopen-request", f"/items/{code}/verdict", reason="Đoạn cuối vẫn ngập.")
        assert r.status_code == 303
    with browser(app) as official:
        login(official, users["supervisor"])
        assert code in official.get("/inspect").text
        r = post(official, f"{page}/reopen", page, reason="Đoàn sẽ kiểm tra lại đoạn cuối.")
        assert r.status_code == 303 and snapshot(code)["stage"] == "inspect"


def _one(model):
    from sqlalchemy import select

    with unit_of_work() as db:
        return db.execute(select(model)).scalars().first()


def test_verdicts_close_after_30_days(client):
    code, users, reps, _outsider, _codes = build(stage="inspect")
    login(client, users["inspector"])
    page = f"/inspect/{code}"
    post(client, f"{page}/open", page, checklist="Đúng thiết kế")
    entry = re.search(r'name="target_id" value="(\d+)"', client.get(page).text).group(1)
    post(client, f"{page}/mark", page, target_id=entry, mark="ok")
    assert board_signs_off(client.app, users, code, page, members=(0, 1, 2)).status_code == 303
    assert snapshot(code)["outcome"] == "done"
    clock.advance(timedelta(days=31))
    with browser(client.app) as rep:
        login(rep, reps[0])
        r = post(rep, f"/items/{code}/verdict", f"/items/{code}/verdict", verdict="done", satisfaction="5")
        assert r.status_code == 409 and rows_of(Verdict) == 0


def test_not_done_is_shown_distinct_from_done(client):
    code, users, reps, _outsider, _codes = build(stage="do")
    login(client, users["supervisor"])
    page = f"/inspect/{code}"
    r = post(client, f"{page}/close_not_done", page, reason="")
    assert r.status_code == 422 and snapshot(code)["stage"] == "do"
    r = post(client, f"{page}/close_not_done", page, reason="Không xin được đất; Ban giám sát xác nhận dừng.")
    assert r.status_code == 303
    with browser(client.app) as anyone:
        html = anyone.get(f"/items/{code}").text
        assert "Không xin được đất" in html and "strip-closed" in html
        assert code in anyone.get("/items?outcome=not_done").text
        assert code not in anyone.get("/items?outcome=done").text


def test_withdrawing_on_behalf_is_offered_only_until_the_work_starts(client):
    code, users, reps, _outsider, codes = build()
    login(client, reps[0])
    assert post_with_scan(client, f"/items/{code}/pledge", f"/items/{code}/pledge", kind="land", amount="20",
                          parcel_ref="Thửa 3, tờ 1 <b>", **consent()).status_code == 303
    login(client, users["village_head"])
    pledge_id = re.search(rf'href="/do/{code}/pledge/(\d+)"', client.get(f"/do/{code}").text).group(1)
    withdraw = f'action="/do/{code}/pledge/{pledge_id}/withdraw"'
    staff_page = client.get(f"/do/{code}/pledge/{pledge_id}").text
    assert withdraw in staff_page
    assert "Thửa 3, tờ 1 &lt;b&gt;" in staff_page and "tờ 1 <b>" not in staff_page  # the parcel as text
    assert post(client, f"/do/{code}/progress", f"/do/{code}", percent="10",
                text="Đã khởi công.").status_code == 303
    page = client.get(f"/do/{code}/pledge/{pledge_id}")
    assert page.status_code == 200 and withdraw not in page.text, "a form that can only fail is still offered"


def _pledging_village(publish: bool, households: int = 45) -> str:
    from civic.implementation import service as impl
    from civic.implementation.schemas import PledgeOnBehalfForm, SettingsForm, WithdrawForm
    from tests.builders import make_category, make_commune, make_user, make_village, pledge_data, viewer

    with unit_of_work(write=True) as db:
        commune = make_commune(db)
        village = make_village(db, commune, households=households)
        cat = make_category(db, commune)
        for n, h in enumerate(households_of(db, village)):
            h.head_name = f"Nguyễn Văn {n:02d}"
        sec = viewer(db, make_user(db, "village_head", commune=commune, village=village))
        item = make_item(db, commune, village, cat, stage="do")
        decided = {"needed_land_m2": "5.000", "publish_pledger_names": "1" if publish else ""}
        impl.save_settings(db, item, sec, SettingsForm.parse(decided))
        pledges = [impl.pledge(db, item, sec, PledgeOnBehalfForm.parse(pledge_data(household=h.code)))
                   for h in households_of(db, village)]
        impl.withdraw(db, item, pledges[0].id, sec, WithdrawForm.parse({"reason": "Hộ đổi ý."}))
        return item.code


def test_every_household_that_pledged_is_listed_where_names_are_published(client):
    code = _pledging_village(publish=True)
    status = client.get(f"/items/{code}?lang=en")
    assert status.text.count("Nguyễn Văn ") == 12  # the first 12 on the status page …
    assert f'href="/items/{code}/pledgers"' in status.text and "All 44 households that pledged" in status.text
    full = client.get(f"/items/{code}/pledgers")  # … and all of them here
    assert full.status_code == 200
    listed = re.findall(r"<li>(Nguyễn Văn \d\d)</li>", full.text)
    assert listed == [f"Nguyễn Văn {n:02d}" for n in range(1, 45)], "withdrawn pledge listed, or one missing"
    assert client.get(f"/items/{code}/pledgers?page=9").status_code == 200


def test_no_list_of_names_where_the_village_did_not_decide_to_publish_them(client):
    code = _pledging_village(publish=False, households=3)
    status = client.get(f"/items/{code}")
    assert "Nguyễn Văn" not in status.text and "/pledgers" not in status.text
    hidden = client.get(f"/items/{code}/pledgers")
    assert hidden.status_code == 404 and "Nguyễn Văn" not in hidden.text
    assert client.get("/items/NS-2020-9999/pledgers").status_code == 404


def _desk_with_a_pledge(client, kind="money", amount="500.000"):
    code, users, _reps, _outsider, codes = build()
    login(client, users["village_head"])
    r = post(client, f"/do/{code}/pledge", f"/do/{code}", household=codes[1], kind=kind, amount=amount,
             **consent())
    assert r.status_code == 303
    pledge_id = re.search(rf'href="/do/{code}/pledge/(\d+)"', client.get(f"/do/{code}").text).group(1)
    return code, pledge_id


def test_amounts_no_column_could_hold_are_answered_with_the_message_not_an_error_page(client):
    code, users, reps, _outsider, codes = build()
    login(client, users["village_head"])
    r = post(client, f"/do/{code}/budget", f"/do/{code}", source="state", label="Ngân sách nhà nước",
             amount="9" * 5000)
    assert r.status_code == 422 and "Giá trị này quá lớn." in r.text  # "This amount is far too large."
    r = post(client, f"/do/{code}/pledge", f"/do/{code}", household=codes[2], kind="land", amount="1" * 30,
             confirm_large="1", parcel_ref="Thửa 1", **consent())
    assert r.status_code == 422 and "Giá trị này quá lớn." in r.text and "1" * 30 in r.text
    with browser(client.app) as rep:
        login(rep, reps[0])
        r = post(rep, f"/items/{code}/pledge", f"/items/{code}/pledge", kind="labour", amount="1" * 30,
                 confirm_large="1", **consent())
        assert r.status_code == 422
    assert rows_of(Pledge) == 0


def test_a_delivery_is_read_by_the_kind_of_its_pledge(client):
    code, pledge_id = _desk_with_a_pledge(client, "money", "500.000")
    path = f"/do/{code}/pledge/{pledge_id}"
    today = clock.today_local().isoformat()
    r = post(client, f"{path}/deliver", path, amount="2,5", delivered_on=today, evidence="Phiếu thu số 1")
    assert r.status_code == 422 and rows_of(Delivery) == 0  # money is whole đồng
    r = post(client, f"{path}/deliver", path, amount="500.000", delivered_on=today, evidence="Phiếu thu số 1")
    assert r.status_code == 303 and rows_of(Delivery) == 1


def test_addresses_and_page_numbers_no_row_could_have(client):
    code, pledge_id = _desk_with_a_pledge(client)
    for path in (f"/do/{code}/pledge/abc", f"/do/{code}/pledge/{'9' * 20}", f"/do/{code}/pledge/0",
                 f"/do/{code}/pledge/{int(pledge_id) + 1000}"):
        assert client.get(path).status_code == 404, path
    assert post(client, f"/do/{code}/pledge/{'9' * 20}/deliver", f"/do/{code}", amount="1").status_code == 404
    assert post(client, f"/do/{code}/pledge/¹/withdraw", f"/do/{code}").status_code == 404
    assert post(client, f"/items/{code}/delivery/x1/dispute", f"/do/{code}").status_code == 404
    for query in ("¹", "9" * 20, "0", "-1", "abc"):
        assert client.get(f"/do/{code}?page={query}").status_code in (400, 404, 422), query
    assert client.get(f"/do/{code}?page=3").status_code == 200


def test_photos_and_documents_are_kept_with_the_row_they_prove(client):
    from civic.media.models import Attachment
    from tests.builders import pdf_bytes, photo_bytes

    code, pledge_id = _desk_with_a_pledge(client)
    token = csrf_token(client, f"/do/{code}")

    def send(path, files, **form):
        return client.post(path, data={"csrf_token": token, **form}, files=files, follow_redirects=False)

    r = send(f"/do/{code}/progress", [("photos", ("a.jpg", photo_bytes((800, 600)), "image/jpeg"))],
             percent="40", text="Đã đổ xong bê tông.")
    assert r.status_code == 303
    r = send(f"/do/{code}/progress", [("photos", ("a.pdf", pdf_bytes(), "application/pdf"))],
             percent="50", text="Thêm một đoạn.")
    assert r.status_code == 422 and rows_of(ProgressUpdate) == 1  # progress takes photos only
    r = send(f"/do/{code}/pledge/{pledge_id}/deliver", [("evidence_files", ("phieu.pdf", pdf_bytes(),
                                                                             "application/pdf"))],
             amount="500.000", evidence="Phiếu thu số 2", delivered_on=clock.today_local().isoformat())
    assert r.status_code == 303
    with unit_of_work() as db:
        from sqlalchemy import select

        kept = {(a.owner_kind, a.purpose, a.kind) for a in db.execute(select(Attachment)).scalars()}
    assert kept == {("progress", "progress", "photo"), ("delivery", "delivery", "document")}


def test_land_without_consent_evidence_is_refused_and_the_in_person_confirmation_is_recorded(client):
    code, users, reps, _outsider, codes = build()
    login(client, reps[0])
    r = post(client, f"/items/{code}/pledge", f"/items/{code}/pledge", kind="land", amount="30",
             parcel_ref="Thửa 9, tờ 2", **consent())
    assert r.status_code == 422 and 'id="f-consent_scan-error"' in r.text and rows_of(Pledge) == 0
    login(client, users["village_head"])
    desk = f"/do/{code}"
    assert 'name="consent_in_person"' in client.get(desk).text
    r = post(client, f"{desk}/pledge", desk, household=codes[6], kind="land", amount="30",
             parcel_ref="Thửa 9, tờ 2", **consent())
    assert r.status_code == 422 and 'id="f-consent_scan-error"' in r.text and rows_of(Pledge) == 0
    r = post(client, f"{desk}/pledge", desk, household=codes[6], kind="land", amount="30",
             parcel_ref="Thửa 9, tờ 2", consent_in_person="1", **consent())
    assert r.status_code == 303
    with unit_of_work() as db:
        from sqlalchemy import select

        pledge = db.execute(select(Pledge)).scalar_one()
        assert pledge.consent_in_person and pledge.on_behalf and pledge.consent_scan_id is None
    page = client.get(f"{desk}/pledge/{pledge.id}?lang=en").text
    assert "the village head confirmed the consent in person, before the witness" in page
