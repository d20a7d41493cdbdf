"""Forms of the areas pages: a commune, a village, a rename and a merge; the household register's
upload and apply."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from pydantic import model_validator

from civic.areas import rules
from civic.core.inputs import Choice, Day, Form, Id, Ids, Phone, Text, _Field, clean_text, error, fail
from civic.errors import N_

NAME_MAX = 120
LABEL_MAX = 40


@dataclass(frozen=True)
class CommuneCode(_Field):
    """The letters of the commune's item codes: 2 to 8 ASCII letters or digits, read in upper case."""

    message: str = N_("The commune code must have 2 to 8 letters or digits (A–Z, 0–9), without "
                      "diacritics or spaces, e.g. NS.")

    def parse(self, raw: Any) -> str:
        raw = raw[-1] if isinstance(raw, list | tuple) and raw else raw
        code = rules.commune_code(clean_text(raw)[:40])
        if code is None:
            raise fail(self.message)
        return code


class CommuneForm(Form):
    name: Annotated[str, Text(2, NAME_MAX, N_("Please enter the commune's name (2 to 120 characters)."))] = ""
    code: Annotated[str, CommuneCode()] = ""
    kind: Annotated[str, Choice(rules.COMMUNE_KINDS, N_("Please choose xã, phường or đặc khu."))] = ""
    province: Annotated[str, Text(2, NAME_MAX, N_("Please enter the province or city (2 to 120 "
                                                  "characters)."))] = ""


VILLAGE_NAME = Text(1, NAME_MAX, N_("Please enter the village's name (1 to 120 characters)."))


class VillageForm(Form):
    name: Annotated[str, VILLAGE_NAME] = ""
    kind: Annotated[str, Choice(rules.VILLAGE_KINDS, N_("Please choose thôn or tổ dân phố."))] = ""
    label: Annotated[str, Text(0, LABEL_MAX, N_("The local word must have at most 40 characters."))] = ""


class RenameVillageForm(Form):
    name: Annotated[str, VILLAGE_NAME] = ""


NEW_VILLAGE = "new"


@dataclass(frozen=True)
class Receiver(Id):
    """The receiving village's id, or NEW_VILLAGE (read as None: a new village named in the form)."""

    def parse(self, raw: Any) -> int | None:
        value = raw[-1] if isinstance(raw, list | tuple) and raw else raw
        if isinstance(value, str) and value.strip() == NEW_VILLAGE:
            return None
        return super().parse(raw)


class MergeVillagesForm(Form):
    """The villages to merge, and where they go: an existing village, or a new one named here."""

    village_ids: Annotated[list[int], Ids(N_("Please choose the villages to merge."))] = []
    into: Annotated[int | None, Receiver(N_("Please choose the receiving village."), required=False)] = None
    new_name: Annotated[str, Text(0, NAME_MAX, N_("The new village's name must have at most 120 "
                                                  "characters."))] = ""
    new_kind: Annotated[str | None, Choice(rules.VILLAGE_KINDS, required=False)] = None
    merged_on: Annotated[date | None, Day()] = None

    @model_validator(mode="after")
    def _one_receiver(self) -> MergeVillagesForm:
        if not self.village_ids:
            raise error(N_("Please choose the villages to merge."), field="village_ids")
        if self.into is None and not self.new_name:
            raise error(N_("Please choose the receiving village, or name a new one."), field="into")
        if self.into is not None and self.new_name:
            raise error(N_("Please either choose a receiving village or name a new one, not both."),
                        field="into")
        return self


PREVIEW_GONE = N_("This preview is no longer available. Please upload the file again.")


@dataclass(frozen=True)
class Opaque(_Field):
    """A value the server made and a page sends back unchanged (a random token, a hex digest): letters,
    digits, '-' and '_' only, `min` to `max` of them. Anything else was not made here."""

    min: int = 16
    max: int = 64
    message: str = PREVIEW_GONE

    def parse(self, raw: Any) -> str:
        if isinstance(raw, list | tuple):
            raw = raw[-1] if raw else ""
        text = str(raw if raw is not None else "").strip()
        if not re.fullmatch(rf"[A-Za-z0-9_-]{{{self.min},{self.max}}}", text):
            raise fail(self.message)
        return text


class RegisterApplyForm(Form):
    """Applying a previewed register file: the server-side upload it names, the file's SHA-256 and the
    digest of the preview shown (what is applied must be exactly what was previewed)."""

    token: Annotated[str, Opaque(16, 64)]
    sha256: Annotated[str, Opaque(64, 64)]
    digest: Annotated[str, Opaque(64, 64)]


class RegisterFileQuery(Form):
    """The list of every problem of a previewed register file: the upload it names and the file's SHA-256."""

    token: Annotated[str, Opaque(16, 64)]
    sha256: Annotated[str, Opaque(64, 64)]


# --- several communes --------------------------------------------------------------------------------

COMMUNE_SEARCH_MAX = 80


class CommuneSearchQuery(Form):
    """The commune picker's search (/?q=…): a long search is cut to size, anything unreadable ignored."""

    q: Annotated[str, Text(0, COMMUNE_SEARCH_MAX)] = ""

    @classmethod
    def read(cls, params: Any) -> CommuneSearchQuery:
        raw = params.get("q", "") if hasattr(params, "get") else ""
        try:
            return cls.parse({"q": clean_text(raw)[:COMMUNE_SEARCH_MAX]})
        except Exception:
            return cls()


class MergeCommunesForm(Form):
    """The operator merges one commune into another from a date."""

    source: Annotated[int | None, Id(N_("Please choose the commune that is merged."))] = None
    into: Annotated[int | None, Id(N_("Please choose the receiving commune."))] = None
    merged_on: Annotated[date | None, Day()] = None


class InviteAdminForm(Form):
    """The operator invites a commune's first administrator by name and phone."""

    display_name: Annotated[str, Text(1, 80, N_("Please enter the person's name."),
                                      too_long=N_("The name must have at most 80 characters."))] = ""
    phone: Annotated[str, Phone()] = ""
