"""The open-data package: the public columns of every dataset as CSV files described by a Frictionless
Data Package (datapackage.json, with a Table Schema for each file), rebuilt once a day.

The files live in <var_dir>/open-data/<commune code>/. `civic open-data build` (a nightly cron) writes
them; the page serving them builds them first when they are missing or from an earlier day. Each file is
written beside its final name and renamed into place, datapackage.json last, so a reader never sees a
half-written file."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from civic import clock
from civic.areas.models import Commune
from civic.db import row_id
from civic.reports import exports, rules
from civic.reports.exports import Filters

PACKAGE = "datapackage.json"
RESOURCES = tuple(rules.DATASETS)
LICENSE = {"name": "CC-BY-4.0", "title": "Creative Commons Attribution 4.0",
           "path": "https://creativecommons.org/licenses/by/4.0/"}
DESCRIPTIONS = {
    "items": "Concerns, recommendations and proposals raised by residents, with their stage and dates.",
    "decisions": "Decisions of the households on proposals: method, date and the tally (never a ballot).",
    "contributions": "Pledged contributions (money, land, labour, materials) and what was delivered; "
                     "no household is named.",
    "budget": "Budget lines of the works, by source, with the amount spent against each.",
    "spending": "Spending recorded against the budget lines, with the invoice or receipt.",
}


def folder(base: Path, commune: Commune) -> Path:
    return base / "open-data" / commune.code


def descriptor(commune: Commune, built_at: datetime) -> dict[str, Any]:
    """The datapackage.json: one CSV resource a dataset, each with its Table Schema (public columns only)."""
    resources = []
    for name in RESOURCES:
        fields = [{"name": c.name, "type": c.type, "title": c.title} for c in rules.columns(name, False)]
        resources.append({
            "name": name, "path": f"{name}.csv", "title": rules.DATASET_TITLES[name],
            "description": DESCRIPTIONS[name], "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
            "schema": {"fields": fields, "missingValues": [""]},
        })
    return {
        "name": f"civic-{commune.code.lower()}",
        "title": f"civic: {commune.name}",
        "description": "Public figures of the grassroots-democracy platform of the commune: items, "
                       "decisions, contributions, budget and spending. Personal data is never included.",
        "version": built_at.astimezone(clock.LOCAL_TZ).date().isoformat(),
        "created": clock.as_utc(built_at).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "licenses": [LICENSE],
        "resources": resources,
    }


def _write(path: Path, chunks: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        for chunk in chunks:
            fh.write(chunk)
    os.replace(tmp, path)


def build(session: Session, commune: Commune, base: Path) -> Path:
    """Write every resource and the descriptor; the folder they are in."""
    out = folder(base, commune)
    out.mkdir(parents=True, exist_ok=True)
    f = Filters(row_id(commune))
    for name in RESOURCES:
        header = exports.header(name, False)
        _write(out / f"{name}.csv", exports.csv_chunks(header, exports.rows(session, name, f, private=False),
                                                       bom=False))
    now = clock.now()
    data = json.dumps(descriptor(commune, now), ensure_ascii=False, indent=2).encode("utf-8")
    _write(out / PACKAGE, [data])
    return out


def is_current(base: Path, commune: Commune) -> bool:
    """Whether today's package is there (built today, local time)."""
    path = folder(base, commune) / PACKAGE
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("version") == clock.today_local().isoformat()
