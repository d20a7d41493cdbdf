"""Villages and communes are listed in Vietnamese alphabetical order, not by character code."""

from __future__ import annotations

from civic.core.collation import vi_key


def test_d_with_stroke_comes_right_after_d_not_after_z():
    names = ["Thôn Trung", "Thôn Đoài", "Thôn Dương", "Thôn Đông", "Thôn Yên", "Thôn Ea"]
    assert sorted(names, key=vi_key) == ["Thôn Dương", "Thôn Đoài", "Thôn Đông", "Thôn Ea", "Thôn Trung",
                                         "Thôn Yên"]


def test_letters_with_marks_follow_their_base_letter():
    # a ă â … o ô ơ … u ư: each its own letter, right after its base.
    assert sorted(["Ơn", "On", "Ôn", "Ưu", "Uy", "Ân", "Ăn", "An"], key=vi_key) == [
        "An", "Ăn", "Ân", "On", "Ôn", "Ơn", "Uy", "Ưu"]


def test_tones_order_words_with_the_same_letters():
    # none, huyền, hỏi, ngã, sắc, nặng
    assert sorted(["Bạ", "Bá", "Bã", "Bả", "Bà", "Ba"], key=vi_key) == ["Ba", "Bà", "Bả", "Bã", "Bá", "Bạ"]


def test_letters_decide_before_tones_and_case_last():
    assert sorted(["Bà Vì", "Ba Vì", "ba vì"], key=vi_key) == ["ba vì", "Ba Vì", "Bà Vì"]
    # The same text in composed or decomposed Unicode sorts the same.
    import unicodedata
    assert vi_key(unicodedata.normalize("NFD", "Đồng Tâm")) == vi_key("Đồng Tâm")
