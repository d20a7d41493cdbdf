"""Typed inputs: what Vietnamese users type, parsed once, with the limits in one place.

Every form and query string is a `Form` subclass in its domain's `schemas.py`, built from the annotated
types below. `Form.parse(data)` turns the submitted text into the model or raises `Invalid` with one
message id per field (translated by the channel that shows it), so a service never sees raw text:

    class BudgetForm(Form):
        label: Annotated[str, Text(2, 200, N_("Please describe the line (2 to 200 characters)."))]
        amount: Annotated[int, Money()]

    BudgetForm.parse({"label": "Cement", "amount": "1.500.000"}).amount == 1_500_000

The limits a field declares (`Text(2, 200, …)`) are read by templates through `Form.limits()`, so
`maxlength` and the hints can never disagree with the check.
"""

from __future__ import annotations

import math
import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, ClassVar, Self, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, GetCoreSchemaHandler, ValidationError
from pydantic_core import PydanticCustomError

from civic.errors import N_, Invalid, Message

# Ids are database keys: positive and within a signed 64-bit integer.
ID_MAX = 2**63 - 1
MONEY_MAX = 10**15  # đồng; far above any village's budget
QUANTITY_MAX = Decimal("999999999999.99")  # what a NUMERIC(14,2) column holds
CENT = Decimal("0.01")
YEAR_MIN, YEAR_MAX = 2000, 2100

# Control characters PostgreSQL refuses (NUL) or that no form should carry; tab and newlines are kept.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[\s\u00a0\u202f_]")
_ASCII_DIGITS = re.compile(r"[0-9]+")


def fail(message: str, **params: Any) -> PydanticCustomError:
    """The error a field validator raises: a message id and its parameters, translated by the channel."""
    return PydanticCustomError("civic", "civic", {"msgid": message, **params})


def clean_text(value: Any, *, multiline: bool = False) -> str:
    """Text as stored: NFC, no control characters, single spaces (line breaks kept when multiline)."""
    text = "" if value is None else str(value)
    text = unicodedata.normalize("NFC", _CONTROL.sub("", text))
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        return "\n".join(" ".join(line.split()) for line in text.strip().split("\n")).strip()
    return " ".join(text.split())


def is_ascii_number(text: str) -> bool:
    """Only 0-9: `str.isdigit()` also accepts '¹' and '٣', which `int()` refuses or reads otherwise."""
    return bool(_ASCII_DIGITS.fullmatch(text))


def parse_id(raw: Any) -> int | None:
    """A database id as typed, or None: ASCII digits, positive, within 64 bits."""
    text = str(raw if raw is not None else "").strip()
    if not is_ascii_number(text) or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= ID_MAX else None


# --- field types ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Limits:
    """What a template may show about a field: `maxlength`, `min`, `max`."""

    min: int | None = None
    max: int | None = None


class _Field(ABC):
    """Base of the annotated field types: a before-validator with a message and limits."""

    limits = Limits()

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return BeforeValidator(self.parse).__get_pydantic_core_schema__(source, handler)

    @abstractmethod
    def parse(self, raw: Any) -> Any:
        """The value the model holds, or a PydanticCustomError made by fail()."""


def _first(raw: Any) -> Any:
    return raw[-1] if isinstance(raw, list | tuple) and raw else raw


@dataclass(frozen=True)
class Text(_Field):
    """Free text between `min` and `max` characters after cleaning; `message` says both."""

    min: int = 0
    max: int = 200
    message: str = N_("Please enter between %(minimum)s and %(maximum)s characters.")
    multiline: bool = False
    too_long: str | None = None  # a message of its own when the text is too long

    @property
    def limits(self) -> Limits:  # type: ignore[override]
        return Limits(self.min, self.max)

    def parse(self, raw: Any) -> str:
        raw = _first(raw)
        if raw is not None and not isinstance(raw, str | int | float | Decimal):
            raise fail(self.message, minimum=self.min, maximum=self.max)
        text = clean_text(raw, multiline=self.multiline)
        if len(text) > self.max and self.too_long:
            raise fail(self.too_long, minimum=self.min, maximum=self.max)
        if len(text) < self.min or len(text) > self.max:
            raise fail(self.message, minimum=self.min, maximum=self.max)
        return text


