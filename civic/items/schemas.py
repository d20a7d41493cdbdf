"""Forms of the items package: a submission, and the public list's query string."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import model_validator
from pydantic_core import PydanticCustomError

from civic.core.inputs import (
    Choice,
    Coordinate,
    Count,
    Flag,
    Form,
    Id,
    Money,
    Phone,
    Quantity,
    Text,
    clean_text,
    error,
    fail,
)
from civic.core.kinds import Kind, Outcome, Stage
from civic.errors import N_, Invalid

TITLE_MIN, TITLE_MAX = 5, 160
DESCRIPTION_MIN, DESCRIPTION_MAX = 10, 4000
ADDRESS_MAX = 200
CONTACT_NAME_MAX = 80
CLIENT_TOKEN_MAX = 64
MANAGE_TOKEN_MAX = 64
SEARCH_MAX = 100
MATERIALS_MAX = 200
ADDITION_MAX = 2000
PAGE_MAX = 100_000

LOCATION = N_("The location is not valid: latitude −90…90, longitude −180…180.")
BOTH_OR_NEITHER = N_("Please give both latitude and longitude, or neither.")
DAMAGED = N_("The form was damaged; please reload the page and try again.")

_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")

# An item's title and text, as sent, as corrected by its reporter and as redacted: one set of limits.
ItemTitle = Annotated[str, Text(TITLE_MIN, TITLE_MAX, N_("Please write a title of at least 5 characters."),
                                too_long=N_("The title must have at most 160 characters."))]
ItemDescription = Annotated[str, Text(DESCRIPTION_MIN, DESCRIPTION_MAX,
                                      N_("Please describe it in at least 10 characters."), multiline=True,
                                      too_long=N_("The description must have at most 4,000 characters."))]


@dataclass(frozen=True)
class _Longitude(Coordinate):
    """A longitude whose refusal is shown with the latitude: the form has one message for the location."""

    def parse(self, raw: Any) -> float | None:
        try:
            return super().parse(raw)
        except PydanticCustomError:
            raise error(self.message, field="lat") from None


@dataclass(frozen=True)
class ClientToken(Text):
    """The random token a form carries so that sending it twice makes one item: letters, digits, - and _."""

    max: int = CLIENT_TOKEN_MAX
    message: str = DAMAGED

    def parse(self, raw: Any) -> str | None:  # type: ignore[override]
        token = super().parse(raw)
        if token and not _TOKEN.match(token):
            raise fail(DAMAGED)
        return token or None


class SubmitForm(Form):
    """A concern, recommendation or proposal as a resident (or the village head for one) sends it.

    Whether the village and the category exist in the commune is checked by the service (it needs the
    database): see `civic.items.rules.check_places`.
    """

    kind: Annotated[str, Choice(tuple(Kind), N_("Please choose what kind of item this is."))] = ""
    village_id: Annotated[int, Id(N_("Please choose a village."))] = 0
    category_id: Annotated[int, Id(N_("Please choose a category."))] = 0
    title: ItemTitle = ""
    description: ItemDescription = ""
    address: Annotated[str, Text(0, ADDRESS_MAX, N_("The address must have at most 200 characters."))] = ""
    lat: Annotated[float | None, Coordinate(90.0, LOCATION)] = None
    lng: Annotated[float | None, _Longitude(180.0, LOCATION)] = None
    contact_name: Annotated[str, Text(0, CONTACT_NAME_MAX,
                                      N_("The name must have at most 80 characters."))] = ""
    contact_phone: Annotated[str | None, Phone(required=False)] = None
    show_name: Annotated[bool, Flag()] = False
    notify_sms: Annotated[bool, Flag()] = False  # an anonymous reporter agrees to hear of changes by SMS
    client_token: Annotated[str | None, ClientToken()] = None
    # What a proposal asks each household to give (kept only for a proposal: rules.kept_asks).
    land_area: Annotated[Decimal | None, Quantity(required=False)] = None
    money_amount: Annotated[int | None, Money(required=False)] = None
    labour_quantity: Annotated[Decimal | None, Quantity(required=False)] = None
    ask_materials: Annotated[str, Text(0, MATERIALS_MAX,
                                       N_("Materials may have at most 200 characters."))] = ""

    @model_validator(mode="after")
    def _both_coordinates_or_neither(self) -> SubmitForm:
        if (self.lat is None) != (self.lng is None):
            raise error(BOTH_OR_NEITHER, field="lat")
        return self


class AnonymousSubmitForm(SubmitForm):
    """A submission without an account: the village head needs a phone number to reach the resident."""

    contact_phone: Annotated[str | None, Phone()] = None


@dataclass(frozen=True)
class ManageToken(Text):
    """The private manage link's token sent back with an author's form; anything else reads as none."""

    max: int = MANAGE_TOKEN_MAX

    def parse(self, raw: Any) -> str:
        raw = raw[-1] if isinstance(raw, list | tuple) and raw else raw
        token = raw.strip() if isinstance(raw, str) else ""
        return token if len(token) <= self.max and _TOKEN.match(token) else ""


class EditForm(Form):
    """The reporter's new title and text of an item not yet triaged."""

    title: ItemTitle = ""
    description: ItemDescription = ""
    manage_token: Annotated[str, ManageToken()] = ""  # the manage link's, for a reporter without an account


