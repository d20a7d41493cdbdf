"""What exists: stages, outcomes, roles, the actions that move an item, and who an actor is to an item."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    SUBMITTED = "submitted"
    KNOW = "know"
    DISCUSS = "discuss"
    DO = "do"
    INSPECT = "inspect"
    CLOSED = "closed"


class Outcome(StrEnum):
    DONE = "done"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    REDIRECTED = "redirected"
    WITHDRAWN = "withdrawn"
    NOT_APPROVED = "not_approved"
    NOT_DONE = "not_done"


class Role(StrEnum):
    RESIDENT = "resident"
    VILLAGE_HEAD = "village_head"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Action(StrEnum):
    """Every change of an item's stage or outcome; the rows of workflow.stages.TRANSITIONS."""

    ACCEPT = "accept"
    REJECT = "reject"
    MARK_DUPLICATE = "mark_duplicate"
    REDIRECT = "redirect"
    RECATEGORIZE = "recategorize"
    WITHDRAW = "withdraw"
    REQUEST_REVIEW = "request_review"
    UPHOLD = "uphold"
    SEND_BACK = "send_back"
    OPEN_DISCUSSION = "open_discussion"
    START_WORK = "start_work"
    CLOSE_NOT_APPROVED = "close_not_approved"
    START_INSPECTION = "start_inspection"
    SIGN_OFF = "sign_off"
    REWORK = "rework"
    CLOSE_NOT_DONE = "close_not_done"
    REOPEN = "reopen"


class Kind(StrEnum):
    CONCERN = "concern"
    RECOMMENDATION = "recommendation"
    PROPOSAL = "proposal"


# Who is acting, relative to one item. "author" is the reporter (an account or the manage link).
AUTHOR = "author"
VILLAGE_HEAD = "village_head"  # a village head of the item's village
SUPERVISOR = "supervisor"  # a supervisor of the item's commune
ADMIN = "admin"  # an admin of the item's commune
INSPECTOR = "inspector"  # a member of the people's board that inspects the item (civic.boards)
ANY_ACCOUNT = "account"  # any signed-in user

OPEN_STAGES = frozenset({Stage.SUBMITTED, Stage.KNOW, Stage.DISCUSS, Stage.DO, Stage.INSPECT})
