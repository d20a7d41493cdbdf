"""Two communes in one deployment: the staff of one commune cannot act on the other's items, villages,
register, people or households, nor read their private side. Every role of commune A against every kind of
commune B's page and action: each page is refused (403/404) and each action refused with nothing changed in
B (its items, its audit chain, its villages, register and people)."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from civic import clock
from civic.accounts.models import RoleGrant, User
from civic.areas.models import Household, Village
from civic.audit.models import AuditEvent
from civic.db import unit_of_work
from civic.deliberation import service as deliberation
from civic.deliberation.schemas import ScheduleMeetingForm
from civic.households.models import ClaimCode, JoinRequest
from civic.items.models import Item
from tests.builders import (
    csrf_token,
    login,
    make_category,
    make_commune,
    make_discuss_item,
    make_item,
    make_user,
    make_village,
    viewer,
    world,
)

PHONE_B = "0987654321"


@pytest.fixture
def two():
    """Commune A (the usual test world) and commune B with its own village, staff and items at each stage
    a desk acts on."""
    with unit_of_work(write=True) as db:
        commune, a, _b, _cat, users = world(db)
        users["front_head"] = make_user(db, "front_head", commune=commune, village=a, name="Trưởng Ban MT A")
        tb = make_commune(db, "TB", "Tân Bình")
        vb = make_village(db, tb, "Phú Lợi")
        cb = make_category(db, tb)
        head_b = make_user(db, "village_head", commune=tb, village=vb, name="Trưởng Thôn Phú Lợi")
        admin_b = make_user(db, "admin", commune=tb, name="Quản Trị Tân Bình")
        submitted = make_item(db, tb, vb, cb, contact_phone=PHONE_B, title="Đèn đường hỏng ở Phú Lợi")
        know = make_item(db, tb, vb, cb, stage="know", contact_phone=PHONE_B)
        discuss = make_discuss_item(db, tb, vb, cb, head_b)
        when = (clock.now() + timedelta(days=6)).astimezone(clock.LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")
        meeting = deliberation.schedule_meeting(db, discuss, viewer(db, head_b), ScheduleMeetingForm.parse({
            "starts_at": when, "place": "Nhà văn hoá Phú Lợi", "agenda": "Bàn việc làm đường"}))
        do = make_item(db, tb, vb, cb, stage="do", contact_phone=PHONE_B)
        return {
            "A": users, "tb": tb.id, "vb": vb.id, "cb": cb.id, "head_b": head_b.id, "admin_b": admin_b.id,
            "submitted": submitted.code, "know": know.code, "discuss": discuss.code, "do": do.code,
            "meeting": meeting.id,
        }


def _state_of_b(t) -> dict:
    """What anyone could notice of commune B: its items' stages, its chain, villages, register and people."""
    with unit_of_work() as db:
        def n(model, *where):
            return db.execute(select(func.count()).select_from(model).where(*where)).scalar_one()
        return {
            "stages": sorted(db.execute(select(Item.code, Item.stage, Item.updated_at)
                                        .where(Item.commune_id == t["tb"])).all()),
            "events": n(AuditEvent, AuditEvent.commune_id == t["tb"]),
            "villages": sorted(db.execute(select(Village.name, Village.merged_into_id)
                                          .where(Village.commune_id == t["tb"])).all()),
            "households": sorted(db.execute(select(Household.code, Household.active_to)
                                            .where(Household.village_id == t["vb"])).all()),
            "grants": n(RoleGrant, RoleGrant.commune_id == t["tb"]),
            "active_users": sorted(db.execute(select(User.id, User.is_active)
                                              .where(User.id.in_([t["head_b"], t["admin_b"]]))).all()),
            "claim_codes": n(ClaimCode),
            "join_requests": n(JoinRequest),
        }


def _pages(t) -> list[str]:
    return [
        f"/triage/{t['submitted']}", f"/deliberation/{t['discuss']}", f"/do/{t['do']}",
        f"/inspect/{t['do']}", f"/review/{t['know']}", f"/admin/people/{t['admin_b']}",
        f"/admin/people/{t['head_b']}/reset", f"/deliberation/{t['discuss']}/roll/{t['meeting']}",
    ]


