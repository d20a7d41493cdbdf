"""Forms of the accounts package: create an account, log in, change the password."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import model_validator

from civic.accounts.rules import is_common_password
from civic.core.inputs import Form, Limits, Phone, Text, error, fail, local_path, normalize_phone
from civic.errors import N_

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
