"""The words of each message, in the recipient's language (Vietnamese by default), short, with the item's
code, an absolute link and how to stop."""

from __future__ import annotations

from dataclasses import dataclass

from civic.clock import LOCAL_TZ, as_utc
from civic.config import get_settings
from civic.core.catalogs import translations
from civic.errors import N_

SUBJECTS = {
    "stage_changed": N_("%(code)s: %(stage)s"),
    "closed": N_("%(code)s is closed: %(outcome)s"),
    "new_item": N_("New item in your village: %(code)s"),
    "appeal": N_("%(code)s: the author asks for a review"),
    "handed_over": N_("%(code)s: work handed over for inspection"),
    "meeting_scheduled": N_("Village meeting on %(code)s"),
    "meeting_moved": N_("%(code)s: the village meeting was moved"),
    "meeting_cancelled": N_("%(code)s: the village meeting was cancelled"),
    "pledge_recorded": N_("%(code)s: a pledge was recorded for your household"),
    "reply": N_("%(code)s: an official reply"),
    "comment_reply": N_("%(code)s: someone answered your comment"),
    "triage_due": N_("%(code)s: please acknowledge it by tomorrow"),
    "meeting_to_record": N_("%(code)s: please record the village meeting"),
    "finding_due": N_("%(code)s: an inspection finding is due to be fixed"),
    "ballot_opened": N_("%(code)s: a ballot for your household"),
    "decision_recorded": N_("%(code)s: the households' decision"),
    "follow_code": N_("Your code to follow %(code)s"),
    "follow_link": N_("Confirm that you follow %(code)s"),
    "manage_link": N_("The link to manage %(code)s"),
    "digest": N_("Your daily summary of civic"),
}

STAGE_NAMES = {
    "submitted": N_("Submitted"), "know": N_("People know"), "discuss": N_("People discuss"),
    "do": N_("People do"), "inspect": N_("People inspect"), "closed": N_("Closed"),
}
OUTCOME_NAMES = {
    "done": N_("done"), "rejected": N_("rejected"), "duplicate": N_("a duplicate"),
    "redirected": N_("sent to another office"), "withdrawn": N_("withdrawn"),
    "not_approved": N_("not approved by the households"), "not_done": N_("closed as not done"),
}
REASON = N_("Reason: %(reason)s")
OPEN_LINK = N_("See it: %(link)s")
STOP_LINK = N_("Stop these messages: %(link)s")
STOP_SMS = N_("Reply TU CHOI to stop.")
PASSED = N_("The proposal passed.")
NOT_PASSED = N_("The proposal did not pass.")
MEETING_LINE = N_("Meeting: %(when)s at %(place)s. Agenda: %(agenda)s")




def tr(locale: str, msgid: str, **params: object) -> str:
    text = translations(locale).gettext(msgid)
    try:
        return text % params if params else text
    except (KeyError, TypeError, ValueError):
        return msgid % params if params else msgid


def absolute(path: str) -> str:
    base = get_settings().public_base or "http://localhost:8000"
    return base + path


def when(value, locale: str) -> str:
    local = as_utc(value).astimezone(LOCAL_TZ)
    return local.strftime("%H:%M %d/%m/%Y")


class Lazy(str):
    """A message id translated when the text is written in the recipient's language."""


@dataclass(frozen=True)
class Written:
    subject: str
    body: str


def write(kind: str, locale: str, *, code: str, channel: str, link: str, stop_link: str,
          lines: list[str] | None = None, **params: object) -> Written:
    """A subject and a short body: what happened, the public reason or details, the link, how to stop."""
    params = {k: tr(locale, v) if isinstance(v, Lazy) else v for k, v in params.items()}
    subject = tr(locale, SUBJECTS.get(kind, "%(code)s"), code=code, **params)
    parts = [subject, *(lines or [])]
    if link:
        parts.append(tr(locale, OPEN_LINK, link=link))
    if stop_link:
        parts.append(tr(locale, STOP_LINK, link=stop_link))
    if channel == "sms" and stop_link:
        parts.append(tr(locale, STOP_SMS))
    sep = "\n" if channel in ("email", "push") else " "
    return Written(subject[:200], sep.join(p for p in parts if p))
