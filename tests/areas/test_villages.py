"""Villages: the commune admin creates, renames and merges them at /admin/villages; a merge keeps history
(the merged villages' rows, items, households and past counts stay as they were on their dates) and moves
the households still in the register into the receiving village from the merge date."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from civic import clock
from civic.areas import rules
from civic.areas import service as areas
from civic.areas.models import Household, HouseholdMember, Village
from civic.db import unit_of_work
from civic.errors import Conflict, Invalid
from tests.builders import (
    audit_events,
    csrf_token,
    households_of,
    login,
    make_category,
    make_commune,
    make_item,
    make_user,
    setup_item,
    setup_world,
)

MERGE_DAY = date(2026, 7, 1)


def add_households(db, village: Village, codes: list[str], since: date = date(2020, 1, 1)) -> None:
    for code in codes:
        db.add(Household(village_id=village.id, code=code, active_from=since))
    db.flush()


def counted(db, *villages_and_day) -> tuple[int, ...]:
    *villages, day = villages_and_day
    return tuple(areas.active_households(db, v.id, day) for v in villages)


def two_villages(db):
    commune = make_commune(db)
    east = areas.create_village(db, commune, name="Thôn Đông")
    west = areas.create_village(db, commune, name="Thôn Tây")
    add_households(db, east, ["D01", "D02", "D03"])
    add_households(db, west, ["T01", "T02"])
    return commune, east, west


# --- rules and services ---------------------------------------------------------------------------------

def test_the_slug_is_the_name_without_diacritics_and_unique(db):
    commune = make_commune(db)
    first = areas.create_village(db, commune, name="Thôn Đồng Tâm", kind="thon", label="làng")
    second = areas.create_village(db, commune, name="Thon Dong Tam")
    assert (first.slug, second.slug) == ("thon-dong-tam", "thon-dong-tam-2")
    assert rules.slugify("Tổ dân phố số 5 (Khu phố Bắc)") == "to-dan-pho-so-5-khu-pho-bac"
    assert rules.slugify("!!!") == "village"
    event = audit_events(db, commune.id)[-2]
    assert event.action == "village_created" and json.loads(event.payload)["label"] == "làng"


def test_a_name_already_used_is_refused(db):
    commune, east, _west = two_villages(db)
    with pytest.raises(Invalid) as refused:
        areas.create_village(db, commune, name="  thôn  ĐÔNG ")
    assert refused.value.field == "name"
    assert len(areas.villages(db, commune.id)) == 2


def test_a_rename_keeps_the_slug_and_the_old_name_in_the_audit_chain(db):
    commune, east, west = two_villages(db)
    areas.rename_village(db, commune.id, east.id, "Thôn Đông Hưng", actor_id=None)
    assert (east.name, east.slug) == ("Thôn Đông Hưng", "thon-dong")
    event = audit_events(db, commune.id)[-1]
    assert event.action == "village_renamed"
    assert (json.loads(event.payload)["old_name"], json.loads(event.payload)["name"]) == \
        ("Thôn Đông", "Thôn Đông Hưng")
    with pytest.raises(Invalid):
        areas.rename_village(db, commune.id, west.id, "thôn đông hưng")
    assert west.name == "Thôn Tây"


def test_a_merge_moves_households_from_its_date_and_keeps_the_past(db):
    commune, east, west = two_villages(db)
    add_households(db, east, ["D04"], since=date(2026, 9, 1))  # joined after the merge date
    gone = households_of(db, east)[0]
    gone.active_to = date(2025, 1, 1)  # left before the merge: stays where it was
    resident = make_user(db, "resident", commune=commune, village=east)
    db.add(HouseholdMember(household_id=households_of(db, east)[1].id, user_id=resident.id))
    db.flush()
    before = MERGE_DAY - timedelta(days=1)
    assert counted(db, east, west, before) == (2, 2)

    receiver = areas.merge_villages(db, commune, [east.id], MERGE_DAY, into=west.id)

    assert receiver.id == west.id
    assert (east.merged_into_id, east.merged_on) == (west.id, MERGE_DAY)
    # Counted as they were on their dates.
    assert counted(db, east, west, before) == (2, 2)
    assert counted(db, east, west, MERGE_DAY) == (0, 4)
    assert areas.active_households(db, west.id, date(2026, 9, 1)) == 5
    codes = sorted(h.code for h in households_of(db, west))
    assert codes == ["D02", "D03", "D04", "T01", "T02"]
    moved = db.execute(select(Household).where(Household.village_id == west.id, Household.code == "D02")
                       ).scalar_one()
    assert moved.active_from == MERGE_DAY
    members = db.execute(select(HouseholdMember).where(HouseholdMember.household_id == moved.id)
                         ).scalars().all()
    assert [m.user_id for m in members] == [resident.id]
    assert [v.name for v in areas.villages(db, commune.id)] == ["Thôn Tây"]
    assert {v.name for v in areas.villages(db, commune.id, include_merged=True)} == {"Thôn Đông", "Thôn Tây"}
    event = audit_events(db, commune.id)[-1]
    assert event.action == "villages_merged"
    assert json.loads(event.payload) == {"village_ids": [east.id], "names": ["Thôn Đông"], "into_id": west.id,
                             "into": "Thôn Tây", "on": "2026-07-01", "households": 3}


def test_a_merge_into_a_new_village(db):
    commune, east, west = two_villages(db)
    receiver = areas.merge_villages(db, commune, [east.id, west.id], MERGE_DAY, new_name="Thôn Đông Tây",
                                    new_kind="thon")
    assert (receiver.name, receiver.slug) == ("Thôn Đông Tây", "thon-dong-tay")
    assert areas.active_households(db, receiver.id, MERGE_DAY) == 5
    assert [v.name for v in areas.villages(db, commune.id)] == ["Thôn Đông Tây"]


@pytest.mark.parametrize("case", ["itself", "already", "future", "none", "receiver_merged"])
def test_merge_refusals_change_nothing(db, case):
    commune, east, west = two_villages(db)
    third = areas.create_village(db, commune, name="Thôn Nam")
    ids, into, on = [east.id], west.id, MERGE_DAY
    if case == "itself":
        ids = [east.id, west.id]
    elif case == "already":
        areas.merge_villages(db, commune, [third.id], MERGE_DAY, into=west.id)
        ids = [third.id]
    elif case == "future":
        on = clock.today_local() + timedelta(days=1)
    elif case == "none":
        ids = []
    elif case == "receiver_merged":
        areas.merge_villages(db, commune, [third.id], MERGE_DAY, into=west.id)
        into = third.id
    events = len(audit_events(db, commune.id))
    with pytest.raises((Invalid, Conflict)):
        areas.merge_villages(db, commune, ids, on, into=into)
    assert east.merged_into_id is None
    assert len(audit_events(db, commune.id)) == events
    assert areas.active_households(db, east.id, MERGE_DAY) == 3


def test_a_merge_with_clashing_household_codes_is_refused_naming_them(db):
    commune, east, west = two_villages(db)
    add_households(db, west, ["D02", "D03"])
    with pytest.raises(Conflict) as refused:
        areas.merge_villages(db, commune, [east.id], MERGE_DAY, into=west.id)
    assert refused.value.params["codes"] == "D02, D03"
    assert east.merged_into_id is None
    assert len(households_of(db, west)) == 4


# --- pages --------------------------------------------------------------------------------------------

def page_as(client, user):
    login(client, user)
    return client.get("/admin/villages")


def test_only_the_commune_admin_uses_the_villages_page(client):
    commune, a, b, cat, users = setup_world()
    anonymous = client.get("/admin/villages", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    for role in ("village_head", "supervisor", "resident"):
        login(client, users[role])
        assert client.get("/admin/villages").status_code == 403, role
        token = csrf_token(client, "/")
        sent = client.post("/admin/villages", data={"csrf_token": token, "name": "Thôn Mới", "kind": "thon"})
        assert sent.status_code == 403
        merge = client.post("/admin/villages/merge", data={"csrf_token": token, "village_ids": [str(a.id)],
                                                            "into": str(b.id), "merged_on": "2026-01-01"})
        assert merge.status_code == 403
    with unit_of_work() as db:
        assert [v.name for v in areas.villages(db, commune.id)] == ["Hưng Đạo", "Tân Tiến"]
        assert a.merged_into_id is None and db.get(Village, a.id).merged_into_id is None


def test_an_admin_of_another_commune_is_refused(client):
    setup_world()
    with unit_of_work(write=True) as db:
        other = make_commune(db, code="TT", name="Tân Thanh")
        stranger = make_user(db, "admin", commune=other)
    assert page_as(client, stranger).status_code == 403


def test_the_admin_creates_renames_and_merges_on_the_page(client):
    commune, a, b, cat, users = setup_world()
    item = setup_item(commune, a, cat, stage="know")
    page = page_as(client, users["admin"])
    assert page.status_code == 200 and len(page.content) < 30_000
    assert "Hưng Đạo" in page.text and "Sáp nhập" in page.text
    token = csrf_token(client, "/admin/villages")

    made = client.post("/admin/villages", data={"csrf_token": token, "name": "Thôn Mới", "kind": "thon",
                                                "label": "bản"}, follow_redirects=True)
    assert made.status_code == 200 and "Đã thêm Thôn Mới." in made.text
    with unit_of_work() as db:
        new = db.execute(select(Village).where(Village.name == "Thôn Mới")).scalar_one()
        assert (new.slug, new.kind, new.label) == ("thon-moi", "thon", "bản")
        with unit_of_work(write=True) as w:
            w.add(Household(village_id=new.id, code="M01", active_from=date(2020, 1, 1)))

    renamed = client.post(f"/admin/villages/{b.id}/rename",
                          data={"csrf_token": token, "name": "Tân Tiến Hai"})
    assert renamed.status_code == 200 and "Tân Tiến nay đổi tên thành Tân Tiến Hai." in renamed.text

    today = clock.today_local()
    merged = client.post("/admin/villages/merge", data={
        "csrf_token": token, "village_ids": [str(a.id)], "into": str(new.id), "merged_on": today.isoformat()})
    assert merged.status_code == 200, merged.text[:500]
    assert f"Đã sáp nhập vào Thôn Mới từ ngày {today:%d/%m/%Y}." in merged.text
    assert "Hưng Đạo: đã sáp nhập vào Thôn Mới" in merged.text
    with unit_of_work() as db:
        assert areas.active_households(db, new.id, today) == 11
        assert [e.action for e in audit_events(db, commune.id)][-3:] == \
            ["village_created", "village_renamed", "villages_merged"]
    # New items no longer go to the merged village; its items' pages still work.
    form = client.get("/submit").text
    choices = form[form.index('id="f-village_id"'):]
    choices = choices[:choices.index("</select>")]
    assert f'<option value="{a.id}"' not in choices and f'<option value="{new.id}"' in choices
    status = client.get(f"/items/{item.code}")
    assert status.status_code == 200 and "Hưng Đạo" in status.text


@pytest.mark.parametrize(("path", "data", "message"), [
    ("/admin/villages", {"name": "hưng đạo", "kind": "thon"}, "Xã này đã có thôn, tổ dân phố tên hưng đạo."),
    ("/admin/villages", {"name": "", "kind": "thon"}, "Vui lòng nhập tên thôn, tổ dân phố"),
    ("/admin/villages", {"name": "Thôn Mới", "kind": "ap"}, "Vui lòng chọn thôn hoặc tổ dân phố."),
    ("{b}/rename", {"name": "Hưng Đạo"}, "Xã này đã có thôn, tổ dân phố tên Hưng Đạo."),
    ("{b}/rename", {"name": " "}, "Vui lòng nhập tên thôn, tổ dân phố"),
    ("/admin/villages/merge", {"village_ids": ["{a}", "{b}"], "into": "{a}", "merged_on": "2026-01-01"},
     "Không thể sáp nhập một thôn vào chính nó."),
    ("/admin/villages/merge", {"village_ids": ["{a}"], "into": "{b}", "merged_on": "{tomorrow}"},
     "Ngày sáp nhập không được sau hôm nay."),
    ("/admin/villages/merge", {"village_ids": ["{a}"], "into": "{b}", "merged_on": "2026-01-01"},
     "Chưa sáp nhập: các mã hộ sau sẽ bị trùng"),
    ("/admin/villages/merge", {"into": "{b}", "merged_on": "2026-01-01"},
     "Vui lòng chọn các thôn, tổ dân phố cần sáp nhập."),
    ("/admin/villages/merge", {"village_ids": ["{a}"], "merged_on": "2026-01-01"},
     "Vui lòng chọn thôn, tổ dân phố nhận sáp nhập, hoặc đặt tên"),
    ("/admin/villages/merge", {"village_ids": ["{a}"], "into": "new", "merged_on": "2026-01-01"},
     "Vui lòng chọn thôn, tổ dân phố nhận sáp nhập, hoặc đặt tên"),
    ("/admin/villages/merge", {"village_ids": ["{a}"], "into": "new", "new_name": "tân tiến",
                               "merged_on": "2026-01-01"}, "Xã này đã có thôn, tổ dân phố tên tân tiến."),
    ("/admin/villages/merge", {"village_ids": ["{a}"], "into": "{b}", "merged_on": "31/02/2026"},
     "Vui lòng nhập ngày"),
    ("/admin/villages/merge", {"village_ids": ["x"], "into": "{b}", "merged_on": "2026-01-01"},
     "Vui lòng chọn"),
])
def test_bad_input_on_the_page_is_refused_and_changes_nothing(client, path, data, message):
    commune, a, b, cat, users = setup_world()
    page_as(client, users["admin"])
    token = csrf_token(client, "/admin/villages")
    with unit_of_work() as db:
        events = len(audit_events(db, commune.id))
    fill = {"a": a.id, "b": b.id, "tomorrow": (clock.today_local() + timedelta(days=1)).isoformat()}
    sent = {k: ([x.format(**fill) for x in v] if isinstance(v, list) else v.format(**fill))
            for k, v in data.items()}
    url = path.format(b=f"/admin/villages/{b.id}") if path.startswith("{") else path
    answer = client.post(url, data={"csrf_token": token, **sent})
    assert answer.status_code in (409, 422), answer.status_code
    assert message in answer.text, answer.text[answer.text.find("<main"):][:1500]
    with unit_of_work() as db:
        assert len(audit_events(db, commune.id)) == events
        assert [(v.name, v.merged_into_id) for v in areas.villages(db, commune.id, include_merged=True)] == \
            [("Hưng Đạo", None), ("Tân Tiến", None)]


def test_the_clash_message_lists_the_codes(client):
    commune, a, b, cat, users = setup_world()
    page_as(client, users["admin"])
    token = csrf_token(client, "/admin/villages")
    answer = client.post("/admin/villages/merge", data={"csrf_token": token, "village_ids": [str(a.id)],
                                                        "into": str(b.id), "merged_on": "2026-01-01"})
    assert answer.status_code == 409
    assert "H0000, H0001, H0002" in answer.text and "H0009" in answer.text


def test_markup_in_a_village_name_is_shown_as_text(client):
    commune, a, b, cat, users = setup_world()
    page_as(client, users["admin"])
    token = csrf_token(client, "/admin/villages")
    client.post("/admin/villages", data={"csrf_token": token, "name": "<i>Thôn</i> X", "kind": "to_dan_pho"})
    page = client.get("/admin/villages")
    assert "&lt;i&gt;Thôn&lt;/i&gt; X" in page.text and "<i>Thôn</i>" not in page.text


def test_items_of_a_merged_village_keep_their_village_and_count(db):
    commune, east, west = two_villages(db)
    cat = make_category(db, commune)
    item = make_item(db, commune, east, cat)
    areas.merge_villages(db, commune, [east.id], clock.today_local(), into=west.id)
    assert item.village_id == east.id
    assert areas.active_households(db, east.id, clock.today_local() - timedelta(days=1)) == 3


def test_two_villages_merged_into_a_new_one_on_the_page(client):
    commune, a, b, cat, users = setup_world()
    with unit_of_work(write=True) as db:
        for household in households_of(db, b):
            household.code = "B" + household.code
    page_as(client, users["admin"])
    token = csrf_token(client, "/admin/villages")
    merged = client.post("/admin/villages/merge", data={
        "csrf_token": token, "village_ids": [str(a.id), str(b.id)], "into": "new",
        "new_name": "Thôn Hưng Tiến", "new_kind": "thon", "merged_on": "2026-01-01"})
    assert merged.status_code == 200 and "Đã sáp nhập vào Thôn Hưng Tiến từ ngày 01/01/2026." in merged.text
    with unit_of_work() as db:
        current = areas.villages(db, commune.id)
        assert [v.name for v in current] == ["Thôn Hưng Tiến"]
        assert areas.active_households(db, current[0].id, date(2026, 1, 1)) == 20
        assert areas.active_households(db, a.id, date(2025, 12, 31)) == 10
