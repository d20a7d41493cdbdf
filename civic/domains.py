"""Import every domain: its tables (civic.models) and its stage moves (each `transitions.py`), so the
metadata and the workflow's TRANSITIONS table are complete. The app, the `civic` command, the migrations
and the tests import this module; the workflow itself never imports a domain."""

import civic.models  # noqa: F401  (every table)
from civic.deliberation import transitions as _deliberation  # noqa: F401
from civic.implementation import transitions as _implementation  # noqa: F401
from civic.supervision import transitions as _supervision  # noqa: F401
from civic.workflow import registry as _registry
from civic.workflow import transitions as _workflow  # noqa: F401
from civic.workflow.stages import TRANSITIONS as _TRANSITIONS

_missing = _registry.check_complete(_TRANSITIONS)
if _missing:  # pragma: no cover - a row names a check or effect no domain registered
    raise RuntimeError("TRANSITIONS names unregistered checks or effects: " + ", ".join(_missing))

from civic.notify import listen as _notify  # noqa: E402,F401  (outbox rows written with each audit event)
