"""The deliveries table of the Dân làm desk: pledges with the household's code (unbroken), the head's name,
pledged, delivered and remaining; several deliveries saved in one post with one note or photo of evidence,
each delivery audited as a single one; a bad row gets its own message and nothing at all is saved."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from civic import clock
from civic.areas.models import Household
from civic.db import unit_of_work
from civic.errors import Invalid
from civic.implementation.models import Delivery, Pledge
from civic.implementation.schemas import DeliveryBatchForm
from civic.media.models import Attachment
from tests.boards.helpers import board_world
from tests.builders import (
    audit_events,
    consent,
    count,
    csrf_token,
    households_of,
    login,
    make_item,
    snapshot,
)
from tests.web.test_page_weight import weigh


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 30)).save(buf, "PNG")
    return buf.getvalue()


def _build(households: int = 0):
    """An item in Dân làm in village A (its households named), and a second item's village head."""
    with unit_of_work(write=True) as db:
        commune, a, b, cat, users = board_world(db)
        for n, h in enumerate(households_of(db, a)):
            h.code, h.head_name = f"HU-{n + 1:03d}", f"Trần Thị Hộ {n + 1}"
        for n in range(households):
            db.add(Household(village_id=a.id, code=f"HU-{n + 100:04d}", head_name=f"Lê Văn {n}",
                             active_from=date(2020, 1, 1)))
        db.flush()
        item = make_item(db, commune, a, cat, stage="do", title="Xây mương thoát nước xóm Dưới")
        other = make_item(db, commune, a, cat, stage="do", title="Sửa đường bê tông")
        return item.code, other.code, users, [h.code for h in households_of(db, a)]


