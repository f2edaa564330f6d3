"""Per-screen manifests: what a screen plays, as data plus pre-rendered boards.

`plan_loop` is pure (rows and `now` in, loop and the next moment it changes out).
`plan_manifest` gathers what one screen may show and computes the manifest's version
without rendering, so an unchanged manifest (every screen asks once a minute) is a 304
for the price of two small queries. What an area's screens show is cached per process,
keyed by the loop revisions of every area the screen reads from (`reach.sources_clause`;
bumped in the same transaction as every change, see `changes.loop_changed`), so when 180
screens of a village fetch at once after an approval, the rows are read once and each
screen adds only its own QR codes.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, lazyload, selectinload

import signage_layouts
from server.domain import content, feedback, qrlinks, reach
from server.models import (
    Area,
    Device,
    Disclosure,
    DisclosureKind,
    DisclosureStatus,
    DisclosureVersion,
    LoopRevision,
)

BOARD_SECONDS = {"notice": 15, "table": 20, "echo_wall": 20}


@dataclass(frozen=True)
class LoopCandidate:
    disclosure_id: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None


def plan_loop(
    candidates: list[LoopCandidate], now: dt.datetime
) -> tuple[list[LoopCandidate], dt.datetime | None]:
    """Those in effect at `now` (newest first kept in input order) and the next change time."""
    shown = [c for c in candidates if c.valid_from <= now and (c.valid_to is None or c.valid_to > now)]
    edges = [c.valid_from for c in candidates if c.valid_from > now]
    edges += [c.valid_to for c in shown if c.valid_to is not None]
    return shown, min(edges) if edges else None


def _disclosure_data(disclosure: Disclosure, version: DisclosureVersion) -> dict[str, Any]:
    """What the board template needs, except the QR URL (which names the screen)."""
    return {
        "title": version.title,
        "kind": disclosure.kind.value,
        "scope": disclosure.scope.value,
        "area": disclosure.area.name,
        "category": disclosure.catalogue_item.category.name,
        "catalogue_item": disclosure.catalogue_item.title,
        "valid_from": disclosure.valid_from.isoformat(),
        "valid_to": disclosure.valid_to.isoformat() if disclosure.valid_to else None,
        "body_html": version.body_html,
        "table": version.table if disclosure.kind is DisclosureKind.table else None,
    }


def _spec(disclosure: Disclosure, version: DisclosureVersion) -> dict[str, Any]:
    return {
        "id": f"d{disclosure.id}",
        "kind": disclosure.kind.value,
        "title": version.title,
        "content_hash": version.content_hash,
        "duration": BOARD_SECONDS[disclosure.kind.value],
        "until": disclosure.valid_to.isoformat() if disclosure.valid_to else None,
    }


def disclosure_board(
    disclosure: Disclosure, version: DisclosureVersion, qr_url: str, timezone: str
) -> dict[str, Any]:
    """One disclosure version as a board, its dates in `timezone` (previews use this too)."""
    data = {**_disclosure_data(disclosure, version), "qr_url": qr_url, "timezone": timezone}
    return {
        **_spec(disclosure, version),
        "qr_url": qr_url,
        "html": signage_layouts.render_board(data["kind"], data),
    }


@dataclass(frozen=True)
class CachedBoard:
    candidate: LoopCandidate
    spec: dict[str, Any]
    data: dict[str, Any]


@dataclass(frozen=True)
class AreaLoop:
    """Everything an area's screens of one scope show, without per-screen parts."""

    built_at: dt.datetime
    boards: tuple[CachedBoard, ...]
    echo: dict[str, Any]


_AREA_LOOPS: OrderedDict[tuple[Any, ...], AreaLoop] = OrderedDict()
_AREA_LOOPS_MAX = 512
_area_loops_lock = threading.Lock()


def _build_area_loop(session: Session, area: Area, internal: bool, now: dt.datetime) -> AreaLoop:
    query = (
        select(Disclosure)
        .where(
            Disclosure.area_id.in_(reach.disclosure_area_ids(area)),
            Disclosure.status == DisclosureStatus.approved,
            Disclosure.scope.in_(reach.scopes(internal)),
            (Disclosure.valid_to.is_(None)) | (Disclosure.valid_to > now),
        )
        .order_by(Disclosure.valid_from.desc(), Disclosure.id.desc())
        .options(selectinload(Disclosure.published_version), lazyload(Disclosure.author))
    )
    boards = []
    for d in session.scalars(query):
        version = d.published_version
        if version is not None:
            boards.append(
                CachedBoard(LoopCandidate(d.id, d.valid_from, d.valid_to), _spec(d, version), _disclosure_data(d, version))
            )
    echo = {
        "title": f"{area.name}回音壁",
        "area": area.name,
        "entries": [
            {"kind": e.kind_label, "question": e.question, "answer": e.answer, "answered_at": e.answered_at.isoformat()}
            for e in feedback.echo_wall(session, area, internal=internal)
        ],
    }
    return AreaLoop(now, tuple(boards), echo)


