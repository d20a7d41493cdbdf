"""Forms of the areas pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from civic.core.inputs import Form, _Field, fail
from civic.errors import N_

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
