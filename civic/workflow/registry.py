"""Where the domains plug into the one mover, without the workflow importing them.

Each domain's `transitions.py` registers, at import:
- a facts provider: the part of ItemFacts it knows (`@facts_provider`);
- preconditions: pure checks named in the TRANSITIONS table's `check` column (`@precondition("…")`);
- effects: what a transition changes besides the item's stage, named in the `effect` column
  (`@effect("…", form=TheForm)`), with the form its inputs are parsed into.

`civic.domains` imports every domain's transitions, so the table is complete wherever the app, the
command line or the tests run; `check_complete()` says which named entry is missing otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from civic.core.facts import ActorFacts, ItemFacts
from civic.core.inputs import Form


class Precondition(Protocol):
    def __call__(self, item: ItemFacts, actor: ActorFacts, now: datetime, *, review_window_days: int) -> None:
        ...


@dataclass
class Move:
    """One stage move being applied: what an effect may read and change."""

    session: Any  # the request's Session
    item: Any  # the Item
    viewer: Any  # the acting Viewer
    form: Any  # the parsed form (a TransitionForm or the effect's own form)
    reason: str  # the public reason, checked
    now: datetime  # the moment of the move, the same for every column it sets


FactsProvider = Callable[[Any, Any], dict[str, Any]]  # (session, item) -> ItemFacts fields
Effect = Callable[[Move], dict[str, Any]]  # -> public facts for the audit payload

FACTS: list[FactsProvider] = []
CHECKS: dict[str, Precondition] = {}
EFFECTS: dict[str, Effect] = {}
FORMS: dict[str, type[Form]] = {}


def facts_provider(fn: FactsProvider) -> FactsProvider:
    if fn not in FACTS:
        FACTS.append(fn)
    return fn


def precondition(name: str) -> Callable[[Precondition], Precondition]:
    def register(fn: Precondition) -> Precondition:
        CHECKS[name] = fn
        return fn

    return register


def effect(name: str, form: type[Form] | None = None) -> Callable[[Effect], Effect]:
    def register(fn: Effect) -> Effect:
        EFFECTS[name] = fn
        if form is not None:
            FORMS[name] = form
        return fn

    return register


def check_complete(table: dict[str, Any]) -> list[str]:
    """The check and effect names the table uses that nobody registered."""
    missing = []
    for t in table.values():
        if t.check and t.check not in CHECKS:
            missing.append(t.check)
        if t.effect and t.effect not in EFFECTS:
            missing.append(t.effect)
    return missing
