"""The commune administrator's villages page: create, rename and merge villages.

Only an administrator of the commune opens it. Every form posts through `post_form`; the services in
civic/areas/service.py decide and write the audit events.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from civic import clock
from civic.areas import service as areas
from civic.areas.models import Commune
from civic.areas.schemas import MergeVillagesForm, RenameVillageForm, VillageForm
from civic.core.kinds import Role
from civic.db import row_id
from civic.errors import N_, Forbidden
from civic.web import communes
from civic.web.core import Web, register_forms, require_user
from civic.web.deps import CurrentWeb, RowId, reading
from civic.web.forms import EMPTY, Done, FormState, post_form

router = APIRouter()
register_forms(VillageForm, RenameVillageForm, MergeVillagesForm)

ADMINS_ONLY = N_("This page is for commune administrators.")
KINDS = (("thon", N_("Thôn (village)")), ("to_dan_pho", N_("Tổ dân phố (residential group)")))


def admin_commune(web: Web) -> Commune:
    """The commune the signed-in viewer administers (a login first; 403 for anyone else)."""
    viewer = require_user(web)
    commune = communes.current(web.request, web.session)
    if row_id(commune) not in viewer.communes(Role.ADMIN):
        raise Forbidden(ADMINS_ONLY)
    return commune


def _page(web: Web, state: FormState = EMPTY) -> HTMLResponse:
    commune = admin_commune(web)
    every = areas.villages(web.session, row_id(commune), include_merged=True)
    names = {v.id: v.name for v in every}
    return web.render("admin/villages.html", status=state.status, commune=commune,
                      current=[v for v in every if v.merged_into_id is None],
                      merged=[v for v in every if v.merged_into_id is not None], names=names,
                      kinds=[(k, web._(label)) for k, label in KINDS], kind_names=dict(KINDS),
                      today=clock.today_local(), **state.context())


def _again(request: Request, state: FormState) -> HTMLResponse:
    with reading(request) as web:
        return _page(web, state)


@router.get("/admin/villages", response_class=HTMLResponse)
def village_list(web: CurrentWeb):
    return _page(web)


@router.post("/admin/villages")
async def create_village(request: Request):
    def act(db, web: Web, form: VillageForm, files) -> Done:
        commune = admin_commune(web)
        village = areas.create_village(db, commune, name=form.name, kind=form.kind, label=form.label,
                                       actor_id=web.viewer.id)
        return Done("/admin/villages", N_("The village %(name)s was added."), {"name": village.name})

    return await post_form(request, VillageForm, action="create", act=act,
                           page=lambda state: _again(request, state))


@router.post("/admin/villages/{village_id}/rename")
async def rename_village(request: Request, village_id: RowId):
    def act(db, web: Web, form: RenameVillageForm, files) -> Done:
        commune = admin_commune(web)
        village = areas.get_village(db, row_id(commune), village_id)
        old = village.name
        areas.rename_village(db, row_id(commune), village_id, form.name, actor_id=web.viewer.id)
        return Done("/admin/villages", N_("%(old)s is now called %(name)s."), {"old": old, "name": form.name})

    return await post_form(request, RenameVillageForm, action=f"rename_{village_id}", act=act,
                           page=lambda state: _again(request, state))


@router.post("/admin/villages/merge")
async def merge_villages(request: Request):
    def act(db, web: Web, form: MergeVillagesForm, files) -> Done:
        commune = admin_commune(web)
        assert form.merged_on is not None  # a required Day
        receiver = areas.merge_villages(db, commune, form.village_ids, form.merged_on, into=form.into,
                                        new_name=form.new_name, new_kind=form.new_kind,
                                        actor_id=web.viewer.id)
        return Done("/admin/villages", N_("The villages were merged into %(name)s from %(date)s."),
                    {"name": receiver.name, "date": form.merged_on.strftime("%d/%m/%Y")})

    return await post_form(request, MergeVillagesForm, action="merge", act=act,
                           page=lambda state: _again(request, state))
