"""Forms of the stage moves: every move may carry a public reason; some carry more."""

from __future__ import annotations

from typing import Annotated

from civic.core.inputs import Form, Id, Text
from civic.errors import N_

REASON_MAX = 2000


class TransitionForm(Form):
    """A public reason; required (at least 5 characters) where the TRANSITIONS row says so."""

    reason: Annotated[str, Text(0, REASON_MAX, N_("The reason must have at most 2,000 characters."),
                                multiline=True)] = ""


class DuplicateForm(TransitionForm):
    original_code: Annotated[str, Text(0, 40, N_("Please give the code of the original item, "
                                                 "like NS-2026-0042."))] = ""


class RedirectForm(TransitionForm):
    destination: Annotated[str, Text(3, 200, N_("Please say where the item was sent "
                                                "(3 to 200 characters)."))] = ""


class RecategorizeForm(TransitionForm):
    village_id: Annotated[int | None, Id(N_("This village does not exist in this commune."),
                                         lenient=True)] = None
    category_id: Annotated[int | None, Id(N_("This category does not exist."), lenient=True)] = None
