"""Pure rules of Dân biết and Dân bàn: plain arguments in, a decision or a CivicError out.

The vote rules (DESIGN §2, docs/domain.md): a meeting is valid only when MORE than half of all households
of the register are represented; a community decision passes only when the households in favour are MORE
than half of all households in the register on the decision date (not half of those present). Anything that
asks households for land, money or labour is never decided online or by an authority alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from civic.clock import LOCAL_TZ
from civic.errors import N_, Conflict, Forbidden, Invalid

CHANNELS: dict[str, str] = {
    "notice_board": N_("Notice board"),
    "loudspeaker": N_("Loudspeaker"),
    "village_meeting": N_("Village meeting"),
    "written_notice": N_("Written notice to households"),
    "text_message": N_("Text message"),
    "group_chat": N_("The village's agreed group chat"),
    "website": N_("Website"),
}
METHODS: dict[str, str] = {
    "meeting_vote": N_("Vote at a village meeting"),
    "paper_ballot": N_("Household paper ballot"),
    "online_ballot": N_("Online ballot of household representatives"),
    "authority": N_("Decision of the authority"),
}
CHOICES: dict[str, str] = {"yes": N_("In favour"), "no": N_("Against"), "abstain": N_("Abstain")}
COMMENT_STAGES = frozenset({"know", "discuss"})
SUPPORT_STAGES = frozenset({"know", "discuss"})
CLUSTER_MIN_HOUSEHOLDS = 200
MAX_CLUSTERS = 8
DEFAULT_MEETING_NOTICE_DAYS = 5


def local_text(moment: datetime) -> str:
    """A moment as local date and time for a message ("2026-06-15 19:30"), without a locale."""
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


# --- who ---------------------------------------------------------------------------------------------

def is_secretary(actor: Any, village_id: int) -> bool:
    return village_id in getattr(actor, "secretary_villages", frozenset())


def is_supervisor(actor: Any, commune_id: int) -> bool:
    return commune_id in getattr(actor, "supervisor_communes", frozenset())


def official_role(actor: Any, commune_id: int, village_id: int) -> str:
    """The role under which a comment is an official reply, or "" for a resident's comment."""
    if is_secretary(actor, village_id):
        return "secretary"
    if is_supervisor(actor, commune_id):
        return "supervisor"
    return ""


def check_secretary(actor: Any, village_id: int) -> None:
    if not is_secretary(actor, village_id):
        raise Forbidden(N_("Only a secretary of this item's village may do this."))


def check_stage(stage: str, allowed: frozenset[str] | set[str], message: str = "") -> None:
    if stage not in allowed:
        raise Conflict(message or N_("This cannot be done at the item's current stage."))


# --- small parsers -----------------------------------------------------------------------------------

def clean_text(value: Any, field: str, *, minimum: int, maximum: int, message: str) -> str:
    text = " ".join(str(value or "").split()) if "\n" not in str(value or "") else \
        "\n".join(" ".join(line.split()) for line in str(value).strip().splitlines()).strip()
    if len(text) < minimum or len(text) > maximum:
        raise Invalid(message, field=field, minimum=minimum, maximum=maximum)
    return text


def parse_date(value: Any, field: str) -> date:
    raw = str(value or "").strip()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid(N_("Please give a date like 2026-06-15."), field=field) from None


def parse_local_datetime(value: Any, field: str, tz) -> datetime:
    raw = str(value or "").strip().replace(" ", "T")
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid(N_("Please give a date and time like 2026-06-15 19:30."), field=field) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed


_INT = re.compile(r"^\s*-?\d{1,7}\s*$")


def parse_count(value: Any, field: str) -> int:
    raw = str(value if value is not None else "").strip()
    if not _INT.match(raw):
        raise Invalid(N_("Please give a whole number of households."), field=field)
    number = int(raw)
    if number < 0:
        raise Invalid(N_("A number of households cannot be negative."), field=field)
    return number


def truthy(value: Any) -> bool:
    return str(value or "").strip().lower() in ("1", "on", "yes", "true")


# --- Dân biết: disclosures and the minimum period ---------------------------------------------------

