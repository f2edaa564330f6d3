"""Citizen feedback tickets and the answers handlers give them."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, ValueEnum, utcnow
from server.models.areas import Area
from server.models.catalogue import Scope
from server.models.devices import Device
from server.models.disclosures import Disclosure
from server.models.users import User


class FeedbackKind(enum.Enum):
    opinion = "opinion"  # 意见
    suggestion = "suggestion"  # 建议
    question = "question"  # 咨询
    report = "report"  # 举报


class FeedbackStatus(enum.Enum):
    open = "open"
    answered = "answered"


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_code: Mapped[str] = mapped_column(String(16), unique=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    disclosure_id: Mapped[int | None] = mapped_column(ForeignKey("disclosures.id"), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    kind: Mapped[FeedbackKind] = mapped_column(ValueEnum(FeedbackKind))
    # Inherited from what it was about (the item, or the screen it was sent from):
    # feedback on internal content stays internal, its answers too.
    scope: Mapped[Scope] = mapped_column(ValueEnum(Scope), default=Scope.public)
    body: Mapped[str] = mapped_column(Text)
    anonymous: Mapped[bool] = mapped_column(default=True)
    author_name: Mapped[str] = mapped_column(String(64), default="")
    author_phone: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[FeedbackStatus] = mapped_column(
        ValueEnum(FeedbackStatus), default=FeedbackStatus.open, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    area: Mapped[Area] = relationship(lazy="joined")
    disclosure: Mapped[Disclosure | None] = relationship(lazy="joined")
    device: Mapped[Device | None] = relationship()
    answers: Mapped[list[FeedbackAnswer]] = relationship(
        back_populates="feedback", order_by="FeedbackAnswer.answered_at", lazy="selectin"
    )


class FeedbackAnswer(Base):
    __tablename__ = "feedback_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(
        ForeignKey("feedback.id", ondelete="CASCADE"), index=True
    )
    handler_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(default=False)
    answered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    feedback: Mapped[Feedback] = relationship(back_populates="answers")
    handler: Mapped[User] = relationship(lazy="joined")
