"""Read an Open311 request's arguments: strict UTF-8, the spec's dates and the 90-day window.

Arguments are read from the raw query string and body, not through FastAPI's validation, so every
malformed value answers the spec's 400 (never 422) and `attribute[CODE]` keys keep their names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from urllib.parse import unquote_to_bytes

from fastapi import Request

from civic import clock
from civic.errors import N_
from civic.open311.errors import bad

WINDOW = timedelta(days=90)
MAX_RESULTS = 1000
MAX_IDS = 1000
FORMATS = ("json", "xml")

Args = dict[str, list[str]]


def _decode(raw: bytes) -> Args:
    out: Args = {}
    for part in raw.split(b"&"):
        if not part:
            continue
        key, _, value = part.partition(b"=")
        try:
            k = unquote_to_bytes(key.replace(b"+", b" ")).decode("utf-8")
            v = unquote_to_bytes(value.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            raise bad(N_("The request is not valid UTF-8.")) from None
        if "\x00" in k or "\x00" in v:  # PostgreSQL refuses NUL in text: bad input, not a crash
            raise bad(N_("The request could not be understood."))
        out.setdefault(k, []).append(v)
    return out


def query_args(request: Request) -> Args:
    return _decode(request.scope.get("query_string") or b"")


async def body_args(request: Request) -> Args:
    """A form body, urlencoded (as the spec says) or multipart."""
    ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        try:
            form = await request.form()
        except Exception:  # noqa: BLE001 - a broken multipart body is bad input
            raise bad(N_("The request could not be understood.")) from None
        out: Args = {}
        for key, value in form.multi_items():
            if isinstance(value, str):
                if "\ufffd" in value or "\ufffd" in key:
                    raise bad(N_("The request is not valid UTF-8."))
                if "\x00" in value or "\x00" in key:
                    raise bad(N_("The request could not be understood."))
                out.setdefault(key, []).append(value)
        return out
    raw = await request.body()
    if ctype in ("", "application/x-www-form-urlencoded"):
        return _decode(raw)
    raise bad(N_("Send the request as a form (application/x-www-form-urlencoded)."))


def one(args: Args, name: str) -> str:
    """The last value given for `name`, stripped; '' when absent. Empty counts as absent."""
    values = args.get(name)
    return values[-1].strip() if values else ""


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise bad(N_("Unknown format %(format)s: use .xml or .json."), "format", format=fmt[:20])
    return fmt


def parse_datetime(value: str, field: str) -> datetime:
    """A W3C datetime ('2026-03-01T08:15:30+07:00', '…Z') or a date; without an offset, Vietnam's time."""
    text = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            parsed = datetime.combine(datetime.fromisoformat(text).date(), time(0))
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
                          r"(Z|[+-]\d{2}:?\d{2})?", text):
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        else:
            raise ValueError(text)
    except ValueError:
        raise bad(N_("This is not a W3C datetime such as 2026-03-01T08:15:30+07:00."), field) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=clock.LOCAL_TZ)
    try:  # years 1 and 9999 overflow in UTC or with the 90-day window added: bad input, not a 500
        utc = clock.as_utc(parsed)
        utc - WINDOW, utc + WINDOW  # noqa: B018
    except OverflowError:
        raise bad(N_("This is not a W3C datetime such as 2026-03-01T08:15:30+07:00."), field) from None
    return utc


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def window(args: Args) -> Window:
    """The spec's date range: by default the last 90 days; never inverted, never over 90 days."""
    raw_start, raw_end = one(args, "start_date"), one(args, "end_date")
    start = parse_datetime(raw_start, "start_date") if raw_start else None
    end = parse_datetime(raw_end, "end_date") if raw_end else None
    if start is None:
        if end is None:
            end = clock.now()
        start = end - WINDOW
    elif end is None:
        end = start + WINDOW
    if start > end:
        raise bad(N_("start_date must not be after end_date."), "start_date")
    if end - start > WINDOW:
        raise bad(N_("The date range may span at most 90 days."), "end_date")
    return Window(start, end)


def positive_int(args: Args, name: str, default: int, maximum: int) -> int:
    raw = one(args, name)
    if not raw:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw) or int(raw) < 1:
        raise bad(N_("This must be a whole number of at least 1."), name)
    value = int(raw)
    if value > maximum:
        raise bad(N_("This must be at most %(max)s."), name, max=maximum)
    return value


def comma_list(args: Args, name: str, limit: int = MAX_IDS) -> list[str]:
    values = [v.strip() for raw in args.get(name, []) for v in raw.split(",") if v.strip()]
    if len(values) > limit:
        raise bad(N_("Too many values: at most %(max)s."), name, max=limit)
    return list(dict.fromkeys(values))


def attribute_args(args: Args) -> dict[str, list[str]]:
    """`attribute[CODE]=v` and, for a multivaluelist, `attribute[CODE][]=v` repeated."""
    out: dict[str, list[str]] = {}
    for key, values in args.items():
        m = re.fullmatch(r"attribute\[([^\[\]]{1,64})\](\[\])?", key)
        if m:
            out.setdefault(m.group(1), []).extend(values)
        elif key.startswith("attribute["):
            raise bad(N_("Attributes are sent as attribute[CODE]=value."), key[:60])
    return out
