"""The disclosure catalogue: per organisation type, categories and the items each must disclose."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, ValueEnum
from server.models.areas import AreaKind


class Scope(enum.Enum):
    internal = "internal"  # 党内
    public = "public"  # 社会公开


class Timing(enum.Enum):
    regular = "regular"  # 定期: one disclosure per period
    staged = "staged"  # 逐段: one disclosure per stage of a case
    ad_hoc = "ad_hoc"  # 随时: one disclosure per case, within deadline_days of it


class Period(enum.Enum):
    """The period of a regular item; a disclosure names one ("2026-11", "2026-Q4", "2026")."""

    monthly = "monthly"
    quarterly = "quarterly"
    yearly = "yearly"


# The organisation types that have a catalogue of their own (a county has none).
CATALOGUE_KINDS = (
    AreaKind.village, AreaKind.community, AreaKind.township, AreaKind.department, AreaKind.enterprise,
)

FORMS = ("screen", "board", "meeting", "document", "website")  # 公开形式


class CatalogueCategory(Base):
    __tablename__ = "catalogue_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Which organisation type's catalogue this category belongs to.
    org_kind: Mapped[AreaKind] = mapped_column(ValueEnum(AreaKind), default=AreaKind.village, index=True)
    name: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(default=0)

    items: Mapped[list[CatalogueItem]] = relationship(
        back_populates="category", order_by="CatalogueItem.position"
    )


class CatalogueItem(Base):
    __tablename__ = "catalogue_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("catalogue_categories.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    scope: Mapped[Scope] = mapped_column(ValueEnum(Scope), default=Scope.public)
    # A public item with internal_days > 0 goes first inside the party (先党内、后党外):
    # approved once, shown on internal screens for these days, then on every screen.
    internal_days: Mapped[int] = mapped_column(default=0)
    timing: Mapped[Timing] = mapped_column(ValueEnum(Timing), default=Timing.ad_hoc)
    period: Mapped[str] = mapped_column(String(32), default="")  # a Period value for regular items
    stages: Mapped[list[str]] = mapped_column(JSON, default=list)  # named stages of a staged item
    # Regular: days after the period ends; staged: days after the case opens (first stage);
    # ad hoc: days after the case's event.
    deadline_days: Mapped[int] = mapped_column(default=7)
    forms: Mapped[str] = mapped_column(String(120), default="screen")  # comma list of FORMS
    responsible_department: Mapped[str] = mapped_column(String(64), default="")
    responsible_person: Mapped[str] = mapped_column(String(64), default="")
    position: Mapped[int] = mapped_column(default=0)
    # Items with disclosures are retired, never deleted; a retired item takes no new drafts
    # and owes nothing.
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    category: Mapped[CatalogueCategory] = relationship(back_populates="items", lazy="joined")

    @property
    def phased(self) -> bool:
        """First inside the party, then outside."""
        return self.scope is Scope.public and self.internal_days > 0

    def form_list(self) -> list[str]:
        return [f for f in self.forms.split(",") if f]

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "category": self.category.name}


class DisclosureCase(Base):
    """One matter disclosed in stages (a member's development) or at once (an ad hoc event):
    the disclosures of its stages point at it."""

    __tablename__ = "disclosure_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    catalogue_item_id: Mapped[int] = mapped_column(ForeignKey("catalogue_items.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    # When the matter arose (the event of an ad hoc item, the start of a staged one): the
    # first disclosure is due deadline_days after it.
    opened_on: Mapped[dt.date]
    # When a later stage's event happened ({"2": "2027-03-01"}), recorded by an editor: that
    # stage is then due deadline_days after it.
    stage_dates: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    catalogue_item: Mapped[CatalogueItem] = relationship(lazy="joined")
