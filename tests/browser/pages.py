"""The pages the browser tests open, and the world they open them in (a helper module, not tests)."""

from __future__ import annotations

import re

from civic.db import unit_of_work
from tests.boards.helpers import board_world, sign_off_by_inspecting_board
from tests.builders import PASSWORD, make_item, make_user, move, viewer


def build() -> dict:
    """A commune with an item awaiting triage, one in Dân biết, and a rejected one whose author asked for
    a review."""
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = board_world(db)
        submitted = make_item(db, commune, a, cat, title="Cống bị tắc trước nhà văn hoá")
        know = make_item(db, commune, a, cat, stage="know", title="Đèn đường ngõ ba không sáng",
                         description="Ba bóng đèn hỏng.\nTối đi lại nguy hiểm.")
        rejected = make_item(db, commune, a, cat, stage="rejected", reporter=users["resident"],
                             title="Xin làm sân bóng mới")
        move(db, rejected, "request_review", viewer(db, users["resident"]),
                            {"reason": "Thôn có đất công bỏ trống."}, is_author=True)
        users["front_head"] = make_user(db, "front_head", commune=commune, village=a,
                                        name="Trưởng Ban Mặt Trận")
        return {"submitted": submitted.code, "know": know.code, "rejected": rejected.code,
                "manage": submitted._manage_token,
                "phones": {role: u.phone for role, u in users.items() if role != "board"}}


def log_in(page, phone: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.fill("#f-phone", phone)
    page.fill("#f-password", password)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, f"login as {phone} failed: {page.url}"


def _submit_empty(page, w):
    page.goto("/submit")
    page.click("form[action='/submit'] button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#form-errors").count() == 1, "the empty form was not re-rendered with its errors"


def _login_error(page, w):
    page.goto("/login")
    page.fill("#f-phone", w["phones"]["resident"])
    page.fill("#f-password", "wrong-password-1")
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".flash-error").count() == 1, "a wrong password did not show an error"


