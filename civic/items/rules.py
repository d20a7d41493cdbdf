"""Pure rules for items: what the database must confirm about a submission, how codes and search text
are made, and Open311's attributes. The submission's fields are read by civic.items.schemas.SubmitForm."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from civic.core.facts import ActorFacts
from civic.core.inputs import clean_text
from civic.core.kinds import Stage
from civic.errors import N_, Conflict, Forbidden, Invalid
from civic.items.schemas import TITLE_MIN

if TYPE_CHECKING:
    from civic.items.schemas import SubmitForm

# A private manage link works while its item is open and for this many days after the item closed, long
# enough to ask for a review or follow a reopening; then it stops, so an old link found in a message or a
# browser history no longer shows the resident's phone (OWASP ASVS 4.0 V3.3: tokens expire; V8.3.8:
# personal data is kept only as long as it is needed).
MANAGE_LINK_DAYS_AFTER_CLOSE = 90


def manage_link_expired(closed_at: datetime | None, now: datetime,
                        days: int = MANAGE_LINK_DAYS_AFTER_CLOSE) -> bool:
    """Has the manage link of an item closed at `closed_at` (None: still open) expired at `now`?"""
    return closed_at is not None and now >= closed_at + timedelta(days=days)


@lru_cache(maxsize=2048)
def fold(text: str) -> str:
    """Lower-case text without diacritics, so 'duong' finds 'đường' (đ has no decomposition). Remembered:
    the look for a repeated submission folds the same few recent titles for every submission."""
    text = (text or "").replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.lower().split())


def format_code(commune_code: str, year: int, seq: int) -> str:
    return f"{commune_code}-{year}-{seq:04d}"


_CODE = re.compile(r"^([A-Z]{1,8})-([0-9]{4})-([0-9]{1,6})$")  # ASCII digits only


def parse_code(raw: str) -> str | None:
    """A code as typed ('ns-2026-42', ' NS 2026 0042 ') in its canonical form, or None."""
    text = re.sub(r"[\s_]+", "-", (raw or "").strip().upper())
    m = _CODE.match(text)
    if not m:
        return None
    return format_code(m.group(1), int(m.group(2)), int(m.group(3)))


@dataclass(frozen=True)
class CodeSearch:
    """What a search says of an item's code: its number, and its year and commune prefix if given."""

    seq: int
    year: int | None = None
    prefix: str | None = None


FIRST_YEAR = 2020  # no commune has an item from before civic existed
_CODE_SEARCH = re.compile(r"^(?:(?:([A-Z]{1,8})-?)?([0-9]{4})-)?([0-9]{1,6})$")  # ASCII digits only


def code_search(raw: str) -> CodeSearch | None:
    """A search for an item by its code, whole or in part: 'NS-2026-0022', 'ns 2026 22', '2026-22', '0022'.
    None when the text cannot be (part of) a code."""
    text = re.sub(r"[\s_.\-/]+", "-", (raw or "").strip().upper()).strip("-")
    if len(text) > 24:
        return None
    m = _CODE_SEARCH.match(text)
    if not m or int(m.group(3)) == 0:
        return None
    prefix, year, seq = m.group(1), m.group(2), int(m.group(3))
    return CodeSearch(seq, int(year) if year else None, prefix)


# --- Location: where in Vietnam an item is -------------------------------------------------------------

# Vietnam's land and islands as boxes of (south, west, north, east) in degrees (WGS84, as phones give them):
# the mainland from Lũng Cú (23.4° N) to Mũi Cà Mau (8.6° N) and from A Pa Chải (102.1° E) to Mũi Đôi
# (109.5° E) with the near islands (Phú Quốc, Côn Đảo, Thổ Chu, Bạch Long Vĩ); Hoàng Sa; Trường Sa. The boxes
# are generous, so a position at the border or on the coast is never refused; a position elsewhere in the
# world (a phone abroad, swapped latitude and longitude, a photo of a trip) is.
VIETNAM_BOXES: tuple[tuple[float, float, float, float], ...] = (
    (8.0, 102.0, 23.5, 110.0),   # the mainland and the near islands
    (15.5, 110.0, 17.5, 113.0),  # Hoàng Sa
    (6.0, 110.0, 12.0, 117.9),   # Trường Sa
)
NO_POSITION = N_("The position 0, 0 is not a real place: a phone gives it when it has no GPS fix. "
                 "Leave the location empty, or place it on the map.")
OUTSIDE_VIETNAM = N_("This position is outside Vietnam. Check the latitude (about 8 to 23.5) and the "
                     "longitude (about 102 to 110), or leave the location empty.")


