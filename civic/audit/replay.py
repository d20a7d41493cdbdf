"""Fold a commune's audit events into the public state the pages show, to compare with the tables.

Pure: events in, the expected rows out. `civic.audit.service.reconcile` reads the tables and compares.
A table edited without an event (a decision's tally, an item's title or stage, a pledge's amount) no
longer matches what its events say (OWASP ASVS v4 7.3.3: the log proves the data, not only itself).

What the events carry, and so what is recomputed (field names are the tables' columns; `withdrawn`,
`disputed`, `resolved` and `hidden` stand for "its *_at column is set"):

- item: code, title (its SHA-256; events recorded from now on), kind, village_id, category_id, stage, outcome
- decision: status, yes, no, abstain, households_total, passed
- meeting: households_present, households_total, quorum   support: the row exists (until withdrawn)
- pledge: kind, money or quantity, withdrawn     delivery: money or quantity, disputed
- budget_line: source, amount                    spending: budget_line_id, amount
- progress_update: percent                       inspection: result
- checklist_entry: mark                          verdict: verdict, satisfaction
- finding: severity, resolved                    comment: hidden
- front_agreement: agreed, minutes_ref, withdrawn
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from civic.audit.rules import text_digest

CLOSED = "closed"

# How a move closes an inspection (civic/supervision/transitions.py).
INSPECTION_RESULTS = {"sign_off": "signed_off", "rework": "rework", "close_not_done": "not_done"}

# Tables whose every row is written together with an event naming its id: a row without one was added
# behind the chain's back. (item rows are checked too, by their `submitted` event.)
ID_KEYS = {
    "decision": "decision_id", "pledge": "pledge_id", "delivery": "delivery_id",
    "budget_line": "budget_line_id", "spending": "spending_id", "progress_update": "progress_id",
    "inspection": "inspection_id", "verdict": "verdict_id", "finding": "finding_id", "support": "support_id",
    "item_addition": "addition_id", "item_edit": "edit_id", "front_agreement": "front_agreement_id",
}

# Boolean fields the tables keep as "is this timestamp set".
# Fields the events carry as a digest of a column, not its text.
DIGEST_OF = {"title_sha256": "title"}
SET_WHEN = {"withdrawn": "withdrawn_at", "disputed": "disputed_at", "resolved": "resolved_at",
            "hidden": "hidden_at"}


@dataclass(frozen=True)
class Event:
    seq: int
    item_id: int | None
    action: str
    payload: dict[str, Any]


@dataclass
class State:
    """What the events say: for each (table, row id) the fields they fix, and the item each row is of."""

    rows: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    item_of: dict[tuple[str, int], int] = field(default_factory=dict)
    item_codes: dict[int, str] = field(default_factory=dict)
    code_of: dict[tuple[str, int], str] = field(default_factory=dict)  # rows of events off the timeline
    gone: set[tuple[str, int]] = field(default_factory=set)  # rows the events removed (a withdrawn support)

    def set(self, table: str, row: Any, item_id: int | None, **values: Any) -> None:
        if not isinstance(row, int) or isinstance(row, bool):
            return
        self.rows.setdefault((table, row), {}).update(values)
        self.gone.discard((table, row))
        if item_id is not None:
            self.item_of.setdefault((table, row), item_id)

    def remove(self, table: str, row: Any) -> None:
        if isinstance(row, int) and not isinstance(row, bool):
            self.rows.pop((table, row), None)
            self.gone.add((table, row))


def number(value: Any) -> Decimal | None:
    """A figure as a Decimal, whatever carried it (an int, a float from SQLite, "20.50" in a payload)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _amount(kind: Any, amount: Any) -> dict[str, Any]:
    return {"money": number(amount)} if kind == "money" else {"quantity": number(amount)}


