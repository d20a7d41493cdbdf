"""Fold a commune's audit events into the public state the pages show, to compare with the tables.

Pure: events in, the expected rows out. `civic.audit.service.reconcile` reads the tables and compares.
A table edited without an event (a decision's tally, an item's title or stage, a pledge's amount) no
longer matches what its events say (OWASP ASVS v4 7.3.3: the log proves the data, not only itself).

What the events carry, and so what is recomputed (field names are the tables' columns; `withdrawn`,
`disputed`, `resolved` and `hidden` stand for "its *_at column is set"):

- item: code, title (its SHA-256; events recorded from now on), kind, village_id, category_id, stage, outcome
- decision: status, yes, no, abstain, households_total, passed
- meeting: starts_at, place, moved_from, revision, recorded, cancelled, cancel_reason; as recorded:
  households_present, households_total, quorum, people_present, by_cluster, voting_mode, secretary_votes,
  chair_designation_ref, the chair's, secretary's and counting committee's names (by their SHA-256, events
  recorded from now on); the secret ballot's count (ballots_issued, returned, valid, invalid); how many
  households its roll holds (meeting_attendance rows, once the roll was marked)
- meeting_cluster: meeting_id, name, households_present
- village_result (a village's result on a matter of the whole commune): method, households_total,
  households_present, yes, no, abstain
- board: kind, elected_on, election_ref, term_starts_on, term_ends_on, decision_no, recognised_on,
  ended_on, end_reason, end_decision_no
- board_member: board_id, user_id, village_id, position, starts_on (from the recognition), ends_on,
  end_reason, elected_on, election_ref, decision_no, replaces_id
- sign_off_vote: inspection_id, board_id, agree (events recorded from now on); cleared when the checklist
  or findings change
- support: the row exists (until withdrawn)
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
from datetime import UTC, date, datetime
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
    "meeting": "meeting_id",
}

# Tables of the commune's boards, whose every row is written with an event naming it: a row without one
# (a member slipped in to reach a majority) was added behind the chain's back. Each is found by the
# commune: a board by its commune, a member by their board, a vote by its inspection's item.
BOARD_TABLES = ("board", "board_member", "sign_off_vote")

# Rows counted per parent: (child table, its column naming the parent) -> the parent's table. The events
# say how many households the roll of a meeting holds.
COUNTED = {("meeting_attendance", "meeting_id"): "meeting"}

# Boolean fields the tables keep as "is this timestamp set".
# Fields the events carry as a digest of a column, not its text.
DIGEST_OF = {"title_sha256": "title", "chair_sha256": "chair_name", "secretary_sha256": "minutes_taker_name",
             "committee_sha256": "counting_committee"}
SET_WHEN = {"withdrawn": "withdrawn_at", "disputed": "disputed_at", "resolved": "resolved_at",
            "hidden": "hidden_at", "recorded": "recorded_at", "cancelled": "cancelled_at"}


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
    # How many rows of a child table a parent row has: (child table, column, parent id) -> count.
    counts: dict[tuple[str, str, int], int] = field(default_factory=dict)
    open_inspection: dict[int, int] = field(default_factory=dict)  # item id -> its open inspection
    votes_of: dict[int, set[int]] = field(default_factory=dict)  # inspection id -> its vote ids
    # Inspections with sign-off votes recorded before their events named the vote: not checked row by row.
    unnamed_votes: set[int] = field(default_factory=set)

    def set(self, table: str, row: Any, of_item: int | None, **values: Any) -> None:
        if not isinstance(row, int) or isinstance(row, bool):
            return
        self.rows.setdefault((table, row), {}).update(values)
        self.gone.discard((table, row))
        if of_item is not None:
            self.item_of.setdefault((table, row), of_item)

    def remove(self, table: str, row: Any) -> None:
        if isinstance(row, int) and not isinstance(row, bool):
            self.rows.pop((table, row), None)
            self.gone.add((table, row))

    def get(self, table: str, row: Any, name: str, default: Any = None) -> Any:
        return self.rows.get((table, row), {}).get(name, default) if isinstance(row, int) else default


def number(value: Any) -> Decimal | None:
    """A figure as a Decimal, whatever carried it (an int, a float from SQLite, "20.50" in a payload)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def day(value: Any) -> date | None:
    """A date from its ISO form in a payload (or as a table gives it back)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value[:10]) if isinstance(value, str) else None
    except ValueError:
        return None


def moment(value: Any) -> datetime | None:
    """A moment in UTC from its ISO form (a table without a time zone keeps UTC)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


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
            if "ballots_issued" in p:  # a secret ballot's count, kept on its meeting
                state.set("meeting", p.get("meeting_id"), item, **{
                    k: number(p.get(k)) for k in ("ballots_issued", "ballots_returned", "ballots_valid",
                                                  "ballots_invalid")})
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
            if item is not None and isinstance(p.get("inspection_id"), int):
                state.open_inspection[item] = p["inspection_id"]
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
        elif a.startswith("meeting_") or a == "roll_marked":
            _fold_meeting(state, ev)
        elif a.startswith("board_"):
            _fold_board(state, ev)
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
        elif a == "village_result_recorded":  # a village's result on a matter of the whole commune
            state.set("village_result", p.get("village_result_id"), item, method=p.get("method"),
                      households_total=p.get("households"), households_present=p.get("present"),
                      yes=p.get("in_favour"), no=p.get("against"), abstain=p.get("abstain"))
        elif a == "front_withdrawn":
            state.set("front_agreement", p.get("front_agreement_id"), item, withdrawn=True)
        if a == "sign_off_vote":
            _fold_vote(state, ev)
        elif p.get("votes_cleared"):  # a change to the checklist or the findings asks the members again
            inspection = p.get("inspection_id", state.open_inspection.get(item or 0))
            for vote in state.votes_of.pop(inspection if isinstance(inspection, int) else -1, set()):
                state.remove("sign_off_vote", vote)
    return state