# The public map shows the position of an item once the village head accepted it, never of a new item
# (its text is not yet checked, and a place may point at a home) nor of one closed without being taken up.
MAP_HIDDEN_STAGES = ("submitted",)
MAP_HIDDEN_OUTCOMES = ("rejected", "duplicate", "redirected", "withdrawn")


def on_public_map(stage: str, outcome: str | None) -> bool:
    """May the public map show the position of an item in this stage with this outcome?"""
    return stage not in MAP_HIDDEN_STAGES and outcome not in MAP_HIDDEN_OUTCOMES


def in_vietnam(lat: float, lng: float) -> bool:
    """Is (lat, lng) on Vietnam's land or islands (within VIETNAM_BOXES)?"""
    return any(s <= lat <= n and w <= lng <= e for s, w, n, e in VIETNAM_BOXES)


def location_problem(lat: float | None, lng: float | None) -> str | None:
    """Why a position cannot be an item's (a message), or None: no position at all is fine; 0, 0 is what
    a phone without a fix (or a photo without a real position) gives; anything outside Vietnam is refused."""
    if lat is None or lng is None:
        return None
    if lat == 0 and lng == 0:
        return NO_POSITION
    return None if in_vietnam(lat, lng) else OUTSIDE_VIETNAM


def check_submission(form: SubmitForm, *, village_ids: set[int], category_ids: set[int], needs_phone: bool,
                     needs_name: bool) -> None:
    """What the form alone cannot tell: the village and the category exist here, the position is in Vietnam,
    and the contact the channel needs was given. Every error at once, so the form can show them all."""
    errors: dict[str, str] = {}
    location = location_problem(form.lat, form.lng)
    if location:
        errors["lat"] = location
    if form.village_id not in village_ids:
        errors["village_id"] = N_("This village does not exist in this commune.")
    if form.category_id not in category_ids:
        errors["category_id"] = N_("This category does not exist.")
    if needs_name and not form.contact_name:
        errors["contact_name"] = N_("Please enter the name of the resident you file this for.")
    if needs_phone and not form.contact_phone:
        errors["contact_phone"] = N_("Please enter a phone number.")
    if errors:
        raise Invalid(errors=errors)


def kept_contact(form: SubmitForm, *, anonymous: bool) -> tuple[str, str]:
    """The contact name and phone stored with an item: only for a submission without an account (or filed
    on behalf of a resident); a signed-in reporter is reached through the account."""
    if not anonymous:
        return "", ""
    return form.contact_name, form.contact_phone or ""


# --- a proposal's asks ---------------------------------------------------------------------------------

ASK_KINDS = ("land", "money", "labour", "materials")


@dataclass(frozen=True)
class ItemAsks:
    """What a proposal asks each household to give: as stored on the item, and as the discussion opens with
    it (civic.deliberation.matters, where it is `Asks`)."""

    land_m2: Decimal | None = None
    money: int | None = None
    labour_days: Decimal | None = None
    materials: str = ""

    @property
    def any(self) -> bool:
        return bool(self.land_m2 or self.money or self.labour_days or self.materials)

    @property
    def kinds(self) -> tuple[str, ...]:
        given = (self.land_m2, self.money, self.labour_days, self.materials)
        return tuple(k for k, v in zip(ASK_KINDS, given, strict=True) if v)


def kept_asks(form: SubmitForm) -> ItemAsks:
    """The asks stored with a submission. The form shows them for a proposal (and always without
    JavaScript); what a resident typed there is kept whatever kind was chosen, since an item that asks
    households for land, money, labour or materials is a contribution however it is filed."""
    return ItemAsks(form.land_area, form.money_amount, form.labour_quantity, form.ask_materials)


# --- the same item sent twice ------------------------------------------------------------------------

# A resident who presses Back and sends again, or sends again because the answer was slow, means the
# item already sent: the same text from the same reporter this soon shows that item instead of a new one.
REPEAT_WINDOW = timedelta(minutes=10)


def same_text(title: str, description: str, other_title: str, other_description: str) -> bool:
    """The same words, whatever the case, the accents typed or the spacing."""
    return same_words(text_key(title, description), other_title, other_description)


def text_key(title: str, description: str) -> tuple[str, str]:
    """A title and text as same_text compares them: folded once, before the writing transaction."""
    return fold(title), fold(description)


def text_digest(key: tuple[str, str]) -> str:
    """A digest of a text_key: two texts have the same words exactly when their digests are equal (the
    column item.text_key_sha256, which the look for a repeat reads by)."""
    return hashlib.sha256("\x1f".join(key).encode()).hexdigest()


def same_words(key: tuple[str, str], other_title: str, other_description: str) -> bool:
    """same_text, for a title and text already folded by text_key (the title first: it differs most)."""
    return fold(other_title) == key[0] and fold(other_description) == key[1]