def _register_errors(page, w):
    page.goto("/register")
    page.fill("#f-phone", "12")
    page.click("form[action='/register'] button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".error").count() >= 1, "the register form did not show its errors"


def _password_errors(page, w):
    page.goto("/account/password")
    page.click("form[action='/account/password'] button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".error").count() >= 1, "the password form did not show its errors"


def _submitted(page, w):
    page.goto("/submit")
    page.check("input[name=kind][value=concern]")
    page.select_option("#f-village_id", index=1)
    page.select_option("#f-category_id", index=1)
    page.fill("#f-title", "Ổ gà trên đường liên thôn")
    page.fill("#f-description", "Ổ gà sâu, xe máy dễ ngã.")
    page.fill("#f-contact_phone", "0912345679")
    page.click("form[action='/submit'] button[type=submit]")
    page.wait_for_url(re.compile(r"/submitted/"))


# name -> (who is logged in, what to open: a path template or a function)
PAGES = {
    "home": (None, "/"),
    "item list": (None, "/items"),
    "item list, filtered, empty": (None, "/items?q=khong-co-gi&stage=know"),
    "map of the items": (None, "/map"),
    "status: submitted": (None, "/items/{submitted}"),
    "status: know": (None, "/items/{know}"),
    "status: closed rejected, review asked": (None, "/items/{rejected}"),
    "status: rejected, seen by its author": ("resident", "/items/{rejected}"),
    "submit form": (None, "/submit"),
    "submit form with errors": (None, _submit_empty),
    "submitted": (None, _submitted),
    "manage link": (None, "/m/{manage}"),
    "login": (None, "/login"),
    "login with error": (None, _login_error),
    "register": (None, "/register"),
    "register with errors": (None, _register_errors),
    "my activity": ("resident", "/me/activity"),
    "change password": ("resident", "/account/password"),
    "change password with errors": ("resident", _password_errors),
    "password reset": (None, "/password/reset"),
    "people and roles": ("admin", "/admin/people"),
    "triage queue": ("village_head", "/triage"),
    "triage item": ("village_head", "/triage/{submitted}"),
    "to-do": ("village_head", "/todo"),
    "redaction form": ("village_head", "/redact/{submitted}"),
    "file on behalf": ("village_head", "/triage/new"),
    "review queue": ("supervisor", "/review"),
    "review item": ("supervisor", "/review/{rejected}"),
    "my household": ("resident", "/household"),
    "claim a household": ("resident", "/household/claim"),
    "join a household": ("resident", "/household/join"),
    "claim letters": ("village_head", "/households/letters"),
    "join requests": ("village_head", "/households/requests"),
    "villages": ("admin", "/admin/villages"),
    "people's boards": (None, "/boards"),
    "admin: people's boards": ("admin", "/admin/boards"),
    "audit": (None, "/audit"),
    "dashboard": (None, "/dashboard"),
    "dashboard, commune staff": ("supervisor", "/dashboard"),
    "exports": (None, "/exports"),
    "exports, village head": ("village_head", "/exports"),
    "yearly report": ("village_head", "/reports/yearly"),
    "404 page": (None, "/no-such-page"),
    "404 item": (None, "/items/NS-2020-9999"),
}


# --- photos and documents -----------------------------------------------------------------------------------

def _attach_demo_files(code: str) -> None:
    """A public photo, a hidden photo, a public PDF and a private consent scan on the item (once)."""
    from sqlalchemy import select

    from civic.items.models import Item
    from civic.media import service as media
    from civic.media.models import Attachment
    from civic.media.schemas import HideForm
    from tests.builders import make_attachment, make_user, pdf_bytes, photo_bytes

    with unit_of_work(write=True) as db:
        item = db.execute(select(Item).where(Item.code == code)).scalar_one()
        if db.execute(select(Attachment.id).where(Attachment.item_id == item.id)).first():
            return
        make_attachment(db, item, photo_bytes((1600, 1200), gps=True), filename="cong.jpg")
        hidden = make_attachment(db, item, photo_bytes((1200, 1600), color=(20, 20, 160)), filename="mat.jpg")
        make_attachment(db, item, pdf_bytes(2), filename="Biên bản họp thôn.pdf", purpose="minutes")
        make_attachment(db, item, pdf_bytes(1), filename="giay-dong-y.pdf", purpose="consent")
        from tests.builders import viewer

        sec = make_user(db, "village_head", village=_village(db, item), name="Thư Ký Ảnh")
        media.hide(db, hidden, viewer(db, sec).facts(),
                   HideForm.parse({"reason": "Thấy rõ mặt người đi đường"}))


def _village(db, item):
    from civic.areas.models import Village

    return db.get(Village, item.village_id)


def _status_with_files(page, w):
    _attach_demo_files(w["know"])
    page.goto(f"/items/{w['know']}")
    assert page.locator(".gallery img").count() >= 1, "the status page shows no photo"


def _submit_refused_photo(page, w):
    page.goto("/submit")
    page.check("input[name=kind][value=concern]")
    page.select_option("#f-village_id", index=1)
    page.select_option("#f-category_id", index=1)
    page.fill("#f-title", "Ảnh không hợp lệ")
    page.fill("#f-description", "Tệp này không phải là ảnh thật.")
    page.fill("#f-contact_phone", "0912345679")
    page.set_input_files("#f-photos",
                         {"name": "anh.jpg", "mimeType": "image/jpeg", "buffer": b"MZ" + b"\0" * 500})
    page.click("form[action='/submit'] button[type=submit]")
    page.wait_for_selector("#f-photos-error")


PAGES.update({
    "status with photos and documents": (None, _status_with_files),
    "status with photos, seen by the village_head": ("village_head", _status_with_files),
    "submit form with a refused photo": (None, _submit_refused_photo),
})


# --- Dân biết and Dân bàn -----------------------------------------------------------------------------------

def _deliberation_items(w) -> dict:
    """Once per world: an item in Dân bàn with everything filled in, and one with a paper ballot open."""
    if "delib" in w:
        return w["delib"]
    from datetime import timedelta

    from sqlalchemy import select

    from civic import clock
    from civic.accounts.models import User
    from civic.areas.models import Commune, Village
    from civic.deliberation import service as deliberation
    from civic.deliberation.models import Decision
    from civic.deliberation.schemas import (
        CommentForm,
        DecideForm,
        HideCommentForm,
        ScheduleMeetingForm,
    )
    from civic.items.models import Category, Item
    from tests.builders import disclose, hold_meeting, make_discuss_item, make_household_rep, viewer

    with unit_of_work(write=True) as db:
        know = db.execute(select(Item).where(Item.code == w["know"])).scalar_one()
        commune, village = db.get(Commune, know.commune_id), db.get(Village, know.village_id)
        category = db.get(Category, know.category_id)
        sec_user = db.execute(select(User).where(User.phone == w["phones"]["village_head"])).scalar_one()
        sec = viewer(db, sec_user)
        disclose(db, know, sec_user, days_ago=1)
        clock.freeze(clock.now() - timedelta(days=8))
        full = make_discuss_item(db, commune, village, category, sec_user, title="Mở rộng đường liên xóm")
        for n in range(3):
            rep = viewer(db, make_household_rep(db, village, n, name=f"Chủ Hộ {n}"))
            deliberation.support(db, full, rep)
            c = deliberation.add_comment(db, full, rep, CommentForm.parse({
                "body": f"Ý kiến {n}: tôi đồng ý."}))
        deliberation.add_comment(db, full, sec, CommentForm.parse({"body": "Thôn sẽ họp vào tuần sau."}))
        deliberation.hide_comment(db, full, sec, HideCommentForm.parse({
            "comment_id": str(c.id), "reason": "Lạc đề"}))
        start = (clock.now() + timedelta(days=5, minutes=5)).astimezone(clock.LOCAL_TZ)
        m = deliberation.schedule_meeting(db, full, sec, ScheduleMeetingForm.parse({
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"), "place": "Nhà văn hoá",
            "agenda": "Bàn làm đường"}))
        clock.advance(timedelta(days=6))
        hold_meeting(db, full, sec, m, 8, minutes_text="Các hộ thống nhất.")
        deliberation.decide(db, full, sec, DecideForm.parse({
            "method": "meeting_vote", "yes": "7", "no": "1", "abstain": "0"}))
        counting = make_discuss_item(db, commune, village, category, sec_user, title="Sửa mái nhà văn hoá",
                                     asks_contribution=False)
        deliberation.schedule_meeting(db, counting, sec, ScheduleMeetingForm.parse({
            "starts_at": (clock.now() + timedelta(days=6)).astimezone(clock.LOCAL_TZ)
                         .strftime("%Y-%m-%dT%H:%M"),
            "place": "Sân đình", "agenda": "Bàn sửa mái"}))
        deliberation.decide(db, counting, sec, DecideForm.parse({"method": "paper_ballot"}))
        clock.reset()
        decision_id = db.execute(select(Decision.id).where(Decision.item_id == full.id)).scalar_one()
        w["delib"] = {"full": full.code, "counting": counting.code, "decision": decision_id}
    return w["delib"]


def _goto(path_of):
    def open_page(page, w):
        page.goto(path_of(_deliberation_items(w), w))
    return open_page


def _desk_errors(page, w):
    page.goto(f"/deliberation/{w['know']}")
    page.select_option("#f-channel", "loudspeaker")
    page.fill("#f-place", "Loa thôn")
    page.fill("#f-starts_on", "2026-06-10")
    page.fill("#f-ends_on", "2026-06-01")
    page.click("form[action$='/disclosure'] button[type=submit]")
    page.wait_for_selector("#f-ends_on-error")


PAGES.update({
    "status: Dân bàn with meeting and decision": (None, _goto(lambda d, w: f"/items/{d['full']}")),
    "status: Dân bàn, a signed-in resident": ("resident", _goto(lambda d, w: f"/items/{d['full']}")),
    "status: paper ballot being counted, village_head": ("village_head",
                                                      _goto(lambda d, w: f"/items/{d['counting']}")),
    "deliberation desk: know": ("village_head", _goto(lambda d, w: f"/deliberation/{w['know']}")),
    "deliberation desk: decided": ("village_head", _goto(lambda d, w: f"/deliberation/{d['full']}")),
    "deliberation desk: counting": ("village_head", _goto(lambda d, w: f"/deliberation/{d['counting']}")),
    "deliberation desk with errors": ("village_head", _desk_errors),
    "printable notice": (None, _goto(lambda d, w: f"/items/{d['full']}/notice")),
    "printable notice: know": (None, _goto(lambda d, w: f"/items/{w['know']}/notice")),
    "vote-count record": (None, _goto(lambda d, w: f"/items/{d['full']}/decisions/{d['decision']}/record")),
    "report of the result": (None, _goto(lambda d, w:
                                         f"/items/{d['full']}/decisions/{d['decision']}/report")),
    "admin: how matters are decided": ("admin", "/admin/decision-rules"),
    "admin: disclosure days": ("admin", "/admin/categories"),
    "admin: household register": ("admin", "/admin/register"),
})


# --- Dân làm and Dân kiểm tra -------------------------------------------------------------------------------

def _work_items(w) -> dict:
    """Once per world: an item in Dân làm with pledges, deliveries, budget and progress; one in Dân kiểm tra
    with an inspection, findings and an answer; one done with verdicts. The resident represents a
    household."""
    if "work" in w:
        return w["work"]
    from datetime import timedelta

    from sqlalchemy import select

    from civic import clock
    from civic.accounts import service as accounts
    from civic.accounts.models import User
    from civic.areas.models import Commune, Village
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
    from civic.items.models import Category, Item
    from civic.supervision import service as sup
    from civic.supervision.schemas import AnswerForm, FindingForm, MarkForm, VerdictForm
    from tests.builders import consent_scan, households_of, make_representative, pledge_data, viewer

    with unit_of_work(write=True) as db:
        know = db.execute(select(Item).where(Item.code == w["know"])).scalar_one()
        commune, village = db.get(Commune, know.commune_id), db.get(Village, know.village_id)
        category = db.get(Category, know.category_id)
        user = {role: db.execute(select(User).where(User.phone == phone)).scalar_one()
                for role, phone in w["phones"].items()}
        sec, su = viewer(db, user["village_head"]), viewer(db, user["inspector"])
        hh = households_of(db, village)
        accounts.link_household(db, user["resident"], hh[0], representative=True)
        resident = viewer(db, user["resident"])
        today = clock.today_local().isoformat()
        do = make_item(db, commune, village, category, stage="do", title="Đào mương thoát nước xóm Giữa")
        impl.save_settings(db, do, sec, SettingsForm.parse(
            {"needed_land_m2": "400", "needed_money": "5.000.000", "publish_pledger_names": ""}))
        impl.pledge(db, do, resident, PledgeForm.parse(pledge_data("land", "40")),
                    consent_scan=consent_scan())
        for n, h in enumerate(hh[1:6]):
            p = impl.pledge(db, do, sec, PledgeOnBehalfForm.parse(pledge_data(
                "money" if n % 2 else "land", "500.000" if n % 2 else "60", household=h.code)))
            impl.record_delivery(db, do, p.id, sec, DeliveryForm.for_kind(p.kind).parse({
                "amount": "500.000" if n % 2 else "60", "delivered_on": today,
                "evidence": "Biên bản bàn giao"}))
        line = impl.add_budget_line(db, do, sec, BudgetLineForm.parse(
            {"source": "state", "label": "Nông thôn mới", "amount": "90.000.000"}))
        impl.add_spending(db, do, sec, SpendingForm.parse(
            {"budget_line_id": str(line.id), "amount": "30.000.000", "spent_on": today,
             "description": "Xi măng, cát", "document_ref": "HĐ 12"}))
        impl.post_progress(db, do, sec, ProgressForm.parse({"percent": "40",
                                                            "text": "Đã đào xong nửa tuyến mương."}))
        insp = make_item(db, commune, village, category, stage="inspect", title="Trồng cây bóng mát")
        ins = sup.open_new_inspection(db, insp, su)
        entries = sup.checklist(db, [ins.id])[ins.id]
        sup.mark_entry(db, insp, su, MarkForm.parse({"target_id": entries[0].id, "mark": "ok"}))
        sup.mark_entry(db, insp, su, MarkForm.parse({"target_id": entries[1].id, "mark": "not_ok",
                                                     "note": "Cây chết 12 cây."}))
        due = (clock.today_local() + timedelta(days=7)).isoformat()
        f = sup.add_finding(db, insp, su, FindingForm.parse(
            {"severity": "serious", "text": "Thiếu 20 cây so với hoá đơn.", "due_on": due}))
        sup.answer_finding(db, insp, sec,
                           AnswerForm.parse({"target_id": f.id, "answer": "Sẽ trồng bù trong tuần."}))
        sup.add_finding(db, insp, su, FindingForm.parse(
            {"severity": "needs_fixing", "text": "Trồng dặm cây chết.", "due_on": due}))
        done = make_item(db, commune, village, category, stage="inspect", title="Làm nắp cống xóm Trên")
        ins = sup.open_new_inspection(db, done, su)
        for e in sup.checklist(db, [ins.id])[ins.id]:
            sup.mark_entry(db, done, su, MarkForm.parse({"target_id": e.id, "mark": "ok"}))
        sign_off_by_inspecting_board(db, done)
        for h in hh[1:5]:
            sup.give_verdict(db, done, viewer(db, make_representative(db, commune, village, h)),
                             VerdictForm.parse({"verdict": "done", "satisfaction": "4"}))
        pledge_id = impl.pledge_rows(db, do, size=1)[0][0].pledge.id
        w["work"] = {"do": do.code, "inspect": insp.code, "done": done.code, "pledge": pledge_id}
    return w["work"]


def _work(path_of):
    def open_page(page, w):
        page.goto(path_of(_work_items(w)))
    return open_page


def _desk_with_errors(page, w):
    code = _work_items(w)["do"]
    page.goto(f"/do/{code}")
    page.fill("#f-progress-percent", "150")
    page.fill("#f-progress-text", "Xong")
    page.click("form[action$='/progress'] button[type=submit]")
    page.wait_for_selector("#f-progress-percent-error")


def _pledge_with_errors(page, w):
    code = _work_items(w)["do"]
    page.goto(f"/items/{code}/pledge")
    page.fill("#f-pl-amount", "0")
    page.fill("#f-pl-consent_text", "Tự nguyện hiến đất làm mương.")
    page.fill("#f-pl-witness_name", "Trưởng thôn")
    page.fill("#f-pl-witness_role", "Trưởng thôn")
    page.click(f"form[action='/items/{code}/pledge'] button[type=submit]")
    page.wait_for_selector("#f-pl-amount-error")


PAGES.update({
    "status: Dân làm": (None, _work(lambda x: f"/items/{x['do']}")),
    "status: Dân làm, a household": ("resident", _work(lambda x: f"/items/{x['do']}")),
    "work desk": ("village_head", _work(lambda x: f"/do/{x['do']}")),
    "work desk with errors": ("village_head", _desk_with_errors),
    "a pledge and its deliveries": ("village_head", _work(lambda x: f"/do/{x['do']}/pledge/{x['pledge']}")),
    "household's pledges": ("resident", _work(lambda x: f"/items/{x['do']}/pledge")),
    "household's pledge with errors": ("resident", _pledge_with_errors),
    "status: Dân kiểm tra": (None, _work(lambda x: f"/items/{x['inspect']}")),
    "inspection page": ("inspector", _work(lambda x: f"/inspect/{x['inspect']}")),
    "inspection page, village_head": ("village_head", _work(lambda x: f"/inspect/{x['inspect']}")),
    "supervisor's queue": ("supervisor", "/inspect"),
    "status: done with verdicts": (None, _work(lambda x: f"/items/{x['done']}")),
    "verdict form": ("resident", _work(lambda x: f"/items/{x['done']}/verdict")),
})


# --- every stage and outcome, every form with and without errors --------------------------------------------

# Whether a form that came back with errors announces them: a summary that is focused or has role=alert,
# and each message tied to its field (aria-invalid + aria-describedby; a radio group names it on its
# fieldset). Returns the problems found, as text; [] when there is nothing to announce or all is well.
ERRORS_ANNOUNCED_JS = """() => {
  const problems = [];
  const shown = e => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
  const errors = [...document.querySelectorAll('main form .error, main form [aria-invalid=true]')]
    .filter(shown);
  if (!errors.length) return problems;
  const summary = document.querySelector('main [role=alert]');
  const focused = document.activeElement && document.activeElement.closest('main') &&
                  document.activeElement.matches('.flash-error, [role=alert]');
  if (!(summary && summary.textContent.trim()) && !focused)
    problems.push('no error summary with role=alert (or focused) in main');
  const refs = e => (e.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean);
  for (const msg of document.querySelectorAll('main form .error')) {
    if (!shown(msg)) continue;
    const text = msg.textContent.trim().slice(0, 60);
    if (!msg.id) { problems.push(`error without an id: "${text}"`); continue; }
    const users = [...document.querySelectorAll('[aria-describedby]')].filter(e => refs(e).includes(msg.id));
    if (!users.length) { problems.push(`no field points at "${text}" (#${msg.id})`); continue; }
    for (const u of users) {
      const controls = u.matches('fieldset') ? [...u.querySelectorAll('input, select, textarea')] : [u];
      for (const c of controls) {
        if (c.matches('input[type=radio]') && u.matches('fieldset')) continue;  // named by the fieldset
        if (c.getAttribute('aria-invalid') !== 'true')
          problems.push(`#${c.id || c.name} shows "${text}" but is not aria-invalid`);
      }
    }
  }
  for (const c of document.querySelectorAll('[aria-invalid=true]')) {
    const own = refs(c).map(id => document.getElementById(id)).filter(e => e && e.textContent.trim());
    const group = c.closest('fieldset[aria-describedby]');
    if (!own.length && !group)
      problems.push(`#${c.id || c.name} is aria-invalid with no message it points at`);
  }
  return problems;
}"""


def _more_items(w) -> dict:
    """Once per world, on top of the items above: the status page in every stage and outcome, and an item
    for each form that is not shown yet. Returns every code and id the pages below open."""
    if "more" in w:
        return w["more"]
    work, delib = _work_items(w), _deliberation_items(w)  # from here on the resident represents household 0
    from datetime import timedelta

    from sqlalchemy import select

    from civic import clock
    from civic.accounts.models import User
    from civic.areas.models import Commune, Village
    from civic.deliberation import service as deliberation
    from civic.deliberation.schemas import DecideForm, ScheduleMeetingForm
    from civic.implementation import service as impl
    from civic.implementation.schemas import MoneyDeliveryForm, PledgeForm
    from civic.items.models import Category, Item
    from civic.supervision import service as sup
    from civic.supervision.schemas import MarkForm, ReopenRequestForm, VerdictForm
    from tests.builders import (
        disclose,
        front_agrees,
        hold_meeting,
        households_of,
        make_discuss_item,
        make_representative,
        pledge_data,
        viewer,
    )

    def local(moment):
        return moment.astimezone(clock.LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")

    with unit_of_work(write=True) as db:
        def by_code(code):
            return db.execute(select(Item).where(Item.code == code)).scalar_one()

        know = by_code(w["know"])
        commune, village = db.get(Commune, know.commune_id), db.get(Village, know.village_id)
        category = db.get(Category, know.category_id)
        user = {role: db.execute(select(User).where(User.phone == phone)).scalar_one()
                for role, phone in w["phones"].items()}
        sec, su, resident = (viewer(db, user[r]) for r in ("village_head", "supervisor", "resident"))
        hh = households_of(db, village)
        today = clock.today_local()

        def item(stage="submitted", **over):
            return make_item(db, commune, village, category, stage=stage, **over)

        def discuss(title, **over):
            return make_discuss_item(db, commune, village, category, user["village_head"], title=title,
                                     **over)

        # Closed in each way the triage, the author, the households and the supervisors close an item.
        duplicate = item("duplicate", title="Cống tắc lần hai")
        redirected = item("redirected", title="Tranh chấp ranh giới đất")
        withdrawn = item(reporter=user["resident"], title="Xin sửa biển tên thôn")
        move(db, withdrawn, "withdraw", resident, is_author=True)
        not_approved = discuss("Làm cổng chào mới", asks_contribution=False)
        deliberation.decide(db, not_approved, sec, DecideForm.parse({"method": "paper_ballot"}))
        deliberation.close_count(db, not_approved, sec)
        move(db, not_approved, "close_not_approved", sec)
        not_done = item("do", title="Kè bờ ao làng")
        move(db, not_done, "close_not_done", su, {"reason": "Nhà thầu bỏ dở, thôn không đủ kinh phí."})
        # The author's own items: one they may still withdraw, one rejected with no review asked yet;
        # and one sent without an account, managed through its private link.
        own_know = item("know", reporter=user["resident"], title="Lắp gương cầu lồi ở ngã ba")
        own_rejected = item("rejected", reporter=user["resident"], title="Xin đổ bê tông ngõ 4")
        anon_rejected = item("rejected", title="Xin lắp thêm loa truyền thanh")
        # Dân biết, the disclosure period run: the discussion can be opened.
        ready = item("know", title="Nạo vét kênh tưới xóm Dưới")
        disclose(db, ready, user["village_head"], days_ago=40)
        # Dân bàn, no meeting yet; and one with an online ballot open to households.
        talk = discuss("Làm sân chơi cho trẻ em")
        online = discuss("Đặt tên ngõ mới", asks_contribution=False)
        front_agrees(db, online, head=user["front_head"])
        # Dân bàn on a matter a village may decide online, waiting for the Front work committee's answer.
        front_wait = discuss("Quy ước giờ phát loa truyền thanh", asks_contribution=False)
        # A matter of the whole commune in Dân bàn: each village meets; the commune adds the results up.
        commune_wide = item("know", title="Làm đường trục xã")
        disclose(db, commune_wide, user["village_head"], days_ago=3)
        move(db, commune_wide, "open_discussion", su, {
            "question": "Các hộ góp tiền làm đường trục xã?", "matter": "1", "scope": "commune",
            "money_amount": "1.500.000"})
        deliberation.decide(db, online, sec, DecideForm.parse({
            "method": "online_ballot", "opens_on": today.isoformat(),
            "closes_on": (today + timedelta(days=7)).isoformat(), "agreed_on": today.isoformat(),
            "agreement_ref": "Biên bản họp thôn 02/2026", "informed_on": today.isoformat(),
            "informed_ref": "Công văn 15/TH"}))
        # Dân bàn with a recorded meeting waiting for its vote, and a later meeting still to be recorded.
        clock.freeze(clock.now() - timedelta(days=20))
        voting = discuss("Bê tông hoá đường nội đồng", asks_contribution=False)
        m1 = deliberation.schedule_meeting(db, voting, sec, ScheduleMeetingForm.parse({
            "starts_at": local(clock.now() + timedelta(days=5, minutes=5)), "place": "Nhà văn hoá",
            "agenda": "Bàn làm đường nội đồng"}))
        deliberation.schedule_meeting(db, voting, sec, ScheduleMeetingForm.parse({
            "starts_at": local(clock.now() + timedelta(days=6)), "place": "Sân kho",
            "agenda": "Bàn tiếp về đường nội đồng"}))
        clock.advance(timedelta(days=7))
        hold_meeting(db, voting, sec, m1, 8)
        clock.reset()
        # Dân làm: a second pledge of the resident's household, partly delivered (the household may
        # dispute it).
        do = by_code(work["do"])
        p = impl.pledge(db, do, resident, PledgeForm.parse(pledge_data("money", "200.000")))
        impl.record_delivery(db, do, p.id, sec, MoneyDeliveryForm.parse({
            "amount": "100.000", "delivered_on": today.isoformat(), "evidence": "Phiếu thu số 7"}))
        # Dân kiểm tra with no inspection opened yet.
        unopened = item("inspect", title="Sửa cầu tạm qua suối")
        # Done: a household says it was not done and asks to reopen; and one more done item where the
        # resident's household said "not done" and may still ask.
        done = by_code(work["done"])
        rep = viewer(db, make_representative(db, commune, village, hh[5], name="Chủ Hộ Năm"))
        sup.give_verdict(db, done, rep, VerdictForm.parse(
            {"household_id": str(hh[5].id), "verdict": "not_done", "satisfaction": "1"}))
        sup.ask_reopen(db, done, rep, ReopenRequestForm.parse(
            {"household_id": str(hh[5].id), "reason": "Nắp cống đầu xóm chưa làm."}))
        done2 = item("inspect", title="Sơn lại nhà văn hoá")
        inspector = viewer(db, user["inspector"])
        ins = sup.open_new_inspection(db, done2, inspector)
        for e in sup.checklist(db, [ins.id])[ins.id]:
            sup.mark_entry(db, done2, inspector, MarkForm.parse({"target_id": e.id, "mark": "ok"}))
        sign_off_by_inspecting_board(db, done2)
        sup.give_verdict(db, done2, resident, VerdictForm.parse(
            {"household_id": str(hh[0].id), "verdict": "not_done", "satisfaction": "2"}))
        w["more"] = {**delib, **work, "submitted": w["submitted"], "know": w["know"],
                     "rejected": w["rejected"], "duplicate": duplicate.code, "redirected": redirected.code,
                     "withdrawn": withdrawn.code,
                     "not_approved": not_approved.code, "not_done": not_done.code, "own_know": own_know.code,
                     "own_rejected": own_rejected.code, "anon_manage": anon_rejected._manage_token,
                     "ready": ready.code, "talk": talk.code, "online": online.code, "voting": voting.code,
                     "unopened": unopened.code, "done2": done2.code, "front_wait": front_wait.code,
                     "commune_wide": commune_wide.code}
    return w["more"]


def _open(path):
    """Open a path template filled from _more_items(), e.g. "/items/{talk}"."""
    def open_page(page, w):
        page.goto(path.format(**_more_items(w)))
    return open_page


def _with_errors(path, form, fills=(), expect=".error", nth=0, before=None):
    """Open `path`, fill the `nth` form matching `form` with what the server refuses, send it, and check the
    page came back with the errors shown (`expect`: a selector of the error message). The browser's own
    checks (required, maxlength) are turned off, as in a browser that has none: the server must catch it."""
    def open_page(page, w):
        page.goto(path.format(**_more_items(w)))
        if before:
            before(page)
        f = page.locator(form).nth(nth)
        assert f.count() == 1, f"no form {form} on {path}"
        for selector, value in fills:
            field = f.locator(selector)
            kind = field.evaluate("e => e.tagName === 'SELECT' ? 'select' : e.type")
            if kind == "select":
                field.select_option(value)
            elif kind in ("radio", "checkbox"):
                field.check()
            else:
                field.fill(value)
        f.evaluate("f => { f.noValidate = true; f.querySelectorAll('[maxlength]').forEach("
                   "e => e.removeAttribute('maxlength')) }")
        with page.expect_navigation() as sent:
            f.locator("button[type=submit]").click()
        assert sent.value and sent.value.status == 422,\
            f"{form} on {path}: answered {sent.value and sent.value.status}"
        assert page.locator(f"main {expect}").count() >= 1,\
            f"{form} on {path} did not come back with its errors ({expect}): {page.url}"
    return open_page


def _tamper_village(page):
    """A request no honest browser sends: a village id that does not exist."""
    page.evaluate("""() => {
      const s = document.querySelector("form[action$='/recategorize'] select[name=village_id]");
      s.add(new Option('?', '999999')); }""")


def _triage_action(action: str, then=None):
    """The triage screen shows one action's fields at a time: choose `action` first (with JavaScript its
    radio button, without it its <details>)."""
    def choose(page):
        page.locator(f"details.act:has(form[action$='/{action}'])").evaluate("d => { d.open = true; }")
        if then:
            then(page)
    return choose


def _open_hide(page):
    page.locator(".att-hide summary").first.click()


def _forbidden(page, w):
    response = page.goto(f"/triage/{w['submitted']}")
    assert response.status == 403, f"a resident opening the triage page got {response.status}"


def _hide_with_errors(page, w):
    _attach_demo_files(w["know"])
    _with_errors("/items/{know}", "form[action$='/hide']", [("input[name=reason]", " ")],
                 "[id^=hide-][id$=-error]", before=_open_hide)(page, w)


PAGES.update({
    # the status page in every stage and every outcome
    "status: Dân bàn, no meeting yet": (None, _open("/items/{talk}")),
    "status: Dân bàn, no meeting yet, a household": ("resident", _open("/items/{talk}")),
    "status: online ballot open, a household": ("resident", _open("/items/{online}")),
    "status: Dân bàn, meeting recorded, vote awaited": (None, _open("/items/{voting}")),
    "status: Dân kiểm tra, no inspection yet": (None, _open("/items/{unopened}")),
    "status: closed duplicate": (None, _open("/items/{duplicate}")),
    "status: closed redirected": (None, _open("/items/{redirected}")),
    "status: closed withdrawn": (None, _open("/items/{withdrawn}")),
    "status: closed not approved": (None, _open("/items/{not_approved}")),
    "status: closed not done": (None, _open("/items/{not_done}")),
    "status: done, a household asked to reopen": (None, _open("/items/{done}")),
    "status: the author's item in Dân biết": ("resident", _open("/items/{own_know}")),
    "status: the author's rejected item": ("resident", _open("/items/{own_rejected}")),
    "403 page": ("resident", _forbidden),
    # every form with errors: residents and authors
    "comment with errors": ("resident", _with_errors(
        "/items/{talk}", "form[action$='/comment']", [("textarea[name=body]", " ")], "#f-body-error")),
    "vote with errors": ("resident", _with_errors("/items/{online}", "form#vote", (), "#f-choice-error")),
    "review request with errors": ("resident", _with_errors(
        "/items/{own_rejected}", "form[action$='/request_review']", [("textarea[name=reason]", "x")],
        "#f-reason-error")),
    "manage link of a rejected item": (None, _open("/m/{anon_manage}")),
    "manage link, review request with errors": (None, _with_errors(
        "/m/{anon_manage}", "form[action$='/request_review']", [("textarea[name=reason]", " ")],
        "#f-reason-error")),
    "household: dispute with errors": ("resident", _with_errors(
        "/items/{do}/pledge", "form[action*='/dispute']", [("textarea", " ")], "[id^=dispute-][id$=-error]")),
    "verdict with errors": ("resident", _with_errors(
        "/items/{done}/verdict", "form[action$='/verdict']", (), "[id^=f-verdict-][id$=-error]")),
    "verdict page: may ask to reopen": ("resident", _open("/items/{done2}/verdict")),
    "reopen request with errors": ("resident", _with_errors(
        "/items/{done2}/verdict", "form[action$='/reopen-request']", [("textarea", "x")],
        "[id$=-reason-error]")),
    # triage and review
    "triage: recategorize with errors": ("village_head", _with_errors(
        "/triage/{submitted}", "form[action$='/recategorize']", [("select[name=village_id]", "999999")],
        ".error", before=_triage_action("recategorize", _tamper_village))),
    "triage: reject with errors": ("village_head", _with_errors(
        "/triage/{submitted}", "form[action$='/reject']", [("textarea[name=reason]", " ")], ".error",
        before=_triage_action("reject"))),
    "triage: duplicate with errors": ("village_head", _with_errors(
        "/triage/{submitted}", "details form[action$='/mark_duplicate']",
        [("input[name=original_code]", "NS-2020-9999"), ("textarea[name=reason]", " ")], ".error",
        before=_triage_action("mark_duplicate"))),
    "triage: redirect with errors": ("village_head", _with_errors(
        "/triage/{submitted}", "form[action$='/redirect']", [("input[name=destination]", " ")], ".error",
        before=_triage_action("redirect"))),
    "file on behalf with errors": (
        "village_head", _with_errors("/triage/new", "form[action='/triage/new']", (),
                                                             "#form-errors")),
    "review: uphold with errors": ("supervisor", _with_errors(
        "/review/{rejected}", "form[action$='/uphold']", [("textarea[name=reason]", " ")], ".error")),
    "review: send back with errors": ("supervisor", _with_errors(
        "/review/{rejected}", "form[action$='/send_back']", [("textarea[name=reason]", "x")], ".error")),
    # Dân biết and Dân bàn desks
    "deliberation desk: ready to open the discussion": ("village_head", _open("/deliberation/{ready}")),
    "open discussion with errors": ("village_head", _with_errors(
        "/deliberation/{ready}", "form[action$='/open_discussion']", [("textarea[name=question]", "abc")],
        ".error")),
    "deliberation desk: no meeting yet": ("village_head", _open("/deliberation/{talk}")),
    "schedule meeting with errors": ("village_head", _with_errors(
        "/deliberation/{talk}", "form[action$='/schedule_meeting']", [("input[name=place]", " ")], ".error")),
    "deliberation desk: meeting to record, vote awaited": ("village_head", _open("/deliberation/{voting}")),
    "record meeting with errors": ("village_head", _with_errors(
        "/deliberation/{voting}", "form[action$='/record_meeting']",
        [("input[name=secretary_votes]", "nhiều"), ("input[name=minutes_taker_name]", " ")], ".error")),
    "meeting vote with errors": ("village_head", _with_errors(
        "/deliberation/{voting}", "form[action$='/decide']:has(input[value=meeting_vote])",
        [("input[name=yes]", "9"), ("input[name=no]", "5"), ("input[name=abstain]", "0")], ".error")),
    "online ballot with errors": ("village_head", _with_errors(
        "/deliberation/{voting}", "form[action$='/decide']:has(input[value=online_ballot])", (), ".error")),
    "authority decision with errors": ("village_head", _with_errors(
        "/deliberation/{voting}", "form[action$='/decide']:has(input[value=authority])", (), ".error")),
    "ballot count with errors": ("village_head", _with_errors(  # a ballot of a household of no register
        "/deliberation/{counting}/count", "form[action*='/count/save']", (), "#form-errors",
        before=lambda p: p.evaluate("() => document.querySelector('#count-list').insertAdjacentHTML("
                                    "'beforeend', '<li><input type=hidden name=b999999 value=yes></li>')"))),
    "paper ballot entry with errors": ("village_head", _with_errors(
        "/deliberation/{counting}", "form[action$='/paper_ballot']",
        [("input[name=household_code]", "HD-999"), ("select[name=choice]", "yes")], ".error")),
    "hide a comment with errors": ("village_head", _with_errors(
        "/deliberation/{full}", "form[action$='/hide_comment']", [("input[name=reason]", " ")], ".error")),
    "hide a photo with errors": ("village_head", _hide_with_errors),
    # Dân làm desk
    "pledge on behalf with errors": ("village_head", _with_errors(
        "/do/{do}", "form[action$='/pledge']", [("input[name=household]", "HD-999")], ".error")),
    "deliveries table with errors": ("village_head", _with_errors(
        "/do/{do}", "form[action*='/deliver']", [("input[name^=amount_] >> nth=0", "nhiều")], ".error")),
    "budget line with errors": ("village_head", _with_errors(
        "/do/{do}", "form[action$='/budget']", [("input[name=amount]", "nhiều")], ".error")),
    "spending with errors": ("village_head", _with_errors(
        "/do/{do}", "form[action$='/spend']", [("input[name=amount]", "0")], ".error")),
    "work settings with errors": ("village_head", _with_errors(
        "/do/{do}", "form[action$='/settings']", [("input[name=needed_land_m2]", "nhiều")], ".error")),
    "delivery with errors": ("village_head", _with_errors(
        "/do/{do}/pledge/{pledge}", "form[action$='/deliver']", [("input[name=amount]", "0")], ".error")),
    # Dân kiểm tra desk
    "inspection page: not opened yet": ("inspector", _open("/inspect/{unopened}")),
    "open inspection with errors": ("inspector", _with_errors(
        "/inspect/{unopened}", "form[action$='/open']", [("textarea[name=checklist]", "x" * 201)], ".error")),
    "checklist mark with errors": ("inspector", _with_errors(
        "/inspect/{inspect}", "form[action$='/mark']", (), "[id^=f-mark-][id$=-error]", nth=2)),
    "checklist entry with errors": ("inspector", _with_errors(
        "/inspect/{inspect}", "form[action$='/add_entry']", [("input[name=label]", "x")], ".error")),
    "finding with errors": ("inspector", _with_errors(
        "/inspect/{inspect}", "form[action$='/finding']", [("select[name=severity]", "serious")], ".error")),
    "rework with errors": ("supervisor", _with_errors(
        "/inspect/{inspect}", "form[action$='/rework']", [("textarea[name=reason]", "x")], ".error")),
    "close as not done with errors": ("supervisor", _with_errors(
        "/inspect/{inspect}", "form[action$='/close_not_done']", [("textarea[name=reason]", " ")], ".error")),
    "answer a finding with errors": ("village_head", _with_errors(
        "/inspect/{inspect}", "form[action$='/answer']", [("textarea[name=answer]", " ")], ".error")),
    "inspection page: a household asks to reopen": ("supervisor", _open("/inspect/{done}")),
    "reopen with errors": ("supervisor", _with_errors(
        "/inspect/{done}", "form[action$='/reopen']", [("textarea[name=reason]", "x")], ".error")),
    "refuse to reopen with errors": ("supervisor", _with_errors(
        "/inspect/{done}", "form[action$='/refuse_reopen']", [("textarea[name=reason]", " ")], ".error")),
    "track: not an item code": (None, "/track?code=abc"),
    # admin
    "admin: categories with errors": ("admin", _with_errors(
        "/admin/categories", "form[action^='/admin/categories/']", [("input[name=days]", "nhiều")],
        ".error")),
})


def _pledgers(page, w):
    """The full list of pledging households, once the village has decided to publish their names."""
    from sqlalchemy import select

    from civic.accounts.models import User
    from civic.implementation import service as impl
    from civic.implementation.schemas import SettingsForm
    from civic.items.models import Item
    from tests.builders import viewer

    code = _work_items(w)["do"]
    with unit_of_work(write=True) as db:
        item = db.execute(select(Item).where(Item.code == code)).scalar_one()
        sec = db.execute(select(User).where(User.phone == w["phones"]["village_head"])).scalar_one()
        impl.save_settings(db, item, viewer(db, sec), SettingsForm.parse(
            {"needed_land_m2": "400", "needed_money": "5.000.000", "publish_pledger_names": "1"}))
    page.goto(f"/items/{code}/pledgers")
    assert page.locator("h1").count() == 1


PAGES.update({"households that pledged": (None, _pledgers)})
PAGES.update({
    "follow an item": (None, "/items/{know}/follow"),
    "follow an item, signed in": ("resident", "/items/{know}/follow"),
    "notification choices": ("resident", "/account/notifications"),
    "notifications not delivered": ("admin", "/admin/notifications"),
})
# A matter of the whole commune (each village meets, the commune adds up), and the Front work committee's
# answer to an online vote.
PAGES.update({
    "commune matter: status page": (None, _open("/items/{commune_wide}")),
    "commune matter: the commune's desk": ("supervisor", _open("/deliberation/{commune_wide}")),
    "commune matter: the village head's desk": ("village_head", _open("/deliberation/{commune_wide}")),
    "commune matter: another village's to-do": ("other_head", _open("/todo")),
    "commune matter: close with errors": ("supervisor", _with_errors(
        "/deliberation/{commune_wide}", "form[action$='/close_commune']")),
    "front committee: its answer": ("front_head", _open("/items/{front_wait}")),
    "front committee: agreement with errors": ("front_head", _with_errors(
        "/items/{front_wait}", "form[action$='/front/front_agree']")),
})
