"""Exports (CSV, XLSX), the open-data package and the commune dashboard."""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse

from civic.areas import service as areas
from civic.config import get_settings
from civic.db import row_id
from civic.errors import N_, Invalid, NotFound
from civic.reports import opendata, rules
from civic.reports import service as reports
from civic.reports.schemas import ExportForm
from civic.web.core import Web, register_forms
from civic.web.deps import CurrentWeb

router = APIRouter()
register_forms(ExportForm)


def _export_page(web: Web, *, values: dict | None = None, errors: dict | None = None, status: int = 200
                 ) -> Response:
    db = web.session
    commune = areas.default_commune(db)
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
        commune = areas.default_commune(web.session)
        result = reports.export(web.viewer, commune, form, web._)
    except Invalid as exc:
        return _export_page(web, values=values, errors=web.field_errors(exc), status=422)
    return StreamingResponse(result.chunks, media_type=result.media_type, headers={
        "content-disposition": f'attachment; filename="{result.filename}"', "cache-control": "no-store",
        "x-content-type-options": "nosniff"})


# --- open data --------------------------------------------------------------------------------------------

_build_lock = threading.Lock()


def _package_folder(web: Web) -> Path:
    commune = areas.default_commune(web.session)
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
