"""Several communes in one deployment: which commune a request is for, and the commune picker.

With one commune every address is as it always was. With several, each commune's pages also live under
`/c/<CODE>/…` (`/c/NS/items`, `/c/NS/admin/villages`): `CommunePrefix` moves the prefix into the ASGI
`root_path` and the code into the scope, so every route works unchanged behind it, the links templates
build with `url_for` keep the prefix (civic/web/core.py) and a redirect to a path of this site stays in
the commune. An address without a prefix still means the first commune (links printed before a second
commune came keep working); only `/` differs: it shows the commune picker once there are several.
Item pages `/items/<CODE>` name their commune by the code and answer with or without a prefix.
"""

from __future__ import annotations

import re

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from sqlalchemy import func, select
from sqlmodel import Session, col
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from civic import clock
from civic.accounts.models import Invitation, RoleGrant
from civic.accounts.rules import in_force, mask_phone
from civic.areas import service as areas
from civic.areas.models import Commune
from civic.areas.schemas import CommuneForm, InviteAdminForm, MergeCommunesForm
from civic.core.kinds import Role
from civic.db import unit_of_work
from civic.errors import N_, Forbidden, NotFound
from civic.setup import communes as operators
from civic.web import urls
from civic.web.core import Web, register_forms, require_user
from civic.web.deps import CurrentWeb, RowId, reading
from civic.web.forms import EMPTY, Done, FormState, post_form
from civic.web.middleware import route_path
from civic.web.qr import qr_svg

PREFIX = "/c/"
SCOPE_KEY = "civic.commune"
_PREFIXED = re.compile(r"^/c/([A-Za-z0-9]{2,8})(?=/|$)")


def code(request: Request) -> str | None:
    """The commune code named by the request's address prefix, in upper case (None: no prefix)."""
    return request.scope.get(SCOPE_KEY)


def current(request: Request, session: Session) -> Commune:
    """The request's commune: the one its prefix names (404 when no commune has that code), else the first
    commune of the site. Read once a session: a page asks for it from several places (the ORM would give
    the same object again, after a query)."""
    key = (SCOPE_KEY, code(request))  # web/i18n.site_name reads the name from it too
    found = session.info.get(key)
    if found is None:
        found = session.info[key] = areas.default_commune(session, code(request))
    return found


def landing(request: Request, session: Session, user_id: int, next_path: str) -> str:
    """Where a login lands: the page asked for; but a login at the site's home page (no prefix) by a person
    whose roles in force are all in one commune other than the first lands on that commune's home."""
    if code(request) is not None or next_path != "/":
        return next_path
    today = clock.today_local()
    grants = session.execute(select(RoleGrant).where(col(RoleGrant.user_id) == user_id,
                                                     col(RoleGrant.role) != "operator")).scalars()
    theirs = {g.commune_id for g in grants if in_force(g.starts_on, g.ends_on, today)}
    if len(theirs) != 1:
        return next_path
    commune = session.get(Commune, theirs.pop())
    if commune is None or commune.id == areas.default_commune(session).id:
        return next_path
    return f"{PREFIX}{commune.code}/"


def holds(request: Request, session: Session, commune_id: int) -> bool:
    """Whether a row of `commune_id` belongs to the commune the request's prefix names (any, without one)."""
    wanted = code(request)
    if wanted is None:
        return True
    commune = session.get(Commune, commune_id)
    return commune is not None and commune.code == wanted


def administered(web: Web, commune_id: int) -> int:
    """The commune an admin's page shows: theirs; under another commune's prefix, refused (403)."""
    wanted = code(web.request)
    if wanted is not None:
        commune = web.session.get(Commune, commune_id)
        if commune is None or commune.code != wanted:
            raise Forbidden(N_("This page is for commune administrators."))
    return commune_id


def several(session: Session) -> bool:
    """Whether this deployment serves more than one commune (then `/` is the picker)."""
    return session.execute(select(func.count()).select_from(Commune)).scalar_one() > 1


def picker_shown() -> bool:
    """Whether `/` (without a prefix) is the commune picker: when the deployment has several communes."""
    with unit_of_work() as session:
        return several(session)


def prefix_of(commune_code: str) -> str:
    return f"{PREFIX}{commune_code}"


