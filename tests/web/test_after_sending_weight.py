"""The pages of after sending stay within the 30 KB budget (HTML as sent, gzip, plus linked CSS and JS):
the form with a proposal's fields, the receipt with its QR code, the manage page with additions, and the
status page as staff see it with the edit history."""

from __future__ import annotations

import re

from civic.db import unit_of_work
from civic.items.models import Item
from tests.builders import login, photo_bytes, setup_world, submit_form
from tests.web.test_page_weight import BUDGET, weigh

MANAGE_RE = re.compile(r'(?:http://testserver)?(/m/[A-Za-z0-9_-]{16,})')
LONG = ("Sau mỗi trận mưa lớn nước tràn lên mặt đường, ngập sâu khoảng 30 cm, học sinh và người đi xe máy "
        "phải đi vòng. Cống đã bị tắc từ tháng trước do bùn đất và rác.\n") * 6


def test_after_sending_pages_are_under_30_kb(client, subtests):
    _commune, a, _b, cat, users = setup_world()
    sent = client.post("/submit", data=submit_form(client, a, cat, kind="proposal", description=LONG,
                                                    money_amount="1.500.000", land_area="20"),
                       follow_redirects=True)
    manage = MANAGE_RE.search(sent.text).group(1)
    with unit_of_work() as db:
        code = db.query(Item).one().code
    secret = manage.rsplit("/", 1)[1]
    for n in range(3):
        page = client.get(manage).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        added = client.post(f"/items/{code}/add", data={"csrf_token": token, "manage_token": secret,
                                                        "body": LONG[: 600]}, follow_redirects=False,
                            files=[("photos", (f"p{n}.jpg", photo_bytes((800, 600)), "image/jpeg"))])
        assert added.status_code == 303
        if n < 2:
            edited = client.post(f"/items/{code}/amend", follow_redirects=False,
                                 data={"csrf_token": token, "manage_token": secret,
                                       "title": f"Cống bị tắc, lần sửa {n + 1}",
                                       "description": LONG + f" Sửa {n + 1}."})
            assert edited.status_code == 303
    pages = [("submit form", "/submit"), ("receipt (QR code)", f"/submitted/{code}"),
             ("manage page, 3 additions", manage), ("status page, public", f"/items/{code}")]
    table = []
    for name, path in pages:
        with subtests.test(msg=name):
            sizes, problems = weigh(client, path)
            table.append(f"{name:28} {sizes['total']:6} B")
            assert sizes["total"] < BUDGET, f"{name} weighs {sizes['total']} B"
            assert not problems, problems
    login(client, users["village_head"])
    staff = client.get(f"/items/{code}").text
    assert staff.count("lần sửa") >= 2 and "Lịch sử sửa đổi" in staff
    sizes, _problems = weigh(client, f"/items/{code}")
    table.append(f"{'status page, staff (edits)':28} {sizes['total']:6} B")
    assert sizes["total"] < BUDGET
    print("\nafter sending, page weight (as sent, compressed):\n" + "\n".join(table))
