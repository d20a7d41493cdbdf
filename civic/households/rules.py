"""Pure decisions about claim codes, households and their members: no database, no clock of their own."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from enum import StrEnum

from civic.errors import N_, Conflict, Forbidden, Invalid

# Crockford's base 32: digits and capitals without I, L, O and U, which are read or typed as others.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10  # 10 × 5 = 50 random bits
GROUP = 5  # printed as two groups of five: "7KQ2M-XR4PD"
# What people type for what they see: O for 0, I and L for 1 (Crockford's reading rules).
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = str.maketrans("", "", " -._\u00a0\u2010\u2011\u2012\u2013\u2014")

CODE_SHAPE = N_("A claim code has 10 letters and digits, like 7KQ2M-XR4PD. Please check it against your "
                "letter.")


class Outcome(StrEnum):
    """How a join request ended."""

    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


def new_code() -> str:
    """A fresh claim code: 10 characters drawn uniformly from ALPHABET by the system's CSPRNG."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(typed: str) -> str:
    """The code as stored (10 characters of ALPHABET) from what a person typed: lower case, spaces and
    dashes, O for 0, I or L for 1 are all read; anything else is refused with CODE_SHAPE."""
    text = (typed or "")[:60].upper().translate(_SEPARATORS).translate(_READ_AS)
    if len(text) != CODE_LENGTH or any(ch not in ALPHABET for ch in text):
        raise Invalid(CODE_SHAPE, field="code")
    return text


def printed(code: str) -> str:
    """How a code is printed on a letter: groups of five joined by a dash."""
    return "-".join(code[i:i + GROUP] for i in range(0, len(code), GROUP))


def is_active(active_from: date, active_to: date | None, on: date) -> bool:
    """Is a household in the register on a day (active_to is the first day it is no longer)?"""
    return active_from <= on and (active_to is None or active_to > on)


def check_claim(*, used: bool, revoked: bool, expires_at: datetime, now: datetime, household_active: bool
                ) -> None:
    """Can this (existing) code still be used? Each refusal says why in one line."""
    if used:
        raise Conflict(N_("This code has already been used. Each letter's code works once; if someone else "
                          "used it, tell your village head."), field="code")
    if revoked:
        raise Conflict(N_("This code was replaced by a newer letter. Please use the code of the latest "
                          "letter."), field="code")
    if now >= expires_at:
        raise Conflict(N_("This code has expired. Please ask your village head for a new letter."),
                       field="code")
    if not household_active:
        raise Conflict(N_("This household has left the village register, so its code no longer works."),
                       field="code")


def check_can_join(*, already_member: bool, other_household_code: str | None) -> None:
    """One account may be in at most one household of a village, and in each household once."""
    if already_member:
        raise Conflict(N_("You are already a member of this household."))
    if other_household_code is not None:
        raise Conflict(N_("You are already a member of household %(code)s in this village; an account can "
                          "belong to only one household of a village. Leave it first on the My household "
                          "page."), code=other_household_code)


MAX_PENDING = 3  # join requests one account may have waiting at once


def check_pending(*, duplicate: bool, waiting: int) -> None:
    """One request per household at a time, and a few at most in all (a queue no one can flood)."""
    if duplicate:
        raise Conflict(N_("You have already asked to join this household; the village head has not answered "
                          "yet."))
    if waiting >= MAX_PENDING:
        raise Conflict(N_("You already have %(n)s requests waiting. Please wait for an answer before asking "
                          "again."), n=waiting)


def check_handover(*, is_representative: bool, to_is_member: bool, to_self: bool) -> None:
    if not is_representative:
        raise Forbidden(N_("Only the household's representative can hand the role over."))
    if to_self or not to_is_member:
        raise Invalid(N_("Please choose another member of your household."), field="member_id")


def check_leave(*, is_representative: bool, members: int) -> None:
    """The representative hands the role over before leaving, unless no one else is left."""
    if is_representative and members > 1:
        raise Conflict(N_("You are the household's representative: hand the role over to another member "
                          "before you leave."))


def check_village_head(head_villages: frozenset[int], village_id: int) -> None:
    if village_id not in head_villages:
        raise Forbidden(N_("Only the village head of this village can do this."))


def check_letters(*, can_print: bool, households: int, most: int) -> None:
    if not can_print:
        raise Forbidden(N_("Only the village head of this village or a commune administrator can print its "
                           "claim letters."))
    if households == 0:
        raise Invalid(N_("No household of the register matches: nothing to print."), field="village_id")
    if households > most:
        raise Invalid(N_("That is %(n)s letters; at most %(most)s can be printed at once. Please list the "
                         "household codes to print."), field="codes", n=households, most=most)
