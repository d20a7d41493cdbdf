"""The deployment operator (a province serving several communes), over HTTP: creates a commune, invites
its first admin, who takes the role under the commune's own address; merges communes. Nobody acts outside
their commune: three communes' staff and the operator against each other's pages."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from civic.accounts.models import Invitation, RoleGrant
from civic.areas.models import Commune, Village
from civic.audit.models import AuditEvent
from civic.db import unit_of_work
from tests.builders import (
    PASSWORD,
    browser,
    csrf_from,
    login,
    make_category,
    make_commune,
    make_item,
    make_user,
    make_village,
    world,
)


def _setup():
    with unit_of_work(write=True) as db:
        ns, a, _b, cat, users = world(db)
        operator = make_user(db, "operator", commune=ns, name="Sở Nội Vụ")
        tb = make_commune(db, "TB", "Tân Bình")
        vtb = make_village(db, tb, "Phú Lợi")
        ctb = make_category(db, tb)
        item_tb = make_item(db, tb, vtb, ctb, stage="know", title="Đèn đường hỏng ở Phú Lợi")
        admin_tb = make_user(db, "admin", commune=tb, name="Quản Trị Tân Bình")
        head_tb = make_user(db, "village_head", commune=tb, village=vtb, name="Trưởng Thôn Phú Lợi")
        return {"ns": ns, "tb": tb, "vtb": vtb, "item_tb": item_tb.code, "operator": operator,
                "admin_tb": admin_tb, "head_tb": head_tb, "users": users, "a": a}


def _post(client, page_path: str, action: str, data: dict, **kw):
    page = client.get(page_path)
    assert page.status_code == 200, page.text[:300]
    return client.post(action, data={"csrf_token": csrf_from(page.text), **data}, follow_redirects=False,
                       **kw)


def test_operator_creates_a_commune_and_invites_its_admin_who_then_runs_it(app, client):
    t = _setup()
    login(client, t["operator"])
    page = client.get("/admin/communes?lang=en")
    assert page.status_code == 200 and "Tân Bình" in page.text and "Nhạo Sơn" in page.text
    made = _post(client, "/admin/communes", "/admin/communes",
                 {"name": "Đông Hưng", "code": "dh", "kind": "xa", "province": "Thái Bình"})
    assert made.status_code == 303, made.text[:500]
    with unit_of_work() as db:
        dh = db.execute(select(Commune).where(Commune.code == "DH")).scalar_one()
        first = db.execute(select(AuditEvent).where(AuditEvent.commune_id == dh.id)).scalars().all()
        assert [e.action for e in first] == ["commune_created"] and first[0].actor_id == t["operator"].id
    invited = _post(client, "/admin/communes", f"/admin/communes/{dh.id}/invite",
                    {"display_name": "Lê Thị Quản", "phone": "0911222333"})
    assert invited.status_code == 303
    letter = client.get(invited.headers["location"] + "?lang=en")
    assert letter.status_code == 200
    link = re.search(r'href="(http[^"]+/c/DH/invite/([A-Z0-9-]+))"', letter.text)
    assert link, letter.text[:2000]
    assert "0911•••333" in letter.text and "0911222333" not in letter.text
    # Shown once: the letter opened again has no code.
    assert "/invite/" not in client.get(invited.headers["location"]).text
    with browser(app) as newcomer:
        path = f"/c/DH/invite/{link.group(2)}"
        form = newcomer.get(path)
        assert form.status_code == 200 and "Đông Hưng" in form.text
        taken = newcomer.post(path, data={"csrf_token": csrf_from(form.text), "display_name": "Lê Thị Quản",
                                          "password": PASSWORD, "password_again": PASSWORD},
                              follow_redirects=False)
        assert taken.status_code == 303 and taken.headers["location"] == "/c/DH/"
        villages = newcomer.get("/c/DH/admin/villages")
        assert villages.status_code == 200 and "Đông Hưng" in villages.text
        added = newcomer.post("/c/DH/admin/villages", data={"csrf_token": csrf_from(villages.text),
                                                            "name": "Thôn Đồng Tâm", "kind": "thon"},
                              follow_redirects=False)
        assert added.status_code == 303 and added.headers["location"] == "/c/DH/admin/villages"
        # The new admin acts in Đông Hưng only.
        assert newcomer.get("/c/TB/admin/villages").status_code == 403
        assert newcomer.get("/admin/villages").status_code == 403
        assert newcomer.get("/admin/communes").status_code == 403
    with unit_of_work() as db:
        assert db.execute(select(Village.name).where(Village.commune_id == dh.id)).scalars().all() == [
            "Thôn Đồng Tâm"]
        grant = db.execute(select(RoleGrant).where(RoleGrant.commune_id == dh.id)).scalar_one()
        assert grant.role == "admin"


def test_operator_page_refuses_bad_input_and_others(client):
    t = _setup()
    login(client, t["operator"])
    dup = _post(client, "/admin/communes?lang=en", "/admin/communes?lang=en",
                {"name": "Xã Trùng", "code": "TB", "kind": "xa", "province": "Thái Bình"})
    assert dup.status_code == 422 and "TB is already used" in dup.text
    bad = _post(client, "/admin/communes?lang=en", "/admin/communes?lang=en",
                {"name": "<script>x</script>", "code": "Đ-1", "kind": "tinh", "province": ""})
    assert bad.status_code == 422 and "<script>x" not in bad.text
    marked = _post(client, "/admin/communes", f"/admin/communes/{t['tb'].id}/invite",
                   {"display_name": '"><script>alert(1)</script>', "phone": "0911222444"})
    assert marked.status_code == 303
    letter = client.get(marked.headers["location"])
    assert "<script>alert(1)" not in letter.text and "&lt;script&gt;alert(1)" in letter.text
    assert "<script>alert(1)" not in client.get("/admin/communes").text
    bad_phone = _post(client, "/admin/communes", f"/admin/communes/{t['tb'].id}/invite",
                      {"display_name": "A", "phone": "12"})
    assert bad_phone.status_code == 422
    assert _post(client, "/admin/communes", "/admin/communes/999999/invite",
                 {"display_name": "A", "phone": "0911222333"}).status_code == 404
    with unit_of_work() as db:
        assert db.query(Commune).count() == 2 and db.query(Invitation).count() == 1


@pytest.mark.parametrize("who", ["admin", "village_head", "supervisor", "resident"])
def test_only_the_operator_opens_the_communes_page(client, who):
    t = _setup()
    login(client, t["users"][who])
    assert client.get("/admin/communes").status_code == 403
    assert client.get("/c/TB/admin/communes").status_code == 403


def test_operator_has_no_power_inside_a_commune(client):
    t = _setup()
    login(client, t["operator"])
    for path in ("/admin/villages", "/c/TB/admin/villages", "/c/TB/admin/people", "/c/TB/triage",
                 "/c/TB/admin/register"):
        assert client.get(path).status_code == 403, path


def test_a_commune_admin_cannot_touch_the_operator(client):
    t = _setup()
    login(client, t["users"]["admin"])  # admin of Nhạo Sơn, where the operator's grant is recorded
    people = client.get("/admin/people")
    assert people.status_code == 200 and "Sở Nội Vụ" not in people.text
    assert client.get(f"/admin/people/{t['operator'].id}").status_code == 404


def test_three_communes_staff_stay_in_their_commune(client, app):
    t = _setup()
    with unit_of_work(write=True) as db:
        dh = make_commune(db, "DH", "Đông Hưng")
        vdh = make_village(db, dh, "Đồng Tâm")
        admin_dh = make_user(db, "admin", commune=dh, name="Quản Trị Đông Hưng")
        head_dh = make_user(db, "village_head", commune=dh, village=vdh, name="Trưởng Thôn Đồng Tâm")
        make_item(db, dh, vdh, make_category(db, dh), title="Việc riêng của Đông Hưng")
        ns = db.get(Commune, t["ns"].id)
        make_item(db, ns, db.get(Village, t["a"].id), make_category(db, ns, code="roads"),
                  title="Việc riêng của Nhạo Sơn")
        tb = db.get(Commune, t["tb"].id)
        make_item(db, tb, db.get(Village, t["vtb"].id), make_category(db, tb, code="roads"),
                  title="Việc riêng của Tân Bình")
    secrets = {"NS": "Việc riêng của Nhạo Sơn", "TB": "Việc riêng của Tân Bình",
               "DH": "Việc riêng của Đông Hưng"}
    staff = {"NS": [t["users"]["admin"], t["users"]["village_head"]], "TB": [t["admin_tb"], t["head_tb"]],
             "DH": [admin_dh, head_dh]}
    pages = ["/admin/villages", "/admin/register", "/triage", "/admin/people"]
    for own, users in staff.items():
        for user in users:
            with browser(app) as b:
                login(b, user)
                for other in staff:
                    if other == own:
                        continue
                    for page in pages:
                        answer = b.get(f"/c/{other}{page}")
                        # Refused, or (a village head's queue) their own commune's: never the other's.
                        assert answer.status_code in (403, 404) or (
                            secrets[other] not in answer.text and "/admin/" not in page), (own, other, page)


def test_operator_merges_communes_on_the_page(client):
    t = _setup()
    login(client, t["operator"])
    merged = _post(client, "/admin/communes", "/admin/communes/merge",
                   {"source": str(t["tb"].id), "into": str(t["ns"].id), "merged_on": "2026-07-01"})
    assert merged.status_code == 303, merged.text[:500]
    page = client.get("/admin/communes?lang=en")
    assert "Merged into Nhạo Sơn" in page.text
    again = _post(client, "/admin/communes?lang=en", "/admin/communes/merge?lang=en",
                  {"source": str(t["ns"].id), "into": str(t["ns"].id), "merged_on": "2026-07-01"})
    assert again.status_code == 422 and "cannot be merged into itself" in again.text
    with unit_of_work() as db:
        tb = db.get(Commune, t["tb"].id)
        assert tb.merged_into_id == t["ns"].id and tb.merged_on == date(2026, 7, 1)
