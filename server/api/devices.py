"""API: screens for admins, and the device protocol (enrol, manifest, assets).

See docs/protocol.md. Screens authenticate with their own bearer credential; the
manifest answers 304 when the screen's ETag is current.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Container

from flask import current_app, request, send_from_directory

import signage_layouts
from server import blobs, voice
from server.api import current_actor, endpoint
from server.api.schemas import (
    DeviceList,
    DeviceLocaleIn,
    DeviceOut,
    EnrolIn,
    EnrolmentCodeOut,
    EnrolOut,
    ManifestOut,
)
from server.clock import now
from server.domain import devices, manifests
from server.domain.errors import NotFound, Unauthenticated
from server.domain.secrets import digest
from server.edge import end_reading
from server.extensions import db_session, limiter
from server.models import Device, Role


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.startswith("Bearer ") else None


def credential_key() -> str:
    """Which credential a request comes with, for per-screen rate limits (a digest, never the key)."""
    return digest(_bearer() or "")


UNKNOWN_SCREEN = "屏幕凭据无效或已吊销，请重新注册。"


def current_device() -> Device:
    """The screen whose credential the request carries, as ORM objects (for writes), or 401."""
    device = devices.authenticate(db_session(), _bearer(), now())
    if device is None:
        raise Unauthenticated(UNKNOWN_SCREEN)
    return device


def current_screen() -> devices.Screen:
    """The screen whose credential the request carries, read in one row (polls), or 401."""
    screen = devices.screen_for(db_session(), _bearer())
    if screen is None:
        raise Unauthenticated(UNKNOWN_SCREEN)
    return screen


def serialise(d: Device) -> DeviceOut:
    return DeviceOut(
        id=d.id, name=d.name, site=d.site.name, area=d.site.area.name, kind=d.kind.value,
        orientation=d.orientation.value, internal=d.internal, locale=d.locale, last_seen_at=d.last_seen_at,  # type: ignore[arg-type]
    )


@endpoint("get", "/devices", summary="Screens in the caller's areas", tag="devices", response=DeviceList)
def list_devices():
    return DeviceList(items=[serialise(d) for d in devices.visible_devices(db_session(), current_actor())])


@endpoint("post", "/devices/{device_id}/enrolment-codes", summary="Issue a one-time enrolment code", tag="devices", response=EnrolmentCodeOut, status=201, responses={403: "not a scheduler"})
def new_enrolment_code(device_id: int):
    session, moment = db_session(), now()
    user = current_actor()
    device = devices.get_device(session, user, device_id, Role.scheduler)
    code = devices.issue_enrolment_code(session, user, device, moment)
    return EnrolmentCodeOut(code=code, expires_at=moment + devices.ENROLMENT_CODE_TTL)


@endpoint("put", "/devices/{device_id}/locale", summary="Set the language of a screen's fixed wording", tag="devices", body=DeviceLocaleIn, response=DeviceOut, responses={403: "not a scheduler"})
def set_device_locale(device_id: int, payload: DeviceLocaleIn):
    session = db_session()
    user = current_actor()
    device = devices.get_device(session, user, device_id, Role.scheduler)
    devices.set_locale(session, user, device, payload.locale, now())
    return serialise(device)


@endpoint("post", "/devices/{device_id}/revoke", summary="Revoke every credential of a screen", tag="devices", response=DeviceOut, responses={403: "not a scheduler"})
def revoke_device(device_id: int):
    session = db_session()
    user = current_actor()
    device = devices.get_device(session, user, device_id, Role.scheduler)
    devices.revoke_credentials(session, user, device, now())
    return serialise(device)


@endpoint("post", "/device/enrol", summary="Trade a one-time enrolment code for a device credential", tag="device protocol", auth="none", body=EnrolIn, response=EnrolOut, status=201, responses={422: "code invalid, used or expired", 429: "too many attempts from this address"})
@limiter.limit(lambda: current_app.config["ENROL_RATE"])  # guessing codes: per address
def enrol(payload: EnrolIn):
    session = db_session()
    device, token = devices.enrol(session, payload.code, now())
    return EnrolOut(device_id=device.id, token=token, name=device.name, site=device.site.name)


class ServedBoards:
    """Which boards (and read-aloud files) a credential was just given a manifest for, so
    the fetches that follow (the whole village fetches at once after a nudge) need no
    database at all.

    Kept for `WINDOW` after each manifest answer, per process. A credential revoked within
    that window can still fetch boards of the manifest it was already given, nothing more;
    after it, every fetch is checked against the database again."""

    WINDOW = dt.timedelta(seconds=60)
    MAX = 50_000

    def __init__(self) -> None:
        self._given: OrderedDict[str, tuple[dt.datetime, manifests.Stamp]] = OrderedDict()
        self._lock = threading.Lock()

    def give(self, credential: str, stamp: manifests.Stamp, moment: dt.datetime) -> None:
        with self._lock:
            self._given[credential] = (moment + self.WINDOW, stamp)
            self._given.move_to_end(credential)
            while len(self._given) > self.MAX:
                self._given.popitem(last=False)

    def stamp(self, credential: str, moment: dt.datetime) -> manifests.Stamp | None:
        with self._lock:
            given = self._given.get(credential)
        if given is None or given[0] <= moment:
            return None
        return given[1]


def _given(sha256: str, listed: Callable[[manifests.Stamp], Container[str]]) -> manifests.Stamp | None:
    """The manifest this credential was last given, if `listed(stamp)` holds `sha256`: from
    memory first, else from the database (which also authenticates: a revoked credential
    stops here)."""
    moment = now()
    stamp = served_boards.stamp(credential_key(), moment)
    if stamp is None or sha256 not in listed(stamp):
        settings = manifests.Settings.from_config(current_app.config)
        stamp = manifests.known_stamp(db_session(), current_screen(), moment, settings)
    return stamp if sha256 in listed(stamp) else None


served_boards = ServedBoards()
seen_book = devices.SeenBook()


@endpoint("get", "/device/manifest", summary="The screen's manifest (ETag / If-None-Match)", tag="device protocol", auth="device", response=ManifestOut, responses={304: "unchanged", 401: "credential invalid or revoked"})
def manifest():
    session, moment = db_session(), now()
    screen = current_screen()
    # An unchanged screen (the once-a-minute poll) is answered from its stamp.
    have = request.headers.get("If-None-Match", "").strip().removeprefix("W/").strip('"')
    stamp, plan = manifests.screen_manifest(session, screen, moment, manifests.Settings.from_config(current_app.config), have=have)
    etag = f'"{stamp.version}"'
    served_boards.give(credential_key(), stamp, moment)
    seen_book.note(screen.id, screen.last_seen_at, moment)
    if seen_book.due(moment):
        # A read, then the book's one write in a transaction of its own (see devices.mark_seen).
        end_reading()
        devices.write_seen(session, seen_book.take())
    if plan is None:
        return "", 304, {"ETag": etag, "Cache-Control": "no-cache"}
    return plan.render(moment), 200, {"ETag": f'"{plan.version}"', "Cache-Control": "no-cache"}


@endpoint("get", "/device/boards/{sha256}", summary="A board's HTML by the sha256 its manifest lists (immutable)", tag="device protocol", auth="device", responses={404: "not a board of this screen's manifest"})
def board(sha256: str):
    # Only boards of the screen's own manifest: an internal board never reaches a public screen.
    stamp = _given(sha256, lambda stamp: stamp.pages)
    if stamp is None:
        raise NotFound("没有这块内容。")
    page = stamp.pages[sha256]
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "private, max-age=31536000, immutable",
        "ETag": f'"{sha256}"',
    }
    if f'"{sha256}"' in request.headers.get("If-None-Match", ""):
        return "", 304, headers
    return page, 200, headers


@endpoint("get", "/device/audio/{sha256}", summary="A board's read-aloud audio (Ogg Vorbis) by the sha256 its manifest lists (immutable)", tag="device protocol", auth="device", responses={404: "not an audio file of this screen's manifest"})
def audio(sha256: str):
    if _given(sha256, lambda stamp: stamp.sounds) is None:
        raise NotFound("没有这段语音。")
    reply = blobs.send(current_app.config, sha256, "audio/ogg", store=voice.AudioStore.of(current_app.config))
    if reply is None:
        raise NotFound("没有这段语音。")
    return reply


@endpoint("get", "/device/files/{sha256}", summary="An attachment file (photo, PDF page image, video) by the sha256 its manifest lists (immutable)", tag="device protocol", auth="device", responses={404: "not a file of this screen's manifest"})
def attachment_file(sha256: str):
    # Only files of the screen's own manifest, like boards: an internal item's photo never
    # reaches a public screen.
    stamp = _given(sha256, lambda stamp: stamp.files)
    if stamp is None:
        raise NotFound("没有这个文件。")
    reply = blobs.send(current_app.config, sha256, stamp.files[sha256])
    if reply is None:
        raise NotFound("没有这个文件。")
    return reply


@endpoint("get", "/device/assets/{path}", summary="A player file listed in the manifest's assets", tag="device protocol", auth="device", responses={404: "not a listed asset"})
def asset(path: str):
    current_screen()
    if path not in {a["path"] for a in signage_layouts.player_assets()}:
        raise NotFound("没有这个文件。")
    return send_from_directory(signage_layouts.STATIC_DIR, path, max_age=86400)
