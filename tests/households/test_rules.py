"""The pure rules of households: claim codes (alphabet, entropy, reading what people type, printing),
whether a code still works, one household per village, handing over and leaving."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest

from civic.errors import Conflict, Forbidden, Invalid
from civic.households import rules
from civic.households.schemas import ClaimForm, DecideJoinForm, LettersForm


@pytest.fixture(autouse=True)
def clean_db():  # pure rules: no database
    yield


def test_a_code_has_at_least_50_random_bits_from_an_alphabet_without_look_alikes():
    assert len(rules.ALPHABET) == 32 and len(set(rules.ALPHABET)) == 32
    assert not set("ILOU") & set(rules.ALPHABET)
    assert rules.CODE_LENGTH * math.log2(len(rules.ALPHABET)) >= 50
    codes = {rules.new_code() for _ in range(2000)}
    assert len(codes) == 2000  # 2000 draws of 50 bits: a repeat would mean a broken generator
    assert all(len(c) == 10 and set(c) <= set(rules.ALPHABET) for c in codes)
    # Every character of the alphabet turns up (2000 × 10 draws from 32).
    assert set("".join(codes)) == set(rules.ALPHABET)


@pytest.mark.parametrize("typed, read", [
    ("7KQ2M-XR4PD", "7KQ2MXR4PD"),
    ("7kq2m xr4pd", "7KQ2MXR4PD"),
    (" 7KQ2M–XR4PD ", "7KQ2MXR4PD"),  # an en dash, as a phone's keyboard may make it
    ("OOOOO-IIIII", "0000011111"),  # O read as 0, I as 1
    ("lllll.ooooo", "1111100000"),  # l read as 1
])
def test_what_people_type_is_read(typed, read):
    assert rules.normalize_code(typed) == read
    assert ClaimForm.parse({"code": typed}).code == read


@pytest.mark.parametrize("typed", ["", "7KQ2M-XR4P", "7KQ2M-XR4PDD", "7KQ2M-XR4PU", "ÁKQ2M-XR4PD", "x" * 500])
def test_anything_else_is_refused_with_one_message(typed):
    with pytest.raises(Invalid) as err:
        ClaimForm.parse({"code": typed})
    assert err.value.errors == {"code": rules.CODE_SHAPE}


def test_printed_in_two_groups_of_five():
    assert rules.printed("7KQ2MXR4PD") == "7KQ2M-XR4PD"


NOW = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)


def _claim(**over):
    args = {"used": False, "revoked": False, "expires_at": NOW + timedelta(days=1), "now": NOW,
            "household_active": True}
    args.update(over)
    rules.check_claim(**args)


def test_a_code_works_until_the_moment_it_expires():
    _claim()
    _claim(expires_at=NOW + timedelta(seconds=1))
    with pytest.raises(Conflict, match="expired"):
        _claim(expires_at=NOW)


@pytest.mark.parametrize("over, says", [
    ({"used": True}, "already been used"),
    ({"revoked": True}, "replaced by a newer letter"),
    ({"expires_at": NOW - timedelta(days=1)}, "expired"),
    ({"household_active": False}, "left the village register"),
    # Used wins over everything else: the resident learns the one thing that matters.
    ({"used": True, "revoked": True, "household_active": False}, "already been used"),
])
def test_each_refusal_says_why(over, says):
    with pytest.raises(Conflict, match=says):
        _claim(**over)


def test_a_household_is_in_the_register_from_its_first_day_until_the_day_it_leaves():
    assert rules.is_active(date(2026, 1, 1), None, date(2026, 1, 1))
    assert not rules.is_active(date(2026, 1, 2), None, date(2026, 1, 1))
    assert rules.is_active(date(2026, 1, 1), date(2026, 3, 1), date(2026, 2, 28))
    assert not rules.is_active(date(2026, 1, 1), date(2026, 3, 1), date(2026, 3, 1))


def test_one_household_per_village_and_once_per_household():
    rules.check_can_join(already_member=False, other_household_code=None)
    with pytest.raises(Conflict, match="already a member of this household"):
        rules.check_can_join(already_member=True, other_household_code=None)
    with pytest.raises(Conflict) as err:
        rules.check_can_join(already_member=False, other_household_code="H0005")
    assert err.value.params == {"code": "H0005"}


def test_hand_over_and_leave():
    rules.check_handover(is_representative=True, to_is_member=True, to_self=False)
    with pytest.raises(Forbidden):
        rules.check_handover(is_representative=False, to_is_member=True, to_self=False)
    with pytest.raises(Invalid):
        rules.check_handover(is_representative=True, to_is_member=True, to_self=True)
    with pytest.raises(Invalid):
        rules.check_handover(is_representative=True, to_is_member=False, to_self=False)
    rules.check_leave(is_representative=False, members=3)
    rules.check_leave(is_representative=True, members=1)  # the last member may leave
    with pytest.raises(Conflict, match="hand the role over"):
        rules.check_leave(is_representative=True, members=2)


def test_letters_need_a_right_something_to_print_and_a_limit():
    rules.check_letters(can_print=True, households=300, most=300)
    with pytest.raises(Forbidden):
        rules.check_letters(can_print=False, households=3, most=300)
    with pytest.raises(Invalid, match="nothing to print"):
        rules.check_letters(can_print=True, households=0, most=300)
    with pytest.raises(Invalid) as err:
        rules.check_letters(can_print=True, households=301, most=300)
    assert err.value.params == {"n": 301, "most": 300}


def test_forms():
    form = LettersForm.parse({"village_id": "3", "codes": "h001, H002;\nH003", "unrepresented": "on"})
    assert form.code_list() == ["H001", "H002", "H003"] and form.unrepresented
    with pytest.raises(Invalid) as err:
        LettersForm.parse({"village_id": "3", "codes": " ".join(f"H{n}" for n in range(301))})
    assert set(err.value.errors) == {"codes"}
    with pytest.raises(Invalid) as err:
        DecideJoinForm.parse({"decision": "refuse", "reason": "no"})
    assert set(err.value.errors) == {"reason"}
    assert DecideJoinForm.parse({"decision": "approve"}).reason == ""
    with pytest.raises(Invalid):
        DecideJoinForm.parse({"decision": "maybe"})


def test_one_request_per_household_and_three_waiting_at_most():
    rules.check_pending(duplicate=False, waiting=2)
    with pytest.raises(Conflict, match="already asked"):
        rules.check_pending(duplicate=True, waiting=1)
    with pytest.raises(Conflict) as err:
        rules.check_pending(duplicate=False, waiting=3)
    assert err.value.params == {"n": 3}
