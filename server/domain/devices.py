"""Screens: registration, per-device credentials, one-time enrolment codes.

Each screen has its own secrets (never a shared key). A browser-only screen uses a
`browser` key inside its /player URL; a kiosk agent trades a one-time enrolment code
for an `agent` credential. Either can be revoked alone. Every change here is audited in
the same transaction; seeding (demo, tests) passes no actor and is recorded as "system".
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.orm import Session, joinedload

from server.domain import access, audit, changes, chrome
from server.domain.errors import NotFound, ValidationFailed
from server.domain.secrets import digest, new_token, readable_code
from server.models import (
    Area,
    CredentialKind,
    Device,
    DeviceCredential,
    DeviceKind,
    EnrolmentCode,
    Orientation,
    Role,
    Site,
    User,
    path_ids,
)

ENROLMENT_CODE_LENGTH = 10
ENROLMENT_CODE_TTL = dt.timedelta(days=7)
SYSTEM = "system"  # the audit username of changes made without a signed-in user (seeding)


@dataclass(frozen=True)
class LiveCredentials:
    """How many working credentials of each kind a screen has (what a revocation ends)."""

    browser: int = 0
    agent: int = 0


def _audit(
    session: Session, actor: User | None, action: str, device: Device, now: dt.datetime, **detail: object
) -> None:
    audit.record(
        session, actor, action, now, target=("device", device.id), area=device.site.area,
        detail={"name": device.name, "site": device.site.name, **detail}, username=SYSTEM,
    )


def create_device(
    session: Session,
    actor: User | None,
    site: Site,
    name: str,
    kind: DeviceKind,
    orientation: Orientation,
    now: dt.datetime,
    *,
    internal: bool = False,
    locale: str = chrome.DEFAULT,
) -> Device:
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise ValidationFailed("屏幕名称需要 1–100 个字。", field="name")
    _check_locale(locale)
    device = Device(
        site=site, name=name, kind=kind, orientation=orientation, internal=internal, locale=locale, created_at=now
    )
    session.add(device)
    session.flush()
    audit.record(
        session, actor, "device.create", now, target=("device", device.id), area=site.area, username=SYSTEM,
        after={"name": name, "site_id": site.id, "kind": kind.value, "orientation": orientation.value,
               "internal": internal, "locale": locale},
        detail={"name": name, "site": site.name},
    )
    return device


def _check_locale(locale: str) -> None:
    if locale not in chrome.LOCALES:
        raise ValidationFailed(f"屏幕语言只能是 {'、'.join(chrome.LOCALES)} 之一。", field="locale")


def set_locale(session: Session, actor: User | None, device: Device, locale: str, now: dt.datetime) -> None:
    """Change the language of a screen's fixed wording; its next manifest carries it (the
    area's screens are nudged, and only this one's manifest changes)."""
    _check_locale(locale)
    if device.locale == locale:
        return
    before, device.locale = device.locale, locale
    _audit(session, actor, "device.locale", device, now, before=before, after=locale)
    changes.loop_changed(session, device.site.area, now)


def visible_devices(session: Session, user: User) -> list[Device]:
    query = (
        select(Device)
        .join(Device.site)
        .join(Site.area)
        .where(access.area_clause(user), Device.decommissioned_at.is_(None))
        .order_by(Area.id, Site.id, Device.id)
    )
    return list(session.scalars(query))


def get_device(session: Session, user: User, device_id: int, role: Role | None = None) -> Device:
    device = session.get(Device, device_id)
    if device is None or not access.can_act(user, device.site.area, access.READ_ROLES):
        raise NotFound("未找到该屏幕。")
    if role is not None:
        access.require(user, device.site.area, role)
    return device


def live_credentials(session: Session, device: Device) -> LiveCredentials:
    rows = session.execute(
        select(DeviceCredential.kind, func.count())
        .where(DeviceCredential.device_id == device.id, DeviceCredential.revoked_at.is_(None))
        .group_by(DeviceCredential.kind)
    ).all()
    counts = {kind.value: count for kind, count in rows}
    return LiveCredentials(**counts)


def _issue_credential(session: Session, device: Device, kind: CredentialKind, now: dt.datetime) -> str:
    secret = ("pk_" if kind is CredentialKind.browser else "dk_") + new_token()
    session.add(DeviceCredential(device=device, kind=kind, secret_hash=digest(secret), created_at=now))
    session.flush()
    return secret


def issue_enrolment_code(session: Session, actor: User | None, device: Device, now: dt.datetime) -> str:
    code = readable_code(ENROLMENT_CODE_LENGTH)
    expires_at = now + ENROLMENT_CODE_TTL
    session.add(EnrolmentCode(device=device, code_hash=digest(code), created_at=now, expires_at=expires_at))
    session.flush()
    _audit(session, actor, "device.enrolment_code", device, now, expires_at=expires_at.isoformat())
    return code


def enrol(session: Session, code: str, now: dt.datetime) -> tuple[Device, str]:
    """Exchange a one-time code for an agent credential; a used or expired code fails."""
    normalised = "".join(code.split()).upper().replace("-", "")
    if not normalised or len(normalised) > 64:
        raise ValidationFailed("请填写注册码。", field="code")
    row = session.scalar(select(EnrolmentCode).where(EnrolmentCode.code_hash == digest(normalised)))
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise ValidationFailed("注册码无效、已使用或已过期。", field="code")
    if row.device.decommissioned_at is not None:
        raise ValidationFailed("该屏幕已停用。", field="code")
    row.used_at = now
    secret = _issue_credential(session, row.device, CredentialKind.agent, now)
    audit.record(
        session, None, "device.enrol", now, target=("device", row.device.id), area=row.device.site.area,
        username="device", detail={"name": row.device.name, "site": row.device.site.name},
    )
    return row.device, secret


# One query for the screen, its site and area (every device request needs all three),
# built once: every poll of every screen runs it.
_LIVE_CREDENTIAL = (
    select(DeviceCredential)
    .where(DeviceCredential.secret_hash == bindparam("secret_hash"), DeviceCredential.revoked_at.is_(None))
    .options(joinedload(DeviceCredential.device).joinedload(Device.site).joinedload(Site.area))
)


@dataclass(frozen=True)
class AreaRef:
    """An area as a screen's credential check reads it: enough to key and query its loop."""

    id: int
    name: str
    path: str

    def ancestor_ids(self) -> list[int]:
        return path_ids(self.path)


