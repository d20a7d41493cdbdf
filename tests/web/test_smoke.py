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


def test_head_answers_like_get_without_a_body(client):
    from civic.db import unit_of_work

    with unit_of_work(write=True) as db:
        world(db)
    for path in ("/", "/items", "/healthz", "/sw.js"):
        get, head = client.get(path), client.head(path)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b"", path
        assert head.headers["content-type"] == get.headers["content-type"], path
    assert client.head("/items/NS-2020-9999").status_code == 404
