"""Subscribe notifications to the audit chain (imported once by civic.domains)."""

from civic.audit import service as audit
from civic.notify.service import on_event

if on_event not in audit.LISTENERS:
    audit.LISTENERS.append(on_event)
