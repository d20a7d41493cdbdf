"""Pure item rules: search folding, item codes, and what a valid submission is."""

from __future__ import annotations

import pytest

from civic.errors import Invalid
from civic.items import rules
from civic.items.schemas import AnonymousSubmitForm, SubmitForm


@pytest.fixture(autouse=True)
def clean_db():
    """Pure rules: nothing to empty (overrides the database fixture of tests/conftest.py)."""
    yield


# --- folding for search ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "folded"), [
    ("Đường", "duong"),
    ("đường", "duong"),
    ("ĐƯỜNG LÀNG", "duong lang"),
    ("Cống bị tắc trước nhà văn hoá", "cong bi tac truoc nha van hoa"),
    ("Nhạo Sơn", "nhao son"),
    ("  nhiều   khoảng\ttrắng \n", "nhieu khoang trang"),
    ("Tổ dân phố Quyết Thắng", "to dan pho quyet thang"),
    ("", ""),
    (None, ""),
])
def test_fold(text, folded):
    assert rules.fold(text) == folded


def test_fold_treats_composed_and_decomposed_text_alike():
    composed = "Đường ống"
    decomposed = "Đu\u031b\u0300o\u031bng o\u0302\u0301ng"
    assert rules.fold(composed) == rules.fold(decomposed) == "duong ong"


# --- item codes -----------------------------------------------------------------------------------

def test_format_code_pads_the_number():
    assert rules.format_code("NS", 2026, 1) == "NS-2026-0001"
    assert rules.format_code("NS", 2026, 42) == "NS-2026-0042"
    assert rules.format_code("NS", 2027, 12345) == "NS-2027-12345"


@pytest.mark.parametrize(("typed", "code"), [
    ("NS-2026-0042", "NS-2026-0042"),
    ("ns-2026-0042", "NS-2026-0042"),
    ("ns-2026-42", "NS-2026-0042"),
    (" NS 2026 0042 ", "NS-2026-0042"),
    ("NS_2026_0042", "NS-2026-0042"),
    ("ns  2026\t42", "NS-2026-0042"),
    ("NS-2026-000042", "NS-2026-0042"),
    ("ABC-2027-1", "ABC-2027-0001"),
])
def test_parse_code_accepts_what_people_type(typed, code):
    assert rules.parse_code(typed) == code


@pytest.mark.parametrize("typed", [
    "", "   ", None, "NS", "NS-2026", "2026-0042", "NS-26-0042", "NS-2026-", "NS-2026-1234567",
    "N5-2026-0042", "NS-2026-00x2", "NS-2026-0042; DROP TABLE item", "../../etc/passwd",
    "<script>", "NS–2026–0042x", "ABCDEFGHI-2026-0001",
])
def test_parse_code_refuses_anything_else(typed):
    assert rules.parse_code(typed) is None


# --- a submission: what the form reads, what the database must confirm ---------------------------------

VILLAGES = {1, 2}
CATEGORIES = {10, 11}


def good(**over) -> dict:
    data = {"kind": "concern", "village_id": "1", "category_id": "10", "title": "Cống bị tắc",
            "description": "Nước tràn lên đường sau mưa.", "address": "Xóm Trên",
            "contact_phone": "0912345678"}
    data.update(over)
    return data


def validate(data: dict, needs_contact: bool = True) -> SubmitForm:
    """The form read as the web reads it (a phone is required without an account), then checked against
    this commune's villages and categories."""
    form = (AnonymousSubmitForm if needs_contact else SubmitForm).parse(data)
    rules.check_submission(form, village_ids=VILLAGES, category_ids=CATEGORIES, needs_phone=needs_contact,
                           needs_name=False)
    return form


def errors_of(data: dict, needs_contact: bool = True) -> dict[str, str]:
    with pytest.raises(Invalid) as exc:
        validate(data, needs_contact)
    assert exc.value.status == 422
    return exc.value.errors


def test_a_good_submission():
    sub = validate(good(contact_phone="+84 912 345 678", lat="21.0285", lng="105,8542", show_name="on"))
    assert (sub.kind, sub.village_id, sub.category_id) == ("concern", 1, 10)
    assert sub.title == "Cống bị tắc"
    assert sub.contact_phone == "0912345678"
    assert (sub.lat, sub.lng) == (21.0285, 105.8542)
    assert sub.show_name is True


