"""Pure decisions about communes and villages: codes, slugs, renames and merges."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date

from civic.errors import N_, Conflict, Invalid

COMMUNE_KINDS = ("xa", "phuong", "dac_khu")  # xã, phường, đặc khu (the local level since 1 July 2025)
VILLAGE_KINDS = ("thon", "to_dan_pho")  # thôn (in a xã), tổ dân phố (in a phường)

_COMMUNE_CODE = re.compile(r"^[A-Z0-9]{2,8}$")


def commune_code(text: str) -> str | None:
    """The letters that begin the commune's item codes ('ns' is 'NS'): 2 to 8 ASCII letters or digits."""
    code = (text or "").strip().upper()
    return code if _COMMUNE_CODE.match(code) else None


def slugify(name: str) -> str:
    """The village's name without diacritics, in lower case, words joined by '-' ('Thôn Đồng Tâm' is
    'thon-dong-tam'); 'village' when nothing is left."""
    text = unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:100] or "village"


def unique_slug(name: str, taken: Iterable[str]) -> str:
    """The name's slug, with '-2', '-3'… when another village of the commune has it already."""
    base, used = slugify(name), set(taken)
    slug, n = base, 1
    while slug in used:
        n += 1
        slug = f"{base}-{n}"
    return slug


def same_name(a: str, b: str) -> bool:
    """Two village names that people would read as the same (case and Unicode form aside)."""
    def key(s: str) -> str:
        return " ".join(unicodedata.normalize("NFC", s).casefold().split())
    return key(a) == key(b)


def check_new_name(name: str, others: Iterable[str]) -> None:
    """A village's name must differ from every other village's name in the commune."""
    if any(same_name(name, other) for other in others):
        raise Invalid(N_("A village named %(name)s already exists in this commune."), field="name", name=name)


def check_merge(merged: list[tuple[int, str, bool]], receiver_id: int | None, on: date, today: date) -> None:
    """A merge of `merged` (id, name, already merged?) into `receiver_id` (None: a new village) on `on`.

    Refused: no village chosen, a village merged into itself, a village that was merged already, a date in
    the future (a merge is recorded once it has been decided)."""
    if not merged:
        raise Invalid(N_("Please choose the villages to merge."), field="village_ids")
    if receiver_id is not None and receiver_id in {vid for vid, _name, _done in merged}:
        raise Invalid(N_("A village cannot be merged into itself."), field="village_ids")
    done = [name for _vid, name, was_merged in merged if was_merged]
    if done:
        raise Conflict(N_("These villages were merged already: %(names)s."), names=", ".join(done))
    if on > today:
        raise Invalid(N_("The merge date cannot be in the future."), field="merged_on")


def code_clashes(moving: Iterable[str], staying: Iterable[str]) -> list[str]:
    """Household codes that would be twice in the receiving village: among the moving households, or
    between them and the receiving village's own."""
    seen = set(staying)
    clashes: set[str] = set()
    for code in moving:
        if code in seen:
            clashes.add(code)
        seen.add(code)
    return sorted(clashes)
