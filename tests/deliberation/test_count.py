"""The paper-ballot count on one screen, through HTTP: the register as a list with a radio group per
household, 62 households in one post, the running tally, a repeated post that changes nothing, corrections
and removals with a reason (audited), and the refusals (a household twice, one of another village, a
correction without reason, a ballot after the count closed). Also: the roll's removals need a reason."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from civic import clock
from civic.areas.models import Household
from civic.audit.models import AuditEvent
from civic.db import unit_of_work
from civic.deliberation import service as deliberation
from civic.deliberation.models import Ballot, Decision, MeetingAttendance
from civic.deliberation.schemas import DecideForm, ScheduleMeetingForm
from tests.builders import (
    audit_events,
    count,
    csrf_token,
    leave_register,
    login,
    make_discuss_item,
    make_user,
    make_village,
    viewer,
    world,
)
from tests.web.test_page_weight import weigh

T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội
BUDGET = 30 * 1024


def _counting(households: int = 62, start: bool = True) -> dict:
    """A village of `households` named households, its village head, an item in Dân bàn whose household
    paper ballot is being counted; and village B's first household."""
    with unit_of_work(write=True) as db:
        commune, a, b, cat, users = world(db)
        village = make_village(db, commune, "Hưng Đạo Mới", 0)
        for n in range(households):
            db.add(Household(village_id=village.id, code=f"HD-{n + 1:03d}",
                             head_name=f"Nguyễn Văn Số {n + 1}", active_from=date(2020, 1, 1)))
        db.flush()
        head = make_user(db, "village_head", commune=commune, village=village, name="Trưởng Thôn Mới")
        item = make_discuss_item(db, commune, village, cat, head)
        if start:
            deliberation.decide(db, item, viewer(db, head), DecideForm.parse({"method": "paper_ballot"}))
        ids = [h for h in db.execute(select(Household.id).where(Household.village_id == village.id)
                                     .order_by(Household.code)).scalars()]
        other = db.execute(select(Household.id).where(Household.village_id == b.id).limit(1)).scalar_one()
        return {"code": item.code, "head": head, "ids": ids, "other": other, "village": village,
                "commune": commune, "resident": users["resident"]}


def _post(client, code, token, ballots: dict[int, str], shown=None, lang="en", **extra):
    data: dict = {"csrf_token": token, "shown": [str(h) for h in (shown if shown is not None else ballots)]}
    data.update({f"b{h}": c for h, c in ballots.items()})
    data.update(extra)
    return client.post(f"/deliberation/{code}/count/save?lang={lang}", data=data, follow_redirects=False)


def _ballots(code: str) -> dict[str, str]:
    with unit_of_work() as db:
        rows = db.execute(select(Household.code, Ballot.choice)
                          .join(Ballot, Ballot.household_id == Household.id)).all()
        return dict(rows)


def _en(path: str) -> str:
    return path + ("&" if "?" in path else "?") + "lang=en"


def _events() -> list[AuditEvent]:
    with unit_of_work() as db:
        return audit_events(db)


def _payload(event: AuditEvent) -> dict:
    return json.loads(event.payload) if isinstance(event.payload, str) else dict(event.payload)


