"""Disclosures (公开事项), their immutable versions and review decisions."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, ValueEnum, utcnow
from server.models.areas import Area
from server.models.catalogue import CatalogueItem, DisclosureCase, Scope
from server.models.users import User


class DisclosureKind(enum.Enum):
    notice = "notice"  # formatted text
    table = "table"  # columns and rows (accounts, dues, aid lists)


class DisclosureStatus(enum.Enum):
    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"  # taken down early by a reviewer, with a reason
    superseded = "superseded"  # replaced by an approved correction (更正)


class Disclosure(Base):
    __tablename__ = "disclosures"

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    catalogue_item_id: Mapped[int] = mapped_column(ForeignKey("catalogue_items.id"))
    kind: Mapped[DisclosureKind] = mapped_column(ValueEnum(DisclosureKind))
    scope: Mapped[Scope] = mapped_column(ValueEnum(Scope))
    status: Mapped[DisclosureStatus] = mapped_column(
        ValueEnum(DisclosureStatus), default=DisclosureStatus.draft, index=True
    )
    title: Mapped[str] = mapped_column(String(120))
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    valid_to: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The version currently shown on screens (set on approval).
    published_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("disclosure_versions.id", use_alter=True)
    )
    # Whether the approved item plays in its area's default loop (when nothing is scheduled).
    in_default_loop: Mapped[bool] = mapped_column(default=True)
    # Which obligation it meets: the period of a regular item ("2026-11", "2026-Q4", "2026"),
    # or the case and stage (0-based) of a staged or ad hoc item.
    period: Mapped[str] = mapped_column(String(16), default="")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("disclosure_cases.id"), index=True)
    stage: Mapped[int | None] = mapped_column()
    # While approved, "area:item:period" or "area:case:stage" (null otherwise): unique, so
    # two approvals of one obligation cannot both succeed, on any backend.
    slot: Mapped[str | None] = mapped_column(String(64), unique=True)
    # 先党内、后党外: before this moment only internal screens and members see it.
    public_from: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # 更正: this disclosure corrects an approved one, which it replaces on approval.
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("disclosures.id"), index=True)
    correction_reason: Mapped[str] = mapped_column(String(500), default="")
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdraw_reason: Mapped[str] = mapped_column(String(500), default="")

    area: Mapped[Area] = relationship(lazy="joined")
    catalogue_item: Mapped[CatalogueItem] = relationship(lazy="joined")
    author: Mapped[User] = relationship(lazy="joined", foreign_keys=[author_id])
    case: Mapped[DisclosureCase | None] = relationship()
    corrects: Mapped[Disclosure | None] = relationship(remote_side=[id], foreign_keys=[corrects_id])
    versions: Mapped[list[DisclosureVersion]] = relationship(
        back_populates="disclosure",
        order_by="DisclosureVersion.number",
        foreign_keys="DisclosureVersion.disclosure_id",
        cascade="all, delete-orphan",
    )
    published_version: Mapped[DisclosureVersion | None] = relationship(
        foreign_keys=[published_version_id], post_update=True
    )
    reviews: Mapped[list[Review]] = relationship(
        back_populates="disclosure", order_by="Review.decided_at", cascade="all, delete-orphan"
    )

    @property
    def latest_version(self) -> DisclosureVersion:
        return self.versions[-1]


class DisclosureVersion(Base):
    """An immutable snapshot of a disclosure's content; approval names one by hash."""

    __tablename__ = "disclosure_versions"
    __table_args__ = (UniqueConstraint("disclosure_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    disclosure_id: Mapped[int] = mapped_column(
        ForeignKey("disclosures.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(String(120))
    body_source: Mapped[str] = mapped_column(Text, default="")  # Markdown as typed
    body_html: Mapped[str] = mapped_column(Text, default="")  # sanitised HTML
    table: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"columns": [], "rows": [[]]}
    # [{"sha256": ..., "name": ...}] in the order shown (server.domain.attachments)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    disclosure: Mapped[Disclosure] = relationship(
        back_populates="versions", foreign_keys=[disclosure_id]
    )


class ReviewDecision(enum.Enum):
    approved = "approved"
    rejected = "rejected"


# Everyone who wrote a version up to the reviewed one: none of them may approve it.
review_authors = Table(
    "review_authors",
    Base.metadata,
    Column("review_id", ForeignKey("reviews.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True),
)


class Review(Base):
    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    disclosure_id: Mapped[int] = mapped_column(
        ForeignKey("disclosures.id", ondelete="CASCADE"), index=True
    )
    version_id: Mapped[int] = mapped_column(ForeignKey("disclosure_versions.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[ReviewDecision] = mapped_column(ValueEnum(ReviewDecision))
    content_hash: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str] = mapped_column(String(500), default="")
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    disclosure: Mapped[Disclosure] = relationship(back_populates="reviews")
    reviewer: Mapped[User] = relationship(lazy="joined", foreign_keys=[reviewer_id])
    version: Mapped[DisclosureVersion] = relationship()
    authors: Mapped[list[User]] = relationship(secondary=review_authors, lazy="selectin")
