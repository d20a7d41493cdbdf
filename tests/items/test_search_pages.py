"""A text search stops counting at a cap and says so, instead of scanning every item to count them."""

from civic.db import unit_of_work
from civic.items import service as items
from tests.builders import make_item, world


def test_search_count_stops_at_the_cap_and_the_page_says_more_than(client, monkeypatch):
    monkeypatch.setattr(items, "SEARCH_COUNT_CAP", 3)
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, _users = world(db)
        for n in range(5):
            make_item(db, commune, a, cat, title=f"Đường ngõ số {n} hỏng")
        make_item(db, commune, a, cat, title="Đèn không sáng ở chợ")
    page = client.get("/items", params={"q": "ngo so"})
    assert page.status_code == 200
    assert "Hơn 3 ý kiến" in page.text or "More than 3" in page.text
    assert page.text.count('class="card"') == 5  # all matches still listed on the first page
    exact = client.get("/items", params={"q": "den khong sang"})
    assert "Hơn" not in exact.text and exact.text.count('class="card"') == 1