def test_sixty_two_ballots_in_one_post_a_repeat_changes_nothing_and_corrections_need_a_reason(client):
    clock.freeze(T0)
    w = _counting()
    code, ids = w["code"], w["ids"]
    login(client, w["head"])
    desk = client.get(f"/deliberation/{code}?lang=en")
    assert f"/deliberation/{code}/count" in desk.text
    page = client.get(f"/deliberation/{code}/count?lang=en")
    assert page.status_code == 200 and page.text.count('type="radio"') == 62 * 4
    assert "HD-001" in page.text and "Nguyễn Văn Số 62" in page.text
    assert "Ballots entered for 0 of 62 households" in page.text
    token = csrf_token(client, f"/deliberation/{code}/count")
    choices = {h: ("yes" if n < 40 else "no" if n < 50 else "abstain" if n < 55 else "") for n, h in
               enumerate(ids)}
    before = len(_events())
    saved = _post(client, code, token, choices)
    assert saved.status_code == 303, saved.text[:500]
    after = client.get(_en(saved.headers["location"]))
    assert "Saved: 55 ballots entered, 0 corrected, 0 taken out." in after.text
    assert 'data-tally="yes">40<' in after.text and 'data-tally="no">10<' in after.text
    assert 'data-tally="abstain">5<' in after.text and "Ballots entered for 55 of 62 households" in after.text
    assert len(_ballots(code)) == 55
    entered = _events()[before:]
    assert [e.action for e in entered] == ["ballots_entered"] and _payload(entered[0])["entered"] == 55
    assert "yes" not in str(_payload(entered[0])) and "Nguyễn" not in str(_payload(entered[0]))

    # The same screen posted again (a double tap, a reload): 303 to the page, nothing changes.
    again = _post(client, code, token, choices)
    assert again.status_code == 303
    assert "Nothing to change: the ballots on this page were already saved." in client.get(
        again.headers["location"]).text
    assert len(_events()) == before + 1 and len(_ballots(code)) == 55

    # A correction (HD-001 yes → no) and a removal (HD-002) without a reason: refused, nothing changed.
    fixed = dict(choices)
    fixed[ids[0]], fixed[ids[1]] = "no", ""
    refused = _post(client, code, token, fixed, reason="  ")
    assert refused.status_code == 422
    assert "Changing or taking out an entry already saved needs a reason" in refused.text
    assert 'id="f-reason-error"' in refused.text
    assert _ballots(code)["HD-001"] == "yes" and "HD-002" in _ballots(code)
    assert len(_events()) == before + 1

    ok = _post(client, code, token, fixed, reason="Phiếu của hộ HD-001 bị <b>đọc nhầm</b>")
    assert ok.status_code == 303
    corrected = client.get(_en(ok.headers["location"])).text
    assert "Saved: 0 ballots entered, 1 corrected, 1 taken out." in corrected
    assert _ballots(code)["HD-001"] == "no" and "HD-002" not in _ballots(code)
    last = _events()[-1]
    assert last.action == "ballots_corrected"
    assert _payload(last)["reason"] == "Phiếu của hộ HD-001 bị <b>đọc nhầm</b>"
    assert _payload(last)["changed"] == ["HD-001"] and _payload(last)["removed"] == ["HD-002"]
    assert "Nguyễn" not in str(_payload(last)) and "no" not in _payload(last).values()

    # Closing the count: the tally is the result; a ballot afterwards is refused and the page says why.
    close = client.post(f"/deliberation/{code}/close_count", data={"csrf_token": token},
                        follow_redirects=False)
    assert close.status_code == 303
    with unit_of_work() as db:
        d = db.execute(select(Decision)).scalar_one()
        assert (d.yes, d.no, d.abstain, d.households_total, d.passed) == (38, 11, 5, 62, True)
    n = len(_events())
    late = _post(client, code, token, {ids[60]: "yes"})
    assert late.status_code == 409
    assert "The count was closed on" in late.text and "can no longer be entered or changed" in late.text
    assert 'data-tally="yes">38<' in late.text  # the page shows what is recorded
    assert len(_events()) == n and "HD-061" not in _ballots(code)
    closed = client.get(f"/deliberation/{code}/count?lang=en")
    assert 'id="count-closed"' in closed.text and "disabled" in closed.text
    assert "Save the ballots of this page" not in closed.text


def test_a_household_twice_or_of_another_village_or_off_the_register_is_refused_and_nothing_changes(client):
    clock.freeze(T0)
    w = _counting(households=12)
    code, ids = w["code"], w["ids"]
    login(client, w["head"])
    token = csrf_token(client, f"/deliberation/{code}/count")
    n = len(_events())
    twice = client.post(f"/deliberation/{code}/count/save?lang=en", data={
        "csrf_token": token, "shown": [str(h) for h in ids], f"b{ids[0]}": ["yes", "no"],
        f"b{ids[1]}": "yes"})
    assert twice.status_code == 422 and "The same household has two ballots" in twice.text
    same = client.post(f"/deliberation/{code}/count/save?lang=en", data={
        "csrf_token": token, f"b{ids[0]}": "yes", f"b0{ids[0]}": "no"})  # b07 is household 7 again
    assert same.status_code == 422 and "two ballots" in same.text
    other = _post(client, code, token, {ids[0]: "yes", w["other"]: "yes"})
    assert other.status_code == 422 and "not of this village" in other.text
    unknown = _post(client, code, token, {ids[0]: "yes", 987654: "no"})
    assert unknown.status_code == 422 and "not of this village" in unknown.text
    bad_choice = _post(client, code, token, {ids[0]: "maybe"})
    assert bad_choice.status_code == 422 and "Please choose in favour, against or abstain." in bad_choice.text
    with unit_of_work(write=True) as db:
        leave_register(db, w["village"], ["HD-003"], clock.today_local() - timedelta(days=1))
    assert _ballots(code) == {} and len(_events()) == n + 1  # only the register's own event
    n += 1
    gone = _post(client, code, token, {ids[0]: "yes", ids[2]: "yes"})
    assert gone.status_code == 422 and "Household HD-003 is not on the register" in gone.text
    assert _ballots(code) == {} and len(_events()) == n
    assert _post(client, code, token, {ids[0]: "yes"}).status_code == 303


