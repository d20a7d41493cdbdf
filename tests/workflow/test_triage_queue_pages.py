"""The triage queue in pages: one page of the oldest new items at a time, and how many wait in all."""

from __future__ import annotations

import re
from datetime import timedelta

from civic import clock
from civic.db import unit_of_work
from civic.items.models import Item
from civic.workflow import service as workflow
from tests.builders import login, make_item, setup_world, viewer


def codes(client, path: str) -> list[str]:
    page = client.get(path)
    assert page.status_code == 200
    return re.findall(r'<a class="card-title" href="/triage/([^"]+)">', page.text)


def test_a_long_queue_comes_in_pages_oldest_first(client):
    commune, a, b, cat, users = setup_world()
    made = []
    with unit_of_work(write=True) as db:
        for n in range(workflow.QUEUE_PAGE + 3):
            made.append(make_item(db, commune, a, cat, title=f"Phản ánh số {n}").code)
            clock.advance(timedelta(minutes=5))
        make_item(db, commune, b, cat, title="Phản ánh của thôn khác")
    login(client, users["village_head"])
    first = client.get("/triage")
    assert "53 phản ánh mới đang chờ" in first.text
    assert codes(client, "/triage") == made[:workflow.QUEUE_PAGE]
    assert 'href="/triage?page=2"' in first.text
    assert codes(client, "/triage?page=2") == made[workflow.QUEUE_PAGE:]
    # A page past the end shows the last one; a page number that is not one gets a clear refusal.
    assert codes(client, "/triage?page=9") == made[workflow.QUEUE_PAGE:]
    refused = client.get("/triage?page=abc")
    assert refused.status_code == 422
    assert "<html" in refused.text


def test_the_queue_page_stays_small(client):
    commune, a, _b, cat, users = setup_world()
    with unit_of_work(write=True) as db:
        for n in range(workflow.QUEUE_PAGE + 10):
            make_item(db, commune, a, cat, title=f"Đường ngõ {n} nhiều ổ gà, trời mưa lầy lội khó đi")
    login(client, users["village_head"])
    page = client.get("/triage?lang=vi")
    assert len(page.content) < 30_000
    assert len(codes(client, "/triage?lang=vi")) == workflow.QUEUE_PAGE
    assert "60 new items wait" in client.get("/triage?lang=en").text


def test_the_number_waiting_follows_triage(client):
    commune, a, _b, cat, users = setup_world()
    with unit_of_work(write=True) as db:
        made = [make_item(db, commune, a, cat, title=f"Phản ánh số {n}") for n in range(3)]
    login(client, users["village_head"])
    assert "3 new items wait" in client.get("/triage?lang=en").text
    with unit_of_work(write=True) as db:
        head = viewer(db, users["village_head"])
        workflow.transition(db, db.get(Item, made[0].id), "accept", head)
    assert "2 new items wait" in client.get("/triage?lang=en").text
