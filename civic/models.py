"""Import every table model, so metadata and relationships are complete."""

from civic.accounts.models import ApiKey, RoleGrant, User  # noqa: F401
from civic.activity.models import ActivityVisit  # noqa: F401
from civic.areas.models import Commune, Household, HouseholdMember, Village  # noqa: F401
from civic.audit.models import AuditEvent, AuditHead  # noqa: F401
from civic.boards.models import Board, BoardMember  # noqa: F401
from civic.db import metadata  # noqa: F401
from civic.deliberation.models import (  # noqa: F401,E501
    Ballot,
    Comment,
    Decision,
    Disclosure,
    Discussion,
    Meeting,
    MeetingCluster,
    Support,
)
from civic.households.models import ClaimCode, JoinRequest  # noqa: F401
from civic.implementation.models import (  # noqa: F401,E501
    BudgetLine,
    Delivery,
    ImplementationSetting,
    Pledge,
    ProgressUpdate,
    Spending,
)
from civic.items.models import Category, Item, ItemRedaction  # noqa: F401
from civic.media.models import Attachment  # noqa: F401
from civic.notify.models import Follow, NotifyPreference, NotifyStop, Outbox  # noqa: F401
from civic.open311.models import ix_audit_event_commune_created  # noqa: F401
from civic.setup.models import SetupNonce  # noqa: F401
from civic.supervision.models import (  # noqa: F401
    ChecklistEntry,
    Finding,
    Inspection,
    ReopenRequest,
    SignOffVote,
    Verdict,
)
from civic.workflow.models import ReviewRequest  # noqa: F401
