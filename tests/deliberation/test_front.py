"""The head of the village Front work committee records the committee's answer to an online vote on an item
(Decree 59/2023/NĐ-CP Art. 5): the service, the audit events, the online ballot that needs the agreement,
the to-do, and the status page."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from civic import clock
from civic.audit.models import AuditEvent
from civic.db import unit_of_work
from civic.deliberation import front
from civic.deliberation import service as deliberation
from civic.deliberation.models import Decision, FrontAgreement
from civic.deliberation.schemas import DecideForm, FrontAgreeForm, FrontRefuseForm, FrontWithdrawForm
from civic.errors import Conflict, Forbidden, Invalid
from civic.items.models import Item
from civic.workspace import service as workspace
from tests.builders import (
    count,
    csrf_token,
    disclose,
    login,
    make_discuss_item,
    make_item,
    make_user,
    move,
    viewer,
    world,
)

T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội; items in Dân bàn were accepted on 29/05/2026
COMMUNITY = {"agreed_on": "2026-06-01", "agreement_ref": "Biên bản họp thôn 5/2026",
             "informed_on": "2026-06-01", "informed_ref": "CV 12/TB-TH"}
ONLINE = {"method": "online_ballot", "opens_on": "2026-06-02", "closes_on": "2026-06-04", **COMMUNITY}
AGREE = {"decided_on": "01/06/2026", "minutes_ref": "Biên bản Ban CTMT số 3", "note": "Thôn đã có nhóm Zalo."}


@pytest.fixture
def w(db):
    clock.freeze(T0)
    commune, a, b, cat, users = world(db)
    users["front_head"] = make_user(db, "front_head", commune=commune, village=a, name="Trưởng Ban MT A")
    users["other_front"] = make_user(db, "front_head", commune=commune, village=b, name="Trưởng Ban MT B")
    return {"db": db, "commune": commune, "a": a, "b": b, "cat": cat, "users": users,
            "sec": viewer(db, users["village_head"]), "front": viewer(db, users["front_head"])}


def _other_affairs(w, village=None):
    """A matter-6 item (other self-managed affairs) in Dân bàn: the one an online ballot may decide."""
    head = w["users"]["village_head" if village is None else "other_head"]
    return make_discuss_item(w["db"], w["commune"], village or w["a"], w["cat"], head,
                             asks_contribution=False)


def _state(db, item) -> tuple:
    """What anyone could notice: the committee's answers, the decisions and the commune's chain."""
    return (count(db, FrontAgreement, FrontAgreement.withdrawn_at.is_(None)), count(db, FrontAgreement),
            count(db, Decision), count(db, AuditEvent), item.updated_at)


def _last_event(db) -> tuple[AuditEvent, dict]:
    event = db.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
    return event, json.loads(event.payload) if isinstance(event.payload, str) else event.payload


# --- the agreement, and the online ballot it allows ----------------------------------------------------

def test_the_front_head_agrees_and_the_village_head_opens_the_online_ballot(w):
    db = w["db"]
    item = _other_affairs(w)
    row = front.agree(db, item, w["front"], FrontAgreeForm.parse(AGREE))
    assert (row.agreed, str(row.decided_on), row.minutes_ref, row.village_id) ==\
        (True, "2026-06-01", "Biên bản Ban CTMT số 3", w["a"].id)
    event, payload = _last_event(db)
    assert (event.action, event.actor_role, event.actor_id, event.item_id) ==\
        ("front_agreed", "front_head", w["users"]["front_head"].id, item.id)
    assert (payload["decided_on"], payload["minutes_ref"]) == ("2026-06-01", "Biên bản Ban CTMT số 3")
    assert "Zalo" not in str(payload) and len(payload["note_sha256"]) == 64  # the note: by its digest only
    decision = deliberation.decide(db, item, w["sec"], DecideForm.parse(ONLINE))
    assert (decision.method, decision.status, decision.leaders_agreed) == ("online_ballot", "open", True)
    opened, payload = _last_event(db)
    assert opened.action == "ballot_opened" and payload["front_agreed_on"] == "2026-06-01"
    assert payload["front_agreement_id"] == row.id


def test_no_online_ballot_without_the_committees_agreement(w):
    db = w["db"]
    item = _other_affairs(w)
    before = _state(db, item)
    with pytest.raises(Conflict, match="village Front work committee"):
        deliberation.decide(db, item, w["sec"], DecideForm.parse(ONLINE))
    assert _state(db, item) == before


def test_a_refusal_keeps_the_online_ballot_closed_and_shows_its_reason(w):
    db = w["db"]
    item = _other_affairs(w)
    front.refuse(db, item, w["front"], FrontRefuseForm.parse({
        "decided_on": "2026-06-01", "reason": "Nhiều hộ cao tuổi không dùng điện thoại."}))
    event, payload = _last_event(db)
    assert (event.action, payload["reason"]) == ("front_refused", "Nhiều hộ cao tuổi không dùng điện thoại.")
    before = _state(db, item)
    with pytest.raises(Conflict, match="village Front work committee"):
        deliberation.decide(db, item, w["sec"], DecideForm.parse(ONLINE))
    assert _state(db, item) == before
    deliberation.decide(db, item, w["sec"], DecideForm.parse({"method": "paper_ballot"}))  # still possible


def test_withdrawn_before_the_ballot_opens_then_no_online_ballot_and_a_new_answer_may_be_given(w):
    db = w["db"]
    item = _other_affairs(w)
    front.agree(db, item, w["front"], FrontAgreeForm.parse(AGREE))
    withdrawn = front.withdraw(db, item, w["front"], FrontWithdrawForm.parse({"reason": "Ghi sai ngày."}))
    assert withdrawn.withdrawn_at is not None and withdrawn.withdraw_reason == "Ghi sai ngày."
    event, payload = _last_event(db)
    assert (event.action, payload["agreed"], payload["reason"]) == ("front_withdrawn", True, "Ghi sai ngày.")
    with pytest.raises(Conflict, match="village Front work committee"):
        deliberation.decide(db, item, w["sec"], DecideForm.parse(ONLINE))
    front.agree(db, item, w["front"], FrontAgreeForm.parse({**AGREE, "minutes_ref": "Biên bản số 4"}))
    assert deliberation.decide(db, item, w["sec"], DecideForm.parse(ONLINE)).status == "open"
    assert count(db, FrontAgreement) == 2


def test_the_agreement_stands_once_the_online_ballot_is_open(w):
    db = w["db"]
    item = _other_affairs(w)
    front.agree(db, item, w["front"], FrontAgreeForm.parse(AGREE))
    deliberation.decide(db, item, w["sec"], DecideForm.parse(ONLINE))
    before = _state(db, item)
    with pytest.raises(Conflict, match="can no longer be withdrawn"):
        front.withdraw(db, item, w["front"], FrontWithdrawForm.parse({"reason": "Đổi ý sau khi mở."}))
    assert _state(db, item) == before


# --- refused, nothing changed --------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["village_head", "other_head", "resident", "supervisor", "admin",
                                 "other_front"])
def test_nobody_but_the_head_of_the_villages_committee_records_its_answer(w, who):
    db = w["db"]
    item = _other_affairs(w)
    someone = viewer(db, w["users"][who])
    before = _state(db, item)
    refusal = FrontRefuseForm.parse({"decided_on": "2026-06-01", "reason": "Không đồng ý."})
    for act, form in ((front.agree, FrontAgreeForm.parse(AGREE)), (front.refuse, refusal)):
        with pytest.raises(Forbidden, match="Front work committee of this item's village"):
            act(db, item, someone, form)
    assert _state(db, item) == before


def test_the_head_of_another_villages_committee_cannot_agree_for_it_but_can_for_its_own(w):
    db = w["db"]
    theirs = _other_affairs(w, village=w["b"])
    mine = _other_affairs(w)
    with pytest.raises(Forbidden):
        front.agree(db, mine, viewer(db, w["users"]["other_front"]), FrontAgreeForm.parse(AGREE))
    front.agree(db, theirs, viewer(db, w["users"]["other_front"]), FrontAgreeForm.parse(AGREE))
    assert count(db, FrontAgreement, FrontAgreement.item_id == mine.id) == 0


def test_the_answer_is_recorded_once(w):
    db = w["db"]
    item = _other_affairs(w)
    front.agree(db, item, w["front"], FrontAgreeForm.parse(AGREE))
    before = _state(db, item)
    with pytest.raises(Conflict, match="already recorded"):
        front.agree(db, item, w["front"], FrontAgreeForm.parse(AGREE))
    with pytest.raises(Conflict, match="already recorded"):
        front.refuse(db, item, w["front"], FrontRefuseForm.parse({"decided_on": "2026-06-01",
                                                                  "reason": "Đổi ý."}))
    assert _state(db, item) == before


@pytest.mark.parametrize("decided_on", ["28/05/2026", "02/06/2026", "2027-01-01"])
def test_dated_before_the_item_was_accepted_or_in_the_future_is_refused(w, decided_on):
    db = w["db"]
    item = _other_affairs(w)
    before = _state(db, item)
    with pytest.raises(Invalid) as exc:
        front.agree(db, item, w["front"], FrontAgreeForm.parse({**AGREE, "decided_on": decided_on}))
    assert "decided_on" in exc.value.errors
    assert _state(db, item) == before


@pytest.mark.parametrize(("values", "field"), [
    ({"decided_on": ""}, "decided_on"), ({"decided_on": "hôm qua"}, "decided_on"),
    ({"minutes_ref": ""}, "minutes_ref"), ({"minutes_ref": "x" * 121}, "minutes_ref"),
    ({"note": "x" * 401}, "note"),
])
def test_the_agreement_form_says_what_is_missing(values, field):
    with pytest.raises(Invalid) as exc:
        FrontAgreeForm.parse({**AGREE, **values})
    assert field in exc.value.errors


def test_a_refusal_needs_its_reason_and_a_withdrawal_too():
    with pytest.raises(Invalid) as exc:
        FrontRefuseForm.parse({"decided_on": "2026-06-01", "reason": "Ko"})
    assert "reason" in exc.value.errors
    with pytest.raises(Invalid) as exc:
        FrontWithdrawForm.parse({"reason": ""})
    assert "reason" in exc.value.errors


def test_matters_one_to_five_are_never_decided_online_even_with_the_agreement(w):
    """Agreed while the item was in Dân biết (its matter not yet known); the discussion then opened as a
    contribution (matter 1): the online ballot is still refused, and no new agreement can be recorded."""
    db, sec = w["db"], w["sec"]
    item = make_item(db, w["commune"], w["a"], w["cat"], stage="know")
    front.agree(db, item, w["front"], FrontAgreeForm.parse(AGREE))
    disclose(db, item, w["users"]["village_head"], days_ago=3)
    move(db, item, "open_discussion", sec, {"question": "Góp tiền làm đường?", "matter": "1",
                                            "scope": "village", "money_amount": "500.000"})
    before = _state(db, item)
    with pytest.raises(Conflict, match="only for other self-managed affairs"):
        deliberation.decide(db, item, sec, DecideForm.parse(ONLINE))
    assert _state(db, item) == before
    contribution = make_discuss_item(db, w["commune"], w["a"], w["cat"], w["users"]["village_head"])
    with pytest.raises(Conflict, match="only for other self-managed affairs"):
        front.agree(db, contribution, w["front"], FrontAgreeForm.parse(AGREE))


def test_no_answer_once_a_decision_is_started(w):
    db = w["db"]
    item = _other_affairs(w)
    deliberation.decide(db, item, w["sec"], DecideForm.parse({"method": "paper_ballot"}))
    with pytest.raises(Conflict, match="already been started"):
        front.agree(db, item, w["front"], FrontAgreeForm.parse(AGREE))


# --- the Front head's to-do -------------------------------------------------------------------------------

def test_the_front_heads_to_do_lists_the_items_of_their_village_waiting_for_the_committee(w):
    db, fv = w["db"], w["front"]
    waiting = _other_affairs(w)
    _other_affairs(w, village=w["b"])  # another village's
    make_discuss_item(db, w["commune"], w["a"], w["cat"], w["users"]["village_head"])  # a contribution
    assert workspace.has_todo(fv) and workspace.todo_count(db, fv) == 1
    todo = workspace.todo(db, fv)
    assert [(e.item.code, e.step.kind, e.step.desk) for e in todo.front] ==\
        [(waiting.code, "front_answer", "item_status")]
    assert todo.entries == [] and todo.extra == []
    front.agree(db, waiting, fv, FrontAgreeForm.parse(AGREE))
    assert workspace.todo_count(db, fv) == 0 and workspace.todo(db, fv).front == []
    assert workspace.todo(db, w["sec"]).front == []  # the village head's to-do has none of these


# --- the status page -------------------------------------------------------------------------------------

def test_the_status_page_shows_the_agreement_and_the_front_head_answers_there(client):
    clock.freeze(T0)
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = world(db)
        head = make_user(db, "front_head", commune=commune, village=a, name="Trưởng Ban Mặt Trận A")
        code = make_discuss_item(db, commune, a, cat, users["village_head"], asks_contribution=False).code
    assert "Online vote: the village Front work committee" not in client.get(f"/items/{code}?lang=en").text
    login(client, head)
    todo = client.get("/todo?lang=en")
    assert todo.status_code == 200
    assert "Waiting for the Front work committee's answer" in html.unescape(todo.text)
    assert f'href="/items/{code}"' in todo.text
    page = client.get(f"/items/{code}")
    assert 'action="/items/' + code + '/front/front_agree"' in page.text
    token = csrf_token(client, f"/items/{code}")
    bad = client.post(f"/items/{code}/front/front_agree?lang=en", data={
        "csrf_token": token, "decided_on": "2026-05-28", "minutes_ref": "Biên bản số 3"})
    assert bad.status_code == 422 and "before the item was accepted (2026-05-29)" in bad.text
    with unit_of_work() as db:
        assert count(db, FrontAgreement) == 0
    done = client.post(f"/items/{code}/front/front_agree", data={
        "csrf_token": token, "decided_on": "01/06/2026", "minutes_ref": "Biên bản số 3 <b>x</b>"},
        follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith(f"/items/{code}#front")
    client.cookies.clear()  # an anonymous visitor
    public = client.get(f"/items/{code}")
    assert ("Ban công tác Mặt trận đồng ý ngày 01/06/2026 (biên bản: Biên bản số 3 &lt;b&gt;x&lt;/b&gt;)"
            in public.text)
    english = client.get(f"/items/{code}?lang=en")
    assert "The village Front work committee agreed on" in english.text
    assert "Head of the village Front work committee" in english.text  # the timeline names who recorded it
    with unit_of_work() as db:
        item = db.execute(select(Item).where(Item.code == code)).scalar_one()
        assert front.view(db, item, viewer(db, users["village_head"])).answer.agreed


# --- the audit chain proves the answers ----------------------------------------------------------------

def test_the_answers_are_replayed_from_the_chain_and_an_edit_behind_its_back_is_named(w):
    from civic.audit import service as audit

    db = w["db"]
    item = _other_affairs(w)
    first = front.agree(db, item, w["front"], FrontAgreeForm.parse(AGREE))
    front.withdraw(db, item, w["front"], FrontWithdrawForm.parse({"reason": "Ghi sai ngày."}))
    second = front.refuse(db, item, w["front"], FrontRefuseForm.parse({"decided_on": "2026-06-01",
                                                                       "reason": "Không đủ điều kiện."}))
    assert audit.reconcile(db, w["commune"].id) == []
    second.agreed = True  # turned into an agreement without an event
    first.minutes_ref = "Biên bản số 9"  # another minutes named after the event
    db.flush()
    found = {(d.table, d.row_id, d.field) for d in audit.reconcile(db, w["commune"].id)}
    assert found == {("front_agreement", second.id, "agreed"), ("front_agreement", first.id, "minutes_ref")}


def test_two_agreements_sent_at_once_keep_one():
    """The head presses the button twice on a slow line: one answer is kept, the other is refused."""
    import threading

    from civic.accounts.service import load_viewer
    from civic.db import run_write

    clock.freeze(T0)
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = world(db)
        head = make_user(db, "front_head", commune=commune, village=a, name="Trưởng Ban MT A")
        code = make_discuss_item(db, commune, a, cat, users["village_head"], asks_contribution=False).code
    barrier, results = threading.Barrier(2), []

    def agree(db):
        item = db.execute(select(Item).where(Item.code == code)).scalar_one()
        return front.agree(db, item, load_viewer(db, head.id), FrontAgreeForm.parse(AGREE)).id

    def run():
        barrier.wait()
        try:
            results.append(run_write(agree))
        except Exception as exc:  # noqa: BLE001 - the loser's answer is what we check
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], Conflict), results
    with unit_of_work() as db:
        assert count(db, FrontAgreement) == 1
        assert count(db, AuditEvent, AuditEvent.action == "front_agreed") == 1


def test_markup_in_a_refusal_and_a_withdrawal_is_shown_as_text(client):
    """The injection crawl cannot reach these forms (the demo has no Front committee head): markup typed
    into their reasons and minutes is checked here, on the public status page."""
    clock.freeze(T0)
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = world(db)
        head = make_user(db, "front_head", commune=commune, village=a, name="Trưởng Ban Mặt Trận A")
        code = make_discuss_item(db, commune, a, cat, users["village_head"], asks_contribution=False).code
    login(client, head)
    token = csrf_token(client, f"/items/{code}")
    refused = client.post(f"/items/{code}/front/front_refuse", data={
        "csrf_token": token, "decided_on": "01/06/2026", "minutes_ref": "BB <i>7</i>",
        "reason": "Chưa đủ điều kiện <script>alert(1)</script> họp trực tuyến"}, follow_redirects=False)
    assert refused.status_code == 303
    page = client.get(f"/items/{code}").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<i>7</i>" not in page
    withdrawn = client.post(f"/items/{code}/front/front_withdraw", data={
        "csrf_token": token, "reason": "Ghi nhầm <img src=x onerror=alert(2)> ngày họp"},
        follow_redirects=False)
    assert withdrawn.status_code == 303
    client.cookies.clear()
    page = client.get(f"/items/{code}").text
    assert "<img src=x" not in page and "<script>alert(1)</script>" not in page
