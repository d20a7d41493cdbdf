"""A page holds one pooled database connection at a time: a page that took a second one while holding
its first let a burst of requests take every connection of the pool and then all wait for another
(on PostgreSQL, 16 signed-in requests at once on one worker answered 500 after 30 seconds)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from civic.db import get_engine
from tests.builders import login, make_item, setup_world


@contextmanager
def most_connections_held() -> Iterator[list[int]]:
    engine = get_engine()
    held, most = [0], [0]

    def checkout(*_args):
        held[0] += 1
        most[0] = max(most[0], held[0])

    def checkin(*_args):
        held[0] -= 1

    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)
    try:
        yield most
    finally:
        event.remove(engine, "checkout", checkout)
        event.remove(engine, "checkin", checkin)


def test_public_and_staff_pages_hold_one_connection_at_a_time(client):
    from civic.db import unit_of_work

    commune, village, _b, category, users = setup_world()
    with unit_of_work(write=True) as db:
        code = make_item(db, commune, village, category).code
    login(client, users["village_head"])
    for path in ("/", "/items", f"/items/{code}", "/triage"):
        client.get(path)  # warm: templates, catalogs
        with most_connections_held() as most:
            assert client.get(path).status_code == 200
        assert most[0] == 1, path
