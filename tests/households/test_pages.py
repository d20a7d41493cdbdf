"""Residents and households through HTTP: the village head prints claim letters, a resident registers from
the letter's QR link and claims the household, then supports an item as that household; wrong, used,
replaced, expired and left codes; the claim throttle; the My household page; join requests."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import segno
from sqlalchemy import select

from civic import clock
from civic.areas.models import Household, HouseholdMember
from civic.db import unit_of_work
from civic.deliberation.models import Support
from civic.households.models import ClaimCode, JoinRequest
from tests.builders import (
    PASSWORD,
    audit_events,
    browser,
    count,
    csrf_from,
    csrf_token,
    leave_register,
    login,
    make_household_rep,
    make_item,
    make_user,
    world,
)

CODE_RE = re.compile(r'<p class="letter-code">([0-9A-Z]{5}-[0-9A-Z]{5})</p>')


@pytest.fixture
def w():
    with unit_of_work(write=True) as db:
        commune, a, b, cat, users = world(db)
        for n, household in enumerate(db.execute(select(Household).where(Household.village_id == a.id)
                                                 .order_by(Household.id)).scalars()):
            household.head_name = f"Nguyễn Văn Chủ {n}"
        return {"commune": commune, "a": a, "b": b, "cat": cat, "users": users}


def _rows(model, *where) -> int:
    with unit_of_work() as db:
        return count(db, model, *where)


def _print(client, village_id: int, **fields) -> tuple[int, str]:
    token = csrf_token(client, "/households/letters")
    answer = client.post("/households/letters", data={"csrf_token": token, "village_id": str(village_id),
                                                      **fields})
    return answer.status_code, answer.text


def _codes(html: str) -> list[str]:
    return CODE_RE.findall(html)


def _register(client, name: str = "Trần Thị Cư Dân", next_path: str = "/") -> None:
    page = client.get(f"/register?next={next_path}")
    phone = f"09{abs(hash(name)) % 10**8:08d}"
    answer = client.post("/register", data={"csrf_token": csrf_from(page.text), "display_name": name,
                                            "phone": phone, "password": PASSWORD, "password_again": PASSWORD,
                                            "next": next_path}, follow_redirects=False)
    assert answer.status_code == 303, answer.text[:300]
    # Registration logs nobody in (it answers the same for a taken phone): the resident logs in next.
    login = client.get(answer.headers["location"])
    done = client.post("/login", data={"csrf_token": csrf_from(login.text), "phone": phone,
                                       "password": PASSWORD, "next": next_path}, follow_redirects=False)
    assert done.status_code == 303, done.text[:300]


def _claim(client, code: str, lang: str = "en"):
    token = csrf_token(client, "/household/claim")
    return client.post(f"/household/claim?lang={lang}", data={"csrf_token": token, "code": code},
                       follow_redirects=False)


def test_print_letters_register_from_the_qr_link_claim_and_support_as_the_household(client, app, w):
    with unit_of_work(write=True) as db:
        item_code = make_item(db, w["commune"], w["a"], w["cat"], stage="know").code
    login(client, w["users"]["village_head"])
    token = csrf_token(client, "/households/letters")
    answer = client.post("/households/letters", data={"csrf_token": token, "village_id": str(w["a"].id),
                                                      "codes": "h0003 H0004"})
    status, html = answer.status_code, answer.text
    assert status == 200 and answer.headers["Cache-Control"] == "no-store"
    codes = _codes(html)
    assert len(codes) == 2
    # Each letter: commune, village, household code, the head's name, the code, its expiry, a QR code.
    assert "Nhạo Sơn" in html and "Hưng Đạo" in html and "H0003" in html and "Nguyễn Văn Chủ 3" in html
    assert html.count('class="qr"') == 2 and "<svg" in html
    assert (clock.today_local() + timedelta(days=90)).strftime("%d/%m/%Y") in html
    assert "letters.css" in html
    # Only hashes are stored: the code is nowhere in the database.
    with unit_of_work() as db:
        hashes = list(db.execute(select(ClaimCode.code_hash)).scalars())
    assert len(hashes) == 2 and not any(c.replace("-", "") in h for c in codes for h in hashes)
    printed = [e for e in audit_events_of("claim_letters_printed")]
    assert len(printed) == 1 and '"letters":2' in printed[0].payload
    assert not any(c.replace("-", "") in printed[0].payload for c in codes)

    # The QR link on the letter, opened by someone without an account: log in or register first, then back.
    # The QR code holds the address of the claim page with the code filled in.
    plain = codes[0].replace("-", "")
    qr = segno.make_qr(f"http://testserver/household/claim?code={plain}", error="m")
    expected = qr.svg_inline(border=2)
    drawn = re.findall(r'class="qrline"[^>]* d="([^"]+)"', html)
    assert re.search(r' d="([^"]+)"', expected.split('class="qrline"')[1]).group(1) == drawn[0]
    assert 'viewBox="0 0 ' in html  # sized by the letter's CSS, never cut
    with browser(app) as phone:
        first = phone.get(f"/household/claim?code={plain}", follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"].startswith("/login?next=")
        back = f"/household/claim?code={plain}"
        _register(phone, "Lê Văn Đại Diện", next_path=back.replace("?", "%3F").replace("=", "%3D"))
        assert "You are not linked to a household yet" in phone.get(f"/items/{item_code}?lang=en").text
        page = phone.get(back + "&lang=en")
        assert page.status_code == 200
        assert f'value="{codes[0]}"' in page.text
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert page.headers["Cache-Control"] == "no-store"
        assert phone.get("/household/claim?code=" + "x" * 5000).status_code == 200
        markup = phone.get('/household/claim?code="><script>alert(1)</script>').text
        assert "<script>alert(1)" not in markup and 'name="code" type="text" value=""' in markup
        answer = phone.post("/household/claim", data={"csrf_token": csrf_from(page.text), "code": codes[0]},
                            follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/household"
        mine = phone.get("/household?lang=en").text
        assert "Bạn đã là người đại diện của hộ H0003, thôn Hưng Đạo." in mine  # the flash, in Vietnamese
        assert "Household H0003" in mine and "Lê Văn Đại Diện" in mine
        # Now the household supports an item of the village.
        status_page = phone.get(f"/items/{item_code}?lang=en")
        assert "My household supports this" in status_page.text
        assert "You are not linked to a household yet" not in status_page.text
        support = phone.post(f"/items/{item_code}/support", data={"csrf_token": csrf_from(status_page.text)},
                             follow_redirects=False)
        assert support.status_code == 303
        assert "Your household supports this." in phone.get(f"/items/{item_code}?lang=en").text
    with unit_of_work() as db:
        household = db.execute(select(Household).where(Household.code == "H0003",
                                                       Household.village_id == w["a"].id)).scalar_one()
        assert count(db, Support, Support.household_id == household.id) == 1
        assert count(db, HouseholdMember, HouseholdMember.household_id == household.id,
                     HouseholdMember.is_representative.is_(True)) == 1
    claimed = audit_events_of("household_claimed")
    assert len(claimed) == 1 and '"representative":true' in claimed[0].payload
    assert "Lê Văn" not in claimed[0].payload


def audit_events_of(action: str):
    with unit_of_work() as db:
        return [e for e in audit_events(db) if e.action == action]


def test_second_claimant_becomes_a_member_and_each_bad_code_has_its_own_message(client, app, w):
    login(client, w["users"]["village_head"])
    first = _codes(_print(client, w["a"].id, codes="H0001")[1])[0]
    again = _codes(_print(client, w["a"].id, codes="H0001 H0002")[1])
    assert len(again) == 2
    with unit_of_work() as db:
        assert count(db, ClaimCode, ClaimCode.revoked_at.is_not(None)) == 1
    with browser(app) as one, browser(app) as two:
        _register(one, "Người Thứ Nhất")
        # The first letter was replaced by the second print.
        replaced = _claim(one, first)
        assert replaced.status_code == 409 and "replaced by a newer letter" in replaced.text
        # A code nobody was given, and something that is not a code at all.
        wrong = _claim(one, "22222-22222")
        assert wrong.status_code == 422 and "This code is not valid" in wrong.text
        shape = _claim(one, "abc")
        assert shape.status_code == 422 and "10 letters and digits" in shape.text
        # Typed in lower case, with spaces, O for 0 and I for 1: still read.
        typed = again[0].lower().replace("-", " ").replace("0", "o").replace("1", "i")
        ok = _claim(one, typed)
        assert ok.status_code == 303
        used = _claim(one, again[0])
        assert used.status_code == 409 and "already been used" in used.text
        _register(two, "Người Thứ Hai")
        assert _claim(two, again[0]).status_code == 409
        two_ok = _claim(two, again[1])
        assert two_ok.status_code == 303
        assert "You are now the representative of household H0002" in two.get("/household?lang=en").text
    # The same household, a second member: reprint H0001 and claim with another account.
    third_code = _codes(_print(client, w["a"].id, codes="H0001")[1])[0]
    with browser(app) as three:
        _register(three, "Người Thứ Ba")
        assert _claim(three, third_code).status_code == 303
        page = three.get("/household?lang=en").text
        assert "Người Thứ Nhất" in page and "(representative)" in page
    with unit_of_work() as db:
        h1 = db.execute(select(Household).where(Household.code == "H0001", Household.village_id == w["a"].id)
                        ).scalar_one()
        reps = [m.is_representative for m in db.execute(select(HouseholdMember).where(
            HouseholdMember.household_id == h1.id).order_by(HouseholdMember.id)).scalars()]
    assert reps == [True, False]


def test_one_household_per_village(client, app, w):
    login(client, w["users"]["village_head"])
    codes = _codes(_print(client, w["a"].id, codes="H0005 H0006")[1])
    with browser(app) as one:
        _register(one, "Chỉ Một Hộ")
        assert _claim(one, codes[0]).status_code == 303
        second = _claim(one, codes[1])
        assert second.status_code == 409
        assert "already a member of household H0005 in this village" in second.text
    assert _rows(ClaimCode, ClaimCode.used_at.is_not(None)) == 1


def test_expired_code_and_household_that_left(client, app, w):
    login(client, w["users"]["village_head"])
    codes = _codes(_print(client, w["a"].id, codes="H0007 H0008")[1])
    with unit_of_work(write=True) as db:
        leave_register(db, w["a"], ["H0008"], clock.today_local() + timedelta(days=1))
    clock.advance(timedelta(days=2))
    with browser(app) as one:
        _register(one, "Người Đến Muộn")
        left = _claim(one, codes[1])
        assert left.status_code == 409 and "left the village register" in left.text
        clock.advance(timedelta(days=90))
        expired = _claim(one, codes[0])
        assert expired.status_code == 409 and "has expired" in expired.text
    assert _rows(HouseholdMember) == 0


def test_twenty_guesses_a_minute_then_429_with_retry_after(client, app, w):
    with browser(app) as one:
        _register(one, "Người Đoán Mã")
        token = csrf_token(one, "/household/claim")
        for n in range(20):
            answer = one.post("/household/claim?lang=en", data={"csrf_token": token, "code": f"{n:0>10}"})
            assert answer.status_code == 422, n
        blocked = one.post("/household/claim?lang=en", data={"csrf_token": token, "code": "2222222222"})
        assert blocked.status_code == 429
        assert 0 < int(blocked.headers["Retry-After"]) <= 60
        assert "tried too many times" in blocked.text
        clock.advance(timedelta(seconds=61))
        later = one.post("/household/claim", data={"csrf_token": token, "code": "2222222222"})
        assert later.status_code == 422


def test_the_client_address_is_counted_across_accounts(client, app, w):
    with browser(app) as one, browser(app) as two:
        _register(one, "Máy Chung Một")
        _register(two, "Máy Chung Hai")
        for who in (one, two):
            token = csrf_token(who, "/household/claim")
            for n in range(10):
                assert who.post("/household/claim", data={"csrf_token": token, "code": f"{n:0>10}"}
                                ).status_code == 422
        # Each account tried 10 codes, the address (the test client's) 20: the 21st waits.
        blocked = two.post("/household/claim", data={"csrf_token": token, "code": "2222222222"})
        assert blocked.status_code == 429 and "Retry-After" in blocked.headers


def test_another_village_head_cannot_print_this_village_and_residents_cannot_print(client, app, w):
    login(client, w["users"]["other_head"])
    status, html = _print(client, w["a"].id)
    assert status == 403 and _rows(ClaimCode) == 0
    page = client.get("/households/letters").text
    assert "Tân Tiến" in page and "Hưng Đạo" not in page
    with browser(app) as resident:
        login(resident, w["users"]["resident"])
        assert resident.get("/households/letters").status_code == 403
    with browser(app) as admin:
        login(admin, w["users"]["admin"])
        status, html = _print(admin, w["a"].id, unrepresented="1")
        assert status == 200 and len(_codes(html)) == 10


def test_only_households_without_a_representative(client, w):
    with unit_of_work(write=True) as db:
        make_household_rep(db, w["a"], 0)
        make_household_rep(db, w["a"], 1, representative=False)
    login(client, w["users"]["village_head"])
    status, html = _print(client, w["a"].id, unrepresented="1")
    assert status == 200 and len(_codes(html)) == 9
    assert ">H0000<" not in html and ">H0001<" in html
    unknown = _print(client, w["a"].id, codes="H0001 NOPE")
    assert unknown[0] == 422 and "Không có trong sổ hộ của thôn hôm nay: NOPE." in unknown[1]
    # A listed household that has its representative is in the register, just not to print.
    none = _print(client, w["a"].id, codes="H0000", unrepresented="1")
    assert none[0] == 422 and "Không có hộ nào trong sổ hộ phù hợp: không có gì để in." in none[1]
    assert _rows(ClaimCode) == 9


def test_my_household_hand_over_and_leave(client, app, w):
    with unit_of_work(write=True) as db:
        rep = make_household_rep(db, w["a"], 0, name="Chủ Hộ Cũ")
        member = make_household_rep(db, w["a"], 0, representative=False, name="Con Trai")
        outsider = make_user(db, "resident", commune=w["commune"], village=w["a"], name="Người Ngoài")
    login(client, rep)
    page = client.get("/household?lang=en")
    assert "Household H0000" in page.text and "Con Trai" in page.text
    household_id = int(re.search(r'action="/household/(\d+)/handover"', page.text).group(1))
    # The representative cannot leave while others remain.
    token = csrf_from(page.text)
    refused = client.post(f"/household/{household_id}/leave?lang=en", data={"csrf_token": token})
    assert refused.status_code == 409 and "hand the role over" in refused.text
    not_member = client.post(f"/household/{household_id}/handover?lang=en",
                             data={"csrf_token": token, "member_id": str(outsider.id)})
    assert not_member.status_code == 422
    done = client.post(f"/household/{household_id}/handover", data={"csrf_token": token,
                                                                     "member_id": str(member.id)},
                       follow_redirects=False)
    assert done.status_code == 303
    left = client.post(f"/household/{household_id}/leave", data={"csrf_token": token}, follow_redirects=False)
    assert left.status_code == 303
    after = client.get("/household?lang=en").text
    assert "You are not linked to a household yet" in after and "Con Trai" not in after
    with browser(app) as other:
        login(other, outsider)
        # Members' names only to members: an outsider sees no household and no names.
        assert "Con Trai" not in other.get("/household").text
        assert other.post(f"/household/{household_id}/leave",
                          data={"csrf_token": csrf_token(other, "/household")}).status_code == 404
    with unit_of_work() as db:
        rows = list(db.execute(select(HouseholdMember)).scalars())
        assert [(m.user_id, m.is_representative) for m in rows] == [(member.id, True)]
    actions = [e.action for e in audit_events_of("household_representative_changed")
               + audit_events_of("household_member_left")]
    assert actions == ["household_representative_changed", "household_member_left"]


def test_join_request_approved_and_refused(client, app, w):
    with unit_of_work(write=True) as db:
        leave_register(db, w["a"], ["H0009"], date(2026, 1, 1))
    with browser(app) as one, browser(app) as two:
        _register(one, "Xin Vào Hộ")
        token = csrf_token(one, "/household/join")
        form = {"csrf_token": token, "village_id": str(w["a"].id)}
        unknown = one.post("/household/join?lang=en", data={**form, "household_code": "ZZ99"})
        assert unknown.status_code == 422 and "No household of this village has this code." in unknown.text
        left = one.post("/household/join?lang=en", data={**form, "household_code": "H0009"})
        assert left.status_code == 422 and "left the village register" in left.text
        sent = one.post("/household/join", data={**form, "household_code": "h0004"}, follow_redirects=False)
        assert sent.status_code == 303
        duplicate = one.post("/household/join?lang=en", data={**form, "household_code": "H0004"})
        assert duplicate.status_code == 409 and "already asked" in duplicate.text
        assert "waiting for the village head" in one.get("/household?lang=en").text
        _register(two, "Bị Từ Chối")
        assert two.post("/household/join", data={"csrf_token": csrf_token(two, "/household/join"),
                                                 "village_id": str(w["a"].id), "household_code": "H0004"},
                        follow_redirects=False).status_code == 303
        with unit_of_work() as db:
            ids = list(db.execute(select(JoinRequest.id).order_by(JoinRequest.id)).scalars())
        # Another village's head sees none of them and cannot decide them.
        with browser(app) as other:
            login(other, w["users"]["other_head"])
            assert "Xin Vào Hộ" not in other.get("/households/requests").text
            forbidden = other.post(f"/households/requests/{ids[0]}",
                                   data={"csrf_token": csrf_token(other, "/households/requests"),
                                         "decision": "approve"})
            assert forbidden.status_code == 403
        login(client, w["users"]["village_head"])
        queue = client.get("/households/requests?lang=en").text
        assert "Xin Vào Hộ" in queue and "Bị Từ Chối" in queue and "Nguyễn Văn Chủ 4" in queue
        token = csrf_token(client, "/households/requests")
        no_reason = client.post(f"/households/requests/{ids[1]}?lang=en",
                                data={"csrf_token": token, "decision": "refuse", "reason": ""})
        assert no_reason.status_code == 422 and "reason for refusing" in no_reason.text
        assert client.post(f"/households/requests/{ids[0]}",
                           data={"csrf_token": token, "decision": "approve"},
                           follow_redirects=False).status_code == 303
        assert client.post(f"/households/requests/{ids[1]}",
                           data={"csrf_token": token, "decision": "refuse",
                                 "reason": "Chủ hộ không xác nhận người này. <script>alert(1)</script>"},
                           follow_redirects=False).status_code == 303
        again = client.post(f"/households/requests/{ids[1]}?lang=en",
                            data={"csrf_token": token, "decision": "approve"})
        assert again.status_code == 409
        mine = one.get("/household?lang=en").text
        assert "Household H0004" in mine and "approved" in mine
        theirs = two.get("/household?lang=en").text
        assert "refused" in theirs and "Chủ hộ không xác nhận người này." in theirs
        assert "<script>alert(1)" not in theirs and "&lt;script&gt;alert(1)" in theirs
        assert "You are not linked to a household yet" in theirs
        # A member of H0004 asks for no other household of the village, and for three at most elsewhere.
        token = csrf_token(one, "/household/join")
        second = one.post("/household/join?lang=en", data={"csrf_token": token, "village_id": str(w["a"].id),
                                                           "household_code": "H0005"})
        assert second.status_code == 409 and "already a member of household H0004" in second.text
        for n in range(3):
            assert one.post("/household/join", data={"csrf_token": token, "village_id": str(w["b"].id),
                                                     "household_code": f"H000{n}"},
                            follow_redirects=False).status_code == 303
        fourth = one.post("/household/join?lang=en", data={"csrf_token": token, "village_id": str(w["b"].id),
                                                           "household_code": "H0003"})
        assert fourth.status_code == 409 and "3 requests waiting" in fourth.text
    decided = audit_events_of("household_join_decided")
    assert len(decided) == 2 and "Chủ hộ" not in decided[0].payload + decided[1].payload


def test_where_a_household_acts_a_resident_without_one_is_told_how_to_get_one(client, w):
    with unit_of_work(write=True) as db:
        do = make_item(db, w["commune"], w["a"], w["cat"], stage="do").code
        submitted = make_item(db, w["commune"], w["a"], w["cat"]).code
        member = make_household_rep(db, w["a"], 0)
    how = "You are not linked to a household yet"
    assert how not in client.get(f"/items/{do}?lang=en").text  # nobody signed in: nothing to say
    login(client, w["users"]["resident"])
    page = client.get(f"/items/{do}?lang=en").text
    assert how in page and 'href="/household/claim"' in page and 'href="/household/join"' in page
    assert how not in client.get(f"/items/{submitted}?lang=en").text  # no household acts there yet
    login(client, member)
    assert how not in client.get(f"/items/{do}?lang=en").text


def test_a_code_works_through_the_last_day_printed_on_its_letter(client, app, w):
    from datetime import datetime, time

    # Printed tomorrow at 10:00 (after the village head's role began today), valid 90 days.
    printed = clock.today_local() + timedelta(days=1)
    clock.freeze(datetime.combine(printed, time(10, 0), tzinfo=clock.LOCAL_TZ))
    last_day = printed + timedelta(days=90)
    login(client, w["users"]["village_head"])
    status, html = _print(client, w["a"].id, codes="H0001 H0002")
    assert status == 200 and last_day.strftime("%d/%m/%Y") in html
    codes = _codes(html)
    with browser(app) as one, browser(app) as two:
        _register(one, "Ngày Cuối")
        _register(two, "Ngày Sau")
        clock.freeze(datetime.combine(last_day, time(23, 59), tzinfo=clock.LOCAL_TZ))
        assert _claim(one, codes[0]).status_code == 303
        clock.freeze(datetime.combine(last_day + timedelta(days=1), time(0, 0), tzinfo=clock.LOCAL_TZ))
        late = _claim(two, codes[1])
        assert late.status_code == 409 and "has expired" in late.text