def test_the_count_of_two_thousand_households_is_paged_searchable_and_light(client):
    clock.freeze(T0)
    w = _counting(households=2000)
    code = w["code"]
    login(client, w["head"])
    page = client.get(f"/deliberation/{code}/count?lang=en")
    assert page.status_code == 200 and "Page 1 of 20" in page.text
    assert page.text.count('type="radio"') == 100 * 4
    sizes, problems = weigh(client, f"/deliberation/{code}/count")  # the page as sent, with its CSS and JS
    assert sizes["total"] < BUDGET and not problems, sizes
    print("count page of 2,000 households:", sizes)
    second_sizes, _problems = weigh(client, f"/deliberation/{code}/count?page=20")
    assert second_sizes["total"] < BUDGET, second_sizes
    found = client.get(f"/deliberation/{code}/count?lang=en&q=Số 1234")
    assert "HD-1234" in found.text and found.text.count('type="radio"') == 4
    unaccented = client.get(f"/deliberation/{code}/count?lang=en&q=so 1234")  # typed without diacritics
    assert "HD-1234" in unaccented.text and unaccented.text.count('type="radio"') == 4
    by_code = client.get(f"/deliberation/{code}/count?lang=en&q=hd-012")
    assert "HD-012<" in by_code.text and by_code.text.count('type="radio"') == 4
    second = client.get(f"/deliberation/{code}/count?lang=en&page=2")
    assert "HD-101" in second.text and "HD-100<" not in second.text
    for bad in ("?page=abc", "?q=" + "x" * 200, "?page=999999999999"):
        assert client.get(f"/deliberation/{code}/count{bad}").status_code == 200, bad
    markup = client.get(f"/deliberation/{code}/count?q=<b>H</b>")
    assert "&lt;b&gt;H&lt;/b&gt;" in markup.text and "<b>H</b>" not in markup.text


def test_only_the_village_head_opens_the_count_and_an_item_without_a_ballot_says_so(client):
    clock.freeze(T0)
    w = _counting(households=5, start=False)
    login(client, w["head"])
    page = client.get(f"/deliberation/{w['code']}/count?lang=en")
    assert page.status_code == 200 and "No household paper ballot was started" in page.text
    token = csrf_token(client, f"/deliberation/{w['code']}/count")
    refused = _post(client, w["code"], token, {w["ids"][0]: "yes"})
    assert refused.status_code == 409 and "no household paper ballot being counted" in refused.text
    assert client.get("/deliberation/NOPE-1/count").status_code == 404
    client.cookies.clear()
    login(client, w["resident"])
    assert client.get(f"/deliberation/{w['code']}/count").status_code == 403


def test_the_same_paper_ballot_entered_twice_from_the_desk_is_no_dead_end(client):
    clock.freeze(T0)
    w = _counting(households=5)
    code = w["code"]
    login(client, w["head"])
    token = csrf_token(client, f"/deliberation/{code}")
    data = {"csrf_token": token, "household_code": "HD-001", "choice": "yes"}
    first = client.post(f"/deliberation/{code}/paper_ballot?lang=en", data=data, follow_redirects=False)
    again = client.post(f"/deliberation/{code}/paper_ballot?lang=en", data=data, follow_redirects=False)
    assert first.status_code == 303 and again.status_code == 303
    assert _ballots(code) == {"HD-001": "yes"}
    other = client.post(f"/deliberation/{code}/paper_ballot?lang=en", data={**data, "choice": "no"})
    assert other.status_code == 409 and "correct it on the count screen" in other.text
    assert f"/deliberation/{code}/count" in other.text and _ballots(code) == {"HD-001": "yes"}


def _meeting(w) -> tuple[str, int]:
    with unit_of_work(write=True) as db:
        from civic.items.models import Item

        item = db.execute(select(Item).where(Item.code == w["code"])).scalar_one()
        start = (clock.now() + timedelta(days=5, minutes=1)).astimezone(clock.LOCAL_TZ)
        meeting = deliberation.schedule_meeting(db, item, viewer(db, w["head"]), ScheduleMeetingForm.parse({
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"), "place": "Nhà văn hoá", "agenda": "Bàn việc"}))
        return w["code"], meeting.id


def test_a_household_taken_off_the_roll_needs_a_reason_kept_in_the_audit_log(client):
    clock.freeze(T0)
    w = _counting(households=8, start=False)
    code, meeting_id = _meeting(w)
    clock.advance(timedelta(days=6))
    login(client, w["head"])
    ids = [str(h) for h in w["ids"]]
    path = f"/deliberation/{code}/roll/{meeting_id}"
    token = csrf_token(client, path)
    data = {"csrf_token": token, "meeting_id": str(meeting_id), "shown": ids}
    assert client.post(f"{path}/mark", data={**data, "household": ids[:6]}, follow_redirects=False
                       ).status_code == 303
    again = client.post(f"{path}/mark", data={**data, "household": ids[:6]}, follow_redirects=False)
    assert again.status_code == 303  # the same page saved twice
    n = len(_events())
    refused = client.post(f"{path}/mark?lang=en", data={**data, "household": ids[:4]})
    assert refused.status_code == 422 and "Taking a household off the roll needs a reason" in refused.text
    with unit_of_work() as db:
        assert count(db, MeetingAttendance) == 6
    assert len(_events()) == n
    ok = client.post(f"{path}/mark", data={**data, "household": ids[:4], "reason": "Ghi <i>nhầm</i> hai hộ"},
                     follow_redirects=False)
    assert ok.status_code == 303
    with unit_of_work() as db:
        assert count(db, MeetingAttendance) == 4
    last = _events()[-1]
    assert last.action == "roll_marked" and _payload(last)["reason"] == "Ghi <i>nhầm</i> hai hộ"
    assert _payload(last)["removed_households"] == ["HD-005", "HD-006"]
    assert 'name="reason"' in client.get(path).text
