"""The export form (a GET query: the file is the answer) and the dashboard's query."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Self

from pydantic import model_validator

from civic.core.inputs import Choice, Count, Day, Flag, Form, Id, error
from civic.errors import N_
from civic.items.schemas import Query
from civic.reports.rules import DATASETS, FORMATS, MAX_RANGE_YEARS, range_problem


class ExportForm(Form):
    """/exports/file?dataset=items&format=csv&since=01/01/2026&until=31/12/2026&village=3&private=on"""

    dataset: Annotated[str | None, Choice(tuple(DATASETS), N_("Please choose what to export."))] = None
    format: Annotated[str | None, Choice(FORMATS, N_("Please choose CSV or XLSX."))] = None
    since: Annotated[date | None, Day(required=False)] = None
    until: Annotated[date | None, Day(required=False)] = None
    village: Annotated[int | None, Id(required=False)] = None
    private: Annotated[bool, Flag()] = False

    @model_validator(mode="after")
    def _range(self) -> Self:
        problem = range_problem(self.since, self.until)
        if problem:
            raise error(problem, field="until", years=MAX_RANGE_YEARS)
        return self


YEAR_MIN, YEAR_MAX = 2000, 2100


class YearQuery(Query):
    """/reports/yearly?year=2026&village=3: a value nothing could have is ignored."""

    year: Annotated[int | None, Count(YEAR_MAX, required=False)] = None
    village: Annotated[int | None, Id(required=False, lenient=True)] = None
