"""Browser tests: a live uvicorn server on the test database, driven by Debian's Chromium through Playwright.

The server runs in a subprocess for the whole session, with the environment tests/conftest.py set up
(DATABASE_URL, CIVIC_VAR_DIR, SECRET_KEY), so it reads what the tests build with tests/builders.py and
the autouse `clean_db` fixture empties its tables before each test like any other.

Every test module here sets `pytestmark = pytest.mark.browser` (the marker is registered below), so
`pytest -m "not browser"` leaves them out. A missing Chromium is a
failure, not a skip: a skipped journey would hide a missing feature.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from civic import clock
from civic.config import ROOT

CHROMIUM = os.environ.get("CIVIC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE_360 = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
PHONE_390 = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
TIMEOUT_MS = 20_000  # two test runs share two cores in CI


def pytest_configure(config):
    config.addinivalue_line("markers",
                            "browser: real Chromium through Playwright (deselect with -m 'not browser')")


# -- the live server ---------------------------------------------------------------------------------

CLOCK_FILE = Path(os.environ["CIVIC_VAR_DIR"]) / "server-clock-offset"

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, url: str, log_path: Path, proc: subprocess.Popen):
        self.url = url
        self.log_path = log_path
        self.proc = proc

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", "replace")


@contextmanager
def running_server(port: int, log_path: Path, **env: str):
    """A uvicorn process on the test database at `port`, started and waited for (/healthz); stopped after."""
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "civic.main:create_app", "--factory", "--port", str(port),
             "--host", "127.0.0.1"],
            cwd=str(ROOT), env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
        )
        server = LiveServer(url, log_path, proc)
        deadline = time.monotonic() + 120
        try:
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"the live server exited with {proc.returncode}:\n{server.log_since(0)}",
                                pytrace=False)
                try:
                    with urllib.request.urlopen(f"{url}/healthz", timeout=2) as resp:
                        if resp.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail("the live server did not answer /healthz within 30 s:\n"
                                f"{server.log_since(0)}", pytrace=False)
                time.sleep(0.1)
            yield server
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="session")
def live_server():
    port = _free_port()
    CLOCK_FILE.write_text("0")
    with running_server(port, Path(os.environ["CIVIC_VAR_DIR"]) / f"uvicorn-{port}.log",
                        CIVIC_TEST_CLOCK_FILE=str(CLOCK_FILE)) as server:
        yield server


@pytest.fixture(autouse=True)
def no_server_errors(live_server):
    """Fail a test during which the server logged a traceback or answered 500: nothing may produce one."""
    offset = live_server.log_size()
    yield
    new = live_server.log_since(offset)
    bad = [line for line in new.splitlines() if '" 500' in line or "Traceback" in line]
    if bad:
        pytest.fail("the live server failed during this test:\n" + new[-6000:], pytrace=False)


class ServerClock:
    """Moves the live server's clock (civic/clock.py reads CIVIC_TEST_CLOCK_FILE) and this process's with
    it, so a journey can wait out a notice period without sleeping."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def advance(self, delta: timedelta) -> None:
        self.offset += delta
        clock.advance(delta)
        CLOCK_FILE.write_text(str(self.offset.total_seconds()))
        time.sleep(0.02)  # a later mtime than the last write, whatever the file system's resolution

    def reset(self) -> None:
        self.offset = timedelta(0)
        CLOCK_FILE.write_text("0")


@pytest.fixture
def server_clock(live_server):
    c = ServerClock()
    yield c
    c.reset()
    clock.reset()


# -- the browser -------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}. Install it (apt-get install -y chromium) or set "
                    "CIVIC_CHROMIUM to its path; deselect these tests with -m 'not browser'.", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        try:
            b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        except Exception as exc:  # a broken install is as bad as a missing one
            pytest.fail(f"Chromium at {CHROMIUM} did not start: {exc}", pytrace=False)
        yield b
        b.close()


def _context(browser, live_server, **options):
    ctx = browser.new_context(base_url=live_server.url, locale="vi-VN", **options)
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.set_default_navigation_timeout(TIMEOUT_MS)
    return ctx


def _page(ctx):
    """A page that remembers every response of 500 or more, to fail the test with it."""
    page = ctx.new_page()
    page.server_errors = []
    page.on("response",
            lambda r: page.server_errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    return page


@pytest.fixture
def phone(browser, live_server):
    """A 360 px phone with JavaScript off: the resident of the issue."""
    ctx = _context(browser, live_server, java_script_enabled=False, **PHONE_360)
    page = _page(ctx)
    yield page
    ctx.close()
    assert not page.server_errors, page.server_errors


@pytest.fixture
def other_phone(browser, live_server):
    """A second 360 px phone with JavaScript off (a village head, another resident)."""
    ctx = _context(browser, live_server, java_script_enabled=False, **PHONE_360)
    page = _page(ctx)
    yield page
    ctx.close()
    assert not page.server_errors, page.server_errors


@pytest.fixture
def phone_js(browser, live_server):
    """A 390 px phone with JavaScript on; console errors are collected in page.console_errors."""
    ctx = _context(browser, live_server, **PHONE_390)
    page = _page(ctx)
    page.console_errors = []
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    yield page
    ctx.close()
    assert not page.server_errors, page.server_errors


@pytest.fixture
def new_page(browser, live_server):
    """Open more pages, each in its own browser context (its own cookies): new_page(js=True, **PHONE_390)."""
    opened = []

    def make(js: bool = True, **options):
        ctx = _context(browser, live_server, java_script_enabled=js, **(options or PHONE_360))
        page = _page(ctx)
        opened.append((ctx, page))
        return page

    yield make
    errors = []
    for ctx, page in opened:
        errors += page.server_errors
        ctx.close()
    assert not errors, errors
