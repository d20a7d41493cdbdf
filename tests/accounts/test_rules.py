"""What an account's fields may be (the registration form) and the pure account rules."""

from __future__ import annotations

from typing import Annotated

import pytest

from civic.accounts import rules
from civic.accounts.schemas import RegisterForm
from civic.core.inputs import Form, Phone
from civic.errors import Invalid


class ContactForm(Form):
    """A phone field as the submission form has it."""

    contact_phone: Annotated[str | None, Phone()] = None


def normalize_phone(typed, field: str = "phone") -> str:
    return ContactForm.parse({"contact_phone": typed}).contact_phone if field == "contact_phone" else \
        RegisterForm.parse({"phone": typed, "display_name": "Tên", "password": "12345678",
                            "password_again": "12345678"}).phone


def registration(**over) -> RegisterForm:
    data = {"phone": "0912345678", "display_name": "Tên", "password": "12345678",
            "password_again": "12345678"}
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
    assert registration(password="12345678").password == "12345678"
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