@dataclass(frozen=True)
class Id(_Field):
    """A database id: ASCII digits, positive, within 64 bits. Empty is None when `required` is False."""

    message: str = N_("Please choose one of the options.")
    required: bool = True
    # An unreadable id reads as None, an id nothing has: the service then says what does not exist,
    # together with the other fields it checks against the database.
    lenient: bool = False

    def parse(self, raw: Any) -> int | None:
        raw = _first(raw)
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        if raw is None or str(raw).strip() == "":
            if self.required and not self.lenient:
                raise fail(self.message)
            return None
        number = parse_id(raw)
        if number is None and not self.lenient:
            raise fail(self.message)
        return number


@dataclass(frozen=True)
class Ids(_Field):
    """Several ids from repeated fields (checkboxes); an unreadable one is refused, duplicates dropped."""

    message: str = N_("Please choose from the list.")
    most: int = 10_000

    def parse(self, raw: Any) -> list[int]:
        values = raw if isinstance(raw, list | tuple) else ([] if raw in (None, "") else [raw])
        if len(values) > self.most:
            raise fail(self.message)
        out: list[int] = []
        for value in values:
            if str(value).strip() == "":
                continue
            number = parse_id(value)
            if number is None:
                raise fail(self.message)
            if number not in out:
                out.append(number)
        return out


@dataclass(frozen=True)
class Count(_Field):
    """A whole number from 0 to `max` (households present, votes): ASCII digits only."""

    max: int = 10_000_000
    message: str = N_("Please give a whole number.")
    negative_message: str = N_("This number cannot be negative.")
    required: bool = True

    @property
    def limits(self) -> Limits:  # type: ignore[override]
        return Limits(0, self.max)

    def parse(self, raw: Any) -> int | None:
        raw = _first(raw)
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        text = _SPACES.sub("", str(raw if raw is not None else ""))
        if not text:
            if self.required:
                raise fail(self.message)
            return None
        if text.startswith("-") and is_ascii_number(text[1:]):
            raise fail(self.negative_message)
        if not is_ascii_number(text) or len(text) > len(str(self.max)):
            raise fail(self.message)
        number = int(text)
        if number > self.max:
            raise fail(self.message)
        return number


# "1,5 triệu", "2 tỷ", "500 nghìn": the words Vietnamese use for large amounts.
_MONEY_WORDS = {"nghìn": 1_000, "nghin": 1_000, "ngàn": 1_000, "ngan": 1_000, "k": 1_000,
                "triệu": 1_000_000, "trieu": 1_000_000, "tr": 1_000_000,
                "tỷ": 10**9, "tỉ": 10**9, "ty": 10**9}
_MONEY_WORD = re.compile(r"^(\d{1,6}(?:[.,]\d{1,3})?)("
                         + "|".join(sorted(_MONEY_WORDS, key=len, reverse=True))
                         + r")$", re.IGNORECASE)


@dataclass(frozen=True)
class Money(_Field):
    """Whole đồng, positive: '1.500.000', '1,500,000', '1 500 000 đ', '1500000' or '1,5 triệu'."""

    required: bool = True

    @property
    def limits(self) -> Limits:  # type: ignore[override]
        return Limits(None, 40)  # longer text is refused as "far too large" before it is read

    def parse(self, raw: Any) -> int | None:
        raw = _first(raw)
        text = unicodedata.normalize("NFC", _SPACES.sub("", str(raw if raw is not None else ""))).lower()
        text = re.sub(r"(đồng|dong|đ|vnd)$", "", text)
        if not text:
            if self.required:
                raise fail(N_("Please enter an amount."))
            return None
        if len(text) > 40:
            raise fail(N_("This amount is far too large."))
        worded = _MONEY_WORD.match(text)
        if worded:
            value = Decimal(worded.group(1).replace(",", ".")) * _MONEY_WORDS[worded.group(2).lower()]
            if value != value.to_integral_value():
                raise fail(N_("Please enter a whole number of đồng, like 1.500.000."))
            number = int(value)
        elif re.fullmatch(r"-?[0-9]{1,3}([.,][0-9]{3})+|-?[0-9]+", text):
            number = int(text.replace(".", "").replace(",", ""))
        else:
            raise fail(N_("Please enter a whole number of đồng, like 1.500.000."))
        if number <= 0:
            raise fail(N_("The amount must be more than zero."))
        if number >= MONEY_MAX:
            raise fail(N_("This amount is far too large."))
        return number


