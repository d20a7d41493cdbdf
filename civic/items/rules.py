"""Pure rules for items: what a valid submission is, how codes and search text are made."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from civic.core.kinds import Kind
from civic.errors import N_, Invalid

KINDS = tuple(Kind)

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


# --- Open311 service definitions: attribute definitions of a category and the values a request gives ----

ATTRIBUTE_DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
ATTRIBUTE_STRING_MAX = 200
ATTRIBUTE_TEXT_MAX = 2000
API_TITLE_MAX = 80


def attribute_definitions(raw: Any) -> list[dict[str, Any]]:
    """A category's attribute definitions (its JSON column), normalised and in order.

    Each definition: code, variable, datatype, required, datatype_description, order, description,
    description_en, values [{key, name, name_en}]. Malformed entries are left out rather than failing a page.
    """
    import json

    try:
        items = json.loads(raw) if isinstance(raw, str) else list(raw or [])
    except (TypeError, ValueError):
        return []
    out = []
    for n, a in enumerate(items if isinstance(items, list) else []):
        if not isinstance(a, dict) or not str(a.get("code") or "").strip():
            continue
        datatype = a.get("datatype") if a.get("datatype") in ATTRIBUTE_DATATYPES else "string"
        values = [{"key": str(v.get("key")), "name": str(v.get("name") or v.get("key")),
                   "name_en": str(v.get("name_en") or v.get("name") or v.get("key"))}
                  for v in (a.get("values") or []) if isinstance(v, dict) and v.get("key") not in (None, "")]
        out.append({
            "code": str(a["code"]).strip(),
            "variable": bool(a.get("variable", True)),
            "datatype": datatype,
            "required": bool(a.get("required", False)),
            "datatype_description": str(a.get("datatype_description") or ""),
            "order": int(a.get("order") or n + 1),
            "description": str(a.get("description") or a["code"]),
            "description_en": str(a.get("description_en") or a.get("description") or a["code"]),
            "values": values if datatype in ("singlevaluelist", "multivaluelist") else [],
        })
    return sorted(out, key=lambda a: (a["order"], a["code"]))


def validate_attribute_values(definitions: list[dict[str, Any]], given: dict[str, list[str]]) -> dict[str, Any]:
    """Check the attribute values of a request against its category's definitions.

    `given` maps an attribute code to the values sent for it (a multivaluelist may repeat). Returns the
    values to store (code → str, number or list of keys). Unknown codes, missing required values, values
    outside a list and malformed numbers or datetimes are errors, keyed `attribute[CODE]`, all at once.
    """
    import math
    from datetime import datetime

    errors: dict[str, str] = {}
    known = {d["code"]: d for d in definitions if d["variable"]}
    for code in given:
        if code not in known:
            errors[f"attribute[{code[:40]}]"] = N_("This service has no attribute with this code.")
    out: dict[str, Any] = {}
    for code, d in known.items():
        field = f"attribute[{code}]"
        values = [clean_text(v) for v in given.get(code, [])]
        values = [v for v in values if v]
        if not values:
            if d["required"]:
                errors[field] = N_("This attribute is required.")
            continue
        keys = {v["key"] for v in d["values"]}
        kind = d["datatype"]
        if kind == "multivaluelist":
            if any(v not in keys for v in values):
                errors[field] = N_("This value is not one of the allowed values.")
            else:
                out[code] = sorted(set(values), key=values.index)
            continue
        if len(values) > 1:
            errors[field] = N_("This attribute takes one value.")
            continue
        value = values[0]
        if kind == "singlevaluelist":
            if value not in keys:
                errors[field] = N_("This value is not one of the allowed values.")
            else:
                out[code] = value
        elif kind == "number":
            number = _float(value)
            if number is None or not math.isfinite(number):
                errors[field] = N_("This attribute must be a number.")
            else:
                out[code] = int(number) if number.is_integer() and abs(number) < 2**53 else number
        elif kind == "datetime":
            try:
                out[code] = datetime.fromisoformat(value).isoformat()
            except ValueError:
                errors[field] = N_("This attribute must be a date and time (ISO 8601).")
        else:
            limit = ATTRIBUTE_TEXT_MAX if kind == "text" else ATTRIBUTE_STRING_MAX
            if len(value) > limit:
                errors[field] = N_("This value is too long.")
            else:
                out[code] = value
    if errors:
        raise Invalid(errors=errors)
    return out


def title_from_description(description: Any, fallback: str) -> str:
    """A title for a submission that has none (an Open311 request): the description's first sentence, cut
    at a word boundary, or `fallback` (the service's name) when the description gives nothing usable."""
    text = clean_text(description)
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0] if text else ""
    if len(first) > API_TITLE_MAX:
        cut = first[:API_TITLE_MAX - 1]
        first = (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(",;: ") + "…"
    return first if len(first) >= TITLE_MIN else clean_text(fallback)


def village_for_address(villages: list[tuple[int, str, str]], address_id: str, address: str) -> int | None:
    """The village an Open311 request is about: `address_id` names it (slug or id); else the village whose
    name the address mentions (the longest such name); else None (the caller picks a default)."""
    wanted = (address_id or "").strip()
    if wanted:
        for vid, _name, slug in villages:
            if wanted == slug or wanted == str(vid):
                return vid
        raise Invalid(N_("Unknown address_id: use the slug of one of the commune's villages."),
                      field="address_id")
    folded = f" {fold(address)} "
    best: tuple[int, int] | None = None
    for vid, name, _slug in villages:
        key = fold(name)
        if key and f" {key} " in folded and (best is None or len(key) > best[0]):
            best = (len(key), vid)
    return best[1] if best else None
