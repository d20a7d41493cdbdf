"""Pure account rules. What a phone number, a password or a name may be is read by the forms in
civic.accounts.schemas (with the shared field types of civic.core.inputs)."""

from __future__ import annotations

import base64
import hashlib
import math
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from civic.errors import N_, Conflict, Invalid


def mask_phone(phone: str) -> str:
    """0912345678 -> 0912•••678, for staff lists where the full number is not needed."""
    return phone[:4] + "•••" + phone[-3:] if len(phone) >= 7 else "•••"


# --- passwords ----------------------------------------------------------------------------------------

# A few common passwords of Vietnamese users that the English-language list below may miss.
_COMMON_VI = frozenset({
    "matkhau", "matkhau123", "matkhau1234", "anhyeuem", "anhyeuem123", "emyeuanh", "yeuem123", "vietnam",
    "vietnam123", "123456789a", "1234567890a", "a123456789", "hanoi123", "saigon123", "qwerty123",
})


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords (the list zxcvbn ships, from the Xato corpus), read from the
    installed package on first use: no network."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"]) | _COMMON_VI


def is_common_password(password: str) -> bool:
    """A password on the list of common ones (ASVS 2.1.7), compared without case and outer spaces: an
    attacker's list tries 'Password1' as soon as 'password1'."""
    return password.strip().lower() in _common_passwords()


# --- sessions -----------------------------------------------------------------------------------------

# "Last seen" is written at most this often, so an active user costs one small write a minute, not one
# a page.
TOUCH_EVERY = timedelta(minutes=1)


def session_alive(*, created_at: datetime, last_seen_at: datetime, ended_at: datetime | None, now: datetime,
                  lifetime: timedelta, idle: timedelta) -> bool:
    """Is a login still good (ASVS 3.3.1, 3.3.2)? Not once logged out, past its lifetime, or idle too long."""
    return ended_at is None and now < created_at + lifetime and now < last_seen_at + idle


def touch_due(last_seen_at: datetime, now: datetime) -> bool:
    return now - last_seen_at >= TOUCH_EVERY


# --- throttling ---------------------------------------------------------------------------------------

def throttle_wait(*, window_start: datetime | None, hits: int, limit: int, window: timedelta,
                  now: datetime) -> int:
    """Seconds to wait before the next attempt counted under one key (0: go ahead). A fixed window: `limit`
    attempts from the window's first one, then nothing until it ends."""
    if window_start is None or now >= window_start + window or hits < limit:
        return 0
    return max(1, math.ceil((window_start + window - now).total_seconds()))


# --- roles: the law's words ---------------------------------------------------------------------------

VILLAGE = "village"
COMMUNE = "commune"

# What a role lets its holder do in civic. A role names the powers it carries; the code asks for a power,
# never for a role (civic.accounts.service.Viewer), so two roles can act alike.
HEAD_POWER = "village_head"  # run a village's items: triage, disclose, hold the village meeting
SUPERVISOR_POWER = "supervisor"  # review appeals of the commune
ADMIN_POWER = "admin"  # set up the commune, its villages, people and roles
RESIDENT_POWER = "resident"
OPERATOR_POWER = "operator"  # run the deployment: create communes, invite their first admins, merge them
# Speak for the village Front work committee: record its agreement (or refusal) to an online vote of the
# village (Decree 59/2023/NĐ-CP Art. 5) and see the village's items waiting for it.
FRONT_POWER = "front"


@dataclass(frozen=True)
class RoleKind:
    """One role of the catalog: its code (stored in role_grant.role), its names, where it applies, and
    the powers it gives in civic."""

    code: str
    label_vi: str
    label_en: str
    scopes: frozenset[str]  # VILLAGE, COMMUNE or both
    powers: frozenset[str]
    staff: bool = True  # given by the commune admin on the people page (residents link their households)

    def label(self, locale: str) -> str:
        return self.label_en if locale == "en" else self.label_vi


def _role(code: str, vi: str, en: str, scopes: set[str], powers: set[str], staff: bool = True) -> RoleKind:
    return RoleKind(code, vi, en, frozenset(scopes), frozenset(powers), staff)


