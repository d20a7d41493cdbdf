"""The report pages within the page budget (30 KB compressed with their CSS and JS), with a commune of
many villages, each with items, so that the village table is as long as it gets."""

from __future__ import annotations

from civic.db import unit_of_work
from tests.builders import login, make_item, make_village, world
from tests.web.test_page_weight import BUDGET, weigh


def test_the_report_pages_stay_within_the_budget(client):
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = world(db)
        for n in range(30):
            village = make_village(db, commune, f"Thôn số {n + 1} có tên khá dài để thử", households=1)
            for stage in ("submitted", "know"):
                make_item(db, commune, village, cat, stage=stage, title="Đường liên thôn xuống cấp nặng")
    pages = [(None, "/dashboard"), (None, "/exports"), ("supervisor", "/dashboard"),
             ("supervisor", "/reports/yearly"), ("village_head", "/exports"),
             ("village_head", "/reports/yearly")]
    for who, path in pages:
        if who:
            client.cookies.clear()
            login(client, users[who])
        sizes, problems = weigh(client, path)
        assert sizes["total"] < BUDGET, (who, path, sizes)
        assert not problems, (who, path, problems)
    client.cookies.clear()
    page = client.get("/dashboard").text
    assert page.count("<tr><th scope=\"row\">Thôn số") == 20  # the 20 villages with the most items