def fold(events: Iterable[Event]) -> State:
    """Replay the events in chain order into the rows they fix."""
    state = State()
    for ev in events:
        p, item = ev.payload, ev.item_id
        if item is not None:
            _fold_item(state, ev)
        a = ev.action
        if a in ("decision_recorded", "ballot_opened"):
            values: dict[str, Any] = {"status": CLOSED if a == "decision_recorded" else "open"}
            for key, column in (("in_favour", "yes"), ("against", "no"), ("abstain", "abstain"),
                                ("households", "households_total")):
                if key in p:
                    values[column] = number(p[key])
            if "passed" in p:
                values["passed"] = bool(p["passed"])
            state.set("decision", p.get("decision_id"), item, **values)
        elif a == "pledge_added":
            state.set("pledge", p.get("pledge_id"), item, kind=p.get("kind"),
                      **_amount(p.get("kind"), p.get("amount")), withdrawn=False)
        elif a == "pledge_withdrawn":
            state.set("pledge", p.get("pledge_id"), item, withdrawn=True)
        elif a == "delivery_recorded":
            state.set("delivery", p.get("delivery_id"), item, **_amount(p.get("kind"), p.get("amount")),
                      disputed=False)
        elif a == "delivery_disputed":
            state.set("delivery", p.get("delivery_id"), item, disputed=True)
        elif a == "budget_line_added":
            state.set("budget_line", p.get("budget_line_id"), item, source=p.get("source"),
                      amount=number(p.get("amount")))
        elif a == "spending_added":
            state.set("spending", p.get("spending_id"), item, budget_line_id=number(p.get("budget_line_id")),
                      amount=number(p.get("amount")))
        elif a == "progress_posted":
            state.set("progress_update", p.get("progress_id"), item, percent=number(p.get("percent")))
        elif a == "inspection_opened":
            state.set("inspection", p.get("inspection_id"), item, result=None)
        elif a in INSPECTION_RESULTS and "inspection_id" in p:
            state.set("inspection", p.get("inspection_id"), item, result=INSPECTION_RESULTS[a])
        elif a == "checklist_marked":
            state.set("checklist_entry", p.get("entry_id"), item, mark=p.get("mark"))
        elif a == "verdict_given":
            state.set("verdict", p.get("verdict_id"), item, verdict=p.get("verdict"),
                      satisfaction=number(p.get("satisfaction")))
        elif a == "finding_added":
            state.set("finding", p.get("finding_id"), item, severity=p.get("severity"), resolved=False)
        elif a == "finding_resolved":
            state.set("finding", p.get("finding_id"), item, resolved=True)
        elif a == "comment_hidden":
            state.set("comment", p.get("comment_id"), item, hidden=True)
        elif a == "meeting_recorded":
            state.set("meeting", p.get("meeting_id"), item, households_present=number(p.get("present")),
                      households_total=number(p.get("households")), quorum=bool(p.get("quorum")))
        elif a == "item_added_to":
            state.set("item_addition", p.get("addition_id"), item)
        elif a == "item_edited":
            state.set("item_edit", p.get("edit_id"), item)
        elif a == "support_added":
            state.set("support", p.get("support_id"), item)
            if isinstance(p.get("item"), str) and isinstance(p.get("support_id"), int):
                state.code_of[("support", p["support_id"])] = p["item"]
        elif a == "support_withdrawn":
            state.remove("support", p.get("support_id"))
        elif a in ("front_agreed", "front_refused"):  # the village Front work committee's answer
            state.set("front_agreement", p.get("front_agreement_id"), item, agreed=a == "front_agreed",
                      minutes_ref=p.get("minutes_ref"), withdrawn=False)
        elif a == "front_withdrawn":
            state.set("front_agreement", p.get("front_agreement_id"), item, withdrawn=True)
    return state


def _fold_item(state: State, ev: Event) -> None:
    p, item = ev.payload, ev.item_id
    assert item is not None
    if ev.action == "submitted":
        values: dict[str, Any] = {"stage": "submitted", "outcome": None}
        for key in ("code", "title_sha256", "kind"):
            if isinstance(p.get(key), str):
                values[key] = p[key]
        for key in ("village_id", "category_id"):
            if key in p:
                values[key] = number(p[key])
        if isinstance(p.get("code"), str):
            state.item_codes[item] = p["code"]
        state.set("item", item, item, **values)
    elif ev.action == "redacted":  # civic/items/redaction.py: the public title is the redacted copy
        if isinstance(p.get("title_sha256"), str):
            state.set("item", item, item, title_sha256=p["title_sha256"])
    elif ev.action == "item_edited" and isinstance(p.get("title_sha256"), str):  # its reporter, before triage
        state.set("item", item, item, title_sha256=p["title_sha256"])
    elif "from" in p:  # a move (civic/workflow/service.py)
        values = {}
        for key, column in (("village_to", "village_id"), ("category_to", "category_id")):
            if key in p:  # recategorize
                values[column] = number(p[key])
        if isinstance(p.get("to"), str):
            values["stage"] = p["to"]
            if p["to"] != CLOSED:
                values["outcome"] = None  # reopening and sending back undo the closure
        if isinstance(p.get("outcome"), str):
            values["stage"], values["outcome"] = CLOSED, p["outcome"]
        state.set("item", item, item, **values)


@dataclass(frozen=True)
class Disagreement:
    table: str
    row_id: int
    item_code: str
    field: str
    table_value: Any
    recomputed: Any

    def describe(self) -> str:
        where = f"{self.table} {self.row_id}" + (f" ({self.item_code})" if self.item_code else "")
        if self.field == "row":
            return f"{where}: {self.table_value} in the table, but {self.recomputed}"
        return (f"{where}: {self.field} is {self.table_value!r} in the table, {self.recomputed!r} "
                f"from the events")


def column_of(field_name: str) -> str:
    """The table column a recomputed field is read from."""
    return SET_WHEN.get(field_name) or DIGEST_OF.get(field_name) or field_name


def table_value(field_name: str, row: dict[str, Any]) -> Any:
    """A row's value of one recomputed field, in the form `fold` gives it."""
    if field_name in SET_WHEN:
        return row.get(SET_WHEN[field_name]) is not None
    if field_name in DIGEST_OF:
        text = row.get(DIGEST_OF[field_name])
        return text_digest(text) if isinstance(text, str) else None
    return row.get(field_name)


def same(recomputed: Any, stored: Any) -> bool:
    if isinstance(recomputed, bool):
        return stored is not None and bool(stored) == recomputed
    if isinstance(recomputed, Decimal):
        return number(stored) == recomputed
    return bool(recomputed == stored)


def shown(value: Any) -> Any:
    """A value as a report prints it (Decimal('20.50') as 20.5, 1500000 as 1500000)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