# The village head and deputy are elected by the village meeting and recognised by the commune chairman
# (Law 10/2022/QH15 on grassroots democracy); the deputy stands in for the head, so in civic the deputy
# acts with the village head's powers. The Front work committee, the people's inspection board and the
# community investment supervision board are bodies of the same law: their members have a term and a
# scope here; what they may do comes with their own pages. The head of the village Front work committee
# records the committee's agreement to an online vote (FRONT_POWER); the village head cannot do it for them.
ROLES: dict[str, RoleKind] = {r.code: r for r in (  # in the order the people page offers them
    _role("village_head", "Trưởng thôn / Tổ trưởng tổ dân phố", "Village head", {VILLAGE}, {HEAD_POWER}),
    _role("deputy_head", "Phó trưởng thôn / Tổ phó", "Deputy village head", {VILLAGE}, {HEAD_POWER}),
    _role("front_head", "Trưởng ban công tác Mặt trận", "Head of the village Front work committee",
          {VILLAGE}, {FRONT_POWER}),
    _role("investment_monitor", "Thành viên Ban Giám sát đầu tư của cộng đồng",
          "Member of the community investment supervision board", {COMMUNE, VILLAGE}, set()),
    _role("inspection_member", "Thành viên Ban Thanh tra nhân dân", "Member of the people's inspection board",
          {COMMUNE}, set()),
    _role("supervisor", "Cán bộ xã xem xét kiến nghị", "Commune official who reviews appeals", {COMMUNE},
          {SUPERVISOR_POWER}),
    _role("admin", "Quản trị xã", "Commune administrator", {COMMUNE}, {ADMIN_POWER}),
    _role("resident", "Người dân", "Resident", {VILLAGE}, {RESIDENT_POWER}, staff=False),
    # Deployment-wide (a province serving many communes): given with `civic create-user --role operator`,
    # never on a commune's people page; it gives no power inside any commune.
    _role("operator", "Quản trị hệ thống (Sở, tỉnh)", "Deployment operator (province)", {COMMUNE},
          {OPERATOR_POWER}, staff=False),
)}

STAFF_ROLES = tuple(r for r in ROLES.values() if r.staff)
ROLE_MAX = 32  # characters of role_grant.role

# Former role codes still read where people type them (scripts that call `civic create-user --role …`):
# the village role was called "secretary" before it took the law's word (migration 0008a moved the grants).
ROLE_ALIASES = {"secretary": "village_head"}


def role_code(typed: str) -> str:
    """The catalog code for a role as typed: a former name gives today's code; anything else is unchanged
    (and checked against the catalog by the caller)."""
    return ROLE_ALIASES.get(typed, typed)


def role_kind(code: str) -> RoleKind:
    kind = ROLES.get(code)
    if kind is None:
        raise Invalid(N_("Unknown role."), field="role")
    return kind


def role_powers(code: str) -> frozenset[str]:
    """The powers a stored role gives (none for a code this version does not know)."""
    kind = ROLES.get(code)
    return kind.powers if kind else frozenset()


def role_label(code: str, locale: str) -> str:
    kind = ROLES.get(code)
    return kind.label(locale) if kind else code


def check_scope(role: str, *, village_id: int | None) -> None:
    """A village role needs a village; a commune-only role must not have one."""
    kind = role_kind(role)
    if village_id is None and COMMUNE not in kind.scopes:
        raise Invalid(N_("This role needs a village."), field="village_id")
    if village_id is not None and VILLAGE not in kind.scopes:
        raise Invalid(N_("This role is for the whole commune: choose no village."), field="village_id")


# --- terms --------------------------------------------------------------------------------------------

def check_term(starts_on: date, ends_on: date | None) -> None:
    """A term ends after it starts. `ends_on` is the first day without the role (like a household's
    active_to), so a term from 1 May to 1 June covers May."""
    if ends_on is not None and ends_on <= starts_on:
        raise Invalid(N_("The term must end after it starts."), field="ends_on")


def in_force(starts_on: date, ends_on: date | None, today: date) -> bool:
    """Does a role grant give its powers today? Only within its term: from starts_on, before ends_on."""
    return starts_on <= today and (ends_on is None or today < ends_on)


def end_on(starts_on: date, ends_on: date | None, today: date) -> date:
    """The day an ended role stops: today (it gives no power from now on), or its start when it has not
    started yet; a role already ended keeps its end."""
    if ends_on is not None and ends_on <= today:
        raise Conflict(N_("This role has already ended."))
    return max(today, starts_on)


# --- one-time codes: invitations and password resets -------------------------------------------------

CODE_BYTES = 10  # 80 bits: 16 characters of base32
_CODE_CLEAN = re.compile(r"[\s\-–.]")
# Letters a hand may write for the base32 ones that look like them.
_LOOKALIKE = str.maketrans({"0": "O", "1": "I", "8": "B", "9": "G"})


def new_code() -> str:
    """A random one-time code (80 bits), in groups of four: ABCD-EFGH-JKLM-NPQR."""
    raw = base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode()
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def normalize_code(text: str) -> str:
    """A code as typed (lower case, spaces, dashes, 0 for O…) in its stored form, or "" when it cannot be
    one."""
    text = _CODE_CLEAN.sub("", str(text or "")).upper().translate(_LOOKALIKE)
    return text if re.fullmatch(r"[A-Z2-7]{16}", text) else ""


def code_hash(code: str) -> str:
    """What is stored of a code: its sha256 (a copy of the table opens nothing)."""
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()


def code_state(*, expires_at: datetime, used_at: datetime | None, now: datetime) -> str:
    """'ok', 'used' or 'expired'."""
    if used_at is not None:
        return "used"
    if now >= expires_at:
        return "expired"
    return "ok"
