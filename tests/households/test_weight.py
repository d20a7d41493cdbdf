"""The households pages stay small: under 30 KB compressed with their CSS, like every page; a sheet of four
claim letters too, and a whole village's letters grow by a small, fixed amount a letter."""

from __future__ import annotations

from datetime import date

from civic.areas.models import Household
from civic.db import unit_of_work
from tests.builders import csrf_token, login, make_household_rep, world
from tests.web.test_page_weight import BUDGET, sent_size, weigh


def _world():
    with unit_of_work(write=True) as db:
        commune, a, b, cat, users = world(db)
        for n in range(10, 40):
            db.add(Household(village_id=a.id, code=f"H{n:04d}", head_name=f"Nguyễn Thị Chủ Hộ {n}",
                             active_from=date(2020, 1, 1)))
        rep = make_household_rep(db, a, 0, name="Trần Văn Đại Diện")
        return a, users, rep


def _letters(client, village_id: int, codes: str = "") -> tuple[int, int]:
    token = csrf_token(client, "/households/letters")
    page = client.post("/households/letters", headers={"Accept-Encoding": "gzip"},
                       data={"csrf_token": token, "village_id": str(village_id), "codes": codes})
    assert page.status_code == 200
    css = sum(sent_size(client.get(u, headers={"Accept-Encoding": "gzip"}))
              for u in ("/static/civic.css", "/static/letters.css"))
    return sent_size(page), css


def test_households_pages_and_letters_are_small(client):
    a, users, rep = _world()
    login(client, rep)
    for path in ("/household", "/household/claim", "/household/join"):
        sizes, problems = weigh(client, path)
        print(f"\n{path}: {sizes['total']} B with CSS and JS (compressed)", end="")
        assert sizes["total"] < BUDGET and not problems, (path, sizes, problems)
    login(client, users["village_head"])
    for path in ("/households/letters", "/households/requests"):
        sizes, problems = weigh(client, path)
        print(f"\n{path}: {sizes['total']} B with CSS and JS (compressed)", end="")
        assert sizes["total"] < BUDGET and not problems, (path, sizes, problems)
    sheet, css = _letters(client, a.id, "H0000 H0001 H0002 H0003")
    assert sheet + css < BUDGET, (sheet, css)
    village, _css = _letters(client, a.id)
    per_letter = (village - sheet) / 36
    print(f"\nclaim letters: a sheet of 4 = {sheet} B + css {css} B; 40 letters = {village} B; "
          f"about {per_letter:.0f} B a further letter (compressed)")
    assert per_letter < 2500
