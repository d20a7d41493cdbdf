"""Pure rules the Open311 channel uses: attribute definitions and values, titles, the village of a request."""

from __future__ import annotations

import pytest

from civic.errors import Invalid
from civic.items import rules
from tests.open311.conftest import ATTRIBUTES

DEFS = rules.attribute_definitions(__import__("json").dumps(ATTRIBUTES))


def test_definitions_are_normalised_and_ordered():
    assert [d["code"] for d in DEFS] == ["problem", "hazards", "length_m"]
    assert DEFS[1]["values"][0] == {"key": "deep", "name": "Sâu", "name_en": "Sâu"}
    assert rules.attribute_definitions("not json") == []
    assert rules.attribute_definitions('[{"datatype": "string"}, {"code": "x", "datatype": "odd"}]')[0][
        "datatype"] == "string"


def test_values_are_checked_and_typed():
    got = rules.validate_attribute_values(DEFS, {"problem": ["blocked"], "hazards": ["dark", "deep", "dark"],
                                                 "length_m": ["12,5"]})
    assert got == {"problem": "blocked", "hazards": ["dark", "deep"], "length_m": 12.5}


@pytest.mark.parametrize("given,field", [
    ({}, "attribute[problem]"),
    ({"problem": ["gone"]}, "attribute[problem]"),
    ({"problem": ["blocked", "broken"]}, "attribute[problem]"),
    ({"problem": ["blocked"], "hazards": ["deep", "wet"]}, "attribute[hazards]"),
    ({"problem": ["blocked"], "length_m": ["nan"]}, "attribute[length_m]"),
    ({"problem": ["blocked"], "colour": ["red"]}, "attribute[colour]"),
])
def test_bad_values_are_named_by_their_attribute(given, field):
    with pytest.raises(Invalid) as exc:
        rules.validate_attribute_values(DEFS, given)
    assert field in exc.value.errors


def test_title_from_description():
    assert rules.title_from_description("Cống bị tắc. Nước tràn lên đường.", "Thoát nước") == "Cống bị tắc."
    long = rules.title_from_description("Một hai ba " * 20, "Thoát nước")
    assert len(long) <= 80 and long.endswith("…")
    assert rules.title_from_description("", "Thoát nước") == "Thoát nước"


def test_village_for_address():
    villages = [(1, "Hưng Đạo", "hung-dao"), (2, "Tân Tiến", "tan-tien"), (3, "Tân Tiến Mới", "tan-tien-moi")]
    assert rules.village_for_address(villages, "tan-tien", "") == 2
    assert rules.village_for_address(villages, "3", "") == 3
    assert rules.village_for_address(villages, "", "Ngõ 7 thôn tân tiến mới") == 3
    assert rules.village_for_address(villages, "", "Xóm Trên") is None
    with pytest.raises(Invalid):
        rules.village_for_address(villages, "nowhere", "")
