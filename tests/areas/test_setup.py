"""Setting a commune up from zero on the pages: an empty site leads to /setup, which asks for the one-time
code printed in the server's log (and by `civic setup-code`), then makes the commune and its first
administrator, who is logged in and lands on the villages page."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from civic.accounts.models import RoleGrant, User
from civic.areas.models import Commune
from civic.audit.models import AuditEvent
from civic.db import unit_of_work
from civic.setup import service as setup
from civic.setup.models import SetupNonce
from tests.builders import csrf_from, setup_world

PASSWORD = "ruộng lúa mùa thu"


def the_code() -> str:
    with unit_of_work(write=True) as db:
        code = setup.code(db)
    assert code is not None
    return code


def setup_data(page_html: str, setup_code: str, /, **over: str) -> dict[str, str]:
    data = {"csrf_token": csrf_from(page_html), "setup_code": setup_code, "name": "Nhạo Sơn", "code": "ns",
            "kind": "xa", "province": "Phú Thọ", "admin_name": "Nguyễn Thị Hoa",
            "admin_phone": "0912 345 678", "password": PASSWORD, "password_again": PASSWORD}
    data.update(over)
    return data


def counts() -> tuple[int, int, int]:
    with unit_of_work() as db:
        return (db.execute(select(func.count()).select_from(Commune)).scalar_one(),
                db.execute(select(func.count()).select_from(User)).scalar_one(),
                db.execute(select(func.count()).select_from(RoleGrant)).scalar_one())


def test_an_empty_site_sends_the_first_visitor_to_setup(client):
    home = client.get("/", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/setup"
    page = client.get("/")
    assert page.status_code == 200
    assert "Thiết lập civic cho xã của bạn" in page.text and 'name="setup_code"' in page.text
    assert len(page.content) < 30_000
    english = client.get("/setup?lang=en")
    assert "Set up civic for your commune" in english.text
    assert client.get("/items", follow_redirects=False).headers["location"] == "/setup"


def test_the_code_is_in_the_servers_log_at_start_up(app, caplog):
    with caplog.at_level(logging.WARNING, logger="civic"), TestClient(app):
        pass
    code = the_code()
    assert any(code in r.getMessage() and "/setup" in r.getMessage() for r in caplog.records)
    with unit_of_work() as db:
        nonce = db.execute(select(SetupNonce)).scalar_one()
    assert code.replace("-", "") not in nonce.nonce.upper()  # the code itself is not stored


def test_setup_makes_the_commune_and_its_admin_who_is_logged_in(client):
    page = client.get("/setup")
    code = the_code()
    done = client.post("/setup", data=setup_data(page.text, code.lower().replace("-", " ")),
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/admin/villages"
    villages = client.get("/admin/villages")
    assert villages.status_code == 200
    assert "Nhạo Sơn đã được thiết lập" in villages.text
    assert "Thôn, tổ dân phố của Nhạo Sơn" in villages.text
    with unit_of_work() as db:
        commune = db.execute(select(Commune)).scalar_one()
        assert (commune.code, commune.kind, commune.province) == ("NS", "xa", "Phú Thọ")
        grant = db.execute(select(RoleGrant)).scalar_one()
        assert (grant.role, grant.commune_id, grant.village_id) == ("admin", commune.id, None)
        user = db.get(User, grant.user_id)
        assert user is not None and user.phone == "0912345678" and user.display_name == "Nguyễn Thị Hoa"
        events = db.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
        assert [e.action for e in events] == ["commune_created", "role_granted", "site_set_up"]
        assert not any("0912345678" in str(e.payload) or "Hoa" in str(e.payload) for e in events)
        assert db.execute(select(SetupNonce)).first() is None
    # After set-up the page and the code are gone.
    assert client.get("/setup").status_code == 404
    again = client.post("/setup", data=setup_data(page.text, code, code="XY"))
    assert again.status_code == 404
    assert counts() == (1, 1, 1)
    assert client.get("/", follow_redirects=False).status_code == 200


def test_setup_is_404_once_a_commune_exists(client):
    setup_world()
    page = client.get("/setup")
    assert page.status_code == 404
    assert "đã được thiết lập" in page.text
    assert client.get("/", follow_redirects=False).status_code == 200


@pytest.mark.parametrize(("over", "field_text"), [
    ({"setup_code": "AAAA-BBBB-CCCC"}, "Mã thiết lập không đúng"),
    ({"setup_code": ""}, "Vui lòng nhập mã thiết lập"),
    ({"code": "N S"}, "Mã xã phải có từ 2 đến 8 chữ cái"),
    ({"code": "ĐS"}, "Mã xã phải có từ 2 đến 8 chữ cái"),
    ({"code": "NHAOSONXA"}, "Mã xã phải có từ 2 đến 8 chữ cái"),
    ({"name": "   "}, "Vui lòng nhập tên xã"),
    ({"kind": "huyen"}, "Vui lòng chọn xã, phường hoặc đặc khu"),
    ({"province": ""}, "Vui lòng nhập tỉnh, thành phố"),
    ({"admin_name": ""}, "Vui lòng nhập họ tên"),
    ({"admin_phone": "12345"}, "Số điện thoại di động không hợp lệ"),
    ({"password": "short", "password_again": "short"}, "ít nhất 8 ký tự"),
    ({"password": "password123", "password_again": "password123"}, "quá phổ biến"),
    ({"password_again": "something else"}, "Hai mật khẩu không khớp nhau"),
])
def test_bad_setup_input_changes_nothing(client, over, field_text):
    page = client.get("/setup")
    code = the_code()
    answer = client.post("/setup", data=setup_data(page.text, code, **over))
    assert answer.status_code == 422, answer.text[:300]
    assert field_text in answer.text
    assert counts() == (0, 0, 0)
    assert 'value="Nhạo Sơn"' in answer.text or over.get("name") is not None  # what was typed comes back
    assert PASSWORD not in answer.text and code not in answer.text
    assert client.get("/", follow_redirects=False).headers["location"] == "/setup"


def test_markup_in_the_commune_name_is_shown_as_text(client):
    page = client.get("/setup")
    refused = client.post("/setup", data=setup_data(page.text, the_code(), name="<b>Xã</b> Một", code="?"))
    assert refused.status_code == 422
    assert "&lt;b&gt;Xã&lt;/b&gt; Một" in refused.text and "<b>Xã</b>" not in refused.text
    client.post("/setup", data=setup_data(page.text, the_code(), name="<b>Xã</b> Một",
                                          province="<i>Tỉnh</i>", admin_name="<s>Hoa</s>"))
    for path in ("/admin/villages", "/"):
        shown = client.get(path)
        assert shown.status_code == 200
        assert "&lt;b&gt;Xã&lt;/b&gt; Một" in shown.text and "<b>Xã</b>" not in shown.text, path
        assert "<i>Tỉnh</i>" not in shown.text and "<s>Hoa</s>" not in shown.text, path


def test_guessing_the_code_is_throttled(client):
    page = client.get("/setup")
    code = the_code()
    statuses = [client.post("/setup", data=setup_data(page.text, f"WRONG-{n:04d}")).status_code
                for n in range(20)]
    assert statuses[0] == 422
    assert statuses[-1] == 429
    assert statuses.count(422) <= 10
    refused = client.post("/setup", data=setup_data(page.text, code))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "thử quá nhiều lần" in refused.text
    assert counts() == (0, 0, 0)


def test_the_code_from_civic_setup_code_opens_setup(client):
    """The code printed by the command, run in its own process on this test database, is the one the
    page takes."""
    page = client.get("/setup")
    run = subprocess.run([str(Path(sys.executable).with_name("civic")), "setup-code"], capture_output=True,
                         text=True, env=dict(os.environ), timeout=120)
    assert run.returncode == 0, run.stderr
    done = client.post("/setup", data=setup_data(page.text, run.stdout.strip()), follow_redirects=False)
    assert done.status_code == 303
    assert counts() == (1, 1, 1)


def test_the_code_is_tied_to_the_secret_and_read_loosely():
    from civic.setup import rules

    code = rules.derive("secret one", "nonce")
    assert code != rules.derive("secret two", "nonce") and code != rules.derive("secret one", "other")
    assert rules.matches(code, rules.shown(code).lower())
    assert rules.matches(code, " ".join(rules.shown(code).split("-")))
    assert not rules.matches(code, code[:-1]) and not rules.matches(code, "")
