"""Areas form the tree every permission is scoped to; sites are the halls in them."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, ValueEnum, utcnow


class AreaKind(enum.Enum):
    county = "county"
    township = "township"
    village = "village"
    community = "community"
    department = "department"
    enterprise = "enterprise"


def path_ids(path: str) -> list[int]:
    """The ids in a materialised path ("/1/4/9/"): the area and its ancestors, root first."""
    return [int(part) for part in path.strip("/").split("/") if part]


class Area(Base):
    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[AreaKind] = mapped_column(ValueEnum(AreaKind))
    # Materialised path "/1/4/9/": a subtree is every path starting with the root's path.
    path: Mapped[str] = mapped_column(String(400), index=True, default="")
    # The official division code (统计用区划代码) or any code the township uses; optional.
    code: Mapped[str | None] = mapped_column(String(32), unique=True)
    # Areas with history are never deleted; a retired area takes no new content or users.
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    parent: Mapped[Area | None] = relationship(remote_side=[id])
    sites: Mapped[list[Site]] = relationship(back_populates="area")

    def ancestor_ids(self) -> list[int]:
        return path_ids(self.path)


class Site(Base):
    """A hall (村级党群服务中心) holding one or more screens."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200), default="")
    contact_name: Mapped[str] = mapped_column(String(64), default="")
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    area: Mapped[Area] = relationship(back_populates="sites")


class AreaTheme(Base):
    """A county's or township's theme, inherited by every area below (server.domain.themes)."""

    __tablename__ = "area_themes"

    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), primary_key=True)
    palette: Mapped[str] = mapped_column(String(32))
    colours: Mapped[str] = mapped_column(Text, default="{}")  # JSON: the palette's colours changed
    header: Mapped[str] = mapped_column(String(64), default="")
    scale: Mapped[str] = mapped_column(String(16), default="standard")
    emblem: Mapped[bytes | None] = mapped_column(LargeBinary)  # PNG, re-encoded, at most 160 px
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class AllowedNumber(Base):
    """An official contact number of an area (a hall's duty phone, a hotline) that an admin
    allows in disclosures; the pre-publish scanner passes it in the area and below."""

    __tablename__ = "allowed_numbers"
    __table_args__ = (UniqueConstraint("area_id", "digits"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    digits: Mapped[str] = mapped_column(String(32))  # the number's digits only
    label: Mapped[str] = mapped_column(String(64), default="")  # e.g. 村委会值班电话
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