def _actions(t) -> list[tuple[str, dict]]:
    return [
        (f"/triage/{t['submitted']}/accept", {}),
        (f"/triage/{t['submitted']}/reject", {"reason": "Không thuộc thôn này."}),
        (f"/deliberation/{t['discuss']}/decide", {"method": "authority", "outcome": "approved"}),
        (f"/deliberation/{t['know']}/disclosure", {"channel": "notice_board", "starts_on": "2026-01-01",
                                                    "ends_on": "2026-01-08", "place": "Nhà văn hoá"}),
        (f"/deliberation/{t['discuss']}/roll/{t['meeting']}/mark", {"meeting_id": str(t["meeting"])}),
        (f"/deliberation/{t['discuss']}/roll/{t['meeting']}/cluster",
         {"meeting_id": str(t["meeting"]), "name": "Xóm Trên", "chair_name": "Ông Tư"}),
        (f"/deliberation/{t['discuss']}/move_meeting",
         {"meeting_id": str(t["meeting"]), "starts_at": "2099-01-01T19:00", "reason": "Trùng lịch"}),
        (f"/deliberation/{t['discuss']}/cancel_meeting",
         {"meeting_id": str(t["meeting"]), "reason": "Bão về"}),
        (f"/do/{t['do']}/progress", {"percent": "50", "note": "Đã đổ bê tông."}),
        (f"/do/{t['do']}/start_inspection", {}),
        (f"/inspect/{t['do']}/sign_off", {"note": "Đạt."}),
        (f"/review/{t['know']}/close_not_done", {"reason": "Không làm."}),
        (f"/admin/villages/{t['vb']}/rename", {"name": "Thôn Đổi Tên"}),
        ("/admin/villages/merge", {"village_ids": str(t["vb"]), "into": "new", "new_name": "Thôn Gộp",
                                   "new_kind": "thon", "merged_on": "2026-01-01"}),
        (f"/admin/categories/{t['cb']}", {"days": "5"}),
        (f"/items/{t['discuss']}/front/front_agree", {"decided_on": "2026-01-01", "minutes_ref": "BB số 1"}),
        (f"/items/{t['discuss']}/front/front_refuse", {"decided_on": "2026-01-01", "reason": "Không."}),
        (f"/items/{t['discuss']}/front/front_withdraw", {"reason": "Ghi nhầm."}),
        ("/households/letters", {"village_id": str(t["vb"])}),
        (f"/admin/people/{t['admin_b']}/deactivate", {}),
        (f"/admin/people/{t['head_b']}/reset", {}),
        ("/admin/people/invite", {"phone": "0977000111", "display_name": "Người Mời", "role": "village_head",
                                  "village_id": str(t["vb"]), "starts_on": "2026-01-01"}),
    ]


@pytest.mark.parametrize("role", ["admin", "village_head", "other_head", "supervisor", "resident",
                                  "front_head"])
def test_staff_of_one_commune_cannot_touch_the_other(client, two, role):
    t = two
    login(client, t["A"][role])
    before = _state_of_b(t)
    let_through = []
    for path in _pages(t):
        page = client.get(path, follow_redirects=False)
        if page.status_code not in (403, 404) or PHONE_B in page.text:
            let_through.append(("GET", path, page.status_code))
    for path, data in _actions(t):
        token = csrf_token(client, "/household")
        answer = client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)
        # An invitation names the village in its form: another commune's village is a field error (422).
        refused = (403, 404, 422) if path.endswith("/invite") else (403, 404)
        if answer.status_code not in refused:
            let_through.append(("POST", path, answer.status_code))
        assert _state_of_b(t) == before, (role, path)
    assert let_through == []
    # The public page of B's item is public, but its private contact is not.
    public = client.get(f"/items/{t['submitted']}")
    assert public.status_code == 200 and PHONE_B not in public.text
    # Nothing of B in A's queues, letters or register.
    for path in ("/triage", "/review", "/inspect", "/households/requests", "/households/letters",
                 "/admin/people", "/admin/villages"):
        page = client.get(path, follow_redirects=False)
        assert "Phú Lợi" not in page.text and t["submitted"] not in page.text, (role, path)
    export = client.get("/admin/register/export.csv", follow_redirects=False)
    assert "Phú Lợi" not in export.text


def test_the_staff_of_b_do_their_work_while_a_cannot(client, two):
    """The matrix is not vacuous: B's own village head reaches the same triage page and accepts."""
    t = two
    with unit_of_work() as db:
        head_b = db.get(User, t["head_b"])
    login(client, head_b)
    assert client.get(f"/triage/{t['submitted']}").status_code == 200
    token = csrf_token(client, f"/triage/{t['submitted']}")
    answer = client.post(f"/triage/{t['submitted']}/accept", data={"csrf_token": token},
                         follow_redirects=False)
    assert answer.status_code == 303
    with unit_of_work() as db:
        stage = db.execute(select(Item.stage).where(Item.code == t["submitted"])).scalar_one()
    assert stage == "know"


# --- the village Front work committee's answer to an online vote, role by role ---------------------------

# Columns: nobody logged in, a resident of village A, A's village head, B's village head, the commune's
# supervisor and admin, the head of A's Front work committee, the head of B's. Rows: an action on an item
# of village A in a given state. Cells: `ok` (303, the change made), `login` (sent to log in), or the
# status and the message the page shows (nothing changed).
FRONT_COLUMNS = ("anonymous", "resident", "village_head", "other_head", "supervisor", "admin", "front_head",
                 "other_front")