def test_text_is_trimmed_and_control_characters_removed():
    sub = validate(good(title="  Cống \x00bị   tắc\x07  ", description="  Dòng một\r\nDòng hai   \n\n ",
                        address="  Xóm \t Trên "))
    assert sub.title == "Cống bị tắc"
    assert sub.description == "Dòng một\nDòng hai"
    assert sub.address == "Xóm Trên"


def test_limits_are_inclusive():
    sub = validate(good(title="T" * 160, description="D" * 4000, address="A" * 200, lat="8", lng="102"))
    assert len(sub.title) == 160 and len(sub.description) == 4000 and len(sub.address) == 200


def test_show_name_defaults_to_hidden():
    assert validate(good()).show_name is False


@pytest.mark.parametrize("kind", ["concern", "recommendation", "proposal"])
def test_the_three_kinds(kind):
    assert validate(good(kind=kind)).kind == kind


@pytest.mark.parametrize(("over", "field"), [
    ({"kind": ""}, "kind"),
    ({"kind": "complaint"}, "kind"),
    ({"kind": "<b>concern</b>"}, "kind"),
    ({"village_id": ""}, "village_id"),
    ({"village_id": "abc"}, "village_id"),
    ({"village_id": "3"}, "village_id"),           # not a village of this commune
    ({"village_id": "-1"}, "village_id"),
    ({"village_id": "1.5"}, "village_id"),
    ({"village_id": "9" * 30}, "village_id"),      # no database can hold it as an id
    ({"category_id": "-" + "9" * 30}, "category_id"),
    ({"category_id": ""}, "category_id"),
    ({"category_id": "99"}, "category_id"),
    ({"category_id": "ten"}, "category_id"),
    ({"title": ""}, "title"),
    ({"title": "    "}, "title"),
    ({"title": "Cống"}, "title"),                  # 4 characters
    ({"title": "T" * 161}, "title"),
    ({"description": ""}, "description"),
    ({"description": "ngắn"}, "description"),
    ({"description": "D" * 4001}, "description"),
    ({"address": "A" * 201}, "address"),
    ({"lat": "21.0"}, "lat"),                      # only one of the two
    ({"lng": "105.8"}, "lat"),
    ({"lat": "91", "lng": "105"}, "lat"),
    ({"lat": "-90.5", "lng": "105"}, "lat"),
    ({"lat": "21", "lng": "180.1"}, "lat"),
    ({"lat": "21", "lng": "-181"}, "lat"),
    ({"lat": "nan", "lng": "nan"}, "lat"),
    ({"lat": "NaN", "lng": "105"}, "lat"),
    ({"lat": "21", "lng": "inf"}, "lat"),
    ({"lat": "-Infinity", "lng": "105"}, "lat"),
    ({"lat": "1e400", "lng": "105"}, "lat"),
    ({"lat": "north", "lng": "east"}, "lat"),
    ({"contact_name": "N" * 81}, "contact_name"),
    ({"contact_phone": ""}, "contact_phone"),
    ({"contact_phone": "12345"}, "contact_phone"),
])
def test_each_bad_field_is_named(over, field):
    errors = errors_of(good(**over))
    assert field in errors
    assert set(errors) == {field}, f"only {field} is wrong, got {errors}"


def test_every_error_is_reported_at_once():
    errors = errors_of({"lat": "x"})
    assert set(errors) >= {"kind", "village_id", "category_id", "title", "description", "lat",
                           "contact_phone"}


def test_a_phone_is_asked_for_only_without_an_account():
    sub = validate(good(contact_phone=""), needs_contact=False)
    assert rules.kept_contact(sub, anonymous=False)[1] == ""
    sub = validate(good(contact_phone="0912345678"), needs_contact=False)
    assert rules.kept_contact(sub, anonymous=False)[1] == "", \
        "a signed-in reporter's typed phone is not stored as a contact"


def test_a_manage_link_expires_90_days_after_the_item_closed():
    from datetime import UTC, datetime, timedelta

    closed = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert rules.MANAGE_LINK_DAYS_AFTER_CLOSE == 90
    assert not rules.manage_link_expired(None, closed + timedelta(days=3650)), "an open item's link lasts"
    assert not rules.manage_link_expired(closed, closed)
    assert not rules.manage_link_expired(closed, closed + timedelta(days=90) - timedelta(seconds=1))
    assert rules.manage_link_expired(closed, closed + timedelta(days=90))
    assert rules.manage_link_expired(closed, closed + timedelta(days=400))
    assert not rules.manage_link_expired(closed, closed + timedelta(days=20), days=30)
    assert rules.manage_link_expired(closed, closed + timedelta(days=30), days=30)
