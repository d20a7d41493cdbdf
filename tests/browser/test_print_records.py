"""Forms 01-04 of Decree 59/2023 and the report to the commune print on one A4 page each: Chromium prints
every record to PDF and the pages are counted."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from tests.deliberation.test_records import build_records

pytestmark = [pytest.mark.browser, pytest.mark.pages]


def test_every_record_prints_on_one_a4_page(new_page):
    paths = build_records()
    page = new_page(js=False, viewport={"width": 1024, "height": 1400})
    for form, path in paths.items():
        page.goto(path)
        assert page.locator("article.form-a4").count() == 1, form
        pdf = PdfReader(io.BytesIO(page.pdf(format="A4", print_background=False)))
        box = pdf.pages[0].mediabox
        assert abs(float(box.width) - 595) < 2 and abs(float(box.height) - 842) < 2, form  # A4 in points
        assert len(pdf.pages) == 1, (form, len(pdf.pages))
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in pdf.pages[0].extract_text(), form
