"""A worker works on one posted form at a time on SQLite (civic.web.deps.write_turns): SQLite writes one
transaction at a time, and a second form of the same worker would only take the interpreter from the one
writing. The forms that wait hold no thread: the worker serves pages meanwhile. On PostgreSQL forms are not
held back; CIVIC_WRITERS sets the number."""

from __future__ import annotations

import threading

import anyio
import httpx

from civic.config import get_settings
from civic.db import is_sqlite, unit_of_work
from civic.items.models import Item
from civic.main import create_app
from civic.web import forms
from tests.builders import count, csrf_from, setup_world

FORMS = 4


def _post_forms_while_held(monkeypatch, app) -> tuple[int, int, list[int]]:
    """FORMS submissions sent at once, each held inside its work until a page has been asked for: the most
    forms worked on at once, the page's status, and the forms' answers."""
    _commune, village, _other, category, _users = setup_world()
    working, most = [0], [0]
    count_lock, release = threading.Lock(), threading.Event()
    real = forms._handle

    def held(*args, **kwargs):
        with count_lock:
            working[0] += 1
            most[0] = max(most[0], working[0])
        try:
            release.wait(10)
            return real(*args, **kwargs)
        finally:
            with count_lock:
                working[0] -= 1

    monkeypatch.setattr(forms, "_handle", held)
    answers: list[int] = []

    async def run() -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://civic.test") as web:
            token = csrf_from((await web.get("/submit")).text)

            async def send(n: int) -> None:
                answer = await web.post("/submit", data={
                    "csrf_token": token, "client_token": f"turns-{n}", "kind": "concern",
                    "village_id": village.id, "category_id": category.id,
                    "title": f"Cống số {n} bị tắc", "description": "Nước tràn ra đường khi mưa.",
                    "contact_phone": "0912345678"})
                answers.append(answer.status_code)

            async with anyio.create_task_group() as senders:
                for n in range(FORMS):
                    senders.start_soon(send, n)
                await anyio.sleep(0.3)  # the event loop's time, for every form to reach its turn
                try:
                    with anyio.fail_after(5):
                        status = (await web.get("/items")).status_code
                finally:
                    release.set()
            return status

    # A thread of its own: an earlier test may have left an event loop running in this one.
    outcome: list = []
    runner = threading.Thread(target=lambda: outcome.append(anyio.run(run)))
    runner.start()
    runner.join(60)
    assert outcome, "the forms and the page did not finish"
    return most[0], outcome[0], answers


def test_one_form_at_a_time_by_default_on_sqlite_none_held_back_on_postgresql(monkeypatch, app):
    most, status, answers = _post_forms_while_held(monkeypatch, app)
    assert status == 200  # the page was served while the forms waited
    assert sorted(answers) == [303] * FORMS
    with unit_of_work() as db:
        assert count(db, Item) == FORMS
    assert most == (1 if is_sqlite(get_settings().database_url) else FORMS)


def test_civic_writers_sets_how_many_forms_a_worker_works_on_at_once(monkeypatch):
    monkeypatch.setattr(get_settings(), "writers", 2)
    most, status, answers = _post_forms_while_held(monkeypatch, create_app())
    assert status == 200
    assert sorted(answers) == [303] * FORMS
    assert most == 2