@dataclass(frozen=True)
class Quantity(_Field):
    """A positive decimal with at most two places: '12,5', '12.5', '1.240' (thousands), '1.400,5'."""

    required: bool = True

    @property
    def limits(self) -> Limits:  # type: ignore[override]
        return Limits(None, 40)  # longer text is refused as "far too large" before it is read

    def parse(self, raw: Any) -> Decimal | None:
        raw = _first(raw)
        text = _SPACES.sub("", str(raw if raw is not None else ""))
        if not text:
            if self.required:
                raise fail(N_("Please enter an amount."))
            return None
        bad = N_("Please enter a number, like 12,5 or 1.240.")
        if len(text) > 40:
            raise fail(N_("This amount is far too large."))
        if not re.fullmatch(r"-?[0-9.,]+", text) or not re.search(r"[0-9]", text):
            raise fail(bad)
        seps = [i for i, c in enumerate(text) if c in ".,"]
        if seps:
            mark = text[seps[-1]]
            groups = re.split(r"[.,]", text)
            thousands = all(text[i] == mark for i in seps) and all(len(g) == 3 for g in groups[1:])
            if thousands and groups[0].lstrip("-")[:1] not in ("", "0"):
                text = text.replace(mark, "")  # "1.240", "1,240,000": thousands separators only
            elif all(text[i] != mark for i in seps[:-1]):
                text = re.sub(r"[.,]", "", text[:seps[-1]]) + "." + text[seps[-1] + 1:]  # "1.400,5", "12,5"
            else:
                raise fail(bad)
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise fail(bad) from None
        if value <= 0:
            raise fail(N_("The amount must be more than zero."))
        if value > QUANTITY_MAX:
            raise fail(N_("This amount is far too large."))
        if value != value.quantize(CENT):
            raise fail(N_("Please use at most two decimal places."))
        return value.quantize(CENT)