@dataclass(frozen=True)
class Screen:
    """A screen as one row of its credential check finds it, without ORM objects: what an
    unchanged poll needs (the manifest's key, the area loop, "last seen")."""

    id: int
    name: str
    kind: DeviceKind
    orientation: Orientation
    internal: bool
    last_seen_at: dt.datetime | None
    site_id: int
    site_name: str
    area: AreaRef
    locale: str = "zh_Hans"  # the chrome language (server.domain.chrome)

    @classmethod
    def of(cls, device: Device) -> Screen:
        site, area = device.site, device.site.area
        return cls(
            device.id, device.name, device.kind, device.orientation, device.internal, device.last_seen_at,
            site.id, site.name, AreaRef(area.id, area.name, area.path), device.locale,
        )


_LIVE_SCREEN = (
    select(
        Device.id, Device.name, Device.kind, Device.orientation, Device.internal, Device.last_seen_at, Device.locale,
        Site.id.label("site_id"), Site.name.label("site_name"),
        Area.id.label("area_id"), Area.name.label("area_name"), Area.path.label("area_path"),
    )
    .select_from(DeviceCredential)
    .join(Device, Device.id == DeviceCredential.device_id)
    .join(Site, Site.id == Device.site_id)
    .join(Area, Area.id == Site.area_id)
    .where(
        DeviceCredential.secret_hash == bindparam("secret_hash"),
        DeviceCredential.revoked_at.is_(None),
        Device.decommissioned_at.is_(None),
    )
)


def screen_for(session: Session, secret: str | None) -> Screen | None:
    """The screen a working credential belongs to, in one row (the same rule as
    `authenticate`: a revoked key or a screen out of service is no screen)."""
    if not secret or len(secret) > 200:
        return None
    row = session.connection().execute(_LIVE_SCREEN, {"secret_hash": digest(secret)}).first()
    if row is None:
        return None
    return Screen(
        row.id, row.name, row.kind, row.orientation, row.internal, row.last_seen_at, row.site_id, row.site_name,
        AreaRef(row.area_id, row.area_name, row.area_path), row.locale,
    )


def authenticate(session: Session, secret: str | None, now: dt.datetime) -> Device | None:
    if not secret or len(secret) > 200:
        return None
    cred = session.scalar(_LIVE_CREDENTIAL, {"secret_hash": digest(secret)})
    if cred is None or cred.device.decommissioned_at is not None:
        return None
    return cred.device


