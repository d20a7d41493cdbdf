from tests.builders import make_item, world


def test_home_lists_items_by_stage(client):
    from civic.db import unit_of_work

    with unit_of_work(write=True) as db:
        commune, a, _b, cat, _users = world(db)
        make_item(db, commune, a, cat, stage="know", title="Đèn đường ngõ ba không sáng")
    page = client.get("/")
    assert page.status_code == 200
    assert "Đèn đường ngõ ba không sáng" in page.text
    assert "Dân biết" in page.text
