"""A matter of the whole commune through HTTP: the desk's forms for each village head and the commune, the
status page's villages during Dân bàn and after the decision, the printed record and report."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from civic import clock
from civic.db import unit_of_work
from civic.deliberation import service as deliberation
from civic.deliberation.models import Decision, VillageResult
from civic.deliberation.schemas import CommuneDecisionForm, ScheduleMeetingForm, VillageResultForm
from civic.web.pagecache import cache
from tests.builders import count, csrf_token, disclose, hold_meeting, login, make_item, move, snapshot, viewer
from tests.builders import world as make_world

T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội
REASON = "Thôn Tân Tiến bị ngập lụt, không tổ chức họp được <b>2 tuần</b>."
SHOWN = "Thôn Tân Tiến bị ngập lụt, không tổ chức họp được &lt;b&gt;2 tuần&lt;/b&gt;."


@pytest.fixture
def w():
    """A commune-wide contribution in Dân bàn: both villages met (all 10 households each), Hưng Đạo reported
    9 in favour and 1 against; Tân Tiến has not reported."""
    clock.freeze(T0)
    cache.clear()
    with unit_of_work(write=True) as db:
        commune, a, b, cat, users = make_world(db)
        item = make_item(db, commune, a, cat, stage="know", title="Đường trục xã")
        disclose(db, item, users["village_head"], days_ago=3)
        move(db, item, "open_discussion", viewer(db, users["supervisor"]), {
            "question": "Góp tiền làm đường trục xã?", "matter": "1", "scope": "commune",
            "money_amount": "1.500.000"})
        heads = viewer(db, users["village_head"]), viewer(db, users["other_head"])
        start = (clock.now() + timedelta(days=5, minutes=1)).astimezone(clock.LOCAL_TZ)\
            .strftime("%Y-%m-%dT%H:%M")
        meetings = [deliberation.schedule_meeting(db, item, head, ScheduleMeetingForm.parse(
            {"starts_at": start, "place": "Nhà văn hoá", "agenda": "Bàn làm đường"})) for head in heads]
        clock.freeze(T0 + timedelta(days=6))
        for head, meeting in zip(heads, meetings, strict=True):
            hold_meeting(db, item, head, meeting, 10)
        deliberation.record_village_result(db, item, heads[0], VillageResultForm.parse({
            "method": "meeting_vote", "meeting_id": str(meetings[0].id), "yes": "9", "no": "1",
            "abstain": "0"}))
        return {"code": item.code, "users": users, "meetings": [m.id for m in meetings]}


def _rows() -> int:
    with unit_of_work() as db:
        return count(db, VillageResult)


def _post(client, code: str, action: str, data: dict):
    token = csrf_token(client, f"/deliberation/{code}")
    return client.post(f"/deliberation/{code}/{action}?lang=en", data={"csrf_token": token, **data},
                       follow_redirects=False)


def test_the_status_page_shows_which_villages_met_and_the_running_total(client, w):
    page = client.get(f"/items/{w['code']}?lang=en")
    assert page.status_code == 200
    table = page.text.split('id="village-lines"', 1)[1].split("</table>", 1)[0]
    assert "Hưng Đạo</th><td>10</td><td>10</td><td>9</td><td>1</td><td>0</td>" in table
    assert 'Tân Tiến</th><td>10</td><td colspan="4">met on 6 Jun 2026; result not recorded yet</td>' in table
    assert "Whole commune</th><td>20</td><td>10</td><td>9</td><td>1</td><td>0</td>" in table
    assert "1 of 2 villages have reported their result." in page.text
    assert "recorded the result of Hưng Đạo: 9 of 10 households in favour" in page.text  # the timeline
    assert "at least two thirds of all households" in page.text and "secondary source" in page.text
    vi = client.get(f"/items/{w['code']}")
    assert "Toàn xã" in vi.text and "đã họp ngày 06/06/2026; chưa ghi kết quả" in vi.text
    assert len(gzip.compress(vi.content)) < 30 * 1024


def test_a_village_head_records_the_villages_result_once(client, w):
    login(client, w["users"]["other_head"])
    desk = client.get(f"/deliberation/{w['code']}")
    assert desk.status_code == 200 and "village_result" in desk.text
    before, rows = snapshot(w["code"]), _rows()
    # The head of Tân Tiến cannot record the result of Hưng Đạo's meeting.
    answer = _post(client, w["code"], "village_result", {
        "method": "meeting_vote", "yes": "10", "no": "0", "abstain": "0",
        "meeting_id": str(w["meetings"][0])})
    assert answer.status_code == 403 and _rows() == rows and snapshot(w["code"]) == before
    answer = _post(client, w["code"], "village_result", {"method": "meeting_vote", "yes": "9", "no": "3",
                                                          "abstain": "0", "meeting_id": str(w["meetings"][1]),
                                                          "village_id": ""})
    assert answer.status_code == 422 and "more than the 10 households present" in answer.text
    assert _rows() == rows and snapshot(w["code"]) == before
    data = {"method": "meeting_vote", "yes": "8", "no": "2", "abstain": "0",
            "meeting_id": str(w["meetings"][1])}
    answer = _post(client, w["code"], "village_result", data)
    assert answer.status_code == 303 and _rows() == rows + 1
    before = snapshot(w["code"])
    again = _post(client, w["code"], "village_result", {**data, "yes": "10", "no": "0"})
    assert again.status_code == 409 and "already been recorded" in again.text
    assert _rows() == rows + 1 and snapshot(w["code"]) == before


def test_the_commune_closes_with_the_reason_and_the_record_shows_every_village(client, w):
    login(client, w["users"]["supervisor"])
    before = snapshot(w["code"])
    answer = _post(client, w["code"], "close_commune", {"reason": ""})
    assert answer.status_code == 422 and "Tân Tiến" in answer.text and "record why" in answer.text
    assert snapshot(w["code"]) == before
    with unit_of_work() as db:
        assert count(db, Decision) == 0
    answer = _post(client, w["code"], "close_commune", {"reason": REASON, "written_form": "resolution"})
    assert answer.status_code == 303
    with unit_of_work() as db:
        decision = db.execute(select(Decision)).scalar_one()
    assert (decision.yes, decision.households_total, decision.passed) == (9, 20, False)

    status = client.get(f"/items/{w['code']}?lang=en")
    table = status.text.split('id="village-lines"', 1)[1].split("</table>", 1)[0]
    assert "did not report: no households in favour" in table
    assert "9 of 20 households in favour — not passed" in status.text and SHOWN in status.text
    assert "<b>2 tuần" not in status.text  # the reason typed is text, never markup
    record = client.get(f"/items/{w['code']}/decisions/{decision.id}/record?lang=en")
    assert record.status_code == 200 and 'id="form-02-04"' in record.text
    lines = record.text.split('id="village-lines"', 1)[1].split("</table>", 1)[0]
    assert "Hưng Đạo</th><td>10</td><td>10</td><td>9</td><td>1</td><td>0</td>" in lines
    assert "Whole commune</th><td>20</td><td>10</td><td>9</td>" in lines
    rule = record.text.split('id="rule"', 1)[1].split("</p>", 1)[0]
    assert "at least two thirds of all households" in rule and "(20 on 7 Jun 2026)" in rule
    assert "Điều 21(1)" in rule and "secondary source" in rule
    minutes = client.get(f"/items/{w['code']}/meetings/{w['meetings'][0]}/minutes?lang=en")
    assert "added up by the commune: 9 in favour, 1 against, 0 abstaining, of 10 households" in minutes.text
    invitation = client.get(f"/items/{w['code']}/meetings/{w['meetings'][1]}/invitation?lang=en")
    assert "<p><strong>Tân Tiến</strong></p>" in invitation.text  # the village that meets heads its form 01
    report = client.get(f"/items/{w['code']}/decisions/{decision.id}/report?lang=en")
    assert report.status_code == 200 and "Tân Tiến" in report.text and SHOWN in report.text
    assert SHOWN in record.text and "<b>2 tuần" not in record.text + report.text


def test_the_village_head_of_the_item_cannot_close_the_communes_decision(client, w):
    login(client, w["users"]["village_head"])
    desk = client.get(f"/deliberation/{w['code']}")
    assert "close_commune" not in desk.text  # the form is the commune's
    before = snapshot(w["code"])
    answer = _post(client, w["code"], "close_commune", {"reason": REASON})
    assert answer.status_code == 403 and snapshot(w["code"]) == before


def test_the_form_posted_as_a_user_would_type_it(w):
    """The desk's fields read as a person types them (and an unreadable meeting id names no meeting)."""
    form = VillageResultForm.parse({"method": "paper_ballot", "returned": "9", "yes": "7", "no": "1",
                                    "abstain": "1", "meeting_id": "abc"})
    assert (form.returned, form.counts, form.meeting_id) == (9, (7, 1, 1), None)
    assert CommuneDecisionForm.parse({"reason": "  Lý do  "}).reason.strip() == "Lý do"


