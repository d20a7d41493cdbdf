"""The demo commune's households come from the bundled register file, through the import an office uses."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlmodel import col

from civic import clock
from civic.areas import register
from civic.areas.models import Household, Village
from civic.audit.models import AuditEvent
from civic.seed import demo


def test_the_demo_loads_its_households_from_the_bundled_register(db):
    demo.load(db)
    rows = db.execute(select(Village.slug, Household.code, Household.head_name, Household.active_to)
                      .join(Village, col(Village.id) == col(Household.village_id))).all()
    expected = {slug: count for _name, slug, _kind, count in demo.VILLAGES}
    assert {slug: sum(1 for r in rows if r[0] == slug) for slug in expected} == expected
    codes = {r[1] for r in rows}
    assert {"HU-001", "HU-064", "TA-112", "DO-047", "QU-088"} <= codes
    assert all(r[2] for r in rows)  # every household has its head's name from the file
    assert sum(1 for r in rows if r[3] is not None) == 2 * len(demo.VILLAGES)  # the leavers of the demo
    [event] = db.execute(select(AuditEvent).where(col(AuditEvent.action) == "register_imported")).scalars()
    assert json.loads(event.payload)["added"] == sum(expected.values())
    # the demo register, exported with its leavers and imported again, is unchanged
    commune_id = db.execute(select(Village.commune_id)).scalars().first()
    known = register.villages(db, commune_id)
    exported = register.to_xlsx(register.export_rows(db, [v.id for v in known]))
    today = clock.today_local()
    plan = register.preview(db, register.read(exported, known, None, today), today)
    assert plan.counts() == {"added": 0, "changed": 0, "left": 0, "unchanged": len(rows), "bad_rows": 0}
