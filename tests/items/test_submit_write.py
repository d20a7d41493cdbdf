"""A submission holds the database's one writer as briefly as it can: the form is checked and everything the
item stores is computed before the writing transaction, which then only looks for a repeat (by index),
numbers the item, inserts it and appends its audit event."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, inspect, text

from civic import clock
from civic.accounts.service import Viewer
from civic.db import get_engine, unit_of_work
from civic.items import rules
from civic.items import service as items
from civic.items.models import Item
from civic.items.schemas import EditForm, SubmitForm
from tests.builders import count, item_data, setup_world, snapshot, submit_form, world

# --- the rule, folded once ----------------------------------------------------------------------------------

SENT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(("title", "body", "repeat"), [
    ("Cống bị tắc trước nhà văn hoá", "Nước tràn lên đường sau mưa lớn.", True),
    ("CỐNG BỊ TẮC  trước nhà văn hóa", " nước tràn lên đường sau mưa lớn. ", True),
    ("Cong bi tac truoc nha van hoa", "Nuoc tran len duong sau mua lon.", True),
    ("Cống bị tắc trước nhà văn hoá", "Nước tràn lên đường sau mưa nhỏ.", False),
    ("Cống bị tắc ở chợ", "Nước tràn lên đường sau mưa lớn.", False),
])
def test_a_text_folded_before_the_transaction_is_compared_as_is_repeat_compares_it(title, body, repeat):
    key = rules.text_key(title, body)
    earlier = {"earlier_title": "Cống bị tắc trước nhà văn hoá",
               "earlier_description": "Nước tràn lên đường sau mưa lớn.", "earlier_at": SENT}
    assert rules.is_repeat_of(key, SENT + timedelta(minutes=3), **earlier) is repeat
    assert rules.is_repeat_of(key, SENT + timedelta(minutes=10), **earlier) is False


# --- what the writing transaction does ---------------------------------------------------------------------

@contextmanager
def written():
    """The SQL statements run in writing transactions (civic.db.unit_of_work(write=True)) meanwhile."""
    seen: list[str] = []

    def _seen(conn, _cursor, statement, *_args):
        if conn.get_execution_options().get("civic_write"):
            seen.append(" ".join(statement.split()))

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", _seen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", _seen)


def test_the_writing_transaction_of_a_submission_reads_no_village_category_or_commune(client):
    _commune, a, _b, cat, _users = setup_world()
    form = submit_form(client, a, cat)
    with written() as seen:
        answer = client.post("/submit", data=form, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/submitted/")
    inserted = [s for s in seen if s.startswith("INSERT INTO item ")]
    assert len(inserted) == 1, seen
    read_tables = {t for s in seen if s.startswith("SELECT") for t in re.findall(r"\bFROM (\w+)", s)}
    assert not read_tables & {"village", "category", "commune"}, seen
    with unit_of_work() as db:
        assert count(db, Item) == 1


def test_a_refused_form_never_opens_a_writing_transaction(client):
    _commune, a, _b, cat, _users = setup_world()
    form = submit_form(client, a, cat, village_id="999999")
    with written() as seen:
        answer = client.post("/submit", data=form, params={"lang": "en"})
    assert answer.status_code == 422
    assert seen == []
    with unit_of_work() as db:
        assert count(db, Item) == 0


def test_a_repeat_sent_from_the_same_browser_is_still_that_item(client):
    _commune, a, _b, cat, _users = setup_world()
    first = client.post("/submit", data=submit_form(client, a, cat), follow_redirects=False)
    code = first.headers["location"].rsplit("/", 1)[-1]
    before = snapshot(code)
    again = client.post("/submit", data=submit_form(client, a, cat, contact_phone="0987654321"),
                        follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == f"/submitted/{code}"
    assert snapshot(code) == before
    with unit_of_work() as db:
        assert count(db, Item) == 1


def test_the_plan_made_before_the_transaction_gives_the_same_item_as_submit_alone(db):
    commune, a, _b, cat, _users = world(db)
    form = SubmitForm.parse(item_data(a, cat, title="Đèn đường hỏng", client_token="tok-plan"))
    plan = items.prepare_submission(db, commune, form, Viewer(), submitter="s-1")
    made = items.submit(db, commune, form, Viewer(), submitter="s-1", plan=plan)
    assert made.created and made.manage_token
    assert (made.item.title, made.item.contact_phone, made.item.search_text) == \
        ("Đèn đường hỏng", "0912345678", "den duong hong")
    # The same form again: its plan says so, and submit returns the item with the same manage link.
    again_plan = items.prepare_submission(db, commune, form, Viewer(), submitter="s-1")
    again = items.submit(db, commune, form, Viewer(), submitter="s-1", plan=again_plan)
    assert again_plan.replay and (again.item.id, again.created, again.manage_token) == \
        (made.item.id, False, made.manage_token)


# --- the look for a repeat reads by index -----------------------------------------------------------------

@pytest.mark.parametrize("who", ["contact_phone", "entered_by_id", "reporter_id"])
def test_the_look_for_a_repeat_reads_only_the_items_with_the_same_words(db, who):
    """Found by the digest's index, not the reporter's: one phone that sent a thousand items in the last
    minutes would otherwise make each of its next submissions read them all, inside the one writer."""
    indexes = {ix["name"] for ix in inspect(db.connection()).get_indexes("item")}
    assert "ix_item_text_key_created" in indexes
    assert not indexes & {"ix_item_phone_created", "ix_item_entered_by_created"}  # dropped: served only it
    if db.get_bind().dialect.name != "sqlite":  # PostgreSQL plans by its statistics
        return
    sql = str(items._MINE[who]["sqlite"].stmt.compile(dialect=db.get_bind().dialect))
    plan = " ".join(str(r[-1]) for r in db.execute(text("EXPLAIN QUERY PLAN " + sql.replace("?", "NULL"))))
    assert plan.count("USING INDEX ix_item_text_key_created (text_key_sha256=? AND created_at>?)") == 2, plan


def test_a_submission_runs_the_look_that_names_the_digest_index(db):
    commune, a, _b, cat, _users = world(db)
    seen: list[str] = []

    def keep(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(get_engine(), "before_cursor_execute", keep)
    try:
        form = SubmitForm.parse(item_data(a, cat, client_token="tok-look"))
        made = items.submit(db, commune, form, Viewer(), submitter="s-1")
    finally:
        event.remove(get_engine(), "before_cursor_execute", keep)
    assert made.created
    looks = [s for s in seen if "UNION ALL" in s and "text_key_sha256" in s]
    assert len(looks) == 1 and "contact_phone = " in looks[0], seen


# --- the look for a repeat reads by the digest of the words (migration 0015r) -----------------------------

def _send(db, commune, village, cat, title: str, body: str = "Nước tràn lên đường sau mưa lớn.",
          token: str = "tok-first"):
    form = SubmitForm.parse(item_data(village, cat, title=title, description=body, client_token=token))
    return items.submit(db, commune, form, Viewer(), submitter="s-1")


def test_a_repeat_follows_the_words_an_item_has_now(db):
    """The digest the look reads by is kept whenever the words change: a repeat of an edited item is a
    repeat of its new words, not its old ones."""
    clock.freeze(SENT)
    commune, a, _b, cat, _users = world(db)
    first = _send(db, commune, a, cat, "Cống bị tắc trước nhà văn hoá")
    assert first.item.text_key_sha256 == rules.text_digest(rules.text_key(first.item.title,
                                                                          first.item.description))
    items.edit(db, first.item, Viewer(), EditForm.parse({"title": "Cống ngõ 3 bị tắc",
                                                          "description": "Nước tràn ra đường."}),
               is_author=True)
    clock.advance(timedelta(minutes=2))
    again = _send(db, commune, a, cat, "CỐNG NGÕ 3 BỊ TẮC", "nước tràn ra  đường.", token="tok-again")
    assert (again.repeat, again.item.id) == (True, first.item.id)
    old_words = _send(db, commune, a, cat, "Cống bị tắc trước nhà văn hoá", token="tok-old")
    assert old_words.created and old_words.item.id != first.item.id


def test_an_item_sent_before_words_had_a_digest_is_still_found_as_a_repeat(db):
    clock.freeze(SENT)
    commune, a, _b, cat, _users = world(db)
    first = _send(db, commune, a, cat, "Đèn đường ngõ 5 không sáng")
    db.execute(text("UPDATE item SET text_key_sha256 = NULL WHERE id = :i"), {"i": first.item.id})
    db.expire_all()
    clock.advance(timedelta(minutes=3))
    again = _send(db, commune, a, cat, "đèn đường ngõ 5 không sáng", token="tok-again")
    assert (again.repeat, again.item.id) == (True, first.item.id)
