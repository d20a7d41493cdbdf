"""Forms of the accounts package: create an account, log in, change the password; invite a person to a
role, accept an invitation, reset a password with a code from the commune office."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from pydantic import model_validator

from civic.accounts.rules import STAFF_ROLES, check_term, is_common_password, normalize_code
from civic.core.inputs import (
    Choice,
    Day,
    Form,
    Id,
    Limits,
    Phone,
    Text,
    error,
    fail,
    local_path,
    normalize_phone,
)
from civic.errors import N_, Invalid

PASSWORD_MIN = 8
PASSWORD_MAX = 128
NAME_MAX = 80
PATH_MAX = 2000  # where to go after logging in

WRONG_LOGIN = N_("The phone number or the password is wrong.")
COMMON_PASSWORD = N_("This password is too common and easy to guess. Please choose another one, for example "
                     "a few words you will remember.")


@dataclass(frozen=True)
class Password(Text):
    """A password exactly as typed (spaces and all), between `min` and `max` characters."""

    min: int = PASSWORD_MIN
    max: int = PASSWORD_MAX
    message: str = N_("The password must have at least 8 characters.")
    too_long: str | None = N_("The password must have at most 128 characters.")
    # A new password must not be one of the common passwords attackers try first (ASVS 2.1.7).
    refuse_common: bool = False

    @property
    def limits(self) -> Limits:  # type: ignore[override]
        return Limits(self.min, self.max)

    def parse(self, raw: Any) -> str:
        raw = raw[-1] if isinstance(raw, list | tuple) and raw else raw
        password = raw if isinstance(raw, str) else ""
        if len(password) > self.max and self.too_long:
            raise fail(self.too_long)
        if len(password) < self.min or len(password) > self.max:
            raise fail(self.message)
        if self.refuse_common and is_common_password(password):
            raise fail(COMMON_PASSWORD)
        return password


class NextPath(Text):
    """Where to go after logging in: only a path of this site, else the home page."""

    def parse(self, raw: Any) -> str:
        return safe_next(raw)


def safe_next(value: Any) -> str:
    """Only local paths: never send a user to another site after logging in."""
    return local_path(value, PATH_MAX) or "/"


class RegisterForm(Form):
    display_name: Annotated[str, Text(1, NAME_MAX, N_("Please enter your name."),
                                      too_long=N_("The name must have at most 80 characters."))] = ""
    phone: Annotated[str, Phone()] = ""
    password: Annotated[str, Password(refuse_common=True)] = ""
    password_again: Annotated[str, Password(min=0, max=10 * PASSWORD_MAX, too_long=None)] = ""
    next: Annotated[str, NextPath()] = "/"

    @model_validator(mode="after")
    def _same_password_twice(self) -> RegisterForm:
        if self.password != self.password_again:
            raise error(N_("The two passwords are not the same."), field="password_again")
        return self


class LoginForm(Form):
    """A phone and a password; whatever is wrong with them, the answer is the same one message."""

    phone: Annotated[str, Text(0, 100, WRONG_LOGIN)] = ""
    password: Annotated[str, Password(min=0, max=10 * PASSWORD_MAX, message=WRONG_LOGIN, too_long=None)] = ""
    next: Annotated[str, NextPath()] = "/"

    @model_validator(mode="after")
    def _a_mobile_number(self) -> LoginForm:
        phone = normalize_phone(self.phone)
        if phone is None or not self.password:
            raise error(WRONG_LOGIN, field="password")
        self.phone = phone
        return self


class ChangePasswordForm(Form):
    """The current password (someone who finds a phone left logged in cannot lock its owner out), and the
    new one twice."""

    current_password: Annotated[str, Password(min=1, max=10 * PASSWORD_MAX, too_long=None,
                                              message=N_("Please enter your current password."))] = ""
    new_password: Annotated[str, Password(refuse_common=True)] = ""
    new_password_again: Annotated[str, Password(min=0, max=10 * PASSWORD_MAX, too_long=None)] = ""

    @model_validator(mode="after")
    def _same_password_twice(self) -> ChangePasswordForm:
        if self.new_password != self.new_password_again:
            raise error(N_("The two passwords are not the same."), field="new_password_again")
        return self


# --- people and roles (the commune admin) ---------------------------------------------------------------

class Code(Text):
    """A one-time code as typed or printed (ABCD-EFGH-JKLM-NPQR; spaces, dashes and case do not matter)."""

    def parse(self, raw: Any) -> str:
        text = super().parse(raw)
        code = normalize_code(text)
        if not code:
            raise fail(self.message)
        return code


BAD_CODE = N_("Please enter the code exactly as it is printed (16 letters and digits).")


class InviteForm(Form):
    """Whom to invite, to which role, where and for which term."""

    display_name: Annotated[str, Text(1, NAME_MAX, N_("Please enter the person's name."),
                                      too_long=N_("The name must have at most 80 characters."))] = ""
    phone: Annotated[str, Phone()] = ""
    role: Annotated[str, Choice(tuple(r.code for r in STAFF_ROLES), N_("Please choose a role."))] = ""
    village_id: Annotated[int | None, Id(required=False, message=N_("Please choose a village."))] = None
    starts_on: Annotated[date, Day(missing=N_("Please enter the first day of the term."))]
    ends_on: Annotated[date | None, Day(required=False)] = None

    @model_validator(mode="after")
    def _term(self) -> InviteForm:
        try:
            check_term(self.starts_on, self.ends_on)
        except Invalid as exc:
            raise error(exc.message, field="ends_on") from None
        return self


class AcceptNewForm(Form):
    """Taking an invitation with a new account: a name and a password."""

    display_name: Annotated[str, Text(1, NAME_MAX, N_("Please enter your name."),
                                      too_long=N_("The name must have at most 80 characters."))] = ""
    password: Annotated[str, Password(refuse_common=True)] = ""
    password_again: Annotated[str, Password(min=0, max=10 * PASSWORD_MAX, too_long=None)] = ""

    @model_validator(mode="after")
    def _same_password_twice(self) -> AcceptNewForm:
        if self.password != self.password_again:
            raise error(N_("The two passwords are not the same."), field="password_again")
        return self


class AcceptLoginForm(Form):
    """Taking an invitation with the account the phone number already has: its password."""

    password: Annotated[str, Password(min=1, max=10 * PASSWORD_MAX, message=WRONG_LOGIN, too_long=None)] = ""


class ResetForm(Form):
    """A new password with the one-time code the commune office gave."""

    phone: Annotated[str, Phone()] = ""
    code: Annotated[str, Code(1, 40, BAD_CODE)] = ""
    new_password: Annotated[str, Password(refuse_common=True)] = ""
    new_password_again: Annotated[str, Password(min=0, max=10 * PASSWORD_MAX, too_long=None)] = ""

    @model_validator(mode="after")
    def _same_password_twice(self) -> ResetForm:
        if self.new_password != self.new_password_again:
            raise error(N_("The two passwords are not the same."), field="new_password_again")
        return self


class FindPersonQuery(Form):
    """/admin/people?phone=…: a person of the commune by phone number (a resident who forgot the password)."""

    phone: Annotated[str | None, Phone(required=False)] = None
