"""Dân biết and Dân bàn forms."""

from __future__ import annotations

from typing import Annotated

from civic.core.inputs import Flag, Text
from civic.errors import N_
from civic.workflow.schemas import TransitionForm


class OpenDiscussionForm(TransitionForm):
    """The question households decide (the item's title when left empty) and whether it asks households
    for contributions of land, money or labour."""

    question: Annotated[str, Text(0, 1000, N_("Please state the question the households decide (5 to 1000 "
                                              "characters)."), multiline=True)] = ""
    asks_contribution: Annotated[bool, Flag()] = False
