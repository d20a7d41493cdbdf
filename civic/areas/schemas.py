"""Forms of the areas pages."""

from __future__ import annotations

from typing import Annotated

from civic.core.inputs import Form, Text
from civic.errors import N_

PREVIEW_GONE = N_("This preview is no longer available. Please upload the file again.")


class RegisterApplyForm(Form):
    """Applying a previewed register file: the server-side upload it names, the file's SHA-256 and the
    digest of the preview shown (what is applied must be exactly what was previewed)."""

    token: Annotated[str, Text(16, 64, PREVIEW_GONE)]
    sha256: Annotated[str, Text(64, 64, PREVIEW_GONE)]
    digest: Annotated[str, Text(64, 64, PREVIEW_GONE)]


class RegisterFileQuery(Form):
    """The list of every problem of a previewed register file: the upload it names and the file's SHA-256."""

    token: Annotated[str, Text(16, 64, PREVIEW_GONE)]
    sha256: Annotated[str, Text(64, 64, PREVIEW_GONE)]
