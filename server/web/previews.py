"""Still previews of one board inside a layout, in the area's theme: what reviewers,
schedulers and theme editors look at before anything reaches a screen."""

from __future__ import annotations

from flask import url_for

import signage_layouts
from server.domain import themes
from server.extensions import db_session
from server.models import Area

HEADERS = {"X-Frame-Options": "SAMEORIGIN", "Cache-Control": "no-store"}


def still_page(area: Area, board_html: str, layout: str, theme: themes.Theme | None = None) -> tuple[str, int, dict[str, str]]:
    """The response for a preview of `board_html` as a screen of `area` shows it (with the
    area's theme unless `theme` is given)."""
    chosen = theme if theme is not None else themes.effective(db_session(), area)
    page = signage_layouts.render_preview(
        layout, f"{area.name}党群服务中心", board_html, url_for("player.player_static", filename=""),
        theme=chosen.as_manifest(),
    )
    return page, 200, dict(HEADERS)