def clean_disclosure(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    channel = str(data.get("channel") or "")
    if channel not in CHANNELS:
        errors["channel"] = N_("Please choose how the item was made known.")
    out["channel"] = channel
    try:
        out["place"] = clean_text(data.get("place"), "place", minimum=2, maximum=200,
                                  message=N_("Please say where (2 to 200 characters)."))
    except Invalid as exc:
        errors.update(exc.errors)
    try:
        out["note"] = clean_text(data.get("note"), "note", minimum=0, maximum=400,
                                 message=N_("A note may have at most 400 characters."))
    except Invalid as exc:
        errors.update(exc.errors)
    for key in ("starts_on", "ends_on"):
        try:
            out[key] = parse_date(data.get(key), key)
        except Invalid as exc:
            errors.update(exc.errors)
    if "starts_on" in out and "ends_on" in out and out["ends_on"] < out["starts_on"]:
        errors["ends_on"] = N_("The disclosure cannot end before it starts.")
    if errors:
        raise Invalid(errors=errors)
    return out


def disclosure_ready_on(first_start: date | None, min_days: int) -> date | None:
    """The first day the item may move to Dân bàn: the earliest disclosure's start plus the minimum days."""
    if first_start is None:
        return None
    return first_start + timedelta(days=max(0, min_days))


@dataclass(frozen=True)
class Blocker:
    message: str
    params: dict[str, Any]


def open_discussion_blocker(disclosure_count: int, ready_on: date | None, today: date) -> Blocker | None:
    """Why the item may not move to Dân bàn yet (shown beside the disabled button), or None."""
    if disclosure_count < 1 or ready_on is None:
        return Blocker(N_("Record at least one disclosure first (notice board, loudspeaker, meeting…)."), {})
    if today < ready_on:
        return Blocker(N_("The minimum disclosure period has not run yet: possible from %(date)s."),
                       {"date": ready_on})
    return None


# The question households decide in Dân bàn.
QUESTION_MIN, QUESTION_MAX = 5, 1000


# --- comments and supports ---------------------------------------------------------------------------

def clean_comment(body: Any) -> str:
    return clean_text(body, "body", minimum=2, maximum=2000,
                      message=N_("A comment needs 2 to 2000 characters."))


def clean_hide_reason(reason: Any) -> str:
    return clean_text(reason, "reason", minimum=3, maximum=400,
                      message=N_("Please give the public reason for hiding it (3 to 400 characters)."))


# --- meetings ----------------------------------------------------------------------------------------

def check_meeting_notice(starts_at: datetime, now: datetime, notice_days: int) -> None:
    """Households are told at least `notice_days` days before the meeting."""
    if starts_at < now + timedelta(days=notice_days):
        raise Invalid(N_("A meeting must be announced at least %(days)s days before it is held: "
                         "choose %(date)s or later."), field="starts_at", days=notice_days,
                      date=local_text(now + timedelta(days=notice_days)))


def days_until(moment: datetime, now: datetime) -> int:
    """Whole days left until a moment (0 on the day itself or after)."""
    seconds = (moment - now).total_seconds()
    return max(0, int(-(-seconds // 86400)))


def has_quorum(present: int, total: int) -> bool:
    """More than half of ALL households of the register are represented."""
    return total > 0 and present * 2 > total


def passes(in_favour: int, total: int) -> bool:
    """More than half of ALL households of the register on the decision date are in favour."""
    return total > 0 and in_favour * 2 > total


def clean_attendance(data: dict[str, Any], total: int) -> dict[str, Any]:
    """The households represented (directly or as the sum of clusters), the chair and the minutes-taker."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {"clusters": []}
    for n in range(1, MAX_CLUSTERS + 1):
        name = " ".join(str(data.get(f"cluster_name_{n}") or "").split())
        raw = str(data.get(f"cluster_present_{n}") or "").strip()
        if not name and not raw:
            continue
        if not name or len(name) > 80:
            errors[f"cluster_name_{n}"] = N_("Please name the cluster (at most 80 characters).")
        try:
            out["clusters"].append((name, parse_count(raw, f"cluster_present_{n}")))
        except Invalid as exc:
            errors.update(exc.errors)
    if out["clusters"]:
        if total < CLUSTER_MIN_HOUSEHOLDS:
            errors["cluster_name_1"] = N_("Only villages of %(min)s or more households may meet by cluster.")
        present = sum(p for _n, p in out["clusters"])
    else:
        try:
            present = parse_count(data.get("households_present"), "households_present")
        except Invalid as exc:
            errors.update(exc.errors)
            present = 0
    if present > total and not errors:
        errors["households_present"] = N_("%(present)s households cannot be represented: the register has "
                                          "%(total)s on the meeting date.")
    for key, msg in (("chair_name", N_("Please name who chaired the meeting.")),
                     ("minutes_taker_name", N_("Please name who took the minutes."))):
        try:
            out[key] = clean_text(data.get(key), key, minimum=2, maximum=120, message=msg)
        except Invalid as exc:
            errors.update(exc.errors)
    try:
        out["minutes_text"] = clean_text(data.get("minutes_text"), "minutes_text", minimum=0, maximum=5000,
                                         message=N_("The minutes summary may have at most 5000 characters."))
    except Invalid as exc:
        errors.update(exc.errors)
    if errors:
        raise Invalid(errors=errors, min=CLUSTER_MIN_HOUSEHOLDS, present=present, total=total)
    out["households_present"] = present
    out["quorum"] = has_quorum(present, total)
    return out


# --- decisions ---------------------------------------------------------------------------------------

def clean_counts(data: dict[str, Any], present: int) -> tuple[int, int, int]:
    errors: dict[str, str] = {}
    counts = {}
    for key in ("yes", "no", "abstain"):
        try:
            counts[key] = parse_count(data.get(key), key)
        except Invalid as exc:
            errors.update(exc.errors)
    if not errors and sum(counts.values()) > present:
        errors["yes"] = N_("The counts add up to %(sum)s, more than the %(present)s households present.")
    if errors:
        raise Invalid(errors=errors, sum=sum(counts.values()), present=present)
    return counts["yes"], counts["no"], counts["abstain"]


def check_can_decide(stage: str, has_open: bool, has_result: bool) -> None:
    if stage != "discuss":
        raise Conflict(N_("A decision can be recorded only while the item is in People discuss."))
    if has_open:
        raise Conflict(N_("A ballot on this item is still open: close its count first."))
    if has_result:
        raise Conflict(N_("This item has already been decided."))


def check_method(method: str, asks_contribution: bool, leaders_agreed: bool) -> None:
    if method not in METHODS:
        raise Invalid(N_("Please choose how the households decide."), field="method")
    if method == "online_ballot":
        if asks_contribution:
            raise Conflict(N_("An online ballot is not allowed for an item that asks households for land, "
                              "money or labour: decide it at a meeting or by a household paper ballot."))
        if not leaders_agreed:
            raise Invalid(N_("An online ballot needs the agreement of the village head and the Front "
                             "committee."), field="leaders_agreed")
    if method == "authority" and asks_contribution:
        raise Conflict(N_("An item that asks households for land, money or labour must be decided by the "
                          "households, not by an authority."))


def check_meeting_vote(meeting_recorded: bool, quorum: bool | None) -> None:
    if not meeting_recorded:
        raise Invalid(N_("Record the meeting's attendance first."), field="meeting_id")
    if not quorum:
        raise Conflict(N_("The meeting did not reach quorum (more than half of all households), so its vote "
                          "is not valid. Use a household paper ballot instead."))


def clean_ballot_window(data: dict[str, Any], today: date) -> tuple[date, date]:
    errors: dict[str, str] = {}
    out = {}
    for key in ("opens_on", "closes_on"):
        try:
            out[key] = parse_date(data.get(key), key)
        except Invalid as exc:
            errors.update(exc.errors)
    if not errors:
        if out["opens_on"] < today:
            errors["opens_on"] = N_("Voting cannot open in the past.")
        if out["closes_on"] < out["opens_on"]:
            errors["closes_on"] = N_("Voting cannot close before it opens.")
    if errors:
        raise Invalid(errors=errors)
    return out["opens_on"], out["closes_on"]


def clean_authority(data: dict[str, Any]) -> tuple[str, str]:
    errors: dict[str, str] = {}
    out = []
    for key, lo, hi, msg in (("document_no", 2, 60, N_("Please give the document number (2 to 60 characters).")),
                             ("document_text", 5, 5000, N_("Please give the text of the decision (5 to 5000 "
                                                           "characters)."))):
        try:
            out.append(clean_text(data.get(key), key, minimum=lo, maximum=hi, message=msg))
        except Invalid as exc:
            errors.update(exc.errors)
    if errors:
        raise Invalid(errors=errors)
    return out[0], out[1]


def clean_choice(value: Any) -> str:
    choice = str(value or "")
    if choice not in CHOICES:
        raise Invalid(N_("Please choose in favour, against or abstain."), field="choice")
    return choice


def check_voting_open(status: str, opens_at: datetime | None, closes_at: datetime | None, now: datetime) -> None:
    if status != "open" or opens_at is None or closes_at is None:
        raise Conflict(N_("There is no open online ballot on this item."))
    if now < opens_at:
        raise Conflict(N_("Voting has not opened yet: it opens on %(date)s."), date=local_text(opens_at))
    if now >= closes_at:
        raise Conflict(N_("Voting closed on %(date)s."), date=local_text(closes_at))


def check_can_close(method: str, status: str, closes_at: datetime | None, now: datetime) -> None:
    if status != "open" or method not in ("paper_ballot", "online_ballot"):
        raise Conflict(N_("There is no open count to close."))
    if method == "online_ballot" and closes_at is not None and now < closes_at:
        raise Conflict(N_("The online ballot is open until %(date)s; it can be closed after that."),
                       date=local_text(closes_at))


def representative_household(households: list[tuple[int, bool]]) -> int:
    """The household the user casts the ballot for: one they represent in the item's village."""
    for household_id, is_representative in households:
        if is_representative:
            return household_id
    raise Forbidden(N_("Only the representative of a household of this village may vote."))


def decision_outcome(status: str, passed: bool | None) -> str:
    """"passed", "failed" or "" (still open, or none)."""
    if status != "closed" or passed is None:
        return ""
    return "passed" if passed else "failed"


def tally_reason(in_favour: int, total: int) -> str:
    """The public reason stored when a failed decision closes the item (shown as written, in Vietnamese)."""
    return f"Kết quả biểu quyết: {in_favour}/{total} hộ đồng ý, chưa được quá nửa tổng số hộ gia đình."