# What a refused cell shows: its status and the message of the page.
REASONS = {
    "F": "403 Only the head of the Front work committee of this item's village",
    "H": "403 Only a village head of this item's village may do this.",
    "twice": "409 The Front work committee's answer on this item is already recorded",
    "stands": "409 The online ballot is open: the Front work committee's agreement can no longer be",
    "needs": "409 An online ballot needs the agreement of the village Front work committee",
}
# row                  item state  action                anon  res vh oh sup adm front  other_front
_FRONT_TABLE = """
agree                  waiting     front/front_agree     login F   F  F  F   F   ok     F
refuse                 waiting     front/front_refuse    login F   F  F  F   F   ok     F
agree_twice            agreed      front/front_agree     login F   F  F  F   F   twice  F
withdraw               agreed      front/front_withdraw  login F   F  F  F   F   ok     F
withdraw_once_open     opened      front/front_withdraw  login F   F  F  F   F   stands F
open_online_ballot     agreed      decide                login H   ok H  H   H   H      H
open_it_unagreed       waiting     decide                login H   needs H H H   H      H
"""
FRONT_MATRIX: dict[str, tuple[str, str, list[str]]] = {
    row: (state, action, cells) for row, state, action, *cells in
    (line.split() for line in _FRONT_TABLE.strip().splitlines())}
FRONT_DATA = {
    "front/front_agree": {"decided_on": "", "minutes_ref": "Biên bản Ban CTMT số 2"},
    "front/front_refuse": {"decided_on": "", "reason": "Nhiều hộ không dùng điện thoại thông minh."},
    "front/front_withdraw": {"reason": "Biên bản ghi nhầm ngày họp."},
    "decide": {"method": "online_ballot", "opens_on": "", "closes_on": "", "agreed_on": "",
               "agreement_ref": "Biên bản họp thôn 4/2026", "informed_on": "", "informed_ref": "CV 9/TB"},
}


def _front_world():
    """Village A's items, one per row, each in the row's state; the staff of the columns."""
    from civic.deliberation import front
    from civic.deliberation.schemas import DecideForm, FrontAgreeForm

    with unit_of_work(write=True) as db:
        commune, a, b, cat, users = world(db)
        users["front_head"] = make_user(db, "front_head", commune=commune, village=a, name="Trưởng Ban MT A")
        users["other_front"] = make_user(db, "front_head", commune=commune, village=b, name="Trưởng Ban MT B")
        today = clock.today_local().isoformat()
        codes = {}
        for row, (state, _action, _cells) in FRONT_MATRIX.items():
            item = make_discuss_item(db, commune, a, cat, users["village_head"], asks_contribution=False)
            if state in ("agreed", "opened"):
                front.agree(db, item, viewer(db, users["front_head"]),
                            FrontAgreeForm.parse({"decided_on": today, "minutes_ref": "Biên bản số 1"}))
            if state == "opened":
                deliberation.decide(db, item, viewer(db, users["village_head"]), DecideForm.parse(
                    {**FRONT_DATA["decide"], "opens_on": today, "closes_on": today, "agreed_on": today,
                     "informed_on": today}))
            codes[row] = item.code
        return users, codes, today


def _front_state(code: str) -> tuple:
    from civic.deliberation.models import Decision, FrontAgreement

    with unit_of_work() as db:
        item_id = db.execute(select(Item.id).where(Item.code == code)).scalar_one()
        return (db.execute(select(func.count()).select_from(FrontAgreement).where(
                    FrontAgreement.item_id == item_id, FrontAgreement.withdrawn_at.is_(None))).scalar_one(),
                db.execute(select(func.count()).select_from(Decision).where(Decision.item_id == item_id)
                           ).scalar_one(),
                db.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.item_id == item_id)
                           ).scalar_one())


def test_the_front_work_committees_answer_role_by_role(client):
    """Every cell of the table. A refused cell changes nothing, so the roles share each row's item; the two
    roles whose cells change it (A's village head, A's Front head) come last."""
    users, codes, today = _front_world()
    order = sorted(FRONT_COLUMNS, key=lambda r: r in ("village_head", "front_head"))
    seen: dict[tuple[str, str], object] = {}
    for role in order:
        client.cookies.clear()
        if role != "anonymous":
            login(client, users[role])
        token = csrf_token(client, "/household")
        for row, (_state, action, cells) in FRONT_MATRIX.items():
            want = cells[FRONT_COLUMNS.index(role)]
            code = codes[row]
            data = {k: (today if v == "" else v) for k, v in FRONT_DATA[action].items()}
            before = _front_state(code)
            prefix = "/deliberation" if action == "decide" else "/items"
            answer = client.post(f"{prefix}/{code}/{action}?lang=en", data={"csrf_token": token, **data},
                                 follow_redirects=False)
            after, text = _front_state(code), html.unescape(answer.text)
            got: object = (answer.status_code, after)
            if want == "ok" and answer.status_code == 303 and after != before:
                got = "ok"
            elif want == "login" and answer.status_code == 303 and "/login" in answer.headers["location"]\
                    and after == before:
                got = "login"
            elif want in REASONS and answer.status_code == int(REASONS[want][:3])\
                    and REASONS[want][4:] in text and after == before:
                got = want
            seen[(row, role)] = got
    assert seen == {(row, role): cells[FRONT_COLUMNS.index(role)]
                    for row, (_s, _a, cells) in FRONT_MATRIX.items() for role in FRONT_COLUMNS}
