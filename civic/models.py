"""Import every table model, so metadata and relationships are complete."""

from civic.accounts.models import ApiKey, RoleGrant, User  # noqa: F401
from civic.areas.models import Commune, Household, HouseholdMember, Village  # noqa: F401
from civic.audit.models import AuditEvent, AuditHead  # noqa: F401
from civic.db import metadata  # noqa: F401
from civic.items.models import Category, Item  # noqa: F401
from civic.workflow.models import ReviewRequest  # noqa: F401
