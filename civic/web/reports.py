"""Exports (CSV, XLSX), the open-data package and the commune dashboard."""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse

from civic import clock
from civic.areas import service as areas
from civic.config import get_settings
from civic.core.kinds import Role
from civic.db import row_id
from civic.errors import N_, Forbidden, Invalid, NotFound
from civic.reports import dashboard, opendata, rules
from civic.reports import service as reports
from civic.reports.schemas import YEAR_MIN, ExportForm, YearQuery
from civic.web import communes
from civic.web.core import Web, register_forms, require_user
from civic.web.deps import CurrentWeb
from civic.workflow.stages import STAGE_LABELS

router = APIRouter()
register_forms(ExportForm)


def _export_page(web: Web, *, values: dict | None = None, errors: dict | None = None, status: int = 200
                 ) -> Response:
    db = web.session
    commune = communes.current(web.request, db)
    villages = areas.villages(db, row_id(commune), include_merged=True)
    datasets = [(name, web._(rules.DATASET_TITLES[name])) for name in rules.DATASETS]
    private_sets = [web._(rules.DATASET_TITLES[n]) for n in rules.DATASETS if rules.has_private(n)]
    response = web.render(
        "reports/exports.html", status=status, commune=commune, datasets=datasets,
        villages=[(v.id, v.name) for v in villages], formats=[(f, f.upper()) for f in rules.FORMATS],
        can_private=reports.may_export_private(web.viewer, row_id(commune)), private_sets=private_sets,
        max_years=rules.MAX_RANGE_YEARS, form_action="export", form_values=values or {"format": "csv"},
        form_errors=errors or {})
    if web.viewer.user:
        response.headers["cache-control"] = "no-store"
    return response


@router.get("/exports", response_class=HTMLResponse, name="exports")
def exports_page(web: CurrentWeb):
    return _export_page(web)


@router.get("/exports/file", name="export_file")
def export_file(web: CurrentWeb):
    """The file itself; bad input draws the export page again with each message beside its field."""
    params = web.request.query_params
    values = {k: params.get(k, "") for k in ExportForm.model_fields if k in params}
    try:
        form = ExportForm.parse(params)
        commune = communes.current(web.request, web.session)
        result = reports.export(web.viewer, commune, form, web._)
    except Invalid as exc:
        return _export_page(web, values=values, errors=web.field_errors(exc), status=422)
    return StreamingResponse(result.chunks, media_type=result.media_type, headers={
        "content-disposition": f'attachment; filename="{result.filename}"', "cache-control": "no-store",
        "x-content-type-options": "nosniff"})


# --- open data --------------------------------------------------------------------------------------------

_build_lock = threading.Lock()


def _package_folder(web: Web) -> Path:
    commune = communes.current(web.request, web.session)
    base = get_settings().var_dir
    if not opendata.is_current(base, commune):
        with _build_lock:
            if not opendata.is_current(base, commune):
                opendata.build(web.session, commune, base)
    return opendata.folder(base, commune)


@router.get("/open-data/datapackage.json", name="open_data_package")
def open_data_package(web: CurrentWeb):
    """The Frictionless Data Package of the commune's public figures (built today, or now)."""
    path = _package_folder(web) / opendata.PACKAGE
    return FileResponse(path, media_type="application/json",
                        headers={"cache-control": "public, max-age=3600"})


@router.get("/open-data/{name}.csv", name="open_data_resource")
def open_data_resource(web: CurrentWeb, name: str):
    if name not in opendata.RESOURCES:
        raise NotFound(N_("This page does not exist. Check the address, or look the item up by its code."))
    path = _package_folder(web) / f"{name}.csv"
    return FileResponse(path, media_type="text/csv; charset=utf-8", filename=f"{name}.csv",
                        headers={"cache-control": "public, max-age=3600"})


# --- the dashboard and the yearly report ------------------------------------------------------------------

VILLAGES_SHOWN = 20


def _stage_names(web: Web) -> dict[str, str]:
    return {s: web._(STAGE_LABELS[s]) for s in dashboard.STAGES}


def _is_commune_staff(web: Web, commune_id: int) -> bool:
    return (commune_id in web.viewer.communes(Role.SUPERVISOR)
            or commune_id in web.viewer.communes(Role.ADMIN))


@router.get("/dashboard", response_class=HTMLResponse, name="dashboard")
def dashboard_page(web: CurrentWeb):
    """The commune's figures for anyone; its supervisors and admins also get the overdue items and findings
    by name, with links to act on them, and the yearly report."""
    db = web.session
    commune = communes.current(web.request, db)
    figures = dashboard.figures(db, row_id(commune))
    staff = _is_commune_staff(web, row_id(commune))
    response = web.render("reports/dashboard.html", commune=commune, d=figures, staff=staff,
                          villages=figures.villages[:VILLAGES_SHOWN], villages_hidden=max(
                              0, len(figures.villages) - VILLAGES_SHOWN),
                          timed=dashboard.TIMED, stages=dashboard.STAGES, stage_names=_stage_names(web),
                          can_report=staff or bool(web.viewer.villages(Role.VILLAGE_HEAD)))
    if web.viewer.user:
        response.headers["cache-control"] = "no-store"
    return response


@router.get("/reports/yearly", response_class=HTMLResponse, name="yearly_report")
def yearly_report(web: CurrentWeb):
    """The village head's yearly report to the commune People's Committee, printable; for the commune's
    supervisors and admins (any village, or the whole commune) and village heads (their villages)."""
    viewer = require_user(web)
    db = web.session
    commune = communes.current(web.request, db)
    commune_id = row_id(commune)
    query = YearQuery.read(web.request.query_params)
    today = clock.today_local()
    year = query.year if query.year and YEAR_MIN <= query.year <= today.year else today.year
    all_villages = areas.villages(db, commune_id, include_merged=True)
    known = {row_id(v) for v in all_villages}
    staff = _is_commune_staff(web, commune_id)
    own = sorted(viewer.villages(Role.VILLAGE_HEAD) & known)
    if not staff and not own:
        raise Forbidden(N_("Only the village head and the commune's staff may read this report."))
    village = query.village if query.village in known else None
    if not staff:
        village = village if village in own else own[0]
    choices = [(row_id(v), v.name) for v in all_villages if staff or row_id(v) in own]
    report = dashboard.yearly(db, commune_id, village, year, today)
    response = web.render("reports/yearly.html", commune=commune, r=report, staff=staff, choices=choices,
                          village=village, years=list(range(today.year, YEAR_MIN - 1, -1))[:10],
                          today=today, stages=dashboard.STAGES, stage_names=_stage_names(web))
    response.headers["cache-control"] = "no-store"
    return response
