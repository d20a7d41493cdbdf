"""The deployment operator's work (a province serving many communes): create communes, invite each one's
first admin, merge one commune into another (the 2025 reorganisation).

It sits beside the site's first set-up because it does the same for the next communes: it uses areas and
accounts, and only the delivery layers (pages, the `civic` command) use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlmodel import Session, col

from civic import clock
from civic.accounts.models import Invitation, RoleGrant
from civic.accounts.rules import OPERATOR_POWER, ROLES, code_hash, new_code
from civic.accounts.service import Viewer
from civic.areas import rules as area_rules
from civic.areas import service as areas
from civic.areas.models import Commune
from civic.areas.schemas import CommuneForm
from civic.audit import service as audit
from civic.config import get_settings
from civic.core.kinds import Role
from civic.errors import N_, Forbidden, NotFound

OPERATORS_ONLY = N_("This page is for the operator of this site (province).")


def require_operator(viewer: Viewer) -> Viewer:
    if not viewer.is_operator:
        raise Forbidden(OPERATORS_ONLY)
    return viewer


def create_commune(session: Session, viewer: Viewer, form: CommuneForm) -> Commune:
    """A new commune of the deployment, with its own audit chain (its first event names the operator)."""
    require_operator(viewer)
    return areas.create_commune(session, code=form.code, name=form.name, kind=form.kind,
                                province=form.province, actor_id=viewer.id)


def get_commune(session: Session, commune_id: int) -> Commune:
    commune = session.get(Commune, commune_id)
    if commune is None:
        raise NotFound(N_("There is no such commune."))
    return commune


def invite_admin(session: Session, viewer: Viewer | None, commune_id: int, *, phone: str,
                 display_name: str) -> tuple[Invitation, str]:
    """An invitation to be the commune's admin (from today, without end), and its one-time code, taken at
    /invite/<code> like every invitation. `viewer` None: the command line, which needs no login."""
    if viewer is not None:
        require_operator(viewer)
    commune = get_commune(session, commune_id)
    areas.check_accepting(session, commune)
    code = new_code()
    now = clock.now()
    inv = Invitation(commune_id=commune_id, code_hash=code_hash(code), phone=phone, display_name=display_name,
                     role=Role.ADMIN, village_id=None, starts_on=clock.today_local(), ends_on=None,
                     created_by_id=viewer.id if viewer else None, created_at=now,
                     expires_at=now + timedelta(days=get_settings().invitation_days))
    session.add(inv)
    session.flush()
    audit.record(session, commune_id=commune_id, action="invitation_created",
                 actor_id=viewer.id if viewer else None, actor_role=OPERATOR_POWER,
                 payload={"invitation_id": inv.id, "role": inv.role, "village_id": None,
                          "starts_on": inv.starts_on.isoformat(), "ends_on": None})
    return inv, code


def pending_admin_invitations(session: Session) -> dict[int, int]:
    """How many admin invitations wait to be taken, by commune."""
    now = clock.now()
    out: dict[int, int] = {}
    for commune_id in session.execute(select(col(Invitation.commune_id)).where(
            col(Invitation.role) == Role.ADMIN, col(Invitation.used_at).is_(None),
            col(Invitation.expires_at) > now)).scalars():
        out[commune_id] = out.get(commune_id, 0) + 1
    return out


def admins_in_force(session: Session) -> dict[int, int]:
    """How many admins each commune has today."""
    today = clock.today_local()
    out: dict[int, int] = {}
    for commune_id, starts_on, ends_on in session.execute(select(
            col(RoleGrant.commune_id), col(RoleGrant.starts_on), col(RoleGrant.ends_on))
            .where(col(RoleGrant.role) == Role.ADMIN)).all():
        if starts_on <= today and (ends_on is None or today < ends_on):
            out[commune_id] = out.get(commune_id, 0) + 1
    return out


@dataclass(frozen=True)
class CommuneMerge:
    source: Commune
    into: Commune
    villages: int
    households: int
    roles_ended: int
    final_seq: int
    final_hash: str


def merge_communes(session: Session, source_id: int, into_id: int, on: date, *,
                   viewer: Viewer | None = None) -> CommuneMerge:
    """Merge commune `source` into `into` from `on`, keeping history. `viewer` None: the command line.

    The source keeps its row, items (their codes and pages), villages and past decisions. Each of its
    villages continues in the receiving commune as a new village of the same name (with the old commune's
    name added when the receiver has a village of that name already): households still in the register on
    `on` leave the old village on that date and join the new one from it, with the same code, so every past
    vote keeps its denominator. The source's staff roles end on `on` and its pending invitations expire.
    Its audit chain is closed with a last event and a signed checkpoint; the receiver's chain records that
    checkpoint's seq and hash in an event of its own, which `civic audit verify` checks."""
    actor_id = None
    if viewer is not None:
        actor_id = require_operator(viewer).id
    source = get_commune(session, source_id)
    into = get_commune(session, into_id)
    area_rules.check_commune_merge(source_id=source_id, target_id=into_id,
                                   source_merged=source.merged_into_id is not None,
                                   target_merged=into.merged_into_id is not None)
    households = 0
    continued: dict[int | None, int | None] = {}
    old_villages = areas.villages(session, source_id)
    taken = [v.name for v in areas.villages(session, into_id, include_merged=True)]
    for old in old_villages:
        name = area_rules.merged_village_name(old.name, source.name, taken)
        taken.append(name)
        new = areas.create_village(session, into, name=name, kind=old.kind, label=old.label,
                                   actor_id=actor_id)
        households += areas.move_households(session, old, new, on)
        old.merged_into_id = new.id
        old.merged_on = on
        continued[old.id] = new.id
    ended = 0
    for grant in list(session.execute(select(RoleGrant).where(col(RoleGrant.commune_id) == source_id))
                      .scalars()):
        kind = ROLES.get(grant.role)
        ended_already = grant.ends_on is not None and grant.ends_on <= on
        if kind is None or ended_already or grant.role == OPERATOR_POWER:
            continue
        if not kind.staff and continued.get(grant.village_id) is not None:
            # A resident's village continues in the receiving commune: so does their role there.
            session.add(RoleGrant(user_id=grant.user_id, role=grant.role, commune_id=into_id,
                                  village_id=continued[grant.village_id], title=grant.title,
                                  starts_on=max(on, grant.starts_on), ends_on=grant.ends_on,
                                  granted_by_id=actor_id))
        elif kind.staff:
            ended += 1
        grant.ends_on = max(on, grant.starts_on)
    now = clock.now()
    for invitation in session.execute(select(Invitation).where(
            col(Invitation.commune_id) == source_id, col(Invitation.used_at).is_(None),
            col(Invitation.expires_at) > now)).scalars():
        invitation.expires_at = now
    source.merged_into_id = into.id
    source.merged_on = on
    session.flush()
    audit.record(session, commune_id=source_id, action=audit.MERGED_INTO, actor_id=actor_id,
                 payload={"into": into.code, "on": on.isoformat(), "villages": len(old_villages),
                          "households": households, "roles_ended": ended})
    final = audit.take_checkpoint(session, source_id, source.code)
    audit.record(session, commune_id=into_id, action=audit.MERGED_FROM, actor_id=actor_id,
                 payload={"from": source.code, "on": on.isoformat(), "villages": len(old_villages),
                          "households": households, "closed_seq": final.seq, "closed_hash": final.hash})
    audit.close_chain(session, source_id)
    return CommuneMerge(source, into, len(old_villages), households, ended, final.seq, final.hash)
