"""The browser-only screen: /player/<device key> and the player's static files.

A key that no longer works gets a full-screen notice, never the phone error page: a hall
screen must say across the room that it needs setting up again (410 for a key that was
revoked or replaced, naming only the site; 404 for a key that never existed).
"""

from __future__ import annotations

from flask import Blueprint, send_from_directory

import signage_layouts
from server.clock import now
from server.domain import devices
from server.extensions import db_session
from server.models import Device
from server.notify import DEVICE_NAMESPACE

player = Blueprint("player", __name__)
STATIC_BASE = "/player-static/"
PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@player.route("/player/<key>")
def player_page(key: str):
    session = db_session()
    device = devices.authenticate(session, key, now())
    if device is None:
        return _needs_setup(devices.former_owner(session, key))
    layout = signage_layouts.layout_for(device.kind.value, device.orientation.value)
    page = signage_layouts.render_player(
        layout,
        title=device.site.name,
        static_base=STATIC_BASE,
        config={
            "manifestUrl": "/api/v1/device/manifest",
            "token": key,
            "cacheKey": f"device-{device.id}",
            "socket": {"url": "", "path": "/socket.io", "namespace": DEVICE_NAMESPACE},
            "pollSeconds": 60,
        },
    )
    return page, 200, PAGE_HEADERS


def _needs_setup(former: Device | None):
    page = signage_layouts.render_setup_notice(
        STATIC_BASE, site_name=former.site.name if former is not None else "", known=former is not None
    )
    return page, (410 if former is not None else 404), PAGE_HEADERS


@player.route("/player-static/<path:filename>")
def player_static(filename: str):
    return send_from_directory(signage_layouts.STATIC_DIR, filename, max_age=3600)
