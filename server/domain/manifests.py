"""Per-screen manifests: what a screen plays, as data plus pre-rendered boards.

`plan_loop` is pure (rows and `now` in, loop and the next moment it changes out);
`build_manifest` gathers the rows for one screen and renders the boards with the
shared `signage_layouts` templates. The manifest's version is a hash of its content,
so an unchanged loop keeps its ETag and screens get 304s.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload, selectinload

import signage_layouts
from server.domain import content, feedback, qrlinks
from server.models import (
    Device,
    Disclosure,
    DisclosureKind,
    DisclosureStatus,
    DisclosureVersion,
    Scope,
)

BOARD_SECONDS = {"notice": 15, "table": 20, "echo_wall": 20}
DEVICE_KIND_LABELS = {"signage": "信息屏", "kiosk": "查询机"}


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


def _disclosure_data(disclosure: Disclosure, version: DisclosureVersion, qr_url: str) -> dict[str, Any]:
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
        "qr_url": qr_url,
    }


def disclosure_board(disclosure: Disclosure, version: DisclosureVersion, qr_url: str) -> dict[str, Any]:
    """One disclosure version as a board: data rendered by the shared board template."""
    data = _disclosure_data(disclosure, version, qr_url)
    return {**_spec(disclosure, version, qr_url), "html": signage_layouts.render_board(data["kind"], data)}


def _spec(disclosure: Disclosure, version: DisclosureVersion, qr_url: str) -> dict[str, Any]:
    return {
        "id": f"d{disclosure.id}",
        "kind": disclosure.kind.value,
        "title": version.title,
        "content_hash": version.content_hash,
        "duration": BOARD_SECONDS[disclosure.kind.value],
        "qr_url": qr_url,
    }


def _candidates(session: Session, device: Device, now: dt.datetime) -> list[Disclosure]:
    scopes = [Scope.public, Scope.internal] if device.internal else [Scope.public]
    area = device.site.area
    query = (
        select(Disclosure)
        .where(
            Disclosure.area_id.in_(area.ancestor_ids()),
            Disclosure.status == DisclosureStatus.approved,
            Disclosure.scope.in_(scopes),
            (Disclosure.valid_to.is_(None)) | (Disclosure.valid_to > now),
        )
        .order_by(Disclosure.valid_from.desc(), Disclosure.id.desc())
        .options(selectinload(Disclosure.published_version), lazyload(Disclosure.author))
    )
    return list(session.scalars(query))


@dataclass
class ManifestPlan:
    """A screen's manifest before its boards are rendered.

    `version` is known without rendering, so an unchanged manifest (the common case: every
    screen asks once a minute) costs two queries and a hash, not a render.
    """

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
    rows = {d.id: d for d in _candidates(session, device, now)}
    shown, next_change_at = plan_loop(
        [LoopCandidate(d.id, d.valid_from, d.valid_to) for d in rows.values()], now
    )
    site, area = device.site, device.site.area
    specs: list[dict[str, Any]] = []
    data: list[dict[str, Any]] = []
    for cand in shown:
        disclosure = rows[cand.disclosure_id]
        version = disclosure.published_version
        if version is None:
            continue
        qr_url = qrlinks.make_url(public_url, qr_secret, qrlinks.QrTarget("d", disclosure.id, device.id))
        specs.append(_spec(disclosure, version, qr_url))
        data.append(_disclosure_data(disclosure, version, qr_url))
    echo = feedback.echo_wall(session, area)
    echo_qr = qrlinks.make_url(public_url, qr_secret, qrlinks.QrTarget("e", area.id, device.id))
    echo_data: dict[str, Any] = {
        "title": f"{area.name}回音壁",
        "area": area.name,
        "qr_url": echo_qr,
        "entries": [
            {
                "kind": e.kind_label,
                "question": e.question,
                "answer": e.answer,
                "answered_at": e.answered_at.isoformat(),
            }
            for e in echo
        ],
    }
    specs.append(
        {
            "id": f"e{area.id}",
            "kind": "echo_wall",
            "title": echo_data["title"],
            "content_hash": content.content_hash(echo_data),
            "duration": BOARD_SECONDS["echo_wall"],
            "qr_url": echo_qr,
        }
    )
    data.append(echo_data)
    titles = [str(b["title"]) for b in specs if b["kind"] != "echo_wall"][:5]
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
    # Everything a board shows besides its content hash (names that may be renamed) and the
    # templates themselves are part of the version, so any visible change changes the ETag.
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