def is_repeat(title: str, description: str, now: datetime, *, earlier_title: str, earlier_description: str,
              earlier_at: datetime) -> bool:
    """Is a submission of `title`/`description` at `now` a repeat of an item the same reporter sent at
    `earlier_at`? Only the same text, and only within REPEAT_WINDOW (exactly 10 minutes later is new)."""
    return is_repeat_of(text_key(title, description), now, earlier_title=earlier_title,
                        earlier_description=earlier_description, earlier_at=earlier_at)


def is_repeat_of(key: tuple[str, str], now: datetime, *, earlier_title: str, earlier_description: str,
                 earlier_at: datetime) -> bool:
    """is_repeat, for a title and text already folded by text_key."""
    return (timedelta(0) <= now - earlier_at < REPEAT_WINDOW
            and same_words(key, earlier_title, earlier_description))


# --- after sending: edits and additions ------------------------------------------------------------------

# The reporter's photos on one item, those sent with it and those added later, at most: enough to show a
# change over time, and a bound on what one anonymous link can store.
ITEM_PHOTOS_MAX = 15


def check_editable(stage: str) -> None:
    """The reporter may change the title and text only before triage: once the village head accepted (or
    closed) the item, what was accepted, made known and discussed must stay as it was."""
    if stage != Stage.SUBMITTED:
        raise Conflict(N_("The text can no longer be changed: the village head has already triaged this "
                          "item, and what was triaged must stay as it was. You can still add information "
                          "or photos below."))


def check_edit_changes(title: str, description: str, new_title: str, new_description: str) -> None:
    if title == new_title and description == new_description:
        raise Invalid(N_("Nothing was changed."), field="description")


def check_addition(body: str, photos: int, photos_before: int, most: int = ITEM_PHOTOS_MAX) -> None:
    """An addition says something or adds photos, and keeps the item within `most` photos in all."""
    if not body and not photos:
        raise Invalid(N_("Please write something or choose a photo to add."), field="body")
    if photos_before + photos > most:
        left = max(0, most - photos_before)
        if left == 0:
            raise Invalid(N_("This item already has %(most)s photos, the most one item can have. You can "
                             "still add information in words."), field="photos", most=most)
        raise Invalid(N_("An item can have at most %(most)s photos; this one has %(before)s, so you can add "
                         "%(left)s more."), field="photos", most=most, before=photos_before, left=left)


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


def validate_attribute_values(definitions: list[dict[str, Any]],
                              given: dict[str, list[str]]) -> dict[str, Any]:
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
            number = _number(value)
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


def _number(text: str) -> float | None:
    """An attribute's number as a partner sends it ('12.5', '12,5', '1e3'), or None."""
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return None


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


# --- redaction (civic/items/redaction.py) -------------------------------------------------------------

REDACTED_MARK = "[đã che]"  # what stands where personal details were taken out, in every language


def check_may_redact(actor: ActorFacts, commune_id: int, village_id: int) -> None:
    """The village head of the item's village, or an admin of its commune, may redact its public text."""
    if village_id in actor.head_villages or commune_id in actor.admin_communes:
        return
    raise Forbidden(N_("Only the village head of the item's village or an admin can redact it."))


def check_redaction(title: str, description: str, new_title: str, new_description: str) -> None:
    """A redaction changes the public text: sending it unchanged would tell the public something was hidden
    when nothing was."""
    if new_title == title and new_description == description:
        raise Invalid(N_("Nothing was changed: write the public text without the personal details."),
                      field="description")


def shows_detail(stage: str, *, untriaged_detail: str, is_author: bool, sees_private: bool,
                 outcome: str | None = None) -> bool:
    """Whether a viewer sees an item's description, address, location and photos. An item not yet triaged
    may be about a neighbour's land or a family quarrel: until the village head accepts it, the public sees
    its title and village only (setting CIVIC_UNTRIAGED_PUBLIC_DETAIL); its author and staff see it all. An
    item closed without being taken up (rejected, a duplicate, sent elsewhere, withdrawn) stays that way:
    the same items the public map leaves out."""
    if is_author or sees_private or untriaged_detail == "full":
        return True
    return on_public_map(stage, outcome)


def searchable_text(title: str, description: str, address: str, *, stage: str, outcome: str | None,
                    untriaged_detail: str) -> str:
    """What the public search reads of an item (folded): its title always, its description and address only
    where the public sees them, so a search cannot find an item by words its page hides."""
    if shows_detail(stage, untriaged_detail=untriaged_detail, is_author=False, sees_private=False,
                    outcome=outcome):
        return fold(f"{title} {description} {address}")
    return fold(title)
