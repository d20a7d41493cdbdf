"""The dashboard keeps its figures per process (until the chain moves, and the months for a day): every
test starts from an empty database, so it starts from an empty cache too."""

from __future__ import annotations

import pytest

from civic.reports import dashboard


@pytest.fixture(autouse=True)
def _fresh_dashboard():
    dashboard.clear()
    yield
    dashboard.clear()