class AdditionForm(Form):
    """Information the reporter adds after sending (with photos, or alone)."""

    body: Annotated[str, Text(0, ADDITION_MAX, N_("Please write at most 2,000 characters."), multiline=True,
                              too_long=N_("Please write at most 2,000 characters."))] = ""
    manage_token: Annotated[str, ManageToken()] = ""


class Query(Form):
    """A query string: a value nothing could have is ignored, as if it had not been given, so an address
    never fails."""

    @classmethod
    def read(cls, params: Mapping[str, Any]) -> Self:
        """The query as far as it can be read: unreadable values are dropped."""
        values: dict[str, Any] = {name: params[name] for name in cls.model_fields if name in params}
        for _ in range(len(cls.model_fields)):
            try:
                return cls.parse(values)
            except Invalid as exc:
                wrong = set(exc.errors) or {exc.field or ""}
                if not wrong & set(values):
                    break
                values = {k: v for k, v in values.items() if k not in wrong}
        return cls()


class SubmitPrefill(Query):
    """/submit?kind=…&village=…&category=…: a link that opens the form partly filled in."""

    kind: Annotated[str | None, Choice(tuple(Kind), required=False)] = None
    village: Annotated[int | None, Id(required=False, lenient=True)] = None
    category: Annotated[int | None, Id(required=False, lenient=True)] = None


class ItemListQuery(Query):
    """The filters of the public list (/items?village=…&stage=…&q=…&page=…)."""

    village: Annotated[int | None, Id(required=False, lenient=True)] = None
    category: Annotated[int | None, Id(required=False, lenient=True)] = None
    stage: Annotated[str | None, Choice(tuple(Stage), required=False)] = None
    outcome: Annotated[str | None, Choice(tuple(Outcome), required=False)] = None
    kind: Annotated[str | None, Choice(tuple(Kind), required=False)] = None
    q: Annotated[str, Text(0, SEARCH_MAX)] = ""
    page: Annotated[int | None, Count(PAGE_MAX, required=False)] = None

    @classmethod
    def read(cls, params: Mapping[str, Any]) -> Self:
        """The query as far as it can be read; a long search is cut to size rather than ignored."""
        values = dict(params.items())
        if "q" in values:
            values["q"] = clean_text(values["q"])[:SEARCH_MAX]
        return super().read(values)


class RedactForm(Form):
    """An item's public text without the personal details, and the public reason for taking them out."""

    title: ItemTitle = ""
    description: ItemDescription = ""
    reason: Annotated[str, Text(5, 500, N_("Please give the public reason (5 to 500 characters)."),
                                multiline=True)] = ""
