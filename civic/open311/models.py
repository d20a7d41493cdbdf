"""Indexes the Open311 lists need on tables owned by other packages (declared here, created by 0005)."""

from __future__ import annotations

from sqlalchemy import Index
from sqlmodel import col

from civic.audit.models import AuditEvent

# `servicerequestupdates` lists a commune's item events between two datetimes.
ix_audit_event_commune_created = Index("ix_audit_event_commune_created", col(AuditEvent.commune_id),
                                       col(AuditEvent.created_at))
