"""Exports through HTTP: public columns for anyone, private columns only for staff of the village, each
private export in the audit chain, ranges over ten years refused, XLSX readable by a spreadsheet."""

from __future__ import annotations

import csv
import io
import json

from openpyxl import load_workbook
from sqlalchemy import select

from civic.areas.models import Household
from civic.audit import service as audit
from civic.audit.models import AuditEvent
from civic.db import unit_of_work
from civic.implementation import service as impl
from civic.implementation.schemas import BudgetLineForm, PledgeOnBehalfForm, SpendingForm
from tests.builders import count, login, make_item, pledge_data, viewer, world


def _setup():
    """Item A (village A, with a pledge, a budget line and a payment) and item B (village B)."""
    with unit_of_work(write=True) as db:
        commune, a, b, cat, users = world(db)
        item_a = make_item(db, commune, a, cat, stage="do", title="Làm mương thoát nước xóm Trên",
                           contact_name="Lê Thị Hoa", contact_phone="0912345678")
        item_b = make_item(db, commune, b, cat, title="=HYPERLINK(\"http://x\")", contact_phone="0987654321")
        household = db.execute(select(Household).where(Household.village_id == a.id)
                               .order_by(Household.id)).scalars().first()
        household.head_name = "Nguyễn Văn Bình"
        head = viewer(db, users["village_head"])
        impl.pledge(db, item_a, head, PledgeOnBehalfForm.parse(pledge_data("money", "1.500.000",
                                                                           household=household.code)))
        line = impl.add_budget_line(db, item_a, head, BudgetLineForm.parse(
            {"source": "community", "label": "Xi măng và cát", "amount": "3.000.000"}))
        impl.add_spending(db, item_a, head, SpendingForm.parse(
            {"budget_line_id": str(line.id), "amount": "1.200.000", "spent_on": "05/02/2026",
             "description": "Mua 20 bao xi măng", "document_ref": "HĐ 0001234"}))
        return commune, a, b, users, item_a.code, item_b.code


def _csv(answer) -> list[list[str]]:
    assert answer.status_code == 200, answer.text[:300]
    assert answer.content.startswith(b"\xef\xbb\xbf")  # spreadsheets read Vietnamese letters right
    return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))


def _exports(commune_id: int) -> list[dict]:
    with unit_of_work() as db:
        rows = db.execute(select(AuditEvent).where(AuditEvent.commune_id == commune_id,
                                                   AuditEvent.action == "export_private")).scalars().all()
        return [json.loads(e.payload) for e in rows]


def test_anyone_downloads_the_public_columns_of_items_without_contacts(client):
    commune, _a, _b, _users, code_a, code_b = _setup()
    rows = _csv(client.get("/exports/file?dataset=items&format=csv"))
    assert rows[0][:2] == ["Mã", "Loại"]  # Vietnamese headers by default
    assert sorted(r[0] for r in rows[1:]) == sorted([code_a, code_b])
    text = "\n".join(",".join(r) for r in rows)
    assert "0912345678" not in text and "Lê Thị Hoa" not in text
    assert "'=HYPERLINK" in text  # a typed formula stays text in a spreadsheet
    english = _csv(client.get("/exports/file?dataset=items&format=csv&lang=en"))
    assert english[0][:2] == ["Code", "Kind"]
    assert _exports(commune.id) == []


def test_an_anonymous_visitor_asking_for_private_columns_is_refused_and_nothing_is_recorded(client):
    commune, *_ = _setup()
    answer = client.get("/exports/file?dataset=items&format=csv&private=on")
    assert answer.status_code == 403
    assert "0912345678" not in answer.text
    assert _exports(commune.id) == []


def test_a_village_head_exports_contacts_of_their_own_village_only_and_it_is_audited(client):
    commune, a, _b, users, code_a, code_b = _setup()
    login(client, users["village_head"])
    rows = _csv(client.get("/exports/file?dataset=items&format=csv&private=on"))
    assert [r[0] for r in rows[1:]] == [code_a]  # village B's item is not in a private export of village A
    assert rows[1][-2:] == ["Lê Thị Hoa", "0912345678"]
    events = _exports(commune.id)
    assert events == [{"dataset": "items", "format": "csv", "rows": 1, "villages": [a.id], "since": None,
                       "until": None}]
    with unit_of_work() as db:
        assert "0912345678" not in db.execute(select(AuditEvent.payload)
                                              .where(AuditEvent.action == "export_private")).scalar_one()
        assert audit.verify(db, commune.id).ok  # the chain stays whole


