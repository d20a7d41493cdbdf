"""One placement of the tone mark in Vietnamese: the one of government documents, "hóa", "hòa", "thủy",
"Ủy ban" (see CONTRIBUTING.md, Translations). The other placement ("hoá", "thuỷ", "Uỷ ban") is refused in
the Vietnamese catalog and in the templates."""

from __future__ import annotations

import re
import unicodedata

import pytest
from babel.messages.pofile import read_po

from civic.config import ROOT

# In a syllable that ends in oa, oe or uy (nothing after: "khoảng", "thoại" are another matter), the mark
# the other way sits on the last vowel. "quý" is not such a syllable: its u belongs to the qu.
OTHER_STYLE = re.compile(r"(?<![qQ])(?:[oO][áàảãạÁÀẢÃẠéèẻẽẹÉÈẺẼẸ]|[uU][ýỳỷỹỵÝỲỶỸỴ])(?!\w)")
CHOSEN_STYLE = re.compile(r"(?<![qQ])(?:[óòỏõọÓÒỎÕỌ][aAeE]|[úùủũụÚÙỦŨỤ][yY])(?!\w)")


def others(text: str) -> list[str]:
    """The words of `text` written with the other placement."""
    text = unicodedata.normalize("NFC", text)
    return [re.findall(r"\w+", text[:m.end()])[-1] for m in OTHER_STYLE.finditer(text)]


@pytest.mark.parametrize(("text", "found"), [
    ("Văn hoá", ["hoá"]), ("Uỷ ban nhân dân", ["Uỷ"]),
    ("tuỳ chọn, khoá, xoá, hoạ", ["tuỳ", "khoá", "xoá", "hoạ"]),
    ("Văn hóa, Ủy ban, tùy, khóa, xóa, họa, thủy", []),
    ("khoảng, thoại, đoạn, hoàn toàn, quý, quỳ, ngoài, khoẻ mạnh", ["khoẻ"]),
])
def test_the_check_tells_the_two_placements_apart(text, found):
    assert others(text) == found


def test_the_chosen_placement_is_recognised():
    assert CHOSEN_STYLE.search("Ủy ban") and CHOSEN_STYLE.search("văn hóa") and CHOSEN_STYLE.search("khỏe")
    assert not CHOSEN_STYLE.search("quý khách, khoảng cách")


def test_the_vietnamese_catalog_uses_one_placement():
    with (ROOT / "locales" / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    bad = []
    for message in catalog:
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        for text in strings:
            if text and others(text):
                bad.append(f"{others(text)} in {text[:80]!r}")
    assert not bad, "\n".join(bad)


def test_the_templates_use_one_placement():
    bad = []
    for path in sorted((ROOT / "templates").rglob("*")):
        if path.is_file() and path.suffix in {".html", ".xml", ".txt", ".js"}:
            found = others(path.read_text(encoding="utf-8"))
            if found:
                bad.append(f"{path.relative_to(ROOT)}: {found}")
    assert not bad, "\n".join(bad)
