"""The commune admin's people page: invitations to roles, ending roles, deactivating accounts and password
reset codes, as the admin, the invited person and an outsider see them over HTTP."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from civic import clock
from civic.accounts import service as accounts
from civic.accounts.models import Invitation, PasswordReset, RoleGrant, User, UserSession
from civic.audit.models import AuditEvent
from civic.db import unit_of_work
from tests.builders import (
    PASSWORD,
    audit_events,
    browser,
    count,
    csrf_from,
    csrf_token,
    login,
    make_commune,
    make_user,
    make_village,
    setup_world,
)

CODE = re.compile(r'<strong class="code">([A-Z2-7]{4}(?:-[A-Z2-7]{4}){3})</strong>')
NEW_PASSWORD = "doi-mat-khau-moi-7"


def logged_in(client) -> bool:
    return client.get("/household", follow_redirects=False).status_code == 200


def invite(client, **over):
    data = {"csrf_token": csrf_token(client, "/admin/people"), "display_name": "Lê Văn Phó",
            "phone": "0987 111 222", "role": "deputy_head", "village_id": "", "starts_on": "2026-01-01",
            "ends_on": ""}
    data.update(over)
    return client.post("/admin/people/invite", data=data, follow_redirects=False)


def invitation_code(client, **over) -> str:
    answer = invite(client, **over)
    assert answer.status_code == 303, answer.text[:2000]
    letter = client.get(answer.headers["location"])
    match = CODE.search(letter.text)
    assert match, "the printable invitation shows the code"
    return match.group(1)


def accept(client, code: str, **data):
    page = client.get(f"/invite/{code}")
    token = csrf_from(page.text) if page.status_code == 200 else csrf_token(client, "/login")
    return client.post(f"/invite/{code}", data={"csrf_token": token, **data}, follow_redirects=False)


def new_account(name: str = "Lê Văn Phó", password: str = NEW_PASSWORD) -> dict:
    return {"display_name": name, "password": password, "password_again": password}


def grants_of(phone: str) -> list[RoleGrant]:
    with unit_of_work() as db:
        user = db.execute(select(User).where(User.phone == phone)).scalar_one_or_none()
        if user is None:
            return []
        return list(db.execute(select(RoleGrant).where(RoleGrant.user_id == user.id)).scalars())


@pytest.fixture
def commune_world(client):
    commune, a, b, cat, users = setup_world()
    login(client, users["admin"])
    client.get("/lang/en")
    return commune, a, b, users


# --- inviting ------------------------------------------------------------------------------------------

def test_the_admin_invites_a_deputy_head_who_sets_a_password_and_gets_the_role(app, client, commune_world):
    commune, a, _b, users = commune_world
    answer = invite(client, village_id=str(a.id), starts_on="01/01/2026", ends_on="01/01/2031")
    assert answer.status_code == 303
    letter = client.get(answer.headers["location"])
    assert letter.status_code == 200 and len(letter.content) < 30_000
    code = CODE.search(letter.text).group(1)
    assert "Lê Văn Phó" in letter.text and "Phó trưởng thôn / Tổ phó" in letter.text, "the role in Vietnamese"
    assert f"/invite/{code}" in letter.text and "<svg" in letter.text, "the link and its QR code"
    assert "0987•••222" in letter.text and "0987111222" not in letter.text
    assert code not in client.get(answer.headers["location"]).text, "the code is shown only once"
    with unit_of_work() as db:
        inv = db.execute(select(Invitation)).scalar_one()
        assert code.replace("-", "") not in inv.code_hash and len(inv.code_hash) == 64
        assert clock.as_utc(inv.expires_at) - clock.as_utc(inv.created_at) == timedelta(days=7)

    with browser(app) as person:
        page = person.get(f"/invite/{code}")
        assert page.status_code == 200 and "Phó trưởng thôn / Tổ phó" in page.text
        taken = accept(person, code, **new_account())
        assert taken.status_code == 303, taken.text[:2000]
        assert logged_in(person)
        assert person.get("/triage").status_code == 200, "the deputy acts as the village head"
    [g] = grants_of("0987111222")
    assert (g.role, g.village_id, g.starts_on, g.ends_on) == ("deputy_head", a.id, date(2026, 1, 1),
                                                             date(2031, 1, 1))
    assert g.granted_by_id == users["admin"].id
    with unit_of_work() as db:
        events = audit_events(db, commune.id)
    assert [e.action for e in events[-2:]] == ["role_granted", "invitation_accepted"]
    for e in events:
        assert "Lê Văn Phó" not in e.payload and "0987111222" not in e.payload, e.action


def test_an_invitation_cannot_be_used_twice(app, client, commune_world):
    _commune, a, _b, _users = commune_world
    code = invitation_code(client, village_id=str(a.id))
    with browser(app) as person:
        assert accept(person, code, **new_account()).status_code == 303
    with browser(app) as thief:
        thief.get("/lang/en")
        again = thief.get(f"/invite/{code}")
        assert again.status_code == 410 and "This invitation was already used." in again.text
        token = csrf_token(thief, "/login")
        post = thief.post(f"/invite/{code}", data={"csrf_token": token, **new_account("Kẻ Lạ")})
        assert post.status_code == 410 and not logged_in(thief)
    assert len(grants_of("0987111222")) == 1


def test_an_expired_or_unknown_invitation_says_so(app, client, commune_world):
    _commune, a, _b, _users = commune_world
    code = invitation_code(client, village_id=str(a.id))
    clock.advance(timedelta(days=7, minutes=1))
    with browser(app) as person:
        person.get("/lang/en")
        page = person.get(f"/invite/{code}")
        assert page.status_code == 410 and "This invitation has expired." in page.text
        token = csrf_token(person, "/login")
        assert person.post(f"/invite/{code}", data={"csrf_token": token, **new_account()}).status_code == 410
        for bad in ("AAAA-BBBB-CCCC-DDDD", "not-a-code", "x" * 300, "%3Cscript%3E"):
            answer = person.get(f"/invite/{bad}")
            assert answer.status_code == 404 and "This invitation code is not known." in answer.text
            assert "<script>" not in answer.text
    assert grants_of("0987111222") == []


def test_a_person_with_an_account_logs_in_to_accept(app, client, commune_world):
    commune, _a, _b, users = commune_world
    resident = users["resident"]
    code = invitation_code(client, phone=resident.phone, role="inspection_member")
    with browser(app) as person:
        person.get("/lang/en")
        page = person.get(f"/invite/{code}")
        assert "already has an account" in page.text and 'name="password_again"' not in page.text
        wrong = accept(person, code, password="khong-dung-roi")
        assert wrong.status_code == 422 and "The phone number or the password is wrong." in wrong.text
        assert not logged_in(person)
        assert [g.role for g in grants_of(resident.phone)] == ["resident"]
        right = accept(person, code, password=PASSWORD)
        assert right.status_code == 303 and logged_in(person)
    roles = sorted(g.role for g in grants_of(resident.phone))
    assert roles == ["inspection_member", "resident"]
    with unit_of_work() as db:
        assert db.get(User, resident.id).display_name == resident.display_name


@pytest.mark.parametrize(("over", "field", "message"), [
    ({"role": "village_head"}, "village_id", "This role needs a village."),
    ({"role": "supervisor", "village_id": "A"}, "village_id", "This role is for the whole commune"),
    ({"role": "secretary"}, "role", "Please choose a role."),
    ({"role": "resident", "village_id": "A"}, "role", "Please choose a role."),
    ({"starts_on": "2026-06-01", "ends_on": "2026-05-31"}, "ends_on", "The term must end after it starts."),
    ({"starts_on": "2026-06-01", "ends_on": "2026-06-01"}, "ends_on", "The term must end after it starts."),
    ({"starts_on": "31/02/2026"}, "starts_on", "Please enter a date like 15/06/2026."),
    ({"phone": "12345"}, "phone", "not a valid Vietnamese mobile number"),
    ({"display_name": "  "}, "display_name", "Please enter the person's name."),
    ({"village_id": "99999999"}, "village_id", "This village is not in your commune."),
    ({"village_id": "abc"}, "village_id", "Please choose a village."),
])
def test_a_bad_invitation_is_refused_and_changes_nothing(client, commune_world, over, field, message):
    commune, a, _b, _users = commune_world
    if over.get("village_id") == "A":
        over = {**over, "village_id": str(a.id)}
    with unit_of_work() as db:
        before = count(db, Invitation), count(db, AuditEvent)
    answer = invite(client, **over)
    assert answer.status_code == 422, answer.status_code
    assert f'id="f-{field}-error"' in answer.text and message in html.unescape(answer.text)
    with unit_of_work() as db:
        assert (count(db, Invitation), count(db, AuditEvent)) == before


def test_an_invitation_to_a_village_of_another_commune_is_refused(client, commune_world):
    with unit_of_work(write=True) as db:
        other = make_commune(db, code="TT", name="Tân Thịnh")
        far = make_village(db, other, "Xóm Xa", households=0)
    answer = invite(client, role="village_head", village_id=str(far.id))
    assert answer.status_code == 422 and "This village is not in your commune." in answer.text
    with unit_of_work() as db:
        assert count(db, Invitation) == 0


def test_the_people_page_is_for_admins_only(app, commune_world):
    _commune, _a, _b, users = commune_world
    with browser(app) as outsider:
        assert outsider.get("/admin/people", follow_redirects=False).status_code == 303
        login(outsider, users["village_head"])
        assert outsider.get("/admin/people").status_code == 403
        token = csrf_token(outsider, "/")
        answer = outsider.post("/admin/people/invite", data={
            "csrf_token": token, "display_name": "X", "phone": "0987111222", "role": "admin",
            "starts_on": "2026-01-01"})
        assert answer.status_code == 403
    with unit_of_work() as db:
        assert count(db, Invitation) == 0


# --- the list, and another commune ------------------------------------------------------------------------

def test_the_list_shows_staff_with_role_scope_term_and_masked_phone(client, commune_world):
    _commune, a, _b, users = commune_world
    page = client.get("/admin/people")
    assert page.status_code == 200 and len(page.content) < 30_000
    head = users["village_head"]
    assert head.display_name in page.text and head.phone not in page.text
    assert head.phone[:4] + "•••" + head.phone[-3:] in page.text
    assert "Village head" in page.text and a.name in page.text
    assert users["resident"].display_name not in page.text, "residents are not staff"
    client.get("/lang/vi")
    assert "Trưởng thôn / Tổ trưởng tổ dân phố" in client.get("/admin/people").text


def test_an_admin_of_commune_a_cannot_see_or_change_people_of_commune_b(client, commune_world):
    with unit_of_work(write=True) as db:
        other = make_commune(db, code="TT", name="Tân Thịnh")
        far = make_village(db, other, "Xóm Xa", households=0)
        stranger = make_user(db, "village_head", commune=other, village=far, name="Người Xã Khác")
        grant_id = db.execute(select(RoleGrant.id).where(RoleGrant.user_id == stranger.id)).scalar_one()
    with unit_of_work() as db:
        events_before = count(db, AuditEvent)
    assert "Người Xã Khác" not in client.get("/admin/people").text
    assert client.get(f"/admin/people/{stranger.id}").status_code == 404
    assert client.get(f"/admin/people/{stranger.id}/reset").status_code == 404
    token = csrf_token(client, "/admin/people")
    for path in (f"/admin/people/{stranger.id}/deactivate", f"/admin/people/{stranger.id}/reset",
                 f"/admin/people/{stranger.id}/roles/{grant_id}/end"):
        assert client.post(path, data={"csrf_token": token}).status_code == 404, path
    with unit_of_work() as db:
        assert db.get(User, stranger.id).is_active
        assert db.get(RoleGrant, grant_id).ends_on is None
        assert count(db, PasswordReset) == 0
        assert count(db, AuditEvent) == events_before


# --- ending a role, deactivating --------------------------------------------------------------------------

def test_ending_a_role_takes_its_power_away_today(app, client, commune_world):
    commune, _a, _b, users = commune_world
    head = users["village_head"]
    with browser(app) as their:
        login(their, head)
        assert their.get("/triage").status_code == 200
        with unit_of_work() as db:
            g = db.execute(select(RoleGrant).where(RoleGrant.user_id == head.id)).scalar_one()
        token = csrf_token(client, f"/admin/people/{head.id}")
        answer = client.post(f"/admin/people/{head.id}/roles/{g.id}/end", data={"csrf_token": token},
                             follow_redirects=False)
        assert answer.status_code == 303
        login(their, head)
        assert their.get("/triage").status_code == 403
    with unit_of_work() as db:
        assert db.get(RoleGrant, g.id).ends_on == clock.today_local()
        event = audit_events(db, commune.id)[-1]
    assert event.action == "role_ended" and event.actor_id == users["admin"].id
    assert f'"user_id":{head.id}' in event.payload and '"role":"village_head"' in event.payload
    again = client.post(f"/admin/people/{head.id}/roles/{g.id}/end",
                        data={"csrf_token": csrf_token(client, "/admin/people")})
    assert again.status_code == 409


def test_a_deactivated_user_is_logged_out_and_cannot_log_in(app, client, commune_world):
    commune, _a, _b, users = commune_world
    head = users["village_head"]
    with browser(app) as their:
        login(their, head)
        assert logged_in(their)
        token = csrf_token(client, f"/admin/people/{head.id}")
        answer = client.post(f"/admin/people/{head.id}/deactivate", data={"csrf_token": token},
                             follow_redirects=False)
        assert answer.status_code == 303
        assert not logged_in(their), "every login of the account ended"
        their.get("/lang/en")
        refused = their.post("/login", data={"csrf_token": csrf_token(their), "phone": head.phone,
                                             "password": PASSWORD})
        assert refused.status_code == 422 and "The phone number or the password is wrong." in refused.text
    with unit_of_work() as db:
        assert not db.get(User, head.id).is_active
        assert count(db, UserSession, UserSession.user_id == head.id, UserSession.ended_at.is_(None)) == 0
        assert audit_events(db, commune.id)[-1].action == "user_deactivated"
    own = client.post(f"/admin/people/{users['admin'].id}/deactivate",
                      data={"csrf_token": csrf_token(client, "/admin/people")})
    assert own.status_code == 409, "an admin cannot lock themselves out"


# --- password reset codes --------------------------------------------------------------------------------

def reset_code(client, user: User) -> str:
    token = csrf_token(client, f"/admin/people/{user.id}")
    answer = client.post(f"/admin/people/{user.id}/reset", data={"csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303
    letter = client.get(answer.headers["location"])
    assert letter.status_code == 200
    code = CODE.search(letter.text).group(1)
    assert code not in client.get(answer.headers["location"]).text, "shown once"
    return code


def use_reset(client, phone: str, code: str, password: str = NEW_PASSWORD):
    client.get("/lang/en")
    token = csrf_token(client, "/password/reset")
    return client.post("/password/reset", data={"csrf_token": token, "phone": phone, "code": code,
                                                "new_password": password, "new_password_again": password},
                       follow_redirects=False)


def test_a_reset_code_lets_the_person_choose_a_new_password_once(app, client, commune_world):
    commune, _a, _b, users = commune_world
    head = users["village_head"]
    code = reset_code(client, head)
    with browser(app) as their:
        login(their, head)
        with browser(app) as phone:
            answer = use_reset(phone, head.phone, code.lower().replace("-", " "))
            assert answer.status_code == 303 and answer.headers["location"] == "/login"
        assert not logged_in(their), "the old logins end"
        with pytest.raises(AssertionError):
            login(their, head)
        login(their, head, NEW_PASSWORD)
    with browser(app) as again:
        second = use_reset(again, head.phone, code, "mot-mat-khau-khac-8")
        assert second.status_code == 422 and "expired or was already used" in second.text
    with unit_of_work() as db:
        events = [e for e in audit_events(db, commune.id) if e.action.startswith("password_reset")]
    assert [e.action for e in events] == ["password_reset_issued", "password_reset"]
    assert all(head.phone not in e.payload and head.display_name not in e.payload for e in events)


def test_a_reset_code_expires_after_24_hours_and_is_bound_to_its_phone(app, client, commune_world):
    _commune, _a, _b, users = commune_world
    head = users["village_head"]
    code = reset_code(client, head)
    with browser(app) as phone:
        other = use_reset(phone, users["supervisor"].phone, code)
        assert other.status_code == 422 and "The phone number or the code is wrong." in other.text
        clock.advance(timedelta(hours=24, minutes=1))
        late = use_reset(phone, head.phone, code)
        assert late.status_code == 422 and "expired or was already used" in late.text
        assert NEW_PASSWORD not in late.text and code not in late.text
    with browser(app) as their:
        login(their, head)  # the old password still works


def test_twenty_guesses_of_a_reset_code_are_throttled(app, client, commune_world):
    _commune, _a, _b, users = commune_world
    head = users["village_head"]
    code = reset_code(client, head)
    statuses = []
    with browser(app) as guesser:
        for n in range(20):
            statuses.append(use_reset(guesser, head.phone, f"AAAA-BBBB-CCCC-{n:04d}".replace("0", "A")
                                      .replace("1", "B").replace("8", "C").replace("9", "D")).status_code)
        assert statuses[0] == 422 and statuses[-1] == 429, statuses
        blocked = use_reset(guesser, head.phone, code)
        assert blocked.status_code == 429 and blocked.headers["retry-after"].isdigit()
        assert "You have tried too many times." in blocked.text
    with unit_of_work() as db:
        reset = db.execute(select(PasswordReset)).scalar_one()
        assert reset.used_at is None, "the right code was not taken while throttled"


def test_a_bad_reset_form_changes_nothing(client, commune_world):
    _commune, _a, _b, users = commune_world
    head = users["village_head"]
    code = reset_code(client, head)
    for phone, typed, password, field in [(head.phone, "short", NEW_PASSWORD, "code"),
                                          (head.phone, code, "123", "new_password"),
                                          ("0123", code, NEW_PASSWORD, "phone")]:
        answer = use_reset(client, phone, typed, password)
        assert answer.status_code == 422 and f'id="f-{field}-error"' in answer.text
    with unit_of_work() as db:
        assert db.execute(select(PasswordReset)).scalar_one().used_at is None


# --- the command line ---------------------------------------------------------------------------------

def test_create_user_grants_the_new_roles_in_its_own_process():
    commune, a, _b, _cat, _users = setup_world()
    command = Path(sys.executable).parent / "civic"
    run = subprocess.run([str(command), "create-user", "--phone", "0987333444", "--name", "Phó Thôn",
                          "--password", "mat-khau-rat-dai", "--role", "deputy_head", "--village", a.slug],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    [g] = grants_of("0987333444")
    assert (g.role, g.village_id, g.commune_id) == ("deputy_head", a.id, commune.id)
    with unit_of_work() as db:
        viewer = accounts.load_viewer(db, g.user_id)
    assert viewer.villages("village_head") == {a.id}
    bad = subprocess.run([str(command), "create-user", "--phone", "0987333555", "--name", "X",
                          "--password", "mat-khau-rat-dai", "--role", "bi_thu_chi_bo"],
                         capture_output=True, text=True, timeout=120)
    # A Party post is no role of civic ('secretary', the village role's former name, reads as village_head).
    assert bad.returncode != 0 and "invalid choice" in bad.stderr


def test_markup_in_names_of_invitations_is_shown_as_text(app, client, commune_world):
    _commune, a, _b, _users = commune_world
    markup = '<b onmouseover="x()">Tên</b>'
    code = invitation_code(client, village_id=str(a.id), display_name=markup)
    listed = client.get("/admin/people").text
    assert markup not in listed and "&lt;b onmouseover=" in listed
    with browser(app) as person:
        page = person.get(f"/invite/{code}")
        assert markup not in page.text and "&lt;b onmouseover=" in page.text
        assert accept(person, code, **new_account(markup)).status_code == 303
    with unit_of_work() as db:
        head = db.execute(select(User).where(User.phone == "0987111222")).scalar_one()
    person_page = client.get(f"/admin/people/{head.id}").text
    assert markup not in person_page and "&lt;b onmouseover=" in person_page


def test_the_admin_finds_a_resident_by_phone_and_gives_a_reset_code(app, client, commune_world):
    _commune, _a, _b, users = commune_world
    resident = users["resident"]
    found = client.get("/admin/people", params={"phone": resident.phone[:4] + " " + resident.phone[4:]})
    assert found.status_code == 200 and f'href="/admin/people/{resident.id}"' in found.text
    code = reset_code(client, resident)
    with browser(app) as phone:
        assert use_reset(phone, resident.phone, code).status_code == 303
        login(phone, resident, NEW_PASSWORD)
    with unit_of_work(write=True) as db:
        other = make_commune(db, code="TT", name="Tân Thịnh")
        far = make_village(db, other, "Xóm Xa", households=0)
        stranger = make_user(db, "resident", commune=other, village=far, phone="0987654000")
    nobody = client.get("/admin/people", params={"phone": stranger.phone})
    assert nobody.status_code == 200 and "Nobody with this phone number" in nobody.text
    assert f"/admin/people/{stranger.id}" not in nobody.text
    for typed in ("12345", "<script>", "0" * 500):
        bad = client.get("/admin/people", params={"phone": typed})
        assert bad.status_code == 200 and "not a valid Vietnamese mobile number" in bad.text
        assert "<script>" not in bad.text


def test_the_audit_chain_still_verifies_after_every_kind_of_people_event(app, client, commune_world):
    _commune, a, _b, users = commune_world
    code = invitation_code(client, village_id=str(a.id))
    with browser(app) as person:
        assert accept(person, code, **new_account()).status_code == 303
    head = users["village_head"]
    reset = reset_code(client, head)
    with browser(app) as phone:
        assert use_reset(phone, head.phone, reset).status_code == 303
    with unit_of_work() as db:
        g = db.execute(select(RoleGrant).where(RoleGrant.user_id == head.id)).scalar_one()
    token = csrf_token(client, "/admin/people")
    assert client.post(f"/admin/people/{head.id}/roles/{g.id}/end", data={"csrf_token": token},
                       follow_redirects=False).status_code == 303
    assert client.post(f"/admin/people/{head.id}/deactivate", data={"csrf_token": token},
                       follow_redirects=False).status_code == 303
    run = subprocess.run([str(Path(sys.executable).parent / "civic"), "audit", "verify"], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_lost_invitation_gets_a_new_code_and_the_old_one_stops_working(app, client, commune_world):
    _commune, a, _b, _users = commune_world
    old = invitation_code(client, village_id=str(a.id))
    with unit_of_work() as db:
        inv = db.execute(select(Invitation)).scalar_one()
    letter = client.get(f"/admin/people/invitations/{inv.id}")
    assert old not in letter.text and "shown only once" in letter.text
    token = csrf_from(letter.text)
    renewed = client.post(f"/admin/people/invitations/{inv.id}/renew", data={"csrf_token": token},
                          follow_redirects=False)
    assert renewed.status_code == 303
    new = CODE.search(client.get(renewed.headers["location"]).text).group(1)
    assert new != old
    with browser(app) as person:
        assert person.get(f"/invite/{old}").status_code == 404
        assert accept(person, new, **new_account()).status_code == 303
    assert [g.role for g in grants_of("0987111222")] == ["deputy_head"]


def test_a_deactivated_account_activated_again_logs_in(app, client, commune_world):
    _commune, _a, _b, users = commune_world
    head = users["village_head"]
    token = csrf_token(client, f"/admin/people/{head.id}")
    client.post(f"/admin/people/{head.id}/deactivate", data={"csrf_token": token})
    page = client.get(f"/admin/people/{head.id}")
    assert "Account deactivated" in page.text
    again = client.post(f"/admin/people/{head.id}/reactivate", data={"csrf_token": csrf_from(page.text)},
                        follow_redirects=False)
    assert again.status_code == 303
    with browser(app) as their:
        login(their, head)
        assert their.get("/triage").status_code == 200