class CommunePrefix:
    """`/c/NS/items` is `/items` for the commune NS: root_path gains "/c/NS" (Starlette routes on the path
    after root_path), the scope carries "NS", and a Location header with a path of this site gets the
    prefix back, so a form posted in commune B sends its author to a page of commune B."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        match = _PREFIXED.match(route_path(scope))
        if match is None:
            await self.app(scope, receive, send)
            return
        prefix = match.group(0)
        root = scope.get("root_path", "") + prefix
        if scope["path"] == root:  # "/c/NS": the commune's home is "/c/NS/"
            query = scope.get("query_string", b"")
            location = (root + "/" + ("?" + query.decode("latin-1") if query else "")).encode("latin-1")
            await send({"type": "http.response.start", "status": 308,
                        "headers": [(b"location", location), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        scope = dict(scope, root_path=root)
        scope[SCOPE_KEY] = match.group(1).upper()
        scope["civic.prefix"] = prefix
        outer_root = root[: -len(prefix)].encode("latin-1")
        prefix_bytes = root.encode("latin-1")

        async def send_in_commune(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = []
                for key, value in message.get("headers", []):
                    if key.lower() == b"location" and _local(value, outer_root):
                        value = prefix_bytes + value[len(outer_root):]
                    headers.append((key, value))
                message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, receive, send_in_commune)


def _local(location: bytes, outer_root: bytes) -> bool:
    """A path of this site outside every commune prefix (not another site, not /static, not /c/…)."""
    if not location.startswith(b"/") or location.startswith(b"//"):
        return False
    rest = location[len(outer_root):] if outer_root and location.startswith(outer_root) else location
    return not (rest.startswith(PREFIX.encode()) or rest.startswith(b"/static/"))


# --- the operator's page: communes of the deployment --------------------------------------------------

router = APIRouter()
register_forms(CommuneForm, InviteAdminForm, MergeCommunesForm)

KIND_NAMES = {"xa": N_("Xã (commune)"), "phuong": N_("Phường (ward)"),
              "dac_khu": N_("Đặc khu (special zone)")}
SHOWN = "operator_code"  # the one-time code of the invitation just made, shown once on its page


def _operator(web: Web):
    return operators.require_operator(require_user(web))


def _communes_page(web: Web, state: FormState = EMPTY) -> HTMLResponse:
    _operator(web)
    db = web.session
    every = areas.communes(db)
    names = {c.id: c.name for c in every}
    return web.render("admin/communes.html", status=state.status, communes=every, names=names,
                      admins=operators.admins_in_force(db), pending=operators.pending_admin_invitations(db),
                      open_communes=[c for c in every if c.merged_into_id is None],
                      choices=[(c.id, f"{c.name} ({c.code})") for c in every if c.merged_into_id is None],
                      kinds=[(k, web._(label)) for k, label in KIND_NAMES.items()], kind_names=KIND_NAMES,
                      today=clock.today_local(), **state.context())


def _again(request: Request, state: FormState) -> HTMLResponse:
    with reading(request) as web:
        return _communes_page(web, state)


@router.get("/admin/communes", response_class=HTMLResponse)
def commune_list(web: CurrentWeb):
    return _communes_page(web)


@router.post("/admin/communes")
async def create_commune(request: Request):
    def act(db, web: Web, form: CommuneForm, files) -> Done:
        commune = operators.create_commune(db, _operator(web), form)
        return Done("/admin/communes", N_("The commune %(name)s (%(code)s) was created. Now invite its "
                                          "administrator."), {"name": commune.name, "code": commune.code})

    return await post_form(request, CommuneForm, action="create", act=act,
                           page=lambda state: _again(request, state))


@router.post("/admin/communes/{commune_id}/invite")
async def invite_commune_admin(request: Request, commune_id: RowId):
    def act(db, web: Web, form: InviteAdminForm, files) -> Done:
        inv, code = operators.invite_admin(db, _operator(web), commune_id, phone=form.phone,
                                           display_name=form.display_name)
        request.session[SHOWN] = {"id": inv.id, "code": code}
        return Done(f"/admin/communes/invitations/{inv.id}",
                    N_("The invitation was made. Print it or copy the link: the code is shown only once."))

    return await post_form(request, InviteAdminForm, action=f"invite_{commune_id}", act=act,
                           page=lambda state: _again(request, state))


@router.get("/admin/communes/invitations/{invitation_id}", response_class=HTMLResponse)
def commune_invitation(web: CurrentWeb, invitation_id: RowId):
    _operator(web)
    db = web.session
    inv = db.get(Invitation, invitation_id)
    if inv is None or inv.role != Role.ADMIN:
        raise NotFound(N_("This invitation does not exist."))
    commune = operators.get_commune(db, inv.commune_id)
    shown = web.request.session.get(SHOWN)
    code = None
    if isinstance(shown, dict) and shown.get("id") == invitation_id and isinstance(shown.get("code"), str):
        web.request.session.pop(SHOWN, None)
        code = shown["code"]
    link = (urls.base(web.request) + prefix_of(commune.code) + f"/invite/{code}") if code else ""
    return web.render("admin/commune_invitation.html", invitation=inv, commune=commune, code=code, link=link,
                      qr=qr_svg(link) if link else Markup(""), mask=mask_phone)


@router.post("/admin/communes/merge")
async def merge_communes(request: Request):
    def act(db, web: Web, form: MergeCommunesForm, files) -> Done:
        assert form.source is not None and form.into is not None and form.merged_on is not None  # required
        merged = operators.merge_communes(db, form.source, form.into, form.merged_on, viewer=_operator(web))
        return Done("/admin/communes", N_("%(name)s was merged into %(into)s from %(date)s."),
                    {"name": merged.source.name, "into": merged.into.name,
                     "date": form.merged_on.strftime("%d/%m/%Y")})

    return await post_form(request, MergeCommunesForm, action="merge", act=act,
                           page=lambda state: _again(request, state))