def test_the_other_villages_head_finds_the_matter_in_the_to_do_until_the_village_reports(client, w):
    """The matter was raised in Hưng Đạo; Tân Tiến's head holds their own meeting and records its result, so
    their to-do says so, links to the desk, and counts it in the navigation; once recorded it is gone."""
    login(client, w["users"]["other_head"])
    todo = client.get("/todo?lang=en")
    assert todo.status_code == 200
    assert ("Hold your village's meeting on this matter of the whole commune and record its result"
            in todo.text)
    assert f'href="/deliberation/{w["code"]}"' in todo.text
    assert "Đường trục xã" in todo.text
    assert client.get("/todo").text.count("Tổ chức họp thôn về việc chung của toàn xã") == 1

    answer = _post(client, w["code"], "village_result", {
        "method": "meeting_vote", "meeting_id": str(w["meetings"][1]), "yes": "7", "no": "3", "abstain": "0"})
    assert answer.status_code == 303, answer.text[:500]
    after = client.get("/todo?lang=en").text
    assert "matter of the whole commune" not in after

    # Hưng Đạo's head already recorded theirs: nothing of the kind waits on them.
    client.cookies.clear()
    login(client, w["users"]["village_head"])
    assert "matter of the whole commune and record" not in client.get("/todo?lang=en").text
