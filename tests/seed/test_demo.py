"""The demo data of Dân làm and Dân kiểm tra, loaded through the real services: a drainage ditch in Dân làm
with pledges from most households, deliveries, a budget and progress; an item in Dân kiểm tra with findings
and answers; a done item with verdicts; and the chain still verifies."""

from __future__ import annotations

from sqlalchemy import select

from civic.audit import service as audit
from civic.implementation import service as impl
from civic.items.models import Item
from civic.seed import demo
from civic.supervision import service as sup


def test_the_demo_shows_dan_lam_and_dan_kiem_tra(db):
    demo.load(db)
    by_title = {i.title: i for i in db.execute(select(Item)).scalars()}
    ditch = by_title[demo.DITCH_DEMO]
    assert (ditch.stage, impl.workflow_facts(db, ditch)["progress_percent"]) == ("do", 70)
    t = impl.totals(db, ditch, impl.settings_for(db, ditch))
    assert t.households_pledged > t.households_in_register * 3 // 4  # most households pledged
    assert t.kinds["land"].delivered > 0 and t.kinds["land"].needed == 1400
    assert impl.budget(db, ditch).spent > 0 and len(impl.progress(db, ditch)) >= 2

    inspected = by_title[demo.INSPECT_DEMO]
    assert inspected.stage == "inspect"
    found = sup.findings(db, inspected)
    assert {f.severity for f in found} == {"serious", "needs_fixing", "note"}
    assert all(f.answered_at for f in found)

    done = by_title[demo.VERDICT_DEMO]
    assert (done.stage, done.outcome) == ("closed", "done")
    assert sup.verdict_totals(db, done).count >= 10

    not_done = [i for i in by_title.values() if i.outcome == "not_done"]
    assert not_done and all(impl.totals(db, i).any for i in not_done)
    assert audit.verify(db, ditch.commune_id).ok
