"""Merging commune A into commune B (as in the 2025 reorganisation): A's items keep their codes and pages,
its villages continue in B with their households from the merge date (past counts unchanged), A's staff
roles end on that date, A's audit chain is closed with a final checkpoint that B's chain records, and new
submissions to A are refused with a message naming B."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from civic.accounts.models import RoleGrant, User
from civic.areas import service as areas
from civic.areas.models import Commune, Household, HouseholdMember, Village
from civic.audit import service as audit
from civic.audit.models import AuditEvent, AuditHead
from civic.db import unit_of_work
from civic.errors import Conflict, Invalid
from civic.items.models import Category
from civic.setup import communes as operators
from tests.builders import (
    csrf_from,
    hidden_value,
    item_data,
    make_category,
    make_commune,
    make_item,
    make_user,
    make_village,
    viewer,
)

ON = date(2026, 7, 1)


def _two():
    with unit_of_work(write=True) as db:
        a = make_commune(db, "TB", "Tân Bình")
        b = make_commune(db, "DH", "Đông Hưng")
        va = make_village(db, a, "Phú Lợi", households=4)
        va2 = make_village(db, a, "Đồng Tâm", households=2)
        vb = make_village(db, b, "Đồng Tâm", households=3)  # the same name as one of A's villages
        ca = make_category(db, a)
        make_category(db, b)
        item = make_item(db, a, va, ca, stage="know", title="Đèn đường hỏng ở Phú Lợi")
        head_a = make_user(db, "village_head", commune=a, village=va, name="Trưởng Thôn Phú Lợi")
        admin_a = make_user(db, "admin", commune=a, name="Quản Trị Tân Bình")
        resident = make_user(db, "resident", commune=a, village=va, name="Dân Phú Lợi")
        first = db.execute(select(Household).where(Household.village_id == va.id)
                           .order_by(Household.code)).scalars().first()
        db.add(HouseholdMember(household_id=first.id, user_id=resident.id, is_representative=True))
        operator = make_user(db, "operator", commune=b, name="Sở Nội Vụ")
        return {"a": a.id, "b": b.id, "va": va.id, "va2": va2.id, "vb": vb.id, "item": item.code,
                "head_a": head_a.id, "admin_a": admin_a.id, "resident": resident.id, "operator": operator.id}


def _merge(t):
    with unit_of_work(write=True) as db:
        operator = viewer(db, db.get(User, t["operator"]))
        return operators.merge_communes(db, t["a"], t["b"], ON, viewer=operator)


def test_villages_continue_in_b_and_past_counts_stay():
    t = _two()
    merged = _merge(t)
    # Two villages, six households; the head, the admin and the head make_item made leave their roles.
    assert (merged.villages, merged.households, merged.roles_ended) == (2, 6, 3)
    with unit_of_work() as db:
        old = db.get(Village, t["va"])
        new = db.get(Village, old.merged_into_id)
        assert new.commune_id == t["b"] and new.name == "Phú Lợi" and old.merged_on == ON
        clash = db.get(Village, db.get(Village, t["va2"]).merged_into_id)
        assert clash.name == "Đồng Tâm (Tân Bình)" and clash.commune_id == t["b"]
        # Every vote before the merge keeps its denominator; from the merge the households count in B.
        assert areas.active_households(db, t["va"], date(2026, 6, 30)) == 4
        assert areas.active_households(db, t["va"], ON) == 0
        assert areas.active_households(db, new.id, ON) == 4
        assert areas.active_households(db, new.id, date(2026, 6, 30)) == 0
        assert areas.active_households(db, t["vb"], ON) == 3
        # The household's representative is its representative in B too.
        moved = db.execute(select(Household).where(Household.village_id == new.id)
                           .order_by(Household.code)).scalars().first()
        rep = db.execute(select(HouseholdMember).where(HouseholdMember.household_id == moved.id)).scalar_one()
        assert rep.user_id == t["resident"] and rep.is_representative
        # A's staff roles end on the merge date; the resident's role continues in B's village.
        grants = {(g.user_id, g.commune_id): g for g in db.execute(select(RoleGrant)).scalars()}
        assert grants[(t["head_a"], t["a"])].ends_on == ON and grants[(t["admin_a"], t["a"])].ends_on == ON
        assert (t["head_a"], t["b"]) not in grants
        assert grants[(t["resident"], t["a"])].ends_on == ON
        assert grants[(t["resident"], t["b"])].village_id == new.id
        assert grants[(t["resident"], t["b"])].starts_on == ON
        # A is listed as merged into B.
        a = db.get(Commune, t["a"])
        assert a.merged_into_id == t["b"] and a.merged_on == ON


def test_a_chain_closed_and_linked_from_b():
    t = _two()
    merged = _merge(t)
    with unit_of_work() as db:
        last = db.execute(select(AuditEvent).where(AuditEvent.commune_id == t["a"])
                          .order_by(AuditEvent.seq.desc())).scalars().first()
        assert last.action == "commune_merged_into" and last.seq == merged.final_seq
        assert last.hash == merged.final_hash
        assert db.get(AuditHead, t["a"]).closed
        record = db.execute(select(AuditEvent).where(AuditEvent.commune_id == t["b"],
                                                     AuditEvent.action == "commune_merged_from")).scalar_one()
        assert f'"closed_hash":"{merged.final_hash}"' in record.payload
        assert audit.verify(db, t["a"]).ok and audit.verify(db, t["b"]).ok
        assert audit.merge_link_problem(db, t["a"], t["b"], "TB") is None
        for payload in (record.payload, last.payload):  # counts and codes only: no names, no phones
            assert "Dân Phú Lợi" not in payload and "Trưởng Thôn" not in payload
            assert not re.search(r"\b0\d{9}\b", payload)
    # The closed chain takes no more events: every change in A is refused.
    with unit_of_work(write=True) as db, pytest.raises(Conflict):
        audit.record(db, commune_id=t["a"], action="comment_added", payload={})


def test_verify_names_a_broken_link():
    t = _two()
    _merge(t)
    with unit_of_work(write=True) as db:  # someone reopens A's chain and appends behind its checkpoint
        db.get(AuditHead, t["a"]).closed = False
        db.flush()
        audit.record(db, commune_id=t["a"], action="item_submitted", payload={})
    with unit_of_work() as db:
        assert "does not end with its merge event" in audit.merge_link_problem(db, t["a"], t["b"], "TB")


def test_merge_refusals_change_nothing():
    t = _two()
    with unit_of_work(write=True) as db:
        with pytest.raises(Invalid):
            operators.merge_communes(db, t["a"], t["a"], ON)
    _merge(t)
    with unit_of_work(write=True) as db:
        with pytest.raises(Conflict):
            operators.merge_communes(db, t["a"], t["b"], ON)  # A was merged already
        c = make_commune(db, "XY", "Xã Yên")
        with pytest.raises(Invalid):
            operators.merge_communes(db, c.id, t["a"], ON)  # into a commune that was merged
    with unit_of_work() as db:
        assert db.get(Commune, t["b"]).merged_into_id is None


def test_items_keep_their_pages_and_new_submissions_go_to_b(client):
    t = _two()
    _merge(t)
    page = client.get(f"/c/TB/items/{t['item']}")
    assert page.status_code == 200 and "Đèn đường hỏng ở Phú Lợi" in page.text
    assert client.get(f"/items/{t['item']}").status_code == 200
    form = client.get("/c/TB/submit?lang=en")
    with unit_of_work() as db:
        village = db.get(Village, t["va"])
        cat = db.execute(select(Category).where(Category.commune_id == t["a"])).scalars().first()
    data = item_data(village, cat, title="Ổ gà mới")
    data["csrf_token"] = csrf_from(form.text)
    data["client_token"] = hidden_value(form.text, "client_token")
    sent = client.post("/c/TB/submit?lang=en", data=data, follow_redirects=False)
    assert sent.status_code == 422
    assert "was merged into Đông Hưng on 01/07/2026" in sent.text
    picker = client.get("/?lang=en")
    assert "merged into Đông Hưng" in picker.text and 'href="/c/DH/"' in picker.text
