"""Exports: who may export what, the audit event of a private export, and the streamed file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlmodel import Session

from civic import clock
from civic.accounts.service import Viewer
from civic.areas import service as areas
from civic.areas.models import Commune
from civic.audit import service as audit
from civic.core.kinds import Role
from civic.db import row_id, run_write, unit_of_work
from civic.errors import N_, Invalid
from civic.reports import exports, rules
from civic.reports.exports import Filters
from civic.reports.schemas import ExportForm

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Export:
    filename: str
    media_type: str
    chunks: Iterator[bytes]
    rows: int | None  # counted for a private export (its audit event), else None


def may_export_private(viewer: Viewer, commune_id: int) -> bool:
    """Staff who see residents' contacts: the commune's supervisors and admins, and village heads."""
    return (commune_id in viewer.communes(Role.SUPERVISOR) or commune_id in viewer.communes(Role.ADMIN)
            or bool(viewer.villages(Role.VILLAGE_HEAD)))


def _role(viewer: Viewer, commune_id: int) -> str:
    if commune_id in viewer.communes(Role.ADMIN):
        return Role.ADMIN
    if commune_id in viewer.communes(Role.SUPERVISOR):
        return Role.SUPERVISOR
    return Role.VILLAGE_HEAD


def filters_for(session: Session, viewer: Viewer, commune: Commune, form: ExportForm) -> tuple[Filters, bool]:
    """The export's filters, and whether it carries private columns (Forbidden when the viewer may not)."""
    commune_id = row_id(commune)
    all_villages = frozenset(row_id(v) for v in areas.villages(session, commune_id, include_merged=True))
    assert form.dataset is not None
    private = form.private and rules.has_private(form.dataset)
    if private:
        commune_wide = (commune_id in viewer.communes(Role.SUPERVISOR)
                        or commune_id in viewer.communes(Role.ADMIN))
        villages: frozenset[int] | None = rules.private_villages(
            commune_wide=commune_wide, head_villages=viewer.villages(Role.VILLAGE_HEAD),
            all_villages=all_villages, village=form.village)
        if commune_wide and form.village is None:
            villages = None
    elif form.village is not None:
        if form.village not in all_villages:
            raise Invalid(N_("Please choose one of the options."), field="village")
        villages = frozenset({form.village})
    else:
        villages = None
    return Filters(commune_id, villages, form.since, form.until), private


def export(viewer: Viewer, commune: Commune, form: ExportForm,
           translate: Callable[[str], str] | None = None) -> Export:
    """The export as a stream of bytes. A private export is first recorded in the commune's audit chain
    (dataset, format, filters and the number of rows; never a name), in its own transaction."""
    assert form.dataset is not None and form.format is not None
    with unit_of_work() as db:
        f, private = filters_for(db, viewer, commune, form)
    count = None
    if private:
        def log(db: Session) -> int:
            n = exports.count(db, form.dataset or "", f)
            audit.record(db, commune_id=f.commune_id, action="export_private", actor_id=viewer.id,
                         actor_role=_role(viewer, f.commune_id), payload={
                             "dataset": form.dataset, "format": form.format, "rows": n,
                             "villages": sorted(f.villages) if f.villages is not None else "all",
                             "since": f.since.isoformat() if f.since else None,
                             "until": f.until.isoformat() if f.until else None})
            return n
        count = run_write(log)
    dataset, fmt = form.dataset, form.format
    head = exports.header(dataset, private, translate)
    name = f"{dataset}-{commune.code}-{clock.today_local().isoformat()}{'-private' if private else ''}.{fmt}"

    def data() -> Iterator[list]:
        with unit_of_work() as db:
            yield from exports.rows(db, dataset, f, private=private)

    if fmt == "xlsx":
        chunks = exports.xlsx_chunks(head, data(), translate(rules.DATASET_TITLES[dataset])
                                     if translate else dataset)
        return Export(name, XLSX_TYPE, chunks, count)
    return Export(name, CSV_TYPE, exports.csv_chunks(head, data()), count)