def _fold_meeting(state: State, ev: Event) -> None:
    """A meeting as scheduled, moved, cancelled and recorded, its clusters and its roll's count."""
    p, item, a = ev.payload, ev.item_id, ev.action
    meeting = p.get("meeting_id")
    if a == "meeting_scheduled":
        state.set("meeting", meeting, item, starts_at=moment(p.get("starts_at")), place=_text(p.get("place")),
                  moved_from=None, revision=Decimal(0), recorded=False, cancelled=False)
    elif a == "meeting_moved":
        state.set("meeting", meeting, item, starts_at=moment(p.get("starts_at")),
                  moved_from=moment(p.get("from")), revision=state.get("meeting", meeting, "revision",
                                                                       Decimal(0)) + 1)
    elif a == "meeting_cancelled":
        state.set("meeting", meeting, item, cancelled=True, cancel_reason=_text(p.get("reason")),
                  revision=state.get("meeting", meeting, "revision", Decimal(0)) + 1)
    elif a == "meeting_recorded":
        values: dict[str, Any] = {"households_present": number(p.get("present")),
                                  "households_total": number(p.get("households")),
                                  "quorum": bool(p.get("quorum")), "recorded": True}
        if "clusters" in p:
            values["by_cluster"] = bool(p["clusters"])
        for key in ("voting_mode", "chair_sha256", "secretary_sha256", "committee_sha256"):
            if isinstance(p.get(key), str):
                values[key] = p[key]
        if "secretary_votes" in p:
            values["secretary_votes"] = number(p["secretary_votes"])
        if "people_present" in p:
            values["people_present"] = number(p["people_present"])
        if isinstance(p.get("designation_ref"), str):
            values["chair_designation_ref"] = p["designation_ref"]
        state.set("meeting", meeting, item, **values)
        for pair in p.get("clusters_present") or []:
            if isinstance(pair, list) and len(pair) == 2:
                state.set("meeting_cluster", pair[0], item, households_present=number(pair[1]))
        if isinstance(meeting, int) and ("meeting_attendance", "meeting_id", meeting) in state.counts:
            state.counts[("meeting_attendance", "meeting_id", meeting)] = int(number(p.get("present")) or 0)
    elif a == "meeting_cluster_added":
        state.set("meeting_cluster", p.get("cluster_id"), item, meeting_id=number(meeting),
                  name=_text(p.get("name")))
    elif a == "roll_marked" and isinstance(meeting, int) and number(p.get("present")) is not None:
        state.counts[("meeting_attendance", "meeting_id", meeting)] = int(number(p["present"]) or 0)