def _pledge(client, code, household, kind="money", amount="500.000"):
    r = client.post(f"/do/{code}/pledge", data={"csrf_token": csrf_token(client, f"/do/{code}"),
                                                  "household": household, "kind": kind, "amount": amount,
                                                  **consent()}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    with unit_of_work() as db:
        return db.execute(select(Pledge.id).order_by(Pledge.id.desc()).limit(1)).scalar_one()


def _deliveries() -> list[Delivery]:
    with unit_of_work() as db:
        return list(db.execute(select(Delivery).order_by(Delivery.id)).scalars())


def _en(path: str) -> str:
    return path + ("&" if "?" in path else "?") + "lang=en"


def _events(action: str) -> list[dict]:
    with unit_of_work() as db:
        return [json.loads(e.payload) if isinstance(e.payload, str) else e.payload
                for e in audit_events(db) if e.action == action]


def test_several_deliveries_in_one_post_each_audited_with_the_batch_evidence(client):
    code, _other, users, codes = _build()
    login(client, users["village_head"])
    money = _pledge(client, code, codes[0], "money", "500.000")
    labour = _pledge(client, code, codes[1], "labour", "4")
    third = _pledge(client, code, codes[2], "money", "200.000")
    desk = client.get(f"/do/{code}?lang=en")
    assert desk.status_code == 200
    assert '<a class="code" href="/do/' in desk.text and ">HU-001</a>" in desk.text  # the code never wraps
    assert "Trần Thị Hộ 1" in desk.text and "Head of household" in desk.text and "Remaining" in desk.text
    assert f'name="amount_{money}"' in desk.text and f'name="on_{labour}"' in desk.text
    assert f'for="f-amount_{money}"' in desk.text  # every input has its label
    token = csrf_token(client, f"/do/{code}")
    today = clock.today_local().isoformat()
    r = client.post(f"/do/{code}/deliver?lang=en", data={
        "csrf_token": token, f"amount_{money}": "300.000", f"on_{money}": today,
        f"amount_{labour}": "4", f"on_{labour}": today, f"amount_{third}": "", f"on_{third}": today,
        "evidence": "Biên bản giao nhận số 12"}, files=[("evidence_files", ("bien-ban.png", _png(),
                                                                             "image/png"))],
        follow_redirects=False)
    assert r.status_code == 303, r.text[:800]
    page = client.get(_en(r.headers["location"]))
    assert "2 deliveries were recorded." in page.text
    rows = _deliveries()
    assert [(d.pledge_id, d.money, d.quantity) for d in rows] == [(money, 300000, None), (labour, None, 4)]
    assert {d.evidence for d in rows} == {"Biên bản giao nhận số 12"}
    events = _events("delivery_recorded")
    assert [(e["pledge_id"], e["amount"]) for e in events] == [(money, "300000"), (labour, "4.00")]
    assert "Trần" not in str(events)
    with unit_of_work() as db:
        owners = sorted(a.owner_id for a in db.execute(select(Attachment)).scalars()
                        if a.owner_kind == "delivery")
    assert owners == sorted(d.id for d in rows)  # the batch's photo is evidence of each delivery
    desk = client.get(f"/do/{code}?lang=en")
    assert f'name="amount_{labour}"' not in desk.text  # delivered in full: no more input
    assert f'name="amount_{money}"' in desk.text and "200,000" in desk.text  # 500,000 − 300,000 left
    assert "Latest deliveries" in desk.text and desk.text.count("Biên bản giao nhận số 12") == 2

    # A photo alone is evidence enough.
    r = client.post(f"/do/{code}/deliver", data={"csrf_token": token, f"amount_{third}": "200.000",
                                                 f"on_{third}": today},
                    files=[("evidence_files", ("phieu-thu.png", _png(), "image/png"))],
                    follow_redirects=False)
    assert r.status_code == 303 and len(_deliveries()) == 3


def test_bad_rows_get_their_own_messages_and_nothing_is_saved(client):
    code, other_code, users, codes = _build()
    login(client, users["village_head"])
    money = _pledge(client, code, codes[0], "money", "500.000")
    labour = _pledge(client, code, codes[1], "labour", "4")
    good = _pledge(client, code, codes[2], "money", "100.000")
    withdrawn = _pledge(client, code, codes[3], "money", "100.000")
    elsewhere = _pledge(client, other_code, codes[4], "money", "100.000")
    r = client.post(f"/do/{code}/pledge/{withdrawn}/withdraw", data={
        "csrf_token": csrf_token(client, f"/do/{code}"), "reason": "Hộ chuyển đi"}, follow_redirects=False)
    assert r.status_code == 303
    token = csrf_token(client, f"/do/{code}")
    today = clock.today_local()
    before, events = snapshot(code), len(_events("delivery_recorded"))
    r = client.post(f"/do/{code}/deliver?lang=en", data={
        "csrf_token": token,
        f"amount_{money}": "900.000", f"on_{money}": today.isoformat(),  # more than pledged
        f"amount_{labour}": "hai", f"on_{labour}": (today + timedelta(days=3)).isoformat(),
        f"amount_{good}": "100.000", f"on_{good}": today.isoformat(),  # fine, yet not saved alone
        "evidence": "Phiếu thu"})
    assert r.status_code == 422
    assert "Nothing was saved: please correct the rows marked." in r.text
    over = "This is more than what is left of the pledge (see Remaining)"
    assert f'id="f-amount_{money}-error">{over}' in r.text
    assert f'id="f-amount_{labour}-error">Please enter a number' in r.text
    assert f'id="f-amount_{good}-error"' not in r.text and f'id="f-on_{good}-error"' not in r.text
    assert 'value="900.000"' in r.text and 'value="hai"' in r.text  # what was typed is kept
    assert _deliveries() == [] and len(_events("delivery_recorded")) == events and snapshot(code) == before

    for data, message in (
            ({f"on_{good}": today.isoformat()},
             f'id="f-amount_{good}-error">Please enter at least one delivery'),
            ({f"amount_{good}": "100.000", f"on_{good}": today.isoformat(), "evidence": ""},
             "Please describe the evidence or add a photo"),
            ({f"amount_{good}": "100.000", f"on_{good}": ""}, f'id="f-on_{good}-error">Please enter a date.'),
            ({f"amount_{good}": "100.000", f"on_{good}": (today + timedelta(days=1)).isoformat()},
             "This date is in the future."),
            ({f"amount_{elsewhere}": "100.000", f"on_{elsewhere}": today.isoformat()},
             "A row of the table is not a pledge of this item"),
            ({f"amount_{withdrawn}": "100.000", f"on_{withdrawn}": today.isoformat()},
             f"The pledge of household {codes[3]} was withdrawn")):
        r = client.post(f"/do/{code}/deliver?lang=en", data={"csrf_token": token, "evidence": "Phiếu thu",
                                                              **data}, follow_redirects=False)
        assert r.status_code == 422 and message in r.text, (data, r.text[r.text.find("form-errors"):][:300])
    assert _deliveries() == [] and snapshot(code) == before
    # A pledge's row sent twice (a form put together by hand) is refused when the form is read.
    with pytest.raises(Invalid, match="in the table twice"):
        DeliveryBatchForm.parse({f"amount_{good}": ["1", "2"], f"on_{good}": today.isoformat()})


def test_the_deliveries_table_of_a_big_village_is_paged_and_light(client):
    code, _other, users, codes = _build(households=60)
    login(client, users["village_head"])
    with unit_of_work(write=True) as db:
        from civic.accounts.service import load_viewer
        from civic.implementation import service as impl
        from civic.implementation.schemas import PledgeOnBehalfForm
        from civic.items.models import Item

        item = db.execute(select(Item).where(Item.code == code)).scalar_one()
        head = load_viewer(db, users["village_head"].id)
        for h in db.execute(select(Household.code).where(Household.code.like("HU-0%"))).scalars():
            impl.pledge(db, item, head, PledgeOnBehalfForm.parse({"household": h, "kind": "money",
                                                                  "amount": "250.000", **consent()}))
    page = client.get(f"/do/{code}?lang=en")
    assert page.status_code == 200 and "Page 1 of 3" in page.text
    sizes, problems = weigh(client, f"/do/{code}")  # the page as sent, with its CSS and JS
    assert sizes["total"] < 30 * 1024 and not problems, sizes
    print("deliveries table, 25 of 70 pledges:", sizes)
    assert page.text.count('name="amount_') == 25
    last = client.get(f"/do/{code}?lang=en&page=3")  # 70 pledges: the village's 10 and 60 more
    assert last.text.count('name="amount_') == 20 and f'action="/do/{code}/deliver?page=3"' in last.text
    with unit_of_work() as db:
        assert count(db, Pledge) == 70
