"""Pure rules of what happens after sending: a proposal's asks and the legal matter they imply, the same
text sent again, corrections before triage, and the photo cap of an item."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from civic.deliberation import matters
from civic.errors import Conflict, Invalid
from civic.items import rules
from civic.items.schemas import SubmitForm


@pytest.fixture(autouse=True)
def clean_db():
    """Pure rules: nothing to empty (overrides the database fixture of tests/conftest.py)."""
    yield


def _form(kind: str, **asks: str) -> SubmitForm:
    return SubmitForm.parse({"kind": kind, "village_id": "1", "category_id": "1",
                             "title": "Bê tông hoá ngõ 5",
                             "description": "Làm đường bê tông dài 120 m cho 14 hộ.", **asks})


# --- a proposal's asks ------------------------------------------------------------------------------

def test_a_proposal_keeps_what_it_asks_as_typed():
    asks = rules.kept_asks(_form("proposal", land_area="12,5", money_amount="1.500.000", labour_quantity="3",
                                 ask_materials="2 bao xi măng"))
    assert asks == rules.ItemAsks(Decimal("12.50"), 1_500_000, Decimal("3.00"), "2 bao xi măng")
    assert asks.any


@pytest.mark.parametrize("kind", ["concern", "recommendation"])
def test_asks_typed_with_another_kind_are_kept_too(kind):
    """Without JavaScript the fields are always shown: what was typed there is not thrown away."""
    asks = rules.kept_asks(_form(kind, money_amount="500.000", ask_materials="cát"))
    assert asks == rules.ItemAsks(None, 500_000, None, "cát") and asks.any
    assert not rules.kept_asks(_form(kind)).any


@pytest.mark.parametrize(("field", "typed", "message"), [
    ("money_amount", "-5", "The amount must be more than zero."),
    ("money_amount", "năm trăm", "Please enter a whole number of đồng, like 1.500.000."),
    ("land_area", "1" * 41, "This amount is far too large."),
    ("labour_quantity", "0,125", "Please use at most two decimal places."),
    ("ask_materials", "x" * 201, "Materials may have at most 200 characters."),
])
def test_a_wrong_ask_is_refused_next_to_its_field(field, typed, message):
    with pytest.raises(Invalid) as refused:
        _form("proposal", **{field: typed})
    assert refused.value.errors == {field: message}


def test_the_items_asks_are_the_default_of_the_discussion_and_the_village_heads_figures_replace_them():
    item = matters.Asks(Decimal("12.50"), 1_500_000, None, "")
    assert matters.with_item_asks(matters.Asks(), item) == item
    given = matters.Asks(None, 2_000_000, Decimal("2"), "đá")
    merged = matters.with_item_asks(given, item)
    assert merged == matters.Asks(Decimal("12.50"), 2_000_000, Decimal("2"), "đá")


def test_a_proposal_asking_money_is_a_contribution_and_is_lowered_only_with_a_reason():
    # Law 10/2022/QH15 Art. 15: contributions (matters 1 and 2) are decided by the households.
    asks = matters.with_item_asks(matters.Asks(), matters.Asks(money=500_000))
    matters.check_matter(1, "village", asks, "")
    matters.check_matter(2, "village", asks, "")
    with pytest.raises(Invalid) as refused:
        matters.check_matter(6, "village", asks, "")
    assert refused.value.field == "matter_reason"
    with pytest.raises(Invalid):
        matters.check_matter(6, "village", asks, "ngắn")  # 4 characters: not a reason
    matters.check_matter(6, "village", asks, "Tiền do doanh nghiệp tài trợ, hộ không đóng.")
    matters.check_matter(6, "village", matters.with_item_asks(matters.Asks(), matters.Asks()), "")


# --- the same text sent again -------------------------------------------------------------------------

SENT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
TITLE, TEXT = "Cống bị tắc trước nhà văn hoá", "Nước tràn lên đường sau mưa lớn."


@pytest.mark.parametrize(("later", "title", "text", "repeat"), [
    (timedelta(seconds=0), TITLE, TEXT, True),
    (timedelta(minutes=9, seconds=59), TITLE, TEXT, True),
    (timedelta(minutes=10), TITLE, TEXT, False),  # exactly 10 minutes later is a new item
    (timedelta(hours=2), TITLE, TEXT, False),
    (timedelta(minutes=1), "CỐNG BỊ TẮC  trước nhà văn hóa", " nước tràn lên đường sau mưa lớn. ", True),
    (timedelta(minutes=1), TITLE, "Nước tràn lên đường sau mưa nhỏ.", False),
    (timedelta(minutes=1), "Cống bị tắc ở chợ", TEXT, False),
    (timedelta(minutes=-1), TITLE, TEXT, False),  # an item from the future (a clock moved back) is not it
])
def test_a_repeat_is_the_same_text_within_ten_minutes(later, title, text, repeat):
    assert rules.is_repeat(title, text, SENT + later, earlier_title=TITLE, earlier_description=TEXT,
                           earlier_at=SENT) is repeat


# --- corrections and additions -------------------------------------------------------------------------

def test_the_text_can_be_corrected_only_before_triage():
    rules.check_editable("submitted")
    for stage in ("know", "discuss", "do", "inspect", "closed"):
        with pytest.raises(Conflict) as refused:
            rules.check_editable(stage)
        assert "already triaged" in refused.value.message


def test_a_correction_that_changes_nothing_is_refused():
    with pytest.raises(Invalid):
        rules.check_edit_changes(TITLE, TEXT, TITLE, TEXT)
    rules.check_edit_changes(TITLE, TEXT, TITLE, TEXT + " Đã ba ngày.")


def test_an_addition_says_something_or_adds_a_photo():
    with pytest.raises(Invalid) as refused:
        rules.check_addition("", 0, 0)
    assert refused.value.errors == {"body": "Please write something or choose a photo to add."}
    rules.check_addition("Đã tắc thêm đoạn ngõ 4.", 0, 15)
    rules.check_addition("", 1, 0)


@pytest.mark.parametrize(("before", "adding", "allowed", "left"), [
    (0, 5, True, None),
    (10, 5, True, None),  # exactly 15 in all
    (11, 5, False, 4),
    (14, 2, False, 1),
    (15, 1, False, 0),
])
def test_an_item_has_at_most_15_photos_of_its_reporter(before, adding, allowed, left):
    assert rules.ITEM_PHOTOS_MAX == 15
    if allowed:
        rules.check_addition("", adding, before)
        return
    with pytest.raises(Invalid) as refused:
        rules.check_addition("", adding, before)
    assert set(refused.value.errors) == {"photos"}
    if left:
        assert refused.value.params["left"] == left
    else:
        assert "left" not in refused.value.params
