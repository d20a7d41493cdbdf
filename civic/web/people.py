"""The commune admin's people page: staff and their roles, invitations, ending a role, deactivating an
account, and one-time password reset codes.

A one-time code is shown once, on the printable page the admin is sent to after making it: the form's
`act` puts it in the session (signed cookie) and that page takes it out; only its hash is stored.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from starlette.responses import Response

from civic import clock
from civic.accounts import rules
from civic.accounts import service as accounts
from civic.accounts.models import User
from civic.accounts.schemas import FindPersonQuery, InviteForm
from civic.areas import service as areas
from civic.areas.models import Commune, Village
from civic.db import row_id
from civic.errors import N_, Invalid
from civic.web import communes, urls
from civic.web.core import Web, register_forms, require_user
from civic.web.deps import CurrentWeb, RowId, reading
from civic.web.forms import EMPTY, Done, FormState, post_form
from civic.web.qr import qr_svg

router = APIRouter()
register_forms(InviteForm)

SHOWN = "shown_code"  # session key of a code to show once


def _keep_code(request: Request, kind: str, row: int, code: str) -> None:
    request.session[SHOWN] = {"kind": kind, "id": row, "code": code}


def _take_code(request: Request, kind: str, row: int) -> str | None:
    shown = request.session.get(SHOWN)
    if isinstance(shown, dict) and shown.get("kind") == kind and shown.get("id") == row:
        request.session.pop(SHOWN, None)
        code = shown.get("code")
        return code if isinstance(code, str) else None
    return None


def _role_options(locale: str) -> list[tuple[str, str]]:
    return [(r.code, r.label(locale)) for r in rules.STAFF_ROLES]


def _find(web: Web, commune_id: int) -> dict[str, Any]:
    """The result of the page's search by phone number: who was found, or why nobody."""
    typed = web.request.query_params.get("phone", "")[:40]
    if not typed.strip():
        return {"typed": ""}
    try:
        phone = FindPersonQuery.parse({"phone": typed}).phone
    except Invalid as exc:
        return {"typed": typed, "error": web.field_errors(exc).get("phone", web.error_text(exc))}
    found = accounts.find_person(web.session, commune_id, phone or "")
    return {"typed": typed, "person": found,
            "error": "" if found else web._(N_("Nobody with this phone number has a role or a household in "
                                               "your commune."))}


def _people_page(web: Web, state: FormState = EMPTY) -> Response:
    viewer = require_user(web)
    db = web.session
    commune_id = communes.administered(web, accounts.administered_commune(viewer))
    villages = areas.villages(db, commune_id)
    find = _find(web, commune_id)
    values: dict[str, Any] = {"starts_on": clock.today_local().isoformat()}
    values.update({k: v for k, v in state.values.items() if isinstance(v, str) and k != "csrf_token"})
    return web.render("people/list.html", status=state.status, commune=db.get(Commune, commune_id),
                      staff=accounts.staff(db, commune_id),
                      invitations=accounts.pending_invitations(db, commune_id),
                      villages={v.id: v for v in villages},
                      village_options=[(v.id, v.name) for v in villages],
                      role_options=_role_options(web.locale), role_label=rules.role_label,
                      mask=rules.mask_phone, values=values, errors=state.errors, message=state.message,
                      find=find)


def _people_again(request: Request, state: FormState) -> Response:
    with reading(request) as web:
        return _people_page(web, state)


@router.get("/admin/people", response_class=HTMLResponse)
def people(web: CurrentWeb):
    return _people_page(web)


@router.post("/admin/people/invite")
async def invite(request: Request):
    def act(db, web: Web, form: InviteForm, files) -> Done:
        inv, code = accounts.invite(db, require_user(web), form)
        _keep_code(request, "invitation", row_id(inv), code)
        return Done(f"/admin/people/invitations/{inv.id}", N_("The invitation was made. Print it or copy the "
                                                              "link: the code is shown only once."))

    return await post_form(request, InviteForm, action="invite", act=act,
                           page=lambda state: _people_again(request, state))


