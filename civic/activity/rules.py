"""Pure decisions of the activity page: when a visit starts, and how an item is tied to a person."""

from __future__ import annotations

from datetime import datetime, timedelta

from civic.errors import N_

# Looks at the page closer together than this are one visit: reloading keeps the "new" markers.
VISIT_GAP = timedelta(minutes=30)

# Why an item is on a person's activity page, in the order the page names them.
REASONS: dict[str, str] = {
    "sent": N_("You sent it"),
    "supported": N_("Your household supports it"),
    "pledged": N_("Your household pledged to it"),
    "commented": N_("You commented"),
    "verdict": N_("Your household gave a verdict"),
    "followed": N_("You follow it"),
}


def next_visit(seen_at: datetime | None, visit_at: datetime | None, now: datetime
               ) -> tuple[datetime, datetime]:
    """The (seen_at, visit_at) pair after a look at `now`. The first look ever has nothing to compare with:
    nothing is new then. A look within VISIT_GAP of the last one continues that visit (same baseline); a
    later look starts a new visit, whose baseline is the previous visit's last look."""
    if seen_at is None or visit_at is None:
        return now, now
    if now - visit_at < VISIT_GAP:
        return seen_at, max(visit_at, now)
    return visit_at, now