def _fold_board(state: State, ev: Event) -> None:
    """A board elected, its members, its recognition, the changes of members and its end."""
    p, item, a = ev.payload, ev.item_id, ev.action
    board = p.get("board_id")
    if a == "board_elected":
        state.set("board", board, item, kind=_text(p.get("kind")),
                  elected_on=day(p.get("elected_on")), election_ref=_text(p.get("election_ref")),
                  term_starts_on=day(p.get("term_starts_on")), term_ends_on=day(p.get("term_ends_on")),
                  decision_no="", recognised_on=None, ended_on=None)
    elif a == "board_recognised":
        state.set("board", board, item, decision_no=_text(p.get("decision_no")),
                  recognised_on=day(p.get("recognised_on")))
        if "starts_on" in p:
            for member in p.get("member_ids") or []:
                state.set("board_member", member, item, starts_on=day(p["starts_on"]))
    elif a == "board_ended":
        state.set("board", board, item, ended_on=day(p.get("ended_on")), end_reason=_text(p.get("reason")),
                  end_decision_no=_text(p.get("decision_no")))
        for member in p.get("member_ids") or []:
            state.set("board_member", member, item, ends_on=day(p.get("ended_on")), end_reason="board_ended")
    elif a == "board_member_added":
        state.set("board_member", p.get("member_id"), item, board_id=number(board),
                  user_id=number(p.get("user_id")), village_id=number(p.get("village_id")),
                  position=_text(p.get("position")), ends_on=None)
    elif a == "board_member_removed":
        state.remove("board_member", p.get("member_id"))
    elif a in ("board_member_joined", "board_member_replaced"):
        state.set("board_member", p.get("member_id"), item, board_id=number(board),
                  user_id=number(p.get("user_id")), village_id=number(p.get("village_id")),
                  position=_text(p.get("position")), starts_on=day(p.get("starts_on")), ends_on=None,
                  elected_on=day(p.get("elected_on")), election_ref=_text(p.get("election_ref")),
                  decision_no=_text(p.get("decision_no")), replaces_id=number(p.get("replaces_id")))
        if a == "board_member_replaced":
            state.set("board_member", p.get("replaces_id"), item, ends_on=day(p.get("ends_on")),
                      end_reason=_text(p.get("reason")))
    elif a == "board_member_left":
        state.set("board_member", p.get("member_id"), item, ends_on=day(p.get("ends_on")),
                  end_reason=_text(p.get("reason")))


def _fold_vote(state: State, ev: Event) -> None:
    """A member's word on the sign-off: one row per member and inspection, a later word replacing theirs."""
    p = ev.payload
    inspection, vote = p.get("inspection_id"), p.get("vote_id")
    if not isinstance(inspection, int):
        return
    if not isinstance(vote, int) or isinstance(vote, bool):
        state.unnamed_votes.add(inspection)
        return
    state.set("sign_off_vote", vote, ev.item_id, inspection_id=number(inspection),
              board_id=number(p.get("board_id")), agree=bool(p.get("agree")))
    state.votes_of.setdefault(inspection, set()).add(vote)


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
    if isinstance(recomputed, datetime):
        return moment(stored) == recomputed
    if isinstance(recomputed, date):
        return day(stored) == recomputed
    if isinstance(recomputed, bool):
        return stored is not None and bool(stored) == recomputed
    if isinstance(recomputed, Decimal):
        return number(stored) == recomputed
    return bool(recomputed == stored)


def shown(value: Any) -> Any:
    """A value as a report prints it (Decimal('20.50') as 20.5, 1500000 as 1500000)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