@router.get("/admin/people/invitations/{invitation_id}", response_class=HTMLResponse)
def invitation_letter(web: CurrentWeb, invitation_id: RowId):
    viewer = require_user(web)
    db = web.session
    inv = accounts.admin_invitation(db, viewer, invitation_id)
    code = _take_code(web.request, "invitation", invitation_id)
    link = urls.absolute(web.request, f"/invite/{code}") if code else ""
    return web.render("people/invitation.html", invitation=inv, code=code, link=link,
                      qr=qr_svg(link) if link else Markup(""), commune=db.get(Commune, inv.commune_id),
                      village=db.get(Village, inv.village_id) if inv.village_id else None,
                      role_vi=rules.ROLES[inv.role].label_vi if inv.role in rules.ROLES else inv.role,
                      role=rules.role_label(inv.role, web.locale), mask=rules.mask_phone)


@router.post("/admin/people/invitations/{invitation_id}/renew")
async def renew_invitation(request: Request, invitation_id: RowId):
    def act(db, web: Web, form, files) -> Done:
        inv, code = accounts.renew_invitation(db, require_user(web), invitation_id)
        _keep_code(request, "invitation", row_id(inv), code)
        return Done(f"/admin/people/invitations/{inv.id}", N_("A new code was made; the old one no longer "
                                                              "works."))

    return await post_form(request, None, action="renew", act=act,
                           page=lambda state: _people_again(request, state))


def _person_page(web: Web, user_id: int, state: FormState = EMPTY) -> Response:
    viewer = require_user(web)
    db = web.session
    commune_id = communes.administered(web, accounts.administered_commune(viewer))
    person = accounts.person(db, commune_id, user_id)
    villages = {v.id: v for v in areas.villages(db, commune_id)}
    return web.render("people/person.html", status=state.status, person=person.user, rows=person.grants,
                      villages=villages, role_label=rules.role_label, mask=rules.mask_phone,
                      is_me=person.user.id == viewer.id, message=state.message)


def _person_again(request: Request, user_id: int, state: FormState) -> Response:
    with reading(request) as web:
        return _person_page(web, user_id, state)


@router.get("/admin/people/{user_id}", response_class=HTMLResponse)
def person(web: CurrentWeb, user_id: RowId):
    return _person_page(web, user_id)


@router.post("/admin/people/{user_id}/roles/{grant_id}/end")
async def end_role(request: Request, user_id: RowId, grant_id: RowId):
    def act(db, web: Web, form, files) -> Done:
        accounts.end_grant(db, require_user(web), grant_id, user_id=user_id)
        return Done(f"/admin/people/{user_id}", N_("The role was ended: it gives no power from today."))

    return await post_form(request, None, action="end_role", act=act,
                           page=lambda state: _person_again(request, user_id, state))


@router.post("/admin/people/{user_id}/deactivate")
async def deactivate(request: Request, user_id: RowId):
    def act(db, web: Web, form, files) -> Done:
        accounts.deactivate(db, require_user(web), user_id)
        return Done(f"/admin/people/{user_id}", N_("The account was deactivated: all its logins ended."))

    return await post_form(request, None, action="deactivate", act=act,
                           page=lambda state: _person_again(request, user_id, state))


@router.post("/admin/people/{user_id}/reactivate")
async def reactivate(request: Request, user_id: RowId):
    def act(db, web: Web, form, files) -> Done:
        accounts.reactivate(db, require_user(web), user_id)
        return Done(f"/admin/people/{user_id}", N_("The account was activated again."))

    return await post_form(request, None, action="reactivate", act=act,
                           page=lambda state: _person_again(request, user_id, state))


@router.post("/admin/people/{user_id}/reset")
async def issue_reset(request: Request, user_id: RowId):
    def act(db, web: Web, form, files) -> Done:
        user, _reset, code = accounts.issue_reset(db, require_user(web), user_id)
        _keep_code(request, "reset", row_id(user), code)
        return Done(f"/admin/people/{user.id}/reset",
                    N_("A password reset code was made. Print it or copy it: it is shown only once."))

    return await post_form(request, None, action="reset", act=act,
                           page=lambda state: _person_again(request, user_id, state))


@router.get("/admin/people/{user_id}/reset", response_class=HTMLResponse)
def reset_letter(web: CurrentWeb, user_id: RowId):
    viewer = require_user(web)
    db = web.session
    commune_id = communes.administered(web, accounts.administered_commune(viewer))
    user: User = accounts.person(db, commune_id, user_id).user
    reset = accounts.latest_reset(db, row_id(user))
    code = _take_code(web.request, "reset", user_id)
    return web.render("people/reset_letter.html", person=user, code=code, reset=reset,
                      commune=db.get(Commune, commune_id), mask=rules.mask_phone,
                      link=urls.absolute(web.request, "/password/reset"))


__all__ = ["router"]
