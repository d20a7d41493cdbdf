"""Items as Open311 services and service requests, in the request's language. Public fields only:
no reporter name, phone or email is ever read here."""

from __future__ import annotations

import json
from typing import Any

from civic.config import get_settings
from civic.errors import N_
from civic.items import rules as item_rules
from civic.items.models import Category
from civic.open311.errors import translate
from civic.open311.queries import Lookups
from civic.workflow.stages import OUTCOME_LABELS, STAGE_LABELS, STAGE_MOTTO, Stage

SPEC_URL = "http://wiki.open311.org/GeoReport_v2"

# FixMyStreet's upper-case statuses, for servicerequestupdates.
FMS_STATUS = {
    Stage.SUBMITTED: "OPEN",
    Stage.KNOW: "INVESTIGATING",
    Stage.DISCUSS: "ACTION_SCHEDULED",
    Stage.DO: "IN_PROGRESS",
    Stage.INSPECT: "IN_PROGRESS",
}
FMS_OUTCOME = {
    "done": "FIXED",
    "duplicate": "DUPLICATE",
    "redirected": "NOT_COUNCILS_RESPONSIBILITY",
    "rejected": "NO_FURTHER_ACTION",
    "not_approved": "NO_FURTHER_ACTION",
    "withdrawn": "CLOSED",
    "not_done": "CLOSED",
}

# The wording of each public event, the same msgids as the status page's timeline.
ACTION_WORDS = {
    "accept": N_("accepted it; it moved to People know (Dân biết)"),
    "reject": N_("did not take it up"),
    "mark_duplicate": N_("marked it as a duplicate of"),
    "recategorize": N_("corrected its village or category"),
    "redacted": N_("took personal details out of its text"),
    "withdraw": N_("withdrew it"),
    "request_review": N_("asked the supervisors to review the decision"),
    "uphold": N_("reviewed the decision and upheld it"),
    "send_back": N_("reviewed the decision and sent the item back to triage"),
    "note": N_("posted an update"),
}
ROLE_WORDS = {
    "author": N_("The resident who raised it"),
    "village_head": N_("Village head"),
    "supervisor": N_("Supervisor"),
    "admin": N_("Commune administrator"),
}


def status(stage: str) -> str:
    return "closed" if stage == Stage.CLOSED else "open"


def stage_words(locale: str, stage: str) -> str:
    label = translate(locale, STAGE_LABELS.get(stage, stage))
    motto = STAGE_MOTTO.get(stage)
    return f"{label} ({motto})" if motto and motto != label else label


def status_notes(locale: str, row: Any, progress: int | None = None) -> str:
    """The stage in words: 'Dân bàn', 'Đã kết thúc — Không tiếp nhận: <public reason>', 'Dân làm — 60 %'."""
    parts = [stage_words(locale, row.stage)]
    if row.stage == Stage.CLOSED and row.outcome:
        parts.append(translate(locale, OUTCOME_LABELS.get(row.outcome, row.outcome)))
    if progress is not None and row.stage in (Stage.DO, Stage.INSPECT):
        parts.append(f"{progress} %")
    text = " — ".join(parts)
    if row.stage == Stage.CLOSED and row.close_reason:
        text += f": {row.close_reason}"
    return text


def service(locale: str, c: Category) -> dict[str, Any]:
    name = c.name_en if locale == "en" else c.name_vi
    return {
        "service_code": c.code,
        "service_name": name,
        "description": f"{c.name_vi} / {c.name_en}",
        "metadata": bool(item_rules.attribute_definitions(c.attributes)),
        "type": "realtime",
        "keywords": ", ".join(c.keywords.split()),
        "group": c.group,
    }


def service_definition(locale: str, c: Category) -> dict[str, Any]:
    attributes = []
    for a in item_rules.attribute_definitions(c.attributes):
        attributes.append({
            "variable": a["variable"], "code": a["code"], "datatype": a["datatype"],
            "required": a["required"],
            "datatype_description": a["datatype_description"], "order": a["order"],
            "description": a["description_en"] if locale == "en" else a["description"],
            "values": [{"key": v["key"], "name": v["name_en"] if locale == "en" else v["name"]}
                       for v in a["values"]],
        })
    return {"service_code": c.code, "attributes": attributes}


def agency(look: Lookups, village_id: int) -> str:
    village = look.villages.get(village_id)
    place = f"{village.label} {village.name}".strip() if village else ""
    return f"{place}, {look.commune.name}" if place else look.commune.name