def area_loop(session: Session, area: Area, internal: bool, now: dt.datetime) -> AreaLoop:
    # Every bump adds one to the sum; the time of the last change is part of the stamp
    # because a sum alone could come back after a rolled-back transaction.
    stamp = tuple(
        session.execute(
            select(func.count(), func.coalesce(func.sum(LoopRevision.revision), 0), func.max(LoopRevision.changed_at))
            .select_from(LoopRevision)
            .join(Area, Area.id == LoopRevision.area_id)
            .where(reach.sources_clause(area))
        ).one()
    )
    database = str(session.get_bind().engine.url)
    key = (database, area.id, area.name, internal, stamp)
    with _area_loops_lock:
        cached = _AREA_LOOPS.get(key)
        if cached is not None:
            _AREA_LOOPS.move_to_end(key)
    # Items that ended before `built_at` are not in the cache: never answer for an earlier time.
    if cached is not None and cached.built_at <= now:
        return cached
    built = _build_area_loop(session, area, internal, now)
    with _area_loops_lock:
        _AREA_LOOPS[key] = built
        while len(_AREA_LOOPS) > _AREA_LOOPS_MAX:
            _AREA_LOOPS.popitem(last=False)
    return built


@dataclass
class ManifestPlan:
    """A screen's manifest before its boards are rendered; `version` is its ETag."""

    version: str
    body: dict[str, Any]
    board_data: list[dict[str, Any]]

    def render(self, now: dt.datetime) -> dict[str, Any]:
        boards = [
            {**spec, "html": signage_layouts.render_board(spec["kind"], data)}
            for spec, data in zip(self.body["boards"], self.board_data, strict=True)
        ]
        return {**self.body, "boards": boards, "version": self.version, "generated_at": now.isoformat()}


def plan_manifest(
    session: Session,
    device: Device,
    now: dt.datetime,
    public_url: str,
    qr_secret: bytes,
    timezone: str = "Asia/Shanghai",
) -> ManifestPlan:
    site, area = device.site, device.site.area
    loop = area_loop(session, area, device.internal, now)
    by_id = {b.candidate.disclosure_id: b for b in loop.boards}
    shown, next_change_at = plan_loop([b.candidate for b in loop.boards], now)
    specs: list[dict[str, Any]] = []
    data: list[dict[str, Any]] = []
    for cand in shown:
        board = by_id[cand.disclosure_id]
        qr_url = qrlinks.make_url(public_url, qr_secret, qrlinks.QrTarget("d", cand.disclosure_id, device.id))
        specs.append({**board.spec, "qr_url": qr_url})
        # The zone is added per screen, not cached per area: it is part of each board
        # shell's cache key (render_board), so another zone never reuses a board.
        data.append({**board.data, "qr_url": qr_url, "timezone": timezone})
    echo_qr = qrlinks.make_url(public_url, qr_secret, qrlinks.QrTarget("e", area.id, device.id))
    specs.append(
        {
            "id": f"e{area.id}",
            "kind": "echo_wall",
            "title": loop.echo["title"],
            "content_hash": content.content_hash(loop.echo),
            "duration": BOARD_SECONDS["echo_wall"],
            "until": None,
            "qr_url": echo_qr,
        }
    )
    data.append({**loop.echo, "qr_url": echo_qr, "timezone": timezone})
    titles = [str(b["title"]) for b in specs[:-1]][:5]
    ticker = f"欢迎来到{site.name}　扫描屏幕上的二维码，可在手机上查看全文、提出意见建议。"
    if titles:
        ticker += "　最新公开：" + "；".join(titles)
    body: dict[str, Any] = {
        "device": {
            "id": device.id,
            "name": device.name,
            "kind": device.kind.value,
            "orientation": device.orientation.value,
            "internal": device.internal,
        },
        "site": {"id": site.id, "name": site.name, "area": area.name},
        "layout": signage_layouts.layout_for(device.kind.value, device.orientation.value),
        "timezone": timezone,
        "ticker": ticker,
        "boards": specs,
        "next_change_at": next_change_at.isoformat() if next_change_at else None,
        "assets": signage_layouts.player_assets(),
    }
    # Names a board shows besides its content hash, and the templates themselves, are part
    # of the version. (The area cache refreshes names only on a loop revision: renaming
    # anything a board shows must call changes.loop_changed.)
    shown_names = [[d["area"], d["category"], d["catalogue_item"]] for d in data[:-1]]
    manifest_version = content.content_hash(
        {**body, "names": shown_names, "templates": signage_layouts.templates_fingerprint()}
    )
    return ManifestPlan(version=manifest_version, body=body, board_data=data)


def build_manifest(
    session: Session,
    device: Device,
    now: dt.datetime,
    public_url: str,
    qr_secret: bytes,
    timezone: str = "Asia/Shanghai",
) -> dict[str, Any]:
    return plan_manifest(session, device, now, public_url, qr_secret, timezone).render(now)