def former_owner(session: Session, secret: str) -> Device | None:
    """The screen a no longer working key belonged to (revoked, replaced, or the screen was
    taken out of service), so that screen can say it needs setting up again. None for a
    key that never existed: a guessed key learns nothing."""
    if not secret or len(secret) > 200:
        return None
    cred = session.scalar(select(DeviceCredential).where(DeviceCredential.secret_hash == digest(secret)))
    if cred is None or (cred.revoked_at is None and cred.device.decommissioned_at is None):
        return None
    return cred.device


SEEN_EVERY = dt.timedelta(minutes=1)


def mark_seen(session: Session, device_id: int, last_seen_at: dt.datetime | None, now: dt.datetime) -> None:
    """Record that the screen was seen, at most once a minute to spare the database.

    One conditional UPDATE and nothing read first: called at the start of its own
    transaction, it takes SQLite's write lock directly (a transaction that read first
    and then writes fails at once if another screen wrote in between)."""
    if last_seen_at is not None and now - last_seen_at <= SEEN_EVERY:
        return
    session.execute(
        update(Device)
        .where(Device.id == device_id, or_(Device.last_seen_at.is_(None), Device.last_seen_at < now - SEEN_EVERY))
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )


class SeenBook:
    """"Last seen" of polling screens, kept in memory and written for many screens at once.

    Every screen polls once a minute; one UPDATE each would be a write transaction per
    poll. A poll only notes the screen here (nothing if the database already has it as
    seen within `SEEN_EVERY`); once the oldest note is `flush_after` old, or `most` have
    piled up, the poll that finds the book due writes them all in one transaction
    (`write_seen`). Per process; what a crash loses is at most that much presence."""

    def __init__(self, flush_after: dt.timedelta = dt.timedelta(seconds=15), most: int = 2000) -> None:
        self.flush_after = flush_after
        self.most = most
        self._noted: dict[int, dt.datetime] = {}
        self._since: dt.datetime | None = None
        self._lock = threading.Lock()

    def note(self, device_id: int, last_seen_at: dt.datetime | None, now: dt.datetime) -> None:
        if last_seen_at is not None and now - last_seen_at <= SEEN_EVERY:
            return
        with self._lock:
            if device_id not in self._noted:
                self._noted[device_id] = now
                self._since = self._since or now

    def due(self, now: dt.datetime) -> bool:
        with self._lock:
            return self._since is not None and (now - self._since >= self.flush_after or len(self._noted) >= self.most)

    def take(self) -> dict[int, dt.datetime]:
        with self._lock:
            noted, self._noted, self._since = self._noted, {}, None
        return noted


def write_seen(session: Session, seen: dict[int, dt.datetime]) -> None:
    """Record many screens as seen in one statement (each only forwards in time)."""
    if not seen:
        return
    table = cast(Table, Device.__table__)
    session.execute(  # a plain executemany on the table, not the ORM's bulk update by key
        update(table)
        .where(table.c.id == bindparam("device_id"), or_(table.c.last_seen_at.is_(None), table.c.last_seen_at < bindparam("seen")))
        .values(last_seen_at=bindparam("seen")),
        [{"device_id": d, "seen": at} for d, at in sorted(seen.items())],
    )


def _revoke(session: Session, device: Device, now: dt.datetime, kind: CredentialKind | None) -> int:
    query = select(DeviceCredential).where(
        DeviceCredential.device_id == device.id, DeviceCredential.revoked_at.is_(None)
    )
    if kind is not None:
        query = query.where(DeviceCredential.kind == kind)
    creds = session.scalars(query).all()
    for cred in creds:
        cred.revoked_at = now
    session.flush()
    if creds:
        changes.screen_revoked(session, device.id)  # its open sockets close after commit
    return len(creds)


def revoke_credentials(session: Session, actor: User | None, device: Device, now: dt.datetime) -> int:
    """End every credential of a screen at once (browser keys and agent credentials); it
    must be set up again. Returns how many were revoked."""
    before = live_credentials(session, device)
    count = _revoke(session, device, now, None)
    _audit(session, actor, "device.revoke", device, now, browser_keys=before.browser, agent_credentials=before.agent)
    return count


def replace_browser_key(session: Session, actor: User | None, device: Device, now: dt.datetime) -> str:
    """Give a screen a new browser key (its /player address). Any old key stops working at
    once: a hall screen still using it shows "这块屏幕需要重新设置" until the new address is
    opened on it. Returns the new key, which is never stored in clear."""
    replaced = _revoke(session, device, now, CredentialKind.browser)
    secret = _issue_credential(session, device, CredentialKind.browser, now)
    _audit(session, actor, "device.player_key", device, now, replaced=replaced)
    return secret
