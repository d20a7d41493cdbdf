"""Input and output shapes of the media package."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from civic.core.inputs import Form, LocalPath, Text
from civic.errors import N_
from civic.media import rules


@dataclass(frozen=True)
class Upload:
    """One uploaded file as the channel received it. Its name and type are what the client claimed;
    only `data` is trusted, and only after the checks in civic/media/processing.py."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class Variant:
    """One file to store: its bytes, content type and file extension."""

    data: bytes = field(repr=False)
    content_type: str
    ext: str
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class Prepared:
    """An upload that passed every check and was processed; storing it is all that is left.

    Preparing is the slow, CPU-bound part (decoding, turning, resizing, encoding) and needs no database,
    so a route can do it before it opens its writing transaction.
    """

    kind: str  # "photo" | "document"
    filename: str  # cleaned, for showing a document's link
    source_bytes: int
    display: Variant  # a photo's display size, or the document itself
    thumb: Variant | None = None
    original: Variant | None = None  # only when settings.keep_originals
    pages: int | None = None


@dataclass(frozen=True)
class FileField:
    """A form's file field: how many files it takes and of which kinds (civic.media.rules.PHOTO, …)."""

    most: int
    accept: tuple[str, ...]


class HideForm(Form):
    """Hiding a public photo or document: the public reason, and the page to go back to."""

    reason: Annotated[str, Text(rules.REASON_MIN, rules.REASON_MAX,
                                N_("Please say why the photo is hidden, e.g. “a face can be recognised”."),
                                too_long=N_("The reason must have at most 500 characters."))] = ""
    back: Annotated[str, LocalPath(most=299)] = ""
