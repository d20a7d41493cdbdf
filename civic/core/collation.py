"""Vietnamese alphabetical order, for lists people read (villages, communes).

Sorting by character code puts "Thôn Trung" before "Thôn Đoài" (Đ is U+0110, after every ASCII letter) and
"Ân" after "Yên". Vietnamese dictionaries order the letters a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t
u ư v x y, and a word's tones after its letters: none, huyền, hỏi, ngã, sắc, nặng. No locale or ICU is
needed: Unicode decomposition (NFD) separates each letter from its marks."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# Marks that make another letter (ă, â/ê/ô, ơ/ư) and the rank of the letter they make after their base.
_LETTER_MARKS = {"\u0306": 1, "\u0302": 2, "\u031b": 3}  # breve, circumflex, horn
# Tone marks in dictionary order (no mark is 0).
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}  # huyền, hỏi, ngã, sắc, nặng


@lru_cache(maxsize=16384)  # the same village and commune names are sorted on every list page
def vi_key(text: str) -> tuple:
    """A sort key: letters first (đ right after d, ă and â right after a…), then tones, then case."""
    letters: list[tuple[str, int]] = []
    tones: list[int] = []
    cases: list[int] = []
    for ch in unicodedata.normalize("NFD", text):
        if ch in _LETTER_MARKS and letters:
            base, _ = letters[-1]
            letters[-1] = (base, _LETTER_MARKS[ch])
        elif ch in _TONES and tones:
            tones[-1] = _TONES[ch]
        elif unicodedata.combining(ch):
            continue
        else:
            low = ch.lower()
            if low == "đ":
                letters.append(("d", 1))
            else:
                letters.append((low, 0))
            tones.append(0)
            cases.append(0 if ch == low else 1)
    return (tuple(letters), tuple(tones), tuple(cases))
