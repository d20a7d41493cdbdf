"""QR codes of addresses as inline SVG (no image file, no Pillow), for printed notices, letters and
invitations."""

from __future__ import annotations

import segno
from markupsafe import Markup


def qr_svg(url: str, label: str = "QR") -> Markup:
    """The QR code of `url` with a viewBox and no fixed size, so the page's CSS sizes it (35 mm on a notice,
    30 mm on a letter) without cutting it; `label` is what a screen reader says."""
    qr = segno.make_qr(url, error="m")  # never a Micro QR: few phone cameras read those
    svg = qr.svg_inline(scale=1, border=2, dark="#000", light="#fff", omitsize=True)
    attrs = f' role="img" aria-label="{Markup.escape(label)}" class="qr"'
    return Markup(svg.replace(' class="segno"', attrs, 1))
