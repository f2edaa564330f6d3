"""The disclosure catalogue: categories and the items each must disclose."""

from __future__ import annotations

import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, ValueEnum


class Scope(enum.Enum):
    internal = "internal"  # 党内
    public = "public"  # 社会公开


class Timing(enum.Enum):
    regular = "regular"  # 定期
    staged = "staged"  # 逐段
    ad_hoc = "ad_hoc"  # 随时


class CatalogueCategory(Base):
    __tablename__ = "catalogue_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
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
    timing: Mapped[Timing] = mapped_column(ValueEnum(Timing), default=Timing.ad_hoc)
    period: Mapped[str] = mapped_column(String(32), default="")  # monthly / quarterly / yearly
    deadline_days: Mapped[int] = mapped_column(default=7)
    forms: Mapped[str] = mapped_column(String(120), default="screen")
    responsible_department: Mapped[str] = mapped_column(String(64), default="")
    position: Mapped[int] = mapped_column(default=0)

    category: Mapped[CatalogueCategory] = relationship(back_populates="items", lazy="joined")
