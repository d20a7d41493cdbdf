"""The response shapes of the Open311 routes, for /docs and /openapi.json (JSON; XML mirrors them)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Endpoint(BaseModel):
    specification: str
    url: str
    changeset: str
    type: str
    formats: list[str]


class Discovery(BaseModel):
    changeset: str
    contact: str
    key_service: str
    endpoints: list[Endpoint]


class Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str = Field(description="realtime, batch or blackbox")
    keywords: str
    group: str


class AttributeValue(BaseModel):
    key: str
    name: str


class Attribute(BaseModel):
    variable: bool
    code: str
    datatype: str = Field(description="string, number, datetime, text, singlevaluelist or multivaluelist")
    required: bool
    datatype_description: str
    order: int
    description: str
    values: list[AttributeValue]


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[Attribute]


class Note(BaseModel):
    datetime: str
    type: str
    summary: str
    description: str


class ExtendedAttributes(BaseModel):
    title: str
    kind: str
    stage: str
    stage_label: str
    outcome: str | None
    outcome_label: str | None
    progress: int | None = Field(description="percent of the work done, when known")
    notes: list[Note]


class ServiceRequest(BaseModel):
    service_request_id: str
    status: str = Field(description="open or closed")
    status_notes: str
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    service_notice: str
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str | None
    address: str
    address_id: str
    zipcode: str
    lat: float | None
    long: float | None
    media_url: str
    extended_attributes: ExtendedAttributes | None = Field(default=None, description="with extensions=true")


class Created(BaseModel):
    service_request_id: str
    service_notice: str
    account_id: str | None


class TokenAnswer(BaseModel):
    service_request_id: str
    token: str


class RequestUpdate(BaseModel):
    update_id: str
    service_request_id: str
    status: str = Field(description="OPEN, INVESTIGATING, IN_PROGRESS, ACTION_SCHEDULED, FIXED, CLOSED, "
                                    "DUPLICATE, NOT_COUNCILS_RESPONSIBILITY or NO_FURTHER_ACTION")
    updated_datetime: str
    description: str
    media_url: str


class Error(BaseModel):
    code: int
    description: str


XML = {"text/xml": {"schema": {"type": "string"}}}


def responses(model: Any, *, errors: tuple[int, ...] = (400, 404)) -> dict[int | str, dict[str, Any]]:
    out: dict[int | str, dict[str, Any]] = {200: {"model": model, "content": XML,
                                                  "description": "JSON (.json) or XML (.xml)"}}
    for status in errors:
        out[status] = {"model": list[Error], "content": XML, "description": "the spec's error array"}
    # Declaring the 4XX family keeps FastAPI from documenting a 422 these routes never answer.
    out["4XX"] = {"model": list[Error], "content": XML,
                  "description": "any other client error: the error array"}
    return out
