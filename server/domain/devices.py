"""Screens: registration, per-device credentials, one-time enrolment codes.

Each screen has its own secrets (never a shared key). A browser-only screen uses a
`browser` key inside its /player URL; a kiosk agent trades a one-time enrolment code
for an `agent` credential. Either can be revoked alone.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.domain import access, changes
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
)

ENROLMENT_CODE_LENGTH = 10
ENROLMENT_CODE_TTL = dt.timedelta(days=7)


def create_device(
    session: Session,
    site: Site,
    name: str,
    kind: DeviceKind,
    orientation: Orientation,
    internal: bool = False,
) -> Device:
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise ValidationFailed("屏幕名称需要 1–100 个字。", field="name")
    device = Device(site=site, name=name, kind=kind, orientation=orientation, internal=internal)
    session.add(device)
    session.flush()
    return device


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


def issue_credential(session: Session, device: Device, kind: CredentialKind) -> str:
    secret = ("pk_" if kind is CredentialKind.browser else "dk_") + new_token()
    session.add(DeviceCredential(device=device, kind=kind, secret_hash=digest(secret)))
    session.flush()
    return secret


def issue_enrolment_code(session: Session, device: Device, now: dt.datetime) -> str:
    code = readable_code(ENROLMENT_CODE_LENGTH)
    session.add(
        EnrolmentCode(
            device=device,
            code_hash=digest(code),
            created_at=now,
            expires_at=now + ENROLMENT_CODE_TTL,
        )
    )
    session.flush()
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
    secret = issue_credential(session, row.device, CredentialKind.agent)
    return row.device, secret


def authenticate(session: Session, secret: str | None, now: dt.datetime) -> Device | None:
    if not secret or len(secret) > 200:
        return None
    cred = session.scalar(
        select(DeviceCredential).where(
            DeviceCredential.secret_hash == digest(secret), DeviceCredential.revoked_at.is_(None)
        )
    )
    if cred is None or cred.device.decommissioned_at is not None:
        return None
    return cred.device


def mark_seen(device: Device, now: dt.datetime) -> None:
    # Written at most once a minute to spare the database on every poll.
    if device.last_seen_at is None or now - device.last_seen_at > dt.timedelta(minutes=1):
        device.last_seen_at = now


def revoke_credentials(
    session: Session, device: Device, now: dt.datetime, kind: CredentialKind | None = None
) -> int:
    query = select(DeviceCredential).where(
        DeviceCredential.device_id == device.id, DeviceCredential.revoked_at.is_(None)
    )
    if kind is not None:
        query = query.where(DeviceCredential.kind == kind)
    creds = session.scalars(query).all()
    for cred in creds:
        cred.revoked_at = now
    session.flush()
    changes.screen_revoked(session, device.id)
    return len(creds)
