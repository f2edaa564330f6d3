"""The browser-only screen: /player/<device key> and the player's static files."""

from __future__ import annotations

from flask import Blueprint, abort, send_from_directory

import signage_layouts
from server.clock import now
from server.domain import devices
from server.extensions import db_session
from server.notify import DEVICE_NAMESPACE

player = Blueprint("player", __name__)


@player.route("/player/<key>")
def player_page(key: str):
    session = db_session()
    device = devices.authenticate(session, key, now())
    if device is None:
        abort(404)
    layout = signage_layouts.layout_for(device.kind.value, device.orientation.value)
    page = signage_layouts.render_player(
        layout,
        title=device.site.name,
        static_base="/player-static/",
        config={
            "manifestUrl": "/api/v1/device/manifest",
            "token": key,
            "cacheKey": f"device-{device.id}",
            "socket": {"url": "", "path": "/socket.io", "namespace": DEVICE_NAMESPACE},
            "pollSeconds": 60,
        },
    )
    return page, 200, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@player.route("/player-static/<path:filename>")
def player_static(filename: str):
    return send_from_directory(signage_layouts.STATIC_DIR, filename, max_age=3600)
