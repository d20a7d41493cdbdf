from datetime import UTC, datetime

import pytest

from civic import clock
from civic.config import get_settings

# 10:00 in Vietnam: outside the night in which SMS and Zalo wait.
DAYTIME = datetime(2026, 6, 10, 3, 0, tzinfo=UTC)


@pytest.fixture
def daytime():
    clock.freeze(DAYTIME)
    yield DAYTIME
    clock.reset()


@pytest.fixture
def email_on(monkeypatch):
    """An SMTP relay is configured (nothing listens: the worker tests set their own server)."""
    monkeypatch.setattr(get_settings(), "smtp_host", "127.0.0.1")
    monkeypatch.setattr(get_settings(), "base_url", "https://nhaoson.example.vn")
    return get_settings()


@pytest.fixture
def sms_on(monkeypatch):
    monkeypatch.setattr(get_settings(), "sms_gateway_url", "http://127.0.0.1:9")
    monkeypatch.setattr(get_settings(), "sms_gateway_password", "gw-pass")
    return get_settings()