def test_a_village_head_cannot_export_private_columns_of_another_village(client):
    commune, _a, b, users, *_ = _setup()
    login(client, users["village_head"])
    answer = client.get(f"/exports/file?dataset=items&format=csv&private=on&village={b.id}")
    assert answer.status_code == 403
    assert "0987654321" not in answer.text
    assert _exports(commune.id) == []


def test_a_resident_asking_for_private_columns_is_refused(client):
    commune, _a, _b, users, *_ = _setup()
    login(client, users["resident"])
    assert client.get("/exports/file?dataset=contributions&format=csv&private=on").status_code == 403
    assert _exports(commune.id) == []


def test_the_supervisor_exports_contacts_of_every_village(client):
    commune, *_rest, code_a, code_b = _setup()
    login(client, _rest[2]["supervisor"])
    rows = _csv(client.get("/exports/file?dataset=items&format=csv&private=1"))
    phones = {r[0]: r[-1] for r in rows[1:]}
    assert phones == {code_a: "0912345678", code_b: "0987654321"}
    assert _exports(commune.id)[0]["villages"] == "all"


def test_contributions_name_households_only_in_a_private_export(client):
    _commune, _a, _b, users, code_a, _ = _setup()
    public = _csv(client.get("/exports/file?dataset=contributions&format=csv&lang=en"))
    assert public[0] == ["Item", "Village", "Kind", "Pledged on", "Money (đồng)", "Quantity", "Unit",
                         "Money delivered (đồng)", "Quantity delivered", "Withdrawn"]
    assert public[1][0] == code_a and public[1][4] == "1500000" and public[1][9] == "false"
    assert "Nguyễn Văn Bình" not in "".join(public[1])
    login(client, users["village_head"])
    private = _csv(client.get("/exports/file?dataset=contributions&format=csv&private=on"))
    assert private[1][-2:] == ["H0000", "Nguyễn Văn Bình"]


def test_budget_and_spending_as_xlsx(client):
    _setup()
    answer = client.get("/exports/file?dataset=budget&format=xlsx&lang=en")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in answer.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(answer.content), read_only=True).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0][:6] == ["Item", "Village", "Source", "Budget line", "Amount (đồng)", "Spent (đồng)"]
    assert values[1][2:6] == ["community", "Xi măng và cát", 3000000, 1200000]
    spending = _csv(client.get("/exports/file?dataset=spending&format=csv&lang=en"))
    assert spending[1][2:] == ["Xi măng và cát", "1200000", "2026-02-05", "Mua 20 bao xi măng", "HĐ 0001234"]


def test_a_date_range_filters_the_rows(client):
    _setup()
    rows = _csv(client.get("/exports/file?dataset=spending&format=csv&since=06/02/2026"))
    assert len(rows) == 1  # the header only: the payment was on 05/02/2026
    rows = _csv(client.get("/exports/file?dataset=spending&format=csv&since=01/02/2026&until=05/02/2026"))
    assert len(rows) == 2


def test_a_range_over_ten_years_or_backwards_is_refused_on_the_page_with_a_message(client):
    commune, *_ = _setup()
    with unit_of_work() as db:
        events = count(db, AuditEvent)
    answer = client.get("/exports/file?dataset=items&format=csv&since=01/01/2010&until=02/01/2020&lang=en")
    assert answer.status_code == 422
    assert "An export covers at most 10 years. Please choose a shorter period." in answer.text
    assert 'value="01/01/2010"' in answer.text  # what was typed is kept
    backwards = client.get("/exports/file?dataset=items&format=csv&since=02/01/2020&until=01/01/2020")
    assert backwards.status_code == 422
    assert "Ngày cuối của khoảng thời gian ở trước ngày đầu." in backwards.text
    ten_years = client.get("/exports/file?dataset=items&format=csv&since=01/01/2010&until=01/01/2020")
    assert ten_years.status_code == 200
    with unit_of_work() as db:
        assert count(db, AuditEvent) == events


def test_unknown_dataset_format_or_village_gets_a_message_not_an_error(client):
    _setup()
    for query in ("dataset=passwords&format=csv", "dataset=items&format=pdf",
                  "dataset=items&format=csv&village=999999",
                  "dataset=items&format=csv&since=" + "9" * 4000, "village=-1"):
        answer = client.get(f"/exports/file?{query}")
        assert answer.status_code == 422, query
        assert 'role="alert"' in answer.text


def test_the_export_page_offers_private_columns_only_to_staff(client):
    _commune, _a, _b, users, *_ = _setup()
    page = client.get("/exports")
    assert page.status_code == 200 and 'name="private"' not in page.text
    assert 'href="/exports"' in client.get("/items").text
    login(client, users["village_head"])
    assert 'name="private"' in client.get("/exports").text
