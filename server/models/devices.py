"""Screens (devices), their credentials and one-time enrolment codes."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, ValueEnum, utcnow
from server.models.areas import Area, Site


class DeviceKind(enum.Enum):
    signage = "signage"  # non-touch
    kiosk = "kiosk"  # touch 查询机


class Orientation(enum.Enum):
    landscape = "landscape"
    portrait = "portrait"


class CredentialKind(enum.Enum):
    browser = "browser"  # the key in a /player/<key> URL
    agent = "agent"  # issued to a kiosk agent at enrolment


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[DeviceKind] = mapped_column(ValueEnum(DeviceKind))
    orientation: Mapped[Orientation] = mapped_column(ValueEnum(Orientation))
    # Party-internal screens (党员活动室) may show internal items; all others never do.
    internal: Mapped[bool] = mapped_column(default=False)
    # The language of the screen's fixed wording (server.domain.chrome), never of content.
    locale: Mapped[str] = mapped_column(String(16), default="zh_Hans", server_default="zh_Hans")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decommissioned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    site: Mapped[Site] = relationship(lazy="joined")
    credentials: Mapped[list[DeviceCredential]] = relationship(
        back_populates="device", cascade="all, delete-orphan"
    )

    @property
    def area(self) -> Area:
        """The area the screen stands in (its site's)."""
        return self.site.area


class DeviceCredential(Base):
    __tablename__ = "device_credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[CredentialKind] = mapped_column(ValueEnum(CredentialKind))
    # sha256 of the secret; the secret itself is shown once and never stored.
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    device: Mapped[Device] = relationship(back_populates="credentials", lazy="joined")


class EnrolmentCode(Base):
    __tablename__ = "enrolment_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    device: Mapped[Device] = relationship(lazy="joined")
