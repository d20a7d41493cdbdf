"""Atom feeds of public changes, per item and per village (readers and FixMyStreet users rely on them)."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from civic import clock
from civic.areas.models import Village
from civic.deliberation import service as deliberation
from civic.errors import N_, NotFound
from civic.items import service as items
from civic.web import communes, urls
from civic.web.core import Web
from civic.web.deps import CurrentItem, Db, RowId

router = APIRouter()

ICS = "text/calendar; charset=utf-8"

ATOM = "application/atom+xml; charset=utf-8"


def _atom(web: Web, *, feed_id: str, title: str, page_url: str, entries) -> Response:
    base = urls.base(web.request)
    updated = entries[0].entry.at if entries else clock.now()
    page_url = base + urls.commune_prefix(web.request) + page_url
    response = web.render("feeds/atom.xml", base=base, feed_id=feed_id, title=title, updated=updated,
                          self_url=base + web.request.url.path, page_url=page_url, entries=entries)
    return Response(response.body, media_type=ATOM, headers={"Cache-Control": "public, max-age=300"})


@router.get("/items/{code}/feed.atom")
def item_feed(request: Request, db: Db, item: CurrentItem):
    # A feed is the same for everyone: no viewer is loaded (and no CurrentWeb, which would load one).
    web = Web(request, db, load_user=False)
    entries = items.public_events(db, item_id=item.id)
    return _atom(web, feed_id=urls.absolute(request, f"/items/{item.code}"),
                 title=f"{item.code} · {item.title}", page_url=f"/items/{item.code}", entries=entries)


def _village(db: Session, village_id: int, request: Request) -> Village:
    """The village, which must be of the commune the address names (/c/NS/…) when it names one."""
    village = db.get(Village, village_id)
    if village is None or not communes.holds(request, db, village.commune_id):
        raise NotFound(N_("This village does not exist."))
    return village


@router.get("/villages/{village_id}/feed.atom")
def village_feed(request: Request, db: Db, village_id: RowId):
    web = Web(request, db, load_user=False)
    village = _village(db, village_id, request)
    entries = items.public_events(db, village_id=village.id)
    return _atom(web, feed_id=urls.absolute(request, f"/villages/{village.id}"),
                 title=web._("Changes in %(name)s", name=village.name),
                 page_url=Web.url(request.app.url_path_for("item_list"), village=village.id),
                 entries=entries)


# --- iCalendar (RFC 5545) feed of a village's meetings ------------------------------------------------

def _ics_text(value: str) -> str:
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def _ics_fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space, never inside a character."""
    out: list[str] = []
    current = b""
    for char in line:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > (75 if not out else 74):
            out.append(current.decode("utf-8"))
            current = b""
        current += encoded
    out.append(current.decode("utf-8"))
    return "\r\n ".join(out)


def _utc(value: datetime) -> datetime:
    utc = clock.as_utc(value)
    assert utc is not None  # as_utc gives None only for None
    return utc


def _ics_time(value: datetime) -> str:
    return _utc(value).strftime("%Y%m%dT%H%M%SZ")


def _sequence(meeting) -> int:
    """The event's version: one more at each move and at its cancellation."""
    return int(meeting.revision or 0)


def _description(meeting) -> str:
    if meeting.cancelled_at is not None:
        return f"ĐÃ HỦY / CANCELLED: {meeting.cancel_reason}\n{meeting.agenda}"
    return meeting.agenda


@router.get("/villages/{village_id}/meetings.ics")
def village_calendar(request: Request, db: Db, village_id: RowId):
    village = _village(db, village_id, request)
    meetings = deliberation.village_meetings(db, village_id)
    base = urls.base(request)
    host = urls.host(request)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//civic//meetings//VI", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH", f"X-WR-CALNAME:{_ics_text('Họp thôn ' + village.name)}",
             "X-WR-TIMEZONE:Asia/Ho_Chi_Minh"]
    stamp = _ics_time(clock.now())
    for meeting, code, title in meetings:
        lines += ["BEGIN:VEVENT", f"UID:meeting-{meeting.id}@{host}", f"DTSTAMP:{stamp}",
                  f"DTSTART:{_ics_time(meeting.starts_at)}",
                  f"DTEND:{_ics_time(_utc(meeting.starts_at) + timedelta(hours=2))}",
                  f"SUMMARY:{_ics_text(f'{code} · {title}')}", f"LOCATION:{_ics_text(meeting.place)}",
                  f"DESCRIPTION:{_ics_text(_description(meeting))}", f"URL:{base}/items/{code}",
                  # A moved meeting is a new version of the same event; a cancelled one stays, marked so that
                  # calendars strike it out (RFC 5545 3.8.1.11 STATUS, 3.8.7.4 SEQUENCE).
                  f"SEQUENCE:{_sequence(meeting)}",
                  f"STATUS:{'CANCELLED' if meeting.cancelled_at is not None else 'CONFIRMED'}", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    body = "\r\n".join(_ics_fold(line) for line in lines) + "\r\n"
    return Response(body.encode("utf-8"), media_type=ICS,
                    headers={"Cache-Control": "public, max-age=300",
                             "Content-Disposition": f'inline; filename="meetings-{village.id}.ics"'})
