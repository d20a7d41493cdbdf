"""What an account's fields may be (the registration form) and the pure account rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import pytest

from civic.accounts import rules
from civic.accounts.rules import _common_passwords, is_common_password, session_alive, throttle_wait
from civic.accounts.schemas import COMMON_PASSWORD, RegisterForm
from civic.core.inputs import Form, Phone
from civic.errors import Invalid


class ContactForm(Form):
    """A phone field as the submission form has it."""

    contact_phone: Annotated[str | None, Phone()] = None


def normalize_phone(typed, field: str = "phone") -> str:
    return ContactForm.parse({"contact_phone": typed}).contact_phone if field == "contact_phone" else \
        RegisterForm.parse({"phone": typed, "display_name": "Tên", "password": "ga-trong-7",
                            "password_again": "ga-trong-7"}).phone


def registration(**over) -> RegisterForm:
    data = {"phone": "0912345678", "display_name": "Tên", "password": "ga-trong-7",
            "password_again": "ga-trong-7"}
    data.update(over)
    if "password" in over:
        data["password_again"] = over["password"]
    return RegisterForm.parse(data)


@pytest.fixture(autouse=True)
def clean_db():
    """Pure rules: nothing to empty (overrides the database fixture of tests/conftest.py)."""
    yield


@pytest.mark.parametrize(("typed", "phone"), [
    ("0912345678", "0912345678"),
    ("0912 345 678", "0912345678"),
    (" 0912.345.678 ", "0912345678"),
    ("091-234-5678", "0912345678"),
    ("(091) 234 5678", "0912345678"),
    ("+84912345678", "0912345678"),
    ("+84 912 345 678", "0912345678"),
    ("+84-912-345-678", "0912345678"),
    ("84912345678", "0912345678"),
    ("84 912 345 678", "0912345678"),
    ("0387654321", "0387654321"),   # Viettel 03x
    ("0567654321", "0567654321"),
    ("0707654321", "0707654321"),
    ("0867654321", "0867654321"),
    ("0987654321", "0987654321"),
    ("０９１２ ３４５ ６７８", "0912345678"),  # full-width digits from a phone keyboard
])
def test_mobile_numbers_are_normalised(typed, phone):
    assert normalize_phone(typed) == phone


@pytest.mark.parametrize("typed", [
    "",
    "   ",
    "091234567",          # 9 digits
    "09123456789",        # 11 digits
    "0912abc678",         # letters
    "phone",
    "0241234567",         # Hà Nội landline (02x)
    "02838123456",        # Hồ Chí Minh City landline
    "+84241234567",
    "0112345678",         # no such network
    "0012345678",
    "912345678",          # the leading 0 missing
    "+1 912 345 6789",
    "+84 0912 345 678",
    "0912345678; DROP TABLE user",
    "09١٢٣٤٥٦٧٨",          # digits of another script are not stored as a phone number
    "0٩١٢٣٤٥٦٧٨",
])
def test_anything_else_is_refused(typed):
    with pytest.raises(Invalid) as exc:
        normalize_phone(typed, field="contact_phone")
    assert exc.value.status == 422
    assert set(exc.value.errors) == {"contact_phone"}


def test_password_length():
    assert registration(password="ga-tro-7").password == "ga-tro-7"
    assert registration(password="p" * 128).password == "p" * 128
    for bad in ("", "1234567", None, "p" * 129):
        with pytest.raises(Invalid) as exc:
            registration(password=bad)
        assert "password" in exc.value.errors


def test_display_name():
    assert registration(display_name="  Nguyễn   Văn  An ").display_name == "Nguyễn Văn An"
    assert registration(display_name="N" * 80).display_name == "N" * 80
    assert registration(display_name="Bà\x00 Tư\x07\x1b").display_name == "Bà Tư", \
        "control characters are dropped (PostgreSQL refuses NUL)"
    for bad in ("", "   ", None, "N" * 81, "\x00\x00"):
        with pytest.raises(Invalid) as exc:
            registration(display_name=bad)
        assert "display_name" in exc.value.errors


def test_masked_phone_hides_the_middle():
    assert rules.mask_phone("0912345678") == "0912•••678"
    assert "345" not in rules.mask_phone("0912345678")
    assert rules.mask_phone("123") == "•••"


@pytest.mark.parametrize("common", ["12345678", "password", "Password1", " qwerty123 ", "iloveyou",
                                    "matkhau123", "anhyeuem"])
def test_common_passwords_are_refused(common):
    assert is_common_password(common)
    with pytest.raises(Invalid) as exc:
        registration(password=common)
    assert exc.value.errors["password"] == COMMON_PASSWORD


@pytest.mark.parametrize("fine", ["ga-trong-7", "demo-resident", "demo-admin", "bo-la-chuoi-xanh",
                                  "correct-horse-9"])
def test_uncommon_passwords_pass(fine):
    assert not is_common_password(fine)
    assert registration(password=fine).password == fine


def test_the_common_password_list_is_large():
    assert len(_common_passwords()) >= 10_000


T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
HOURS_3, IDLE_2H = timedelta(hours=3), timedelta(hours=2)


@pytest.mark.parametrize(("last_seen", "ended", "now", "alive"), [
    (T0, None, T0, True),
    (T0, None, T0 + timedelta(minutes=119), True),
    (T0, None, T0 + timedelta(minutes=120), False),                                  # idle 2 h exactly
    (T0 + timedelta(minutes=100), None, T0 + timedelta(minutes=179), True),
    (T0 + timedelta(minutes=170), None, T0 + timedelta(minutes=180), False),         # lifetime 3 h
    (T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2), False),               # logged out
])
def test_session_alive(last_seen, ended, now, alive):
    assert session_alive(created_at=T0, last_seen_at=last_seen, ended_at=ended, now=now, lifetime=HOURS_3,
                         idle=IDLE_2H) is alive


@pytest.mark.parametrize(("start", "hits", "now", "wait"), [
    (None, 0, T0, 0),
    (T0, 4, T0 + timedelta(minutes=1), 0),                 # the 5th attempt is allowed
    (T0, 5, T0 + timedelta(minutes=1), 14 * 60),           # the 6th waits for the window's end
    (T0, 5, T0 + timedelta(minutes=14, seconds=59.5), 1),  # never "wait 0 seconds" while blocked
    (T0, 9, T0 + timedelta(minutes=15), 0),                # a new window
])
def test_throttle_wait(start, hits, now, wait):
    window = timedelta(minutes=15)
    assert throttle_wait(window_start=start, hits=hits, limit=5, window=window, now=now) == wait
