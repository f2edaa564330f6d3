"""Printed boards: one disclosure as an A4 or A3 page (or several) for a village's paper
公开栏, as HTML for a print renderer (the server makes the PDF with WeasyPrint).

The template (`print/board.html` with `print.css`) runs in a sandboxed Jinja environment
with autoescape on, like the screen boards: user text arrives escaped, or as HTML the
server already passed through nh3. Type is sized for a wall: `pt(n)` is n points on A4
at the standard type scale, multiplied by the sheet (A3 is √2 larger) and by the theme's
scale, so an A4 body is never under 14 pt. Dates only through `signage_layouts.dates`.
"""

from __future__ import annotations

import math
from typing import Any

from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from signage_layouts import DISCLOSURE_EXTRAS, ROOT, qr_svg, sandbox, theme_style

PRINT_DIR = ROOT / "print"
# Sheet → (width, height) in millimetres, portrait, and how much larger than A4 it prints.
SHEETS: dict[str, tuple[int, int]] = {"A4": (210, 297), "A3": (297, 420)}
FOOT_MM = 40  # the band at the bottom of every sheet (QR code and its words), on A4
QR_MM = 36  # the QR code's side on A4: scanned from about a metre away


def sheet_factor(size: str) -> float:
    """How much larger type and spacing are on `size` than on A4."""
    return math.sqrt(SHEETS[size][0] * SHEETS[size][1] / (SHEETS["A4"][0] * SHEETS["A4"][1]))


def _env() -> SandboxedEnvironment:
    return sandbox(str(PRINT_DIR))


def render_print_board(data: dict[str, Any], size: str, theme: dict[str, Any], qr_url: str) -> str:
    """The printable HTML of one board.

    `data` is the board's content as the screen boards take it (title, area, category,
    scope, valid_from, valid_to, timezone, body_html, table) plus `printed_on`; `theme` is
    the area's theme as the manifest carries it (colours, scale, header, emblem); `qr_url`
    is the link the QR code holds. Raises KeyError for a size other than A4 or A3."""
    factor = sheet_factor(size)
    scale = theme.get("scale")
    type_factor = factor * (scale if isinstance(scale, (int, float)) and 0.5 <= scale <= 2 else 1.0)
    internal = data.get("scope") == "internal"
    fields = {**DISCLOSURE_EXTRAS, **data}
    if fields.get("body_html"):
        # Already sanitised by the server (nh3); mark it so autoescape keeps the tags.
        fields["body_html"] = Markup(fields["body_html"])
    emblem = theme.get("emblem")
    return _env().get_template("board.html").render(
        **fields,
        size=size,
        internal=internal,
        header=(theme.get("header") or "").strip() or data["area"],
        emblem=emblem if isinstance(emblem, str) and emblem.startswith("data:image/png;base64,") else None,
        theme_style=theme_style(theme),
        qr=qr_svg(qr_url),
        # An internal item's phone page never shows it: the code only takes feedback.
        qr_caption="扫码提意见建议" if internal else "扫码查看全文、提意见",
        qr_hint=(
            "党内公开事项不在手机上显示全文，扫码可以留言。"
            if internal else "手机扫右边的二维码，看全文、留言或咨询，凭回执号查答复。"
        ),
        pt=lambda n: f"{n * type_factor:.1f}pt",
        mm=lambda n: f"{n * factor:.1f}mm",
        foot_mm=FOOT_MM,
        qr_mm=QR_MM,
    )