def service_request(locale: str, look: Lookups, row: Any, *, events: list[Any] | None = None,
                    progress: int | None = None, extensions: bool = False) -> dict[str, Any]:
    cat = look.categories.get(row.category_id)
    village = look.villages.get(row.village_id)
    # An item not yet triaged (or closed without being taken up) is public by its title and village only
    # (civic/items/rules.py shows_detail).
    detail = item_rules.shows_detail(row.stage, untriaged_detail=get_settings().untriaged_public_detail,
                                     is_author=False, sees_private=False, outcome=row.outcome)
    out: dict[str, Any] = {
        "service_request_id": row.code,
        "status": status(row.stage),
        "status_notes": status_notes(locale, row, progress),
        "service_name": (cat.name_en if locale == "en" else cat.name_vi) if cat else "",
        "service_code": cat.code if cat else "",
        "description": row.description if detail else "",
        "agency_responsible": agency(look, row.village_id),
        "service_notice": "",
        "requested_datetime": row.created_at,
        "updated_datetime": row.updated_at,
        "expected_datetime": None,
        "address": row.address if detail else "",
        "address_id": village.slug if village else "",
        "zipcode": "",
        "lat": row.lat if detail else None,
        "long": row.lng if detail else None,
        "media_url": "",
    }
    if extensions:
        out["extended_attributes"] = {
            "title": row.title,
            "kind": row.kind,
            "stage": row.stage,
            "stage_label": stage_words(locale, row.stage),
            "outcome": row.outcome,
            "outcome_label": translate(locale, OUTCOME_LABELS[row.outcome]) if row.outcome in OUTCOME_LABELS
            else None,
            "progress": progress,
            "notes": [note(locale, e) for e in (events or [])],
        }
    return out


def event_words(locale: str, action: str, payload: dict[str, Any]) -> str:
    if action == "submitted":
        channel = payload.get("channel")
        msg = (N_("sent it through a partner system") if channel == "api" else
               N_("filed it on behalf of a resident") if channel == "assisted" else N_("sent it"))
        return translate(locale, msg)
    if action == "redirect":
        return translate(locale, N_("sent it to %(place)s"), {"place": payload.get("destination", "")})
    if action == "stage_changed":
        to = str(payload.get("to"))
        text = translate(locale, N_("moved it to %(stage)s"),
                         {"stage": translate(locale, STAGE_LABELS.get(to, to))})
        if payload.get("outcome") in OUTCOME_LABELS:
            text += " — " + translate(locale, OUTCOME_LABELS[payload["outcome"]])
        return text
    words = translate(locale, ACTION_WORDS[action]) if action in ACTION_WORDS else action.replace("_", " ")
    if action == "mark_duplicate" and payload.get("original"):
        words += f" {payload['original']}"
    return words


def _summary(locale: str, role: str, action: str, payload: dict[str, Any]) -> str:
    who = translate(locale, ROLE_WORDS.get(role, N_("The system")))
    return f"{who} {event_words(locale, action, payload)}"


def _public_text(payload: dict[str, Any]) -> str:
    return " ".join(str(payload[k]) for k in ("reason", "text")
                    if isinstance(payload.get(k), str) and payload[k])


def note(locale: str, event: Any) -> dict[str, Any]:
    payload = json.loads(event.payload)
    return {"datetime": event.created_at, "type": event.action,
            "summary": _summary(locale, event.actor_role, event.action, payload),
            "description": _public_text(payload)}


def request_updates(locale: str, rows: list[Any]) -> list[dict[str, Any]]:
    """Each event as a request_update, with the FixMyStreet status the item had after it."""
    state: dict[int, tuple[str, str | None]] = {}
    out = []
    for e in rows:
        payload = json.loads(e.payload)
        if payload.get("to"):
            stage, outcome = payload["to"], payload.get("outcome")
            if stage == Stage.CLOSED and not outcome:
                outcome = state.get(e.item_id, (None, e.outcome))[1]
        elif e.action == "submitted":
            stage, outcome = Stage.SUBMITTED, None
        else:  # the stage did not change: as after the item's previous event here, else as it is now
            stage, outcome = state.get(e.item_id, (e.stage, e.outcome))
        state[e.item_id] = (stage, outcome)
        fms = (FMS_OUTCOME.get(outcome or "", "CLOSED") if stage == Stage.CLOSED
               else FMS_STATUS.get(stage, "OPEN"))
        description = _summary(locale, e.actor_role, e.action, payload)
        text = _public_text(payload)
        out.append({"update_id": f"{e.id}", "service_request_id": e.code, "status": fms,
                    "updated_datetime": e.created_at,
                    "description": f"{description}: {text}" if text else description, "media_url": ""})
    return out
