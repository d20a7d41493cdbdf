"""Login and registration throttling, registration that does not tell who has an account, common
passwords refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from civic import clock
from civic.accounts import service as accounts
from civic.accounts.models import User
from civic.config import get_settings
from civic.db import unit_of_work
from civic.main import create_app
from tests.builders import PASSWORD, count, csrf_token, setup_world

WAIT_VI = "Bạn đã thử quá nhiều lần. Vui lòng đợi 15 phút rồi thử lại."


def try_login(client, phone: str, password: str = "sai-mat-khau-roi"):
    data = {"csrf_token": csrf_token(client), "phone": phone, "password": password}
    return client.post("/login", data=data, follow_redirects=False)


@pytest.fixture
def argon2_calls(monkeypatch):
    """How many times a password was verified or hashed."""
    calls = []
    verify, hash_ = accounts.verify_password, accounts.hash_password
    monkeypatch.setattr(accounts, "verify_password", lambda *a: calls.append("verify") or verify(*a))
    monkeypatch.setattr(accounts, "hash_password", lambda *a: calls.append("hash") or hash_(*a))
    # The hash an unknown phone is checked against, at the tests' small argon2 cost.
    monkeypatch.setattr(accounts, "_DUMMY_HASH", accounts._hasher.hash("not-a-real-password"))
    return calls


def test_five_wrong_passwords_for_a_phone_then_429_even_for_the_right_one(client, argon2_calls):
    _c, _a, _b, _cat, users = setup_world()
    phone = users["resident"].phone
    for _ in range(5):
        assert try_login(client, phone).status_code == 422
    assert argon2_calls.count("verify") == 5
    answer = try_login(client, phone, PASSWORD)
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == str(15 * 60)
    assert WAIT_VI in answer.text
    assert answer.headers["content-language"] == "vi"
    assert argon2_calls.count("verify") == 5, "no argon2 work while throttled"
    # Another phone from the same browser is not blocked by this phone's count.
    assert try_login(client, users["village_head"].phone, PASSWORD).status_code == 303


def test_the_wait_is_in_english_for_an_english_reader_and_ends_with_the_window(client, monkeypatch):
    _c, _a, _b, _cat, users = setup_world()
    monkeypatch.setattr(get_settings(), "login_failures_per_phone", 2)
    client.get("/lang/en")
    phone = users["resident"].phone
    try_login(client, phone)
    try_login(client, phone)
    clock.advance(timedelta(minutes=5))
    answer = try_login(client, phone, PASSWORD)
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == str(10 * 60)
    assert "You have tried too many times. Please wait 10 minutes and try again." in answer.text
    clock.advance(timedelta(minutes=10))
    assert try_login(client, phone, PASSWORD).status_code == 303


def test_a_success_resets_the_phones_count(client, monkeypatch):
    _c, _a, _b, _cat, users = setup_world()
    monkeypatch.setattr(get_settings(), "login_failures_per_phone", 3)
    phone = users["resident"].phone
    try_login(client, phone)
    try_login(client, phone)
    assert try_login(client, phone, PASSWORD).status_code == 303
    client.cookies.clear()
    try_login(client, phone)
    try_login(client, phone)
    assert try_login(client, phone, PASSWORD).status_code == 303, "two failures after a success: not three"


def test_an_address_trying_many_phones_is_throttled(client, monkeypatch, argon2_calls):
    _c, _a, _b, _cat, users = setup_world()
    monkeypatch.setattr(get_settings(), "login_failures_per_address", 4)
    for n in range(4):
        assert try_login(client, f"090123456{n}", "mat-khau-pho-bien").status_code == 422
    answer = try_login(client, users["resident"].phone, PASSWORD)
    assert answer.status_code == 429 and WAIT_VI in answer.text
    assert "retry-after" in answer.headers
    assert argon2_calls.count("verify") == 4


def test_the_count_is_shared_by_two_app_instances_on_one_database(argon2_calls):
    _c, _a, _b, _cat, users = setup_world()
    phone = users["resident"].phone
    with TestClient(create_app()) as one, TestClient(create_app()) as two:
        for _ in range(3):
            assert try_login(one, phone).status_code == 422
        for _ in range(2):
            assert try_login(two, phone).status_code == 422
        assert try_login(two, phone, PASSWORD).status_code == 429
        assert try_login(one, phone, PASSWORD).status_code == 429


def test_the_address_is_the_connections_not_a_forwarded_header(client, monkeypatch):
    _c, _a, _b, _cat, users = setup_world()
    monkeypatch.setattr(get_settings(), "login_failures_per_address", 2)
    for n in range(2):
        client.post("/login", data={"csrf_token": csrf_token(client), "phone": users["resident"].phone,
                                    "password": "sai"}, headers={"X-Forwarded-For": f"10.0.0.{n}"})
    answer = client.post("/login", data={"csrf_token": csrf_token(client),
                                         "phone": users["village_head"].phone,
                                         "password": PASSWORD}, headers={"X-Forwarded-For": "10.0.0.9"})
    assert answer.status_code == 429


# --- registration -----------------------------------------------------------------------------------

def register(client, phone: str, password: str = "mat-khau-dai", name: str = "Nguyễn Thị Mới"):
    return client.post("/register", data={"csrf_token": csrf_token(client, "/register"), "display_name": name,
                                          "phone": phone, "password": password, "password_again": password,
                                          "next": "/submit"}, follow_redirects=False)


def test_registering_a_phone_that_has_an_account_answers_like_a_new_phone(client, argon2_calls):
    _c, _a, _b, _cat, users = setup_world()
    existing = users["resident"]
    with unit_of_work() as db:
        before = db.get(User, existing.id).password_hash
    argon2_calls.clear()
    taken = register(client, existing.phone)
    assert argon2_calls == ["hash"], "the password is hashed for a taken phone too: the same time"
    client.cookies.clear()
    fresh = register(client, "0987654321")
    assert argon2_calls == ["hash", "hash"]
    assert taken.status_code == fresh.status_code == 303
    assert taken.headers["location"] == fresh.headers["location"] == "/login?next=%2Fsubmit"
    with unit_of_work() as db:
        assert db.get(User, existing.id).password_hash == before, "the existing account is untouched"
        assert db.get(User, existing.id).display_name == existing.display_name
        assert count(db, User, User.phone == "0987654321") == 1


def test_registration_never_says_a_phone_has_an_account(client):
    _c, _a, _b, _cat, users = setup_world()
    client.get("/lang/en")
    answer = register(client, users["resident"].phone)
    page = client.get(answer.headers["location"]).text
    assert "already exists" not in page and "An account with this phone number" not in page
    assert "If this phone number had no account, your account is ready" in page


def test_registrations_are_throttled_per_address(client, monkeypatch, argon2_calls):
    setup_world()
    argon2_calls.clear()
    monkeypatch.setattr(get_settings(), "registrations_per_address", 2)
    assert register(client, "0987654321").status_code == 303
    client.cookies.clear()
    assert register(client, "0987654322").status_code == 303
    client.cookies.clear()
    answer = register(client, "0987654323")
    assert answer.status_code == 429 and WAIT_VI in answer.text
    assert answer.headers["retry-after"] == str(15 * 60)
    assert 'value="Nguyễn Thị Mới"' in answer.text, "what was typed is kept"
    assert "mat-khau-dai" not in answer.text
    assert argon2_calls == ["hash", "hash"]
    with unit_of_work() as db:
        assert count(db, User, User.phone == "0987654323") == 0


@pytest.mark.parametrize("password", ["password123", "12345678", "Qwertyuiop", "iloveyou1", "matkhau123"])
def test_a_common_password_is_refused_with_a_clear_message(client, password):
    setup_world()
    answer = register(client, "0987654321", password)
    assert answer.status_code == 422
    assert 'id="f-password-error"' in answer.text
    assert "Mật khẩu này quá phổ biến và dễ đoán." in answer.text
    with unit_of_work() as db:
        assert count(db, User, User.phone == "0987654321") == 0


def test_a_login_flood_waits_for_the_password_threads_not_the_page_threads(app, monkeypatch):
    """While 12 logins are stuck in argon2, a public page still answers: the logins queue on the password
    pool instead of taking the threads that serve every page."""
    import threading

    import anyio
    import anyio.to_thread
    import httpx

    from tests.builders import csrf_from

    _c, _a, _b, _cat, users = setup_world()
    monkeypatch.setattr(get_settings(), "login_failures_per_phone", 1000)
    monkeypatch.setattr(get_settings(), "login_failures_per_address", 1000)
    gate = threading.Event()
    verify = accounts.verify_password
    monkeypatch.setattr(accounts, "verify_password", lambda *a: gate.wait(10) and verify(*a))
    answers: list[int] = []

    async def flood_and_read() -> int:
        anyio.to_thread.current_default_thread_limiter().total_tokens = get_settings().thread_pool
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://civic.test") as web:
            token = csrf_from((await web.get("/login")).text)

            async def log_in() -> None:
                answer = await web.post("/login", data={"csrf_token": token, "phone": users["resident"].phone,
                                                        "password": "sai-mat-khau-roi"})
                answers.append(answer.status_code)

            async with anyio.create_task_group() as flood:
                for _ in range(get_settings().thread_pool + 4):
                    flood.start_soon(log_in)
                await anyio.sleep(0.2)  # the event loop's time, for the logins to reach argon2
                try:
                    with anyio.fail_after(5):
                        status = (await web.get("/items")).status_code
                finally:
                    gate.set()
            return status

    assert anyio.run(flood_and_read) == 200
    assert answers == [422] * (get_settings().thread_pool + 4)


def _serve(**env: str):
    """`civic serve` in a subprocess on a free port, on the test database, as an operator runs it."""
    import os
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [str(Path(sys.executable).parent / "civic"), "serve", "--port", str(port), "--no-access-log"]
    proc = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/healthz").status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("civic serve did not start: " + proc.stderr.read().decode()[-2000:])
        time.sleep(0.1)


@pytest.mark.parametrize(("trusted", "third"), [("", 429), ("127.0.0.1", 303)])
def test_civic_serve_believes_x_forwarded_for_only_from_trusted_proxies(trusted, third):
    """Without CIVIC_TRUSTED_PROXIES a client cannot dodge the per-address count with a made-up
    X-Forwarded-For; behind a trusted proxy the header names the client."""
    import httpx

    from tests.builders import csrf_from

    _c, _a, _b, _cat, users = setup_world()
    proc, base = _serve(CIVIC_LOGIN_FAILURES_PER_ADDRESS="2", CIVIC_TRUSTED_PROXIES=trusted)
    try:
        with httpx.Client(base_url=base) as web:
            token = csrf_from(web.get("/login").text)

            def attempt(phone: str, password: str, forwarded: str) -> int:
                return web.post("/login", data={"csrf_token": token, "phone": phone, "password": password},
                                headers={"X-Forwarded-For": forwarded}).status_code

            assert attempt(users["resident"].phone, "sai-mat-khau", "203.0.113.1") == 422
            assert attempt(users["supervisor"].phone, "sai-mat-khau", "203.0.113.2") == 422
            assert attempt(users["village_head"].phone, PASSWORD, "203.0.113.3") == third
    finally:
        proc.terminate()
        proc.wait(timeout=20)
