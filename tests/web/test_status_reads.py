"""The status page reads plain rows (civic.db.Plain): every item of the demo, in every stage and outcome,
with pledges, a budget, a board, findings, verdicts and a duplicate, is shown without one statement going
through the ORM, whose layer costs more than the reads themselves (docs/scaling.md)."""

from __future__ import annotations

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from civic.db import get_engine, unit_of_work
from civic.items.models import Item
from civic.seed import demo


def test_every_status_page_of_the_demo_reads_no_row_through_the_orm(client):
    with unit_of_work(write=True) as db:
        demo.load(db)
    with unit_of_work() as db:
        shown = {(i.code, i.stage, i.outcome, bool(i.duplicate_of_id))
                 for i in db.execute(select(Item)).scalars()}
    stages = {stage for _c, stage, _o, _d in shown}
    assert stages >= {"submitted", "know", "discuss", "do", "inspect", "closed"}
    assert {outcome for *_x, outcome, _d in shown} >= {"done", "not_done", "rejected", "duplicate"}
    assert any(duplicate for *_x, duplicate in shown)

    through_orm: list[str] = []
    statements: list[str] = []

    def orm(state) -> None:
        through_orm.append(str(state.statement).split("\n")[0][:80])

    def cursor(_conn, _cur, statement, *_args) -> None:
        statements.append(statement)

    event.listen(Session, "do_orm_execute", orm)
    event.listen(get_engine(), "before_cursor_execute", cursor)
    try:
        for code, stage, outcome, _d in sorted(shown):
            through_orm.clear()
            statements.clear()
            page = client.get(f"/items/{code}")
            assert page.status_code == 200, code
            assert len(statements) > 5, (code, "the page was not read afresh")
            assert through_orm == [], (code, stage, outcome, through_orm)
    finally:
        event.remove(Session, "do_orm_execute", orm)
        event.remove(get_engine(), "before_cursor_execute", cursor)
