"""One error class with a status, and its kinds. Messages are msgids, translated by the channel."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is shown."""
    return message


class Message(str):
    """A message id with its own parameters (one field's error among several)."""

    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> Message:
        self = super().__new__(cls, msgid)
        self.params = params
        return self


class CivicError(Exception):
    status = 400

    def __init__(self, message: str, *, field: str | None = None, status: int | None = None, **params: Any):
        super().__init__(message)
        self.message = message
        self.field = field
        self.params = params
        if status is not None:
            self.status = status

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"{type(self).__name__}({self.message!r}, field={self.field!r}, status={self.status})"


class NotFound(CivicError):
    status = 404


class Forbidden(CivicError):
    status = 403


class Conflict(CivicError):
    """A rule says no: the action is not possible in the item's current state."""

    status = 409


class Invalid(CivicError):
    """Bad input. `errors` maps field names to messages when several fields are wrong."""

    status = 422

    def __init__(self, message: str = N_("Please correct the highlighted fields."), *,
                 field: str | None = None, errors: Mapping[str, str] | None = None, **params: Any):
        super().__init__(message, field=field, **params)
        self.errors: dict[str, str] = dict(errors or {})
        if field and field not in self.errors:
            self.errors[field] = message


class TooLarge(CivicError):
    status = 413
