"""The forms of following and of notification preferences."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import model_validator

from civic.core.inputs import Choice, Count, Flag, Form, Limits, Phone, Text, _Field, _first, error, fail
from civic.errors import N_

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
BAD_EMAIL = N_("This is not an e-mail address (like ten@example.vn).")


@dataclass(frozen=True)
class Email(_Field):
    """An e-mail address, lower-cased domain, at most 254 characters."""

    required: bool = True

    @property
    def limits(self) -> Limits:  # type: ignore[override]
        return Limits(3, 254)

    def parse(self, raw: Any) -> str | None:
        raw = _first(raw)
        text = str(raw if raw is not None else "").strip()
        if not text:
            if self.required:
                raise fail(N_("Please enter an e-mail address."))
            return None
        if len(text) > 254 or not _EMAIL.match(text):
            raise fail(BAD_EMAIL)
        local, _, domain = text.rpartition("@")
        return f"{local}@{domain.lower()}"


class FollowContactForm(Form):
    channel: Annotated[str | None, Choice(("sms", "email"), N_("Please choose SMS or e-mail."))] = None
    phone: Annotated[str | None, Phone(required=False)] = None
    email: Annotated[str | None, Email(required=False)] = None

    @model_validator(mode="after")
    def _contact(self) -> FollowContactForm:
        if self.channel == "sms" and not self.phone:
            raise error(N_("Please enter a phone number."), field="phone")
        if self.channel == "email" and not self.email:
            raise error(N_("Please enter an e-mail address."), field="email")
        return self

    @property
    def address(self) -> str:
        return (self.phone if self.channel == "sms" else self.email) or ""


class ConfirmCodeForm(Form):
    code: Annotated[str, Text(6, 6, N_("The code has 6 digits."))] = ""


class ResendForm(Form):
    phone: Annotated[str | None, Phone()] = None


class PushForm(Form):
    subscription: Annotated[str, Text(20, 1000, N_("This browser could not turn on notifications."))] = ""

    @model_validator(mode="after")
    def _subscription(self) -> PushForm:
        import json

        try:
            data = json.loads(self.subscription)
            ok = (isinstance(data, dict) and str(data.get("endpoint", "")).startswith("https://")
                  and isinstance(data.get("keys"), dict) and {"p256dh", "auth"} <= set(data["keys"]))
        except ValueError:
            ok = False
        if not ok:
            raise error(N_("This browser could not turn on notifications."), field="subscription")
        return self


HOURS = N_("Please give an hour from 0 to 23.")


class PreferencesForm(Form):
    email: Annotated[bool, Flag()] = False
    sms: Annotated[bool, Flag()] = False
    push: Annotated[bool, Flag()] = False
    zalo: Annotated[bool, Flag()] = False
    quiet_from: Annotated[int | None, Count(max=23, message=HOURS)] = None
    quiet_to: Annotated[int | None, Count(max=23, message=HOURS)] = None
    digest: Annotated[bool, Flag()] = False
    language: Annotated[str | None, Choice(("vi", "en"))] = None

    @property
    def channels(self) -> list[str]:
        return [c for c in ("email", "sms", "push", "zalo") if getattr(self, c)]


FORMS = (FollowContactForm, ConfirmCodeForm, PreferencesForm, ResendForm, PushForm)