_DMY = re.compile(r"^([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})$")
_YMD = re.compile(r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$")


def parse_day(text: str) -> date | None:
    """'15/06/2026' (as Vietnamese write it), '15-6-2026' or '2026-06-15' (a date input), else None."""
    text = text.strip()
    m = _DMY.match(text)
    if m:
        d, mo, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        m = _YMD.match(text)
        if not m:
            return None
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not YEAR_MIN <= y <= YEAR_MAX:
        return None
    try:
        return date(y, mo, d)
    except ValueError:
        return None


@dataclass(frozen=True)
class Day(_Field):
    """A calendar date typed as dd/mm/yyyy or sent by a date input (yyyy-mm-dd), years 2000-2100."""

    required: bool = True
    message: str = N_("Please enter a date like 15/06/2026.")
    missing: str = N_("Please enter a date.")

    def parse(self, raw: Any) -> date | None:
        raw = _first(raw)
        if isinstance(raw, date) and not isinstance(raw, datetime):
            return raw
        text = str(raw if raw is not None else "").strip()
        if not text:
            if self.required:
                raise fail(self.missing)
            return None
        day = parse_day(text[:40])
        if day is None:
            raise fail(self.message)
        return day


@dataclass(frozen=True)
class LocalDateTime(_Field):
    """A moment typed in local time: '15/06/2026 19:30' or a datetime-local input ('2026-06-15T19:30').
    The value is naive; the service gives it the commune's zone."""

    message: str = N_("Please give a date and time like 15/06/2026 19:30.")

    def parse(self, raw: Any) -> datetime:
        raw = _first(raw)
        if isinstance(raw, datetime):
            return raw.replace(tzinfo=None)
        text = " ".join(str(raw if raw is not None else "").replace("T", " ").split())[:40]
        day_text, _, clock_text = text.partition(" ")
        day = parse_day(day_text)
        m = re.fullmatch(r"([0-9]{1,2})[:h]([0-9]{2})(?::([0-9]{2}))?", clock_text)
        if day is None or not m:
            raise fail(self.message)
        hour, minute = int(m.group(1)), int(m.group(2))
        if hour > 23 or minute > 59:
            raise fail(self.message)
        return datetime.combine(day, time(hour, minute))


def localize(moment: datetime, zone: tzinfo) -> datetime:
    """A naive local moment from a form in the given zone."""
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


@dataclass(frozen=True)
class Flag(_Field):
    """A checkbox: present with 'on', '1', 'true' or 'yes' is True; anything else, or absent, is False."""

    def parse(self, raw: Any) -> bool:
        raw = _first(raw)
        if isinstance(raw, bool):
            return raw
        return str(raw if raw is not None else "").strip().lower() in {"1", "on", "true", "yes", "có"}


@dataclass(frozen=True)
class Choice(_Field):
    """One of a fixed set of values (an enum's, or a tuple of strings)."""

    options: tuple[str, ...] = ()
    message: str = N_("Please choose one of the options.")
    required: bool = True

    def parse(self, raw: Any) -> str | None:
        raw = _first(raw)
        text = str(raw if raw is not None else "").strip()
        if not text and not self.required:
            return None
        if text not in self.options:
            raise fail(self.message)
        return text


# Vietnamese mobile numbers: 0 + 9 digits, networks 3x, 5x, 7x, 8x, 9x.
_MOBILE = re.compile(r"^0[35789][0-9]{8}$")
BAD_PHONE = N_("This is not a valid Vietnamese mobile number (10 digits, starting with 0).")


def normalize_phone(raw: Any) -> str | None:
    """'0912 345 678', '+84 912-345-678' and '84912345678' all become '0912345678'; None if not a mobile."""
    text = unicodedata.normalize("NFKC", str(raw or ""))[:40].strip()  # full-width digits become ASCII
    digits = re.sub(r"[\s.\-()]", "", text)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits if _MOBILE.match(digits) else None


@dataclass(frozen=True)
class Phone(_Field):
    """A Vietnamese mobile number in its 10-digit form."""

    required: bool = True

    @property
    def limits(self) -> Limits:  # type: ignore[override]
        return Limits(10, 20)

    def parse(self, raw: Any) -> str | None:
        raw = _first(raw)
        if not str(raw if raw is not None else "").strip():
            if self.required:
                raise fail(N_("Please enter a phone number."))
            return None
        phone = normalize_phone(raw)
        if phone is None:
            raise fail(BAD_PHONE)
        return phone


@dataclass(frozen=True)
class HouseholdCode(_Field):
    """A household's code in the village register, as typed ('hd 012' is 'HD 012'): 1 to 32 characters."""

    message: str = N_("Please enter the household's code.")

    @property
    def limits(self) -> Limits:  # type: ignore[override]
        return Limits(1, 32)

    def parse(self, raw: Any) -> str:
        code = " ".join(clean_text(_first(raw)).split()).upper()
        if not code or len(code) > 32:
            raise fail(self.message)
        return code


@dataclass(frozen=True)
class Coordinate(_Field):
    """A latitude or longitude in degrees ('21,03' or '21.03'), within `bound`; empty is None."""

    bound: float = 90.0
    message: str = N_("Please enter a number of degrees.")

    def parse(self, raw: Any) -> float | None:
        text = str(_first(raw) if raw is not None else "").strip().replace(",", ".")
        if not text:
            return None
        if len(text) > 30 or not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text):
            raise fail(self.message)
        number = float(text)
        if not math.isfinite(number) or abs(number) > self.bound:
            raise fail(self.message)
        return number


