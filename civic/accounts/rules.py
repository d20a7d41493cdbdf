"""Pure account rules: phone numbers, passwords, display names."""

from __future__ import annotations

import re
import unicodedata

from civic.errors import N_, Invalid

# Vietnamese mobile numbers: 0 + 9 digits, networks 3x, 5x, 7x, 8x, 9x.
_MOBILE = re.compile(r"^0[35789][0-9]{8}$")  # ASCII digits only: \d would match any script's digits
PASSWORD_MIN = 8
PASSWORD_MAX = 128
NAME_MAX = 80


def normalize_phone(raw: str, field: str = "phone") -> str:
    """'0912 345 678', '+84 912-345-678' and '84912345678' all become '0912345678'."""
    text = unicodedata.normalize("NFKC", raw or "").strip()  # full-width digits become ASCII digits
    if not text:
        raise Invalid(N_("Please enter a phone number."), field=field)
    digits = re.sub(r"[\s.\-()]", "", text)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if not _MOBILE.match(digits):
        raise Invalid(N_("This is not a valid Vietnamese mobile number (10 digits, starting with 0)."), field=field)
    return digits


def check_password(password: str, field: str = "password") -> str:
    if len(password or "") < PASSWORD_MIN:
        raise Invalid(N_("The password must have at least 8 characters."), field=field)
    if len(password) > PASSWORD_MAX:
        raise Invalid(N_("The password must have at most 128 characters."), field=field)
    return password


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # PostgreSQL refuses NUL in text


def clean_name(raw: str, field: str = "display_name") -> str:
    name = " ".join(_CONTROL.sub("", raw or "").split())
    if not name:
        raise Invalid(N_("Please enter your name."), field=field)
    if len(name) > NAME_MAX:
        raise Invalid(N_("The name must have at most 80 characters."), field=field)
    return name


def mask_phone(phone: str) -> str:
    """0912345678 -> 0912•••678, for staff lists where the full number is not needed."""
    return phone[:4] + "•••" + phone[-3:] if len(phone) >= 7 else "•••"
