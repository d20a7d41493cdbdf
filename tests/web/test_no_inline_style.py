"""The pages' Content-Security-Policy allows style only from the site's own files (style-src 'self'): an
inline <style> block or style="" attribute in a template would be silently ignored by the browser (the
print layout of notices was lost that way). Every template keeps its style in static/*.css."""

from __future__ import annotations

import re

from civic.config import ROOT

INLINE = re.compile(r"<style\b|\sstyle\s*=", re.I)


def test_no_template_carries_inline_style():
    offenders = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "templates").rglob("*.html"))
                 if INLINE.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_the_pages_csp_forbids_inline_style(client):
    csp = client.get("/").headers["content-security-policy"]
    assert "style-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src", 1)[1].split(";")[0]