_UNSAFE_IN_PATH = re.compile(r"[\x00-\x1f\x7f\\]")


def local_path(raw: Any, most: int = 2000) -> str | None:
    """A path on this site ('/items/NS-2026-0042'), or None: never another site ('//host', 'http:…'),
    a backslash, a control character or a very long text, so a redirect cannot leave the site."""
    raw = _first(raw)
    if not isinstance(raw, str) or not raw.startswith("/") or raw.startswith("//"):
        return None
    if _UNSAFE_IN_PATH.search(raw) or len(raw) > most:
        return None
    return raw


@dataclass(frozen=True)
class LocalPath(_Field):
    """A path on this site to go back to; anything else reads as `default`."""

    most: int = 2000
    default: str = ""

    def parse(self, raw: Any) -> str:
        return local_path(raw, self.most) or self.default


# --- forms ------------------------------------------------------------------------------------------------

class Form(BaseModel):
    """A submitted form or query string, parsed. Unknown fields are ignored; every field is checked even
    when it was not sent, so a missing field gets its own message."""

    model_config = ConfigDict(extra="ignore", validate_default=True, arbitrary_types_allowed=True)

    # Fields read as lists (repeated names: checkboxes); the others take the last value sent.
    _list_fields: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def parse(cls, data: Mapping[str, Any] | None = None, **extra: Any) -> Self:
        """The model, or Invalid with a message id for each wrong field."""
        values = _plain(cls, data or {})
        values.update(extra)
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise invalid(exc) from None

    @classmethod
    def limits(cls) -> dict[str, Limits]:
        return _limits(cls)


def _plain(model: type[Form], data: Mapping[str, Any]) -> dict[str, Any]:
    getlist = getattr(data, "getlist", None)
    out: dict[str, Any] = {}
    lists = _list_names(model)
    for name in model.model_fields:
        if name in lists:
            if getlist is not None:
                out[name] = [v for v in getlist(name) if isinstance(v, str)]
            elif name in data:
                value = data[name]
                out[name] = list(value) if isinstance(value, list | tuple) else [value]
        elif name in data:
            value = data[name]
            out[name] = value if isinstance(value, str | int | float | bool | Decimal | date | list | tuple) \
                or value is None else None
    return out


@cache
def _list_names(model: type[Form]) -> frozenset[str]:
    names = set(model._list_fields)
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if get_origin(annotation) is list or any(isinstance(m, Ids) for m in info.metadata):
            names.add(name)
        elif get_origin(annotation) is not None and any(get_origin(a) is list for a in get_args(annotation)):
            names.add(name)
    return frozenset(names)


@cache
def _limits(model: type[Form]) -> dict[str, Limits]:
    out = {}
    for name, info in model.model_fields.items():
        for meta in info.metadata:
            if isinstance(meta, _Field):
                out[name] = meta.limits
    return out


GENERIC = N_("Please check this field.")


def invalid(exc: ValidationError) -> Invalid:
    """A pydantic error as civic's Invalid: {field: message id} in the order the fields were checked."""
    errors: dict[str, Message] = {}
    for err in exc.errors(include_url=False):
        ctx = dict(err.get("ctx") or {})
        loc = err.get("loc") or ()
        field = str(ctx.pop("field", None) or (loc[0] if loc else "__all__"))
        if field in errors:
            continue
        msgid = ctx.pop("msgid", None) if err.get("type") == "civic" else None
        errors[field] = Message(msgid or GENERIC, **ctx)
    first = next(iter(errors.values()), None)
    if len(errors) == 1 and first is not None:
        field = next(iter(errors))
        return Invalid(first, field=field, **first.params)
    return Invalid(errors=errors)


def error(message: str, field: str | None = None, **params: Any) -> PydanticCustomError:
    """A model validator's refusal (a rule across fields), shown next to `field`."""
    return PydanticCustomError("civic", "civic", {"msgid": message, "field": field, **params})
