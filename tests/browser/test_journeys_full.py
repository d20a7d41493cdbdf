"""The whole life of one proposal in a real browser, on a 390 × 844 phone, once with JavaScript off
and once with it on.

Only the world is built with builders (a commune, its villages and household register, the accounts); every
step after that is taken through the pages as the people of the village would take it: a resident with an
account and one without submit proposals with photos, someone follows the second by its code, households
comment and support, the village head accepts it, makes it known, opens the discussion, holds the meeting and
records its vote, records pledges, deliveries and progress and hands the work over; a supervisor inspects
and signs it off; a household gives its verdict. The live server's clock is moved past the minimum
disclosure period and the meeting notice instead of sleeping.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from civic import clock
from civic.db import unit_of_work
from tests.boards.helpers import board_world
from tests.browser.conftest import PHONE_390
from tests.browser.test_journeys import CODE, MOTTOS, fits_the_screen, log_in_through_the_form, strip_steps
from tests.builders import households_of, make_household_rep, photo_bytes

pytestmark = pytest.mark.browser

PHONE_TYPED = "0913 579 246"
PHONE_STORED = "0913579246"
TITLE = "Đổ bê tông đường xóm Giữa"
CONSENT_LAND = "Hộ gia đình tự nguyện hiến 20 m² đất làm đường theo nghị quyết hội nghị thôn."
CONSENT_MONEY = "Hộ gia đình tự nguyện góp 500.000 đồng làm đường theo nghị quyết hội nghị thôn."
PHOTO = {"name": "IMG_2041.jpg", "mimeType": "image/jpeg"}


def build() -> dict:
    """Village Hưng Đạo with 10 households; Hoa represents household H0000, Lan household H0001."""
    with unit_of_work(write=True) as db:
        _commune, a, _b, cat, users = board_world(db)
        hoa = make_household_rep(db, a, 0, name="Nguyễn Thị Hoa")
        lan = make_household_rep(db, a, 1, name="Trần Thị Lan")
        codes = [h.code for h in households_of(db, a)]
        return {"village": a.name, "category": cat.name_vi, "households": len(codes), "codes": codes,
                "village_head": users["village_head"].phone, "supervisor": users["supervisor"].phone,
                "hoa": hoa.phone, "lan": lan.phone,
                "board": [u.phone for u in users["board"]],
                "phones": [PHONE_STORED, PHONE_TYPED] + [u.phone for k, u in users.items() if k != "board"]
                + [u.phone for u in users["board"]]
                + [hoa.phone, lan.phone]}


# --- what a user does -------------------------------------------------------------------------------

def looks_right(page) -> None:
    """The page fits the phone, no id is used twice, and every field has its own label."""
    fits_the_screen(page)
    twice = page.evaluate("""() => {
        const seen = new Set(), twice = new Set();
        for (const el of document.querySelectorAll('[id]')) { (seen.has(el.id) ? twice : seen).add(el.id); }
        return [...twice];
    }""")
    assert not twice, f"{page.url} uses these ids more than once: {twice}"
    unlabelled = page.evaluate("""() => [...document.querySelectorAll(
        'input:not([type=hidden]), textarea, select')].filter(e => !e.labels.length
        && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby')).map(e => e.name)""")
    assert not unlabelled, f"{page.url}: tapping a label does not reach these fields: {unlabelled}"


def go(page, path: str) -> None:
    response = page.goto(path)
    assert response.status == 200, f"{path} answered {response.status}"
    looks_right(page)


def follow(page, link) -> None:
    """Tap a link and wait for the page it opens."""
    assert link.count() == 1, f"{page.url}: expected one link, found {link.count()}"
    with page.expect_navigation():
        link.click()
    looks_right(page)


def send(page, form) -> None:
    """Tap a form's submit button; the answer must be a success (a redirect to a page with a flash)."""
    assert form.count() == 1, f"{page.url}: expected one form, found {form.count()}"
    with page.expect_navigation() as nav:
        form.locator("button[type=submit]").click()
    response = nav.value
    main = page.locator("main").inner_text()
    assert response.status == 200 and page.locator("#form-errors, .flash-error").count() == 0,\
        f"{page.url} answered {response.status}:\n{main[:1500]}"
    assert response.request.redirected_from is not None, f"the form did not redirect: {page.url}"
    assert page.locator(".flash-ok").count() == 1, f"no confirmation on {page.url}:\n{main[:800]}"
    looks_right(page)


def current_stage(page) -> str | None:
    current = page.locator("ol.strip li[aria-current='step']")
    assert current.count() <= 1
    return current.locator(".step-name").inner_text().strip() if current.count() else None


def text_of(page, selector: str) -> str:
    node = page.locator(selector)
    assert node.count() == 1, f"{page.url}: expected one {selector}, found {node.count()}"
    return " ".join(node.inner_text().split())


def nothing_private(page, w) -> None:
    """What an anonymous visitor sees: no phone, no household named, no consent text."""
    html = page.content()
    for secret in w["phones"] + w["codes"] + [CONSENT_LAND, CONSENT_MONEY]:
        assert secret not in html, f"{secret!r} is shown to an anonymous visitor on {page.url}"
    assert page.locator(".box-private").count() == 0


def fill_proposal(page, w, title: str, description: str) -> None:
    page.check("input[name=kind][value=proposal]")
    page.select_option("#f-village_id", label=w["village"])
    page.select_option("#f-category_id", label=w["category"])
    page.fill("#f-title", title)
    page.fill("#f-description", description)


def local_day(days: int = 0) -> str:
    return (clock.today_local() + timedelta(days=days)).isoformat()


# --- the journey --------------------------------------------------------------------------------------

@pytest.mark.parametrize("js", [False, True], ids=["javascript-off", "javascript-on"])
def test_the_whole_life_of_a_proposal(new_page, server_clock, js):
    w = build()
    photo = photo_bytes((1600, 1200), quality=90)
    opened = []

    def phone():
        page = new_page(js=js, **PHONE_390)
        page.script_errors = []
        page.on("pageerror", lambda e: page.script_errors.append(str(e)))
        opened.append(page)
        return page

    # 1. Hoa has an account: she logs in and submits a proposal with a photo.
    hoa = phone()
    log_in_through_the_form(hoa, w["hoa"])
    go(hoa, "/")
    follow(hoa, hoa.locator("main a.button[href='/submit']"))
    assert hoa.locator("#f-contact_phone").count() == 0, "a logged-in resident is asked for a phone"
    fill_proposal(hoa, w, "Lắp đèn đường ngõ 7", "Ngõ 7 tối; hộ tôi góp 2 ngày công lắp đèn.")
    hoa.set_input_files("#f-photos", [{**PHOTO, "buffer": photo}])
    with hoa.expect_navigation(url=re.compile(r"/submitted/NS-")):
        hoa.click("form[action='/submit'] button[type=submit]")
    looks_right(hoa)
    hoa_code = hoa.locator("main strong.code").inner_text().strip()
    assert CODE.fullmatch(hoa_code)
    assert hoa.locator("main .secret").count() == 0, "no manage link is needed with an account"
    follow(hoa, hoa.locator("main a.button[href^='/items/']"))
    assert hoa.locator(".gallery img").count() == 1, "Hoa's photo is not on her item's page"

    # 2. A resident without an account submits the proposal this journey follows, with a photo and a phone.
    anon = phone()
    go(anon, "/")
    follow(anon, anon.locator("main a.button[href='/submit']"))
    fill_proposal(anon, w, TITLE,
                  "Đường xóm Giữa lầy lội mỗi khi mưa.\nHộ tôi xin hiến 20 m² đất mở rộng đường.")
    anon.fill("#f-contact_phone", PHONE_TYPED)
    anon.set_input_files("#f-photos", [{**PHOTO, "buffer": photo}])
    with anon.expect_navigation(url=re.compile(r"/submitted/NS-")):
        anon.click("form[action='/submit'] button[type=submit]")
    looks_right(anon)
    code = anon.locator("main strong.code").inner_text().strip()
    assert CODE.fullmatch(code) and code != hoa_code
    manage = anon.locator("main .secret a")
    assert manage.count() == 1 and "/m/" in manage.get_attribute("href"), "no private manage link"
    manage_url = manage.get_attribute("href")

    # 3. Later, someone finds it by its code through the track box on the home page.
    go(anon, "/")
    anon.fill("#track-code", code.lower())
    with anon.expect_navigation(url=re.compile(rf"/items/{code}$")):
        anon.locator("form.track button[type=submit]").click()
    looks_right(anon)
    assert anon.locator("h1").inner_text().strip() == TITLE
    assert strip_steps(anon) == MOTTOS and current_stage(anon) is None,\
        "a new item is in none of the 4 stages"
    assert anon.locator(".strip-note").count() == 1
    assert anon.locator(".gallery img").count() == 1, "the photo is not on the status page"
    nothing_private(anon, w)
    go(anon, manage_url)
    assert PHONE_STORED in anon.locator("main").inner_text(),\
        "the manage link does not show the author's phone"

    # 4. The village head finds it in triage, sees the contact privately, and accepts it.
    sec = phone()
    log_in_through_the_form(sec, w["village_head"])
    follow(sec, sec.locator("header nav a[href='/triage']"))
    assert sec.locator(".card", has_text=hoa_code).count() == 1
    follow(sec, sec.locator(".card", has_text=code).locator("a.card-title"))
    assert PHONE_STORED in sec.locator(".box-private").inner_text()
    send(sec, sec.locator(f"form[action='/triage/{code}/accept']"))
    assert sec.locator(".card", has_text=code).count() == 0, "the accepted item is still in the queue"

    go(anon, f"/items/{code}")
    assert current_stage(anon) == "Dân biết"
    assert anon.locator(".strip-note").count() == 0
    nothing_private(anon, w)

    # 5. Households comment and support it: Hoa and Lan each represent a household of the village.
    lan = phone()
    log_in_through_the_form(lan, w["lan"])
    for page, words in ((hoa, "Nhà tôi đồng ý, xin góp ngày công."), (lan, "Nên làm trước mùa mưa.")):
        go(page, f"/items/{code}")
        page.fill("#f-body", words)
        send(page, page.locator(f"form[action='/items/{code}/comment']"))
        assert words in text_of(page, "ol.comments")
        send(page, page.locator(f"form[action='/items/{code}/support']"))
        assert page.locator(f"form[action='/items/{code}/support']").count() == 0,\
            "the household can support twice"
    assert f"2/{w['households']}" in text_of(lan, "#supports + p.big")
    go(anon, f"/items/{code}")
    assert f"2/{w['households']}" in text_of(anon, "#supports + p.big")
    assert "Nên làm trước mùa mưa." in text_of(anon, "ol.comments")
    assert anon.locator(f"form[action='/items/{code}/comment']").count() == 0,\
        "an anonymous visitor may comment"
    assert anon.locator(f"a[href='/login?next=/items/{code}']").count() >= 1
    nothing_private(anon, w)

    # 6. The village head records a disclosure on the notice board, with a photo of the notice.
    go(sec, f"/items/{code}")
    follow(sec, sec.locator(f"main a.button[href='/deliberation/{code}']").first)
    disclosure = sec.locator(f"form[action='/deliberation/{code}/disclosure']")
    disclosure.locator("[name=channel]").select_option("notice_board")
    disclosure.locator("[name=place]").fill("Bảng tin nhà văn hoá thôn")
    disclosure.locator("[name=starts_on]").fill(local_day())
    disclosure.locator("[name=ends_on]").fill(local_day(10))
    disclosure.locator("[name=proof]").set_input_files([{**PHOTO, "name": "bang-tin.jpg", "buffer": photo}])
    send(sec, disclosure)
    # The minimum disclosure period (3 days) has not run: the discussion cannot open yet.
    assert sec.locator("#open-blocked").count() == 1
    assert sec.locator(f"form[action='/deliberation/{code}/open_discussion']").count() == 0
    go(anon, f"/items/{code}")
    assert "Bảng tin nhà văn hoá thôn" in text_of(anon, "#disclosures + ul")
    assert anon.locator("#disclosures + ul .gallery img").count() == 1, "the proof photo is not public"

    # 7. Three days later the discussion opens; it asks households for land and money.
    server_clock.advance(timedelta(days=3, hours=1))
    go(sec, f"/deliberation/{code}")
    assert sec.locator("#open-blocked").count() == 0
    opening = sec.locator(f"form[action='/deliberation/{code}/open_discussion']")
    opening.locator("[name=question]").fill(f"Có đồng ý {TITLE.lower()}, các hộ góp đất và tiền?")
    opening.locator("[name=land_area]").fill("40")
    opening.locator("[name=matter]").select_option("1")
    send(sec, opening)
    go(anon, f"/items/{code}")
    assert current_stage(anon) == "Dân bàn"

    # 8. The village head schedules the village meeting at least 5 days ahead; it cannot be recorded before.
    go(sec, f"/deliberation/{code}")
    meeting_at = (clock.now() + timedelta(days=5, hours=2)).astimezone(clock.LOCAL_TZ)
    scheduling = sec.locator(f"form[action='/deliberation/{code}/schedule_meeting']")
    scheduling.locator("[name=starts_at]").fill(meeting_at.strftime("%Y-%m-%dT%H:%M"))
    scheduling.locator("[name=place]").fill("Nhà văn hoá thôn Hưng Đạo")
    scheduling.locator("[name=agenda]").fill("Bàn việc đổ bê tông đường xóm Giữa và đóng góp của các hộ.")
    send(sec, scheduling)
    assert sec.locator(f"form[action='/deliberation/{code}/record_meeting']").count() == 0,\
        "a meeting can be recorded before it takes place"
    go(anon, f"/items/{code}")
    assert "Nhà văn hoá thôn Hưng Đạo" in text_of(anon, "#meetings + .card")

    # 9. After the meeting: 8 of 10 households were there. The meeting chose a secret ballot and elected a
    # counting committee of 3; 8 ballots were issued and returned, 7 valid and 1 spoilt, 6 for and 1
    # against — more than half of ALL households.
    server_clock.advance(timedelta(days=5, hours=3))
    go(sec, f"/deliberation/{code}")
    sec.locator("a[href*='/roll/']").first.click()
    boxes = sec.locator("input[name=household]")
    for n in range(8):
        boxes.nth(n).check()
    send(sec, sec.locator("form[action*='/mark']"))
    assert "8" in text_of(sec, "#roll-tally")
    go(sec, f"/deliberation/{code}")
    record = sec.locator(f"form[action='/deliberation/{code}/record_meeting']")
    record.locator("[name=minutes_taker_name]").fill("Bà Phạm Thị Lan")
    record.locator("[name=secretary_votes]").fill("7")
    record.locator("[name=voting_mode]").select_option("secret_ballot")
    record.locator("[name=counting_committee]").fill(
        "Ông Lê Văn Tám\nBà Đỗ Thị Chín\nÔng Vũ Văn Mười")
    record.locator("[name=minutes_text]").fill(
        "Các hộ thống nhất đổ bê tông đường, mỗi hộ góp theo khả năng.")
    send(sec, record)
    vote = sec.locator(f"form[action='/deliberation/{code}/decide']"
                       ":has(input[name=method][value=meeting_vote])")
    for name, value in (("yes", "6"), ("no", "1"), ("abstain", "0"), ("ballots_issued", "8"),
                        ("ballots_returned", "8"), ("ballots_valid", "7"), ("ballots_invalid", "1")):
        vote.locator(f"[name={name}]").fill(value)
    send(sec, vote)
    assert f"6/{w['households']}" in text_of(sec, "#h-next + p")
    go(anon, f"/items/{code}")
    assert "8/10" in text_of(anon, "#meetings + .card"), "the attendance is not public"
    tally = text_of(anon, "#decision + .card p.big")
    assert f"6/{w['households']}" in tally and "được thông qua" in tally, tally
    assert "Bỏ phiếu kín" in text_of(anon, "#meetings + .card"), "the secret ballot is not public"
    for record in ("record", "report"):  # the vote-count record and the report to the commune
        assert anon.locator(f"#decision + .card a[href^='/items/{code}/decisions/'][href$='/{record}']")\
            .count() == 1
    # The vote-count record of the meeting (form 02 of Decree 59/2023): the counting committee, its figures.
    follow(anon, anon.locator(f"#decision + .card a[href^='/items/{code}/decisions/'][href$='/record']"))
    form02 = anon.locator("article#form-02")
    assert form02.count() == 1, "the meeting's count is not printed on form 02"
    assert "Ông Lê Văn Tám, Bà Đỗ Thị Chín, Ông Vũ Văn Mười" in form02.inner_text()
    assert "Bỏ phiếu kín" in form02.inner_text()
    figures = [" ".join(td.split()) for td in form02.locator("table tr td").all_inner_texts()]
    # register, represented, issued, returned, valid, invalid, in favour, against, abstain
    assert figures == ["10", "8", "8", "8", "7", "1", "6", "1", "0"], figures
    go(sec, f"/deliberation/{code}")
    send(sec, sec.locator(f"form[action='/deliberation/{code}/start_work']"))
    assert sec.url.endswith(f"/items/{code}")
    assert current_stage(sec) == "Dân làm"

    # 10. Dân làm: Lan pledges 20 m² of land for her household; the village head records 500.000 đồng on
    # behalf
    # of household H0005, which has no phone.
    go(lan, f"/items/{code}")
    follow(lan, lan.locator(f"main a.button[href='/items/{code}/pledge']"))
    own = lan.locator(f"form[action='/items/{code}/pledge']")
    own.locator("[name=kind]").select_option("land")
    own.locator("[name=amount]").fill("20")
    own.locator("[name=parcel_ref]").fill("Thửa 123, tờ bản đồ 5")
    own.locator("[name=consent_text]").fill(CONSENT_LAND)
    own.locator("[name=witness_name]").fill("Nguyễn Văn Trưởng")
    own.locator("[name=witness_role]").fill("Trưởng thôn")
    # a household's own land pledge carries the signed consent form (a photo of it, private)
    signed_form = {**PHOTO, "name": "giay-dong-y.jpg", "buffer": photo}
    own.locator("[name=consent_scan]").set_input_files([signed_form])
    send(lan, own)
    assert "20" in text_of(lan, "section[aria-labelledby=mine-h] .card")

    follow(sec, sec.locator(f"main a.button[href='/do/{code}']").first)
    assert current_stage(sec) == "Dân làm"
    behalf = sec.locator(f"form[action='/do/{code}/pledge']")
    behalf.locator("[name=household]").fill(w["codes"][5])
    behalf.locator("[name=kind]").select_option("money")
    behalf.locator("[name=amount]").fill("500.000")
    behalf.locator("[name=consent_text]").fill(CONSENT_MONEY)
    behalf.locator("[name=witness_name]").fill("Nguyễn Văn Trưởng")
    behalf.locator("[name=witness_role]").fill("Trưởng thôn")
    send(sec, behalf)
    assert sec.locator("section[aria-labelledby=pledges-h] tbody tr").count() == 2
    go(anon, f"/items/{code}")
    assert f"2/{w['households']}" in text_of(anon, "#do-contrib + p.big"), "the pledge total is wrong"
    contributions = text_of(anon, "#do-contrib ~ ul.bars")
    assert "0/20" in contributions and "0/500.000" in contributions, contributions
    nothing_private(anon, w)

    # 11. The village head records what each household delivered, and the progress of the work.
    for household in (w["codes"][1], w["codes"][5]):
        go(sec, f"/do/{code}")
        follow(sec, sec.locator("section[aria-labelledby=pledges-h] tbody a", has_text=household))
        delivery = sec.locator("form[action$='/deliver']")
        delivery.locator("[name=evidence]").fill("Biên bản bàn giao có chữ ký của hộ")
        send(sec, delivery)
    go(sec, f"/do/{code}")
    progress = sec.locator(f"form[action='/do/{code}/progress']")
    progress.locator("[name=percent]").fill("60")
    progress.locator("[name=text]").fill("Đã đổ xong 60 m đường.")
    send(sec, progress)
    assert sec.locator(f"form[action='/do/{code}/start_inspection']").count() == 0,\
        "the work can be handed over at 60 %"
    go(anon, f"/items/{code}")
    assert "60" in text_of(anon, "#do-progress + p.big")
    contributions = text_of(anon, "#do-contrib ~ ul.bars")
    assert "20/20" in contributions and "500.000/500.000" in contributions, contributions

    go(sec, f"/do/{code}")
    progress = sec.locator(f"form[action='/do/{code}/progress']")
    progress.locator("[name=percent]").fill("100")
    progress.locator("[name=text]").fill("Đã hoàn thành toàn bộ tuyến đường.")
    progress.locator("[name=photos]").set_input_files([{**PHOTO, "name": "duong-moi.jpg", "buffer": photo}])
    send(sec, progress)
    send(sec, sec.locator(f"form[action='/do/{code}/start_inspection']"))
    assert sec.url.endswith(f"/items/{code}")
    assert current_stage(sec) == "Dân kiểm tra"
    go(anon, f"/items/{code}")
    assert current_stage(anon) == "Dân kiểm tra"
    assert "100" in text_of(anon, "#do-progress + p.big")
    assert anon.locator("#do-progress ~ ol.timeline .gallery img").count() == 1,\
        "the progress photo is not public"

    # 12. The people's inspection board inspects: its head opens the inspection from the status page, marks
    # the checklist and records a finding; the board signs off when three of its five members agree.
    sup = phone()
    log_in_through_the_form(sup, w["board"][0])
    go(sup, f"/items/{code}")
    follow(sup, sup.locator(f"main a.button[href='/inspect/{code}']"))
    assert current_stage(sup) == "Dân kiểm tra"
    send(sup, sup.locator(f"form[action='/inspect/{code}/open']"))
    entries = sup.locator(f"form[action='/inspect/{code}/mark']").count()
    assert entries >= 3, "the usual checklist is missing"
    assert sup.locator(f"form[action='/inspect/{code}/sign_off']").count() == 0, "signed off before checking"
    for n in range(entries):
        mark = sup.locator(f"form[action='/inspect/{code}/mark']").nth(n)
        mark.locator("input[name=mark][value=ok]").check()
        send(sup, mark)
    finding = sup.locator(f"form[action='/inspect/{code}/finding']")
    finding.locator("[name=severity]").select_option("note")
    finding.locator("[name=text]").fill("Nên trồng thêm cây hai bên đường.")
    send(sup, finding)
    agree = f"form[action='/inspect/{code}/sign_off'] button[value=agree]"
    member = sup
    for n, member_phone in enumerate(w["board"][:3]):
        if n:
            member = phone()
            log_in_through_the_form(member, member_phone)
            go(member, f"/inspect/{code}")
        with member.expect_navigation():
            member.locator(agree).click()
        looks_right(member)
        assert member.url.endswith(f"/items/{code}" if n == 2 else f"/inspect/{code}"), member.url

    go(anon, f"/items/{code}")
    assert current_stage(anon) is None, "a closed item still has a current stage"
    assert anon.locator("ol.strip li.step-done").count() == 4, "the four stages are not all done"
    assert "Đã hoàn thành" in text_of(anon, ".strip-note.strip-closed")
    checklist = anon.locator("#insp-check ~ ul.plain li")
    assert checklist.count() == entries
    assert all(t.strip().startswith("Đạt") for t in checklist.all_inner_texts()), checklist.all_inner_texts()
    assert "Nên trồng thêm cây hai bên đường." in text_of(anon, "#insp-findings + ul.cards")
    assert f"0/{w['households']}" in text_of(anon, "#insp-verdict + p.big")
    assert "6/10" in text_of(anon, "#decision + .card p.big"), "the decision left the record"

    # 13. Hoa gives her household's verdict.
    go(hoa, f"/items/{code}")
    follow(hoa, hoa.locator(f"main a.button[href='/items/{code}/verdict']"))
    verdict = hoa.locator(f"form[action='/items/{code}/verdict']")
    verdict.locator("input[name=verdict][value=done]").check()
    verdict.locator("input[name=satisfaction][value='5']").check()
    verdict.locator("[name=comment]").fill("Đường đẹp, đi lại an toàn.")
    send(hoa, verdict)
    assert hoa.locator(f"form[action='/items/{code}/verdict']").count() == 0,\
        "the household can give two verdicts"
    assert f"1/{w['households']}" in hoa.locator("main").inner_text()
    go(anon, f"/items/{code}")
    assert f"1/{w['households']}" in text_of(anon, "#insp-verdict + p.big")
    assert anon.locator("#insp-verdict ~ ul.plain strong").first.inner_text().strip() == "1"
    nothing_private(anon, w)

    for page in opened:
        assert not page.script_errors, page.script_errors
