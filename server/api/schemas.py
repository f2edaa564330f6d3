"""Request and response schemas of the JSON API (pydantic), reused by the OpenAPI file."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorOut(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = {}


class TableIn(Strict):
    columns: list[str] = Field(min_length=1, max_length=12)
    rows: list[list[str | int | float | None]] = Field(max_length=500)


class DisclosureIn(Strict):
    area_id: int
    catalogue_item_id: int
    title: str = Field(min_length=1, max_length=120)
    kind: Literal["notice", "table"] = "notice"
    body: str = Field(default="", max_length=20000, description="Markdown: headings, lists, bold, tables")
    table: TableIn | None = None
    scope: Literal["internal", "public"] | None = None
    valid_from: AwareDatetime
    valid_to: AwareDatetime | None = None


class ReviewIn(Strict):
    comment: str = Field(default="", max_length=500)
    content_hash: str | None = Field(default=None, description="approve only this exact version")


class ReviewOut(BaseModel):
    reviewer: str
    authors: list[str] = Field(description="everyone who wrote a version up to the reviewed one")
    decision: str
    content_hash: str
    comment: str
    decided_at: dt.datetime


class DisclosureOut(BaseModel):
    id: int
    area_id: int
    area: str
    catalogue_item_id: int
    kind: str
    scope: str
    status: str
    title: str
    body: str
    body_html: str
    table: dict[str, Any] | None
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    author: str
    version: int
    content_hash: str
    reviews: list[ReviewOut]


class DisclosureList(BaseModel):
    items: list[DisclosureOut]


class AnswerIn(Strict):
    body: str = Field(min_length=1, max_length=2000)
    public: bool = False


class AnswerOut(BaseModel):
    body: str
    public: bool
    handler: str
    answered_at: dt.datetime


class FeedbackOut(BaseModel):
    id: int
    ticket_code: str
    area: str
    disclosure_id: int | None
    device_id: int | None
    kind: str
    body: str
    anonymous: bool
    scope: str = Field(description="internal feedback is answered only to internal screens")
    author_name: str = Field(description="empty unless the caller is a handler or supervisor")
    author_phone: str = Field(description="empty unless the caller is a handler or supervisor")
    status: str
    created_at: dt.datetime
    due_at: dt.datetime
    answers: list[AnswerOut]


class FeedbackList(BaseModel):
    items: list[FeedbackOut]


class DeviceOut(BaseModel):
    id: int
    name: str
    site: str
    area: str
    kind: str
    orientation: str
    internal: bool
    last_seen_at: dt.datetime | None


class DeviceList(BaseModel):
    items: list[DeviceOut]


class EnrolmentCodeOut(BaseModel):
    code: str
    expires_at: dt.datetime


class EnrolIn(Strict):
    code: str = Field(min_length=1, max_length=64)


class EnrolOut(BaseModel):
    device_id: int
    token: str
    name: str
    site: str


class MeOut(BaseModel):
    id: int
    username: str
    display_name: str
    roles: list[dict[str, Any]]


class AreaOut(BaseModel):
    id: int
    parent_id: int | None
    name: str
    kind: str


class AreaList(BaseModel):
    items: list[AreaOut]


class CatalogueItemOut(BaseModel):
    id: int
    title: str
    scope: str
    timing: str
    period: str
    deadline_days: int


class CategoryOut(BaseModel):
    id: int
    name: str
    items: list[CatalogueItemOut]


class CatalogueOut(BaseModel):
    categories: list[CategoryOut]


class AssetOut(BaseModel):
    path: str
    sha256: str
    size: int


class BoardOut(BaseModel):
    id: str
    kind: str
    title: str
    content_hash: str
    duration: int
    until: dt.datetime | None = Field(default=None, description="stop showing after this, even offline")
    qr_url: str
    html: str


class ManifestOut(BaseModel):
    version: str
    generated_at: dt.datetime
    device: dict[str, Any]
    site: dict[str, Any]
    layout: str
    timezone: str
    ticker: str
    boards: list[BoardOut]
    next_change_at: dt.datetime | None
    assets: list[AssetOut]
