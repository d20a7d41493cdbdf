"""Roles as the law names them, with a scope and a term: a grant gives power only within its term, and the
deputy village head acts with the village head's powers."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from civic import clock
from civic.accounts import rules
from civic.accounts import service as accounts
from civic.accounts.models import RoleGrant
from civic.audit.models import AuditEvent
from civic.db import unit_of_work
from civic.errors import Invalid
from tests.builders import count, login, make_user, setup_item, setup_world, world

MAY_1 = date(2026, 5, 1)
JUNE_1 = date(2026, 6, 1)


# --- the catalog ----------------------------------------------------------------------------------------

def test_the_catalog_names_each_role_as_the_law_does():
    labels = {code: (r.label_vi, sorted(r.scopes)) for code, r in rules.ROLES.items()}
    assert labels["village_head"] == ("Trưởng thôn / Tổ trưởng tổ dân phố", ["village"])
    assert labels["deputy_head"] == ("Phó trưởng thôn / Tổ phó", ["village"])
    assert labels["front_head"] == ("Trưởng ban công tác Mặt trận", ["village"])
    assert labels["supervisor"] == ("Cán bộ xã xem xét kiến nghị", ["commune"])
    assert labels["inspection_member"] == ("Thành viên Ban Thanh tra nhân dân", ["commune"])
    assert labels["investment_monitor"] == ("Thành viên Ban Giám sát đầu tư của cộng đồng",
                                            ["commune", "village"])
    assert labels["admin"][1] == ["commune"]
    assert all(r.label_en and r.label_vi for r in rules.ROLES.values())
    assert all(len(code) <= rules.ROLE_MAX for code in rules.ROLES)
    assert not any("bí thư" in r.label_vi.lower() for r in rules.ROLES.values()), "a Party post is no role"


def test_the_deputy_has_the_village_heads_powers_and_the_new_boards_have_none_yet():
    assert rules.role_powers("deputy_head") == rules.role_powers("village_head") == {"village_head"}
    assert rules.role_powers("front_head") == {"front"}  # the Front work committee's own, not the head's
    for code in ("inspection_member", "investment_monitor"):
        assert rules.role_powers(code) == frozenset()
    assert rules.role_powers("no_such_role") == frozenset()


@pytest.mark.parametrize(("role", "village", "ok"), [
    ("village_head", None, False), ("village_head", 1, True), ("deputy_head", None, False),
    ("front_head", None, False), ("supervisor", 1, False), ("supervisor", None, True),
    ("inspection_member", 1, False), ("investment_monitor", None, True), ("investment_monitor", 1, True),
])
def test_a_role_has_the_scope_the_catalog_gives_it(role, village, ok):
    if ok:
        rules.check_scope(role, village_id=village)
    else:
        with pytest.raises(Invalid) as caught:
            rules.check_scope(role, village_id=village)
        assert caught.value.field == "village_id"


# --- terms --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("today", "ends_on", "expected"), [
    (MAY_1 - timedelta(days=1), JUNE_1, False),  # not started
    (MAY_1, JUNE_1, True),  # the first day
    (JUNE_1 - timedelta(days=1), JUNE_1, True),  # the last day
    (JUNE_1, JUNE_1, False),  # ends_on: the first day without the role
    (date(2040, 1, 1), None, True),  # no end
])
def test_a_grant_is_in_force_only_within_its_term(today, ends_on, expected):
    assert rules.in_force(MAY_1, ends_on, today) is expected


@pytest.mark.parametrize("ends_on", [MAY_1, MAY_1 - timedelta(days=1)])
def test_a_term_must_end_after_it_starts(ends_on):
    with pytest.raises(Invalid) as caught:
        rules.check_term(MAY_1, ends_on)
    assert caught.value.field == "ends_on"
    rules.check_term(MAY_1, None)
    rules.check_term(MAY_1, MAY_1 + timedelta(days=1))


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 5, 0, tzinfo=clock.LOCAL_TZ)


def test_the_viewer_has_the_powers_of_grants_in_force_today_only(db):
    commune, a, b, _cat, users = world(db)
    deputy = make_user(db, name="Phó Thôn")
    accounts.grant(db, deputy, role="deputy_head", commune_id=None, village_id=b.id, starts_on=MAY_1,
                   ends_on=JUNE_1)
    clock.freeze(_at(MAY_1 - timedelta(days=1)))
    try:
        assert accounts.load_viewer(db, deputy.id).villages("village_head") == frozenset()
        clock.freeze(_at(MAY_1))
        viewer = accounts.load_viewer(db, deputy.id)
        assert viewer.villages("village_head") == {b.id}
        assert viewer.facts().head_villages == {b.id}
        assert viewer.is_village_head and viewer.sees_private(commune.id, b.id)
        clock.freeze(_at(JUNE_1))
        viewer = accounts.load_viewer(db, deputy.id)
        assert viewer.villages("village_head") == frozenset() and not viewer.is_village_head
        assert not viewer.sees_private(commune.id, b.id)
    finally:
        clock.freeze(None)


def test_a_board_member_has_a_role_but_no_staff_power(db):
    commune, a, _b, _cat, _users = world(db)
    member = make_user(db, "inspection_member", commune=commune)
    viewer = accounts.load_viewer(db, member.id)
    assert [g.role for g in viewer.grants] == ["inspection_member"]
    facts = viewer.facts()
    assert not (facts.head_villages or facts.supervisor_communes or facts.admin_communes)


def test_a_grant_refuses_a_bad_role_scope_or_term_and_records_nothing(db):
    commune, a, _b, _cat, _users = world(db)
    user = make_user(db)
    before = count(db, AuditEvent), count(db, RoleGrant)
    for kwargs, field in [({"role": "secretary", "village_id": a.id}, "role"),
                          ({"role": "village_head"}, "village_id"),
                          ({"role": "supervisor", "village_id": a.id}, "village_id"),
                          ({"role": "admin", "starts_on": JUNE_1, "ends_on": MAY_1}, "ends_on")]:
        with pytest.raises(Invalid) as caught:
            accounts.grant(db, user, commune_id=commune.id, **kwargs)
        assert caught.value.field == field
    assert (count(db, AuditEvent), count(db, RoleGrant)) == before


def test_a_grant_is_recorded_in_the_chain_with_ids_and_term_but_no_name_or_phone(db):
    commune, a, _b, _cat, users = world(db)
    user = make_user(db, name="Lê Văn Phó", phone="0987000111")
    g = accounts.grant(db, user, role="deputy_head", commune_id=commune.id, village_id=a.id, starts_on=MAY_1,
                       granted_by=users["admin"].id)
    event = db.query(AuditEvent).order_by(AuditEvent.id.desc()).first()
    assert event.action == "role_granted" and event.actor_id == users["admin"].id
    assert '"role":"deputy_head"' in event.payload and f'"grant_id":{g.id}' in event.payload
    assert '"starts_on":"2026-05-01"' in event.payload and f'"village_id":{a.id}' in event.payload
    assert "Lê Văn Phó" not in event.payload and "0987000111" not in event.payload
    assert g.granted_by_id == users["admin"].id


def test_a_deputy_head_works_the_village_queue_over_http(client):
    commune, a, _b, cat, _users = setup_world()
    with unit_of_work(write=True) as db:
        deputy = make_user(db, name="Phó Thôn")
        accounts.grant(db, deputy, role="deputy_head", commune_id=None, village_id=a.id)
    item = setup_item(commune, a, cat)
    login(client, deputy)
    queue = client.get("/triage")
    assert queue.status_code == 200 and item.code in queue.text
    assert client.get(f"/triage/{item.code}").status_code == 200


def test_a_former_role_name_is_read_as_todays_code():
    from civic.accounts.rules import ROLES, role_code

    assert role_code("secretary") == "village_head" and role_code("village_head") == "village_head"
    assert role_code("nobody") == "nobody" and "secretary" not in ROLES  # unknown names stay unknown
