"""Pure rules for items: what a valid submission is, how codes and search text are made."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from civic.errors import N_, Invalid
from civic.workflow.stages import KINDS

TITLE_MAX = 160
DESCRIPTION_MAX = 4000
ADDRESS_MAX = 200
REASON_MAX = 2000
TITLE_MIN = 5
DESCRIPTION_MIN = 10

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def fold(text: str) -> str:
    """Lower-case text without diacritics, so 'duong' finds 'đường' (đ has no decomposition)."""
    text = (text or "").replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.lower().split())


def clean_text(value: Any, *, multiline: bool = False) -> str:
    text = "" if value is None else str(value)
    text = unicodedata.normalize("NFC", _CONTROL.sub("", text))
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        return "\n".join(line.rstrip() for line in text.strip().split("\n"))
    return " ".join(text.split())


def format_code(commune_code: str, year: int, seq: int) -> str:
    return f"{commune_code}-{year}-{seq:04d}"


_CODE = re.compile(r"^([A-Z]{1,8})-(\d{4})-(\d{1,6})$")


def parse_code(raw: str) -> str | None:
    """A code as typed ('ns-2026-42', ' NS 2026 0042 ') in its canonical form, or None."""
    text = re.sub(r"[\s_]+", "-", (raw or "").strip().upper())
    m = _CODE.match(text)
    if not m:
        return None
    return format_code(m.group(1), int(m.group(2)), int(m.group(3)))


@dataclass(frozen=True)
class Submission:
    kind: str
    village_id: int
    category_id: int
    title: str
    description: str
    address: str
    lat: float | None
    lng: float | None
    contact_name: str
    contact_phone: str
    show_name: bool


def _int(value: Any) -> int | None:
    """An id as typed, or None; numbers no database column can hold are not ids (SQLite overflows on them)."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if -(2**63) <= number < 2**63 else None


def _float(value: Any) -> float | None:
    text = str(value or "").strip().replace(",", ".")
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        return float("nan")
    return number


def validate_submission(data: dict[str, Any], *, village_ids: set[int], category_ids: set[int],
                        needs_contact: bool, normalize_phone) -> Submission:
    """Check a submission's fields; collect every error so the form can show them all at once."""
    errors: dict[str, str] = {}
    kind = clean_text(data.get("kind"))
    if kind not in KINDS:
        errors["kind"] = N_("Please choose what kind of item this is.")
    village_id = _int(data.get("village_id"))
    if village_id is None:
        errors["village_id"] = N_("Please choose a village.")
    elif village_id not in village_ids:
        errors["village_id"] = N_("This village does not exist in this commune.")
    category_id = _int(data.get("category_id"))
    if category_id is None:
        errors["category_id"] = N_("Please choose a category.")
    elif category_id not in category_ids:
        errors["category_id"] = N_("This category does not exist.")
    title = clean_text(data.get("title"))
    if len(title) < TITLE_MIN:
        errors["title"] = N_("Please write a title of at least 5 characters.")
    elif len(title) > TITLE_MAX:
        errors["title"] = N_("The title must have at most 160 characters.")
    description = clean_text(data.get("description"), multiline=True)
    if len(description) < DESCRIPTION_MIN:
        errors["description"] = N_("Please describe it in at least 10 characters.")
    elif len(description) > DESCRIPTION_MAX:
        errors["description"] = N_("The description must have at most 4,000 characters.")
    address = clean_text(data.get("address"))
    if len(address) > ADDRESS_MAX:
        errors["address"] = N_("The address must have at most 200 characters.")
    lat, lng = _float(data.get("lat")), _float(data.get("lng"))
    if (lat is None) != (lng is None):
        errors["lat"] = N_("Please give both latitude and longitude, or neither.")
    elif lat is not None and not (-90 <= lat <= 90 and -180 <= lng <= 180):  # NaN fails both comparisons
        errors["lat"] = N_("The location is not valid: latitude −90…90, longitude −180…180.")
    contact_name = clean_text(data.get("contact_name"))
    if len(contact_name) > 80:
        errors["contact_name"] = N_("The name must have at most 80 characters.")
    contact_phone = ""
    if needs_contact:
        try:
            contact_phone = normalize_phone(str(data.get("contact_phone") or ""), field="contact_phone")
        except Invalid as exc:
            errors["contact_phone"] = exc.message
    show_name = str(data.get("show_name") or "").lower() in {"1", "on", "true", "yes"}
    if errors:
        raise Invalid(errors=errors)
    return Submission(kind, village_id, category_id, title, description, address, lat, lng, contact_name,
                      contact_phone, show_name)


def clean_reason(raw: Any, field: str = "reason", required: bool = True) -> str:
    text = clean_text(raw, multiline=True)
    if required and len(text) < 5:
        raise Invalid(N_("Please give a reason of at least 5 characters; it is shown publicly."), field=field)
    if len(text) > REASON_MAX:
        raise Invalid(N_("The reason must have at most 2,000 characters."), field=field)
    return text
