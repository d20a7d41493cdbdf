"""The records a commune can file, after Decree 59/2023's forms: 01 the invitation, 02 the count of a vote at
the meeting, 03 the minutes, 04 the count of household ballots, and the village head's report of the result
to the commune People's Committee (Law 10/2022 Art. 23). Read over HTTP as anyone would."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from civic import clock
from civic.accounts import service as accounts
from civic.db import unit_of_work
from civic.deliberation import service as deliberation
from civic.deliberation.schemas import DecideForm, PaperBallotForm, ScheduleMeetingForm
from tests.builders import hold_meeting, make_discuss_item, make_user, viewer, world

T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")


def build_records() -> dict:
    """A drainage proposal decided at a secret-ballot meeting (forms 01, 02, 03), and another decided by
    household paper ballots (form 04); the paths of every record."""
    clock.freeze(T0)
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = world(db)
        head = users["village_head"]
        # The village's Front work committee: its former head until 10 May 2026, then its head now.
        accounts.grant(db, make_user(db, name="Ông Cựu Mặt Trận"), role="front_head", commune_id=commune.id,
                       village_id=a.id, starts_on=date(2024, 1, 1), ends_on=date(2026, 5, 10))
        accounts.grant(db, make_user(db, name="Bà Phan Thị Hoà"), role="front_head", commune_id=commune.id,
                       village_id=a.id, starts_on=date(2026, 5, 10))
        sec = viewer(db, head)
        item = make_discuss_item(db, commune, a, cat, head, title="Làm mương thoát nước xóm Đông")
        start = (clock.now() + timedelta(days=5, minutes=5)).astimezone(clock.LOCAL_TZ)
        meeting = deliberation.schedule_meeting(db, item, sec, ScheduleMeetingForm.parse({
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"), "place": "Nhà văn hoá thôn Hưng Đạo",
            "agenda": "1. Phương án làm mương. 2. Đóng góp của các hộ. 3. Biểu quyết."}))
        clock.advance(timedelta(days=6))
        hold_meeting(db, item, sec, meeting, 8, voting_mode="secret_ballot", secretary_votes="7",
                     counting_committee="Ông Nguyễn Văn An\nBà Trần Thị Bình\nÔng Lê Văn Cường",
                     people_present="9", minutes_text="Các hộ thống nhất làm mương dài 120 m.")
        vote = deliberation.decide(db, item, sec, DecideForm.parse({
            "method": "meeting_vote", "yes": "7", "no": "1", "abstain": "0", "ballots_issued": "8",
            "ballots_returned": "8", "ballots_valid": "8", "ballots_invalid": "0",
            "written_form": "resolution"}))
        other = make_discuss_item(db, commune, a, cat, head, title="Bê tông hoá ngõ 5")
        deliberation.decide(db, other, sec, DecideForm.parse({"method": "paper_ballot"}))
        for n in range(7):
            deliberation.enter_paper_ballot(db, other, sec, PaperBallotForm.parse({
                "household_code": f"H{n:04d}", "choice": "yes" if n < 6 else "no"}))
        count = deliberation.close_count(db, other, sec)
        paths = {
            "01": f"/items/{item.code}/meetings/{meeting.id}/invitation",
            "02": f"/items/{item.code}/decisions/{vote.id}/record",
            "03": f"/items/{item.code}/meetings/{meeting.id}/minutes",
            "04": f"/items/{other.code}/decisions/{count.id}/record",
            "report": f"/items/{item.code}/decisions/{vote.id}/report",
        }
    clock.reset()
    return paths


@pytest.fixture
def records():
    return build_records()


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_every_record_has_the_motto_signatures_and_the_chain_head(client, records):
    for form, path in records.items():
        page = client.get(path + "?lang=vi")
        assert page.status_code == 200, form
        assert all(m in page.text for m in MOTTO), form
        assert "Trưởng thôn" in page.text and re.search(r"#\d+ [0-9a-f]{64}", page.text), form
        assert len(page.content) < 30 * 1024, form
        if form != "report":
            assert f"form-{form}" in page.text and "Ban công tác Mặt trận" in _text(page.text), form
    en = client.get(records["01"] + "?lang=en").text
    assert all(m in en for m in MOTTO)  # the State's motto, printed as it is in both languages


def test_forms_01_to_04_name_the_front_committees_head_of_their_day(client, records):
    """The signature block of the village Front work committee's head carries the name of whoever held that
    post on the record's day, not of a former head."""
    for form in ("01", "02", "03", "04"):
        page = client.get(records[form]).text
        signatures = page.split('class="sign sign-3"', 1)[1].split("</div>\n</div>")[0]
        assert "Bà Phan Thị Hoà" in signatures, form
        assert "Cựu Mặt Trận" not in signatures, form


def test_the_invitation_goes_to_every_household_with_date_place_and_agenda(client, records):
    text = _text(client.get(records["01"] + "?lang=en").text)
    assert "To: every household of Hưng Đạo" in text and "10 households on the register" in text
    assert "Nhà văn hoá thôn Hưng Đạo" in text and "Phương án làm mương" in text
    assert "After form 01 of Decree 59/2023/ND-CP" in text and "Trưởng Thôn A" in text


def test_the_meeting_count_lists_the_committee_and_the_ballots(client, records):
    text = _text(client.get(records["02"] + "?lang=en").text)
    assert "After form 02" in text and "Secret ballot" in text
    assert "Ông Nguyễn Văn An, Bà Trần Thị Bình, Ông Lê Văn Cường" in text
    for label, value in (("Ballots issued", 8), ("Ballots returned", 8), ("Valid ballots", 8),
                         ("Invalid ballots", 0), ("In favour", 7), ("Against", 1)):
        assert f"{label} {value}" in text, label
    assert "7 of 10 households in favour — passed" in text


def test_the_minutes_name_chair_secretary_roll_and_written_form(client, records):
    text = _text(client.get(records["03"] + "?lang=en").text)
    assert "After form 03" in text and text.count("Resolution") >= 1
    assert "Trưởng Thôn A" in text and "Bà Lan — 7 votes" in text
    assert "8 of 10 households represented — quorum reached; 9 people" in text
    assert "written as: Resolution" in text and "dài 120 m" in text


def test_the_household_ballot_count(client, records):
    text = _text(client.get(records["04"] + "?lang=en").text)
    assert "After form 04" in text and "Ballots counted 7" in text
    assert "6 of 10 households in favour — passed" in text and "Rule applied: matter 1" in text


def test_the_report_to_the_commune_is_one_click_from_the_decision(client, records):
    code = records["02"].split("/")[2]
    status = client.get(f"/items/{code}?lang=en").text
    assert f'href="{records["report"]}"' in status
    assert f'href="{records["01"]}"' in status and f'href="{records["03"]}"' in status
    text = _text(client.get(records["report"] + "?lang=en").text)
    assert "To: the People's Committee of Nhạo Sơn" in text and "Art. 23" in text
    assert "7 of 10 households in favour — passed" in text and "Luật 10/2022/QH15" in text


def test_records_of_what_does_not_exist_answer_404(client, records):
    code = records["02"].split("/")[2]
    for path in (f"/items/{code}/meetings/99999/invitation", f"/items/{code}/meetings/¹/minutes",
                 f"/items/{code}/decisions/99999/report", "/items/NS-0000-0000/meetings/1/invitation"):
        assert client.get(path).status_code == 404, path
