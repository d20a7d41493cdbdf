"""The status page's timeline made short: repeated events of a stretch of work folded into one line ("42
households pledged — see all"), and older lines behind plain links (`?before=<seq>`), or every event one by
one (`?events=all`). Only shaping: the events come from items.timeline, their wording from
templates/components/timeline.html."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from civic.items.service import TimelineEntry

# Events that come in numbers during a stretch of work: between two other events, all of one action are
# shown as one line. Every other event (a stage move, a budget line, a progress report…) keeps its own.
GROUPED = frozenset({
    "pledge_added", "pledge_withdrawn", "delivery_recorded", "delivery_disputed", "checklist_marked",
    "sign_off_vote", "attached", "attachment_hidden", "verdict_given", "board_member_added",
    "comment_hidden",
})
# Fewer events of one action than this stay as they are.
MIN_GROUP = 3
# Lines of the folded timeline per page, and events per page of the full list.
LINES = 12
EVENTS = 50
BEFORE_MAX_DIGITS = 18


@dataclass(frozen=True)
class TimelineQuery:
    """What the address asks of the timeline; anything else in it is ignored (and never keys the cache)."""

    all_events: bool = False
    before: int | None = None

    @classmethod
    def read(cls, params: Mapping[str, str]) -> TimelineQuery:
        raw = params.get("before", "")
        before = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= BEFORE_MAX_DIGITS else None
        return cls(params.get("events") == "all", before if before else None)

    def key(self) -> str:
        return f"{'all' if self.all_events else 'grouped'}:{self.before or ''}"


@dataclass
class Group:
    """Several events of one action folded into a line."""

    action: str
    events: list[TimelineEntry]
    households: int  # distinct households named by the events (0 when they name none)

    @property
    def count(self) -> int:
        return len(self.events)

    @property
    def first_at(self) -> datetime:
        return self.events[0].at

    @property
    def at(self) -> datetime:
        return self.events[-1].at

    @property
    def first_seq(self) -> int:
        return self.events[0].seq

    @property
    def last_seq(self) -> int:
        return self.events[-1].seq


@dataclass
class TimelineView:
    lines: list[TimelineEntry | Group]
    all_events: bool
    total: int  # events of the item
    earlier: dict[str, Any] | None = None  # query of the page before, or None
    later: dict[str, Any] | None = None  # query of the page after ({} for the latest page), or None
    keep: dict[str, str] = field(default_factory=dict)  # query kept on every link (the language)
    shown: int = 0  # events on this page

    def link(self, **query: Any) -> str:
        merged = {**self.keep, **{k: v for k, v in query.items() if v is not None}}
        return "?" + "&".join(f"{k}={v}" for k, v in merged.items()) if merged else "?"


def fold(entries: list[TimelineEntry]) -> list[TimelineEntry | Group]:
    """Between two events that keep their own line, the events of each GROUPED action become one Group at
    the place of the last of them, when there are at least MIN_GROUP; fewer stay as they were."""
    out: list[TimelineEntry | Group] = []
    stretch: list[TimelineEntry] = []

    def flush() -> None:
        by_action: dict[str, list[TimelineEntry]] = {}
        for e in stretch:
            by_action.setdefault(e.action, []).append(e)
        last_of = {action: events[-1] for action, events in by_action.items()}
        for e in stretch:
            events = by_action[e.action]
            if len(events) < MIN_GROUP:
                out.append(e)
            elif e is last_of[e.action]:
                households = {ev.payload.get("household_id") for ev in events} - {None}
                out.append(Group(e.action, events, len(households)))
        stretch.clear()

    for e in entries:
        if e.action in GROUPED:
            stretch.append(e)
        else:
            flush()
            out.append(e)
    flush()
    return out


def view(entries: list[TimelineEntry], query: TimelineQuery, keep: Mapping[str, str] | None = None
         ) -> TimelineView:
    """One page of the timeline, oldest first within the page: the latest lines, or those before
    `query.before`, folded unless every event is asked for."""
    keep = dict(keep or {})
    upto = len(entries) if query.before is None else sum(1 for e in entries if e.seq < query.before)
    upto = max(upto, min(1, len(entries)))  # a `before` older than everything shows the first event
    if query.all_events:
        start = max(0, upto - EVENTS)
        page: list[TimelineEntry | Group] = list(entries[start:upto])
        earlier = {"events": "all", "before": entries[start].seq} if start > 0 else None
        later = None
        if upto < len(entries):
            nxt = upto + EVENTS
            later = {"events": "all", "before": entries[nxt].seq} if nxt < len(entries) else {"events": "all"}
        return TimelineView(page, True, len(entries), earlier, later, keep, upto - start)
    lines = fold(entries[:upto])
    page = lines[-LINES:]
    earlier = None
    if len(lines) > LINES:
        first = page[0]
        earlier = {"before": first.first_seq if isinstance(first, Group) else first.seq}
    later = {} if upto < len(entries) else None
    shown = sum(line.count if isinstance(line, Group) else 1 for line in page)
    return TimelineView(page, False, len(entries), earlier, later, keep, shown)
