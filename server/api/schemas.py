"""Request and response schemas of the JSON API (pydantic), reused by the OpenAPI file."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from server.domain.audit import ACTION_LABELS
from server.models import DisclosureStatus, FeedbackStatus

# Ids are 64-bit database keys: a larger number is refused here (422 naming the field),
# not passed on to overflow in the database driver.
DatabaseId = Annotated[int, Field(ge=1, le=2**63 - 1)]


def _short_cell(value: str | int | float | None) -> str | int | float | None:
    if isinstance(value, str) and len(value) > 500:
        raise ValueError("单元格最多 500 个字符")
    return value


Cell = Annotated[str | int | float | None, AfterValidator(_short_cell)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoQuery(Strict):
    """The query string of a route that takes no parameters: any parameter is refused."""


class ErrorOut(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = {}


class TableIn(Strict):
    columns: list[Annotated[str, Field(max_length=60)]] = Field(min_length=1, max_length=12)
    rows: list[Annotated[list[Cell], Field(max_length=12)]] = Field(max_length=500)
    masked: list[Annotated[int, Field(ge=0, le=11)]] = Field(
        default_factory=list, max_length=12,
        description="indexes of the columns masked when saved (张三 → 张*, numbers as 138****5678)",
    )


class DisclosureIn(Strict):
    area_id: DatabaseId
    catalogue_item_id: DatabaseId
    title: str = Field(min_length=1, max_length=120)
    kind: Literal["notice", "table"] = "notice"
    body: str = Field(default="", max_length=20000, description="Markdown: headings, lists, bold, tables")
    table: TableIn | None = None
    scope: Literal["internal", "public"] | None = None
    valid_from: AwareDatetime
    valid_to: AwareDatetime | None = None
    period: str = Field(default="", max_length=16, description="regular items: the period met (2026-11, 2026-Q4, 2026)")
    case_id: DatabaseId | None = Field(default=None, description="staged and ad hoc items: the case disclosed")
    case_title: str = Field(default="", max_length=120, description="or a new case opened by this draft")
    case_opened_on: dt.date | None = Field(default=None, description="the new case's day (its event or start)")
    stage: int | None = Field(default=None, ge=0, le=7, description="staged items: the stage (0-based, in order)")
    attachments: list[Annotated[str, Field(pattern="^[0-9a-f]{64}$")]] = Field(
        default_factory=list, max_length=12, description="sha256 of uploaded attachments, in the order shown",
    )


class ReasonIn(Strict):
    reason: str = Field(min_length=1, max_length=500)


class ReviewIn(Strict):
    comment: str = Field(default="", max_length=500)
    content_hash: str | None = Field(default=None, max_length=64, description="approve only this exact version")


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
    public_from: dt.datetime | None = Field(description="先党内、后党外: internal only before this moment")
    period: str
    case_id: int | None
    stage: int | None
    stage_name: str
    corrects_id: int | None = Field(description="the item this one corrects (更正)")
    correction_reason: str
    withdrawn_at: dt.datetime | None
    withdraw_reason: str
    attachments: list[dict[str, Any]]
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
    locale: Literal["zh_Hans", "zh_Hant", "en"] = Field(description="the language of the screen's fixed wording (its manifest's chrome)")
    last_seen_at: dt.datetime | None


class DeviceLocaleIn(Strict):
    locale: Literal["zh_Hans", "zh_Hant", "en"] = Field(description="Simplified, Traditional or English chrome; content stays as written")


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


class AssetOut(BaseModel):
    path: str
    sha256: str
    size: int


class AudioOut(BaseModel):
    href: str
    content: str = Field(description="sha256 of the Ogg Vorbis file; fetch it from href, cache it forever")
    seconds: float


class BoardOut(BaseModel):
    id: str = Field(description="d<id> a disclosure, e<area id> the echo wall, u<id> an urgent notice")
    kind: str
    title: str
    content: str = Field(description="sha256 of the board's HTML; fetch it from href, cache it forever")
    href: str
    seconds: int = Field(description="default time on screen; a loop item may say otherwise")
    from_: dt.datetime | None = Field(default=None, alias="from", description="show from (posting period)")
    until: dt.datetime | None = Field(default=None, description="stop showing after this, even offline")
    qr_url: str | None = Field(description="this screen's QR link for the board's slot; none for urgent notices")
    audio: AudioOut | None = Field(default=None, description="the board read aloud, once the server has made it")


class LoopItemOut(BaseModel):
    board: str
    seconds: int | None = Field(description="overrides the board's default when set")


class SegmentOut(BaseModel):
    from_: dt.datetime = Field(alias="from")
    until: dt.datetime
    loops: list[str] = Field(description="keys of `loops` that play one after the other; 'default' when nothing is scheduled")


class ShelfOut(BaseModel):
    category: str = Field(description="a catalogue category, in the catalogue's order")
    boards: list[str] = Field(description="ids of `boards` in that category, newest first")


class KioskOut(BaseModel):
    idle_seconds: int = Field(description="back to the loop after this long untouched")


class ManifestOut(BaseModel):
    version: str
    generated_at: dt.datetime
    device: dict[str, Any]
    site: dict[str, Any]
    layout: str
    timezone: str
    locale: str = Field(description="the screen's chrome language: zh_Hans, zh_Hant or en")
    lang: str = Field(description="the BCP 47 tag of that language, for <html lang>: zh-CN, zh-TW or en")
    chrome: dict[str, str] = Field(description="the player's and kiosk's fixed wording in that language, by key; %(name)s placeholders are filled in by the player")
    ticker: str
    sources: dict[str, int] = Field(description="loop revision of each area the screen reads from; a nudge for an area at or below its revision needs no fetch")
    boards: list[BoardOut]
    loops: dict[str, list[LoopItemOut]]
    timeline: list[SegmentOut] = Field(description="what plays when, from the start of today for the lookahead days")
    urgent: list[str] = Field(description="ids of urgent-notice boards: while in their period they interrupt the loop")
    next_change_at: dt.datetime | None
    assets: list[AssetOut]
    browse: list[ShelfOut] | None = Field(default=None, description="touch kiosks only: every item it may browse, by category")
    kiosk: KioskOut | None = Field(default=None, description="touch kiosks only")


# Query strings: `endpoint(query=...)` parses request.args with these (unknown → 400).


class DisclosureQuery(Strict):
    status: DisclosureStatus | None = Field(default=None, description="only disclosures in this status")


class PrintQuery(Strict):
    size: Literal["A4", "A3"] = Field(default="A4", description="paper size of the printed board")


class FeedbackQuery(Strict):
    status: FeedbackStatus | None = Field(default=None, description="only tickets in this status; all when absent")


class AuditQuery(Strict):
    area_id: DatabaseId | None = Field(default=None, description="only changes in this area and below it")
    username: str | None = Field(default=None, max_length=64, description="only this user's actions")
    action: str | None = Field(
        default=None, max_length=48, description="only this kind of action", json_schema_extra={"enum": list(ACTION_LABELS)}
    )
    since: dt.date | None = Field(default=None, description="from this day (YYYY-MM-DD, in the township's zone)")
    until: dt.date | None = Field(default=None, description="up to and including this day")
    limit: int = Field(default=100, ge=1, le=500, description="rows per page, newest first")
    offset: int = Field(default=0, ge=0, le=1_000_000, description="rows to skip")

    @field_validator("action")
    @classmethod
    def _known_action(cls, value: str | None) -> str | None:
        if value is not None and value not in ACTION_LABELS:
            raise ValueError("unknown action")
        return value


class AuditEventOut(BaseModel):
    id: int
    occurred_at: dt.datetime
    username: str
    address: str
    action: str
    action_label: str = Field(description="the action in Chinese")
    target_type: str
    target_id: str
    area: str = Field(description="the area's name; empty for sign-ins")
    before_digest: str | None = Field(description="sha256 of the object's fields before")
    after_digest: str | None = Field(description="sha256 of the object's fields after")
    detail: dict[str, Any]


class AuditList(BaseModel):
    items: list[AuditEventOut]
    next_offset: int | None = Field(description="offset of the next page; null on the last page")


# Areas, sites and users (server/api/admin.py).

AreaKindName = Literal["county", "township", "village", "community", "department", "enterprise"]
RoleName = Literal["admin", "editor", "reviewer", "scheduler", "handler", "supervisor"]


class AreaNodeOut(BaseModel):
    id: int
    parent_id: int | None
    name: str
    kind: str
    code: str | None
    depth: int = Field(description="levels below the caller's topmost visible area")
    retired_at: dt.datetime | None = Field(description="retired areas take no new content, sites or users")


class AreaTreeOut(BaseModel):
    items: list[AreaNodeOut] = Field(description="depth first; siblings by code, then by name")


class AreaIn(Strict):
    parent_id: DatabaseId
    name: str = Field(min_length=1, max_length=100)
    kind: AreaKindName
    code: str | None = Field(default=None, max_length=32)


class AreaEditIn(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=100, description="unchanged when absent")
    code: str | None = Field(default=None, max_length=32, description='unchanged when absent; "" clears it')


class AreaMoveIn(Strict):
    parent_id: DatabaseId


class SiteOut(BaseModel):
    id: int
    area_id: int
    area: str
    name: str
    address: str
    contact_name: str
    contact_phone: str
    retired_at: dt.datetime | None


class SiteList(BaseModel):
    items: list[SiteOut]


class SiteIn(Strict):
    area_id: DatabaseId
    name: str = Field(min_length=1, max_length=100)
    address: str = Field(default="", max_length=200)
    contact_name: str = Field(default="", max_length=64)
    contact_phone: str = Field(default="", max_length=32)


class SiteEditIn(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    address: str | None = Field(default=None, max_length=200)
    contact_name: str | None = Field(default=None, max_length=64)
    contact_phone: str | None = Field(default=None, max_length=32)


class GrantIn(Strict):
    role: RoleName
    area_id: DatabaseId


class GrantOut(BaseModel):
    id: int
    role: str
    area_id: int
    area: str


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    active: bool
    must_change_password: bool
    grants: list[GrantOut]


class UserList(BaseModel):
    items: list[UserOut] = Field(description="users whose every grant lies in the caller's admin subtrees")


class UserIn(Strict):
    username: str = Field(min_length=3, max_length=64)
    display_name: str = Field(default="", max_length=64)
    password: str = Field(min_length=1, max_length=128, description="initial password; changed at first sign-in")
    grants: list[GrantIn] = Field(min_length=1, max_length=20)


class UserEditIn(Strict):
    display_name: str = Field(min_length=1, max_length=64)


class GrantRevokeIn(Strict):
    grant_id: DatabaseId


class PasswordResetIn(Strict):
    password: str = Field(min_length=1, max_length=128, description="temporary; changed at next sign-in")
    clear_second_factor: bool = Field(default=False, description="also remove two-step verification (phone and recovery codes lost)")


class ThemeIn(Strict):
    palette: str = Field(default="red", description="red (党建红), blue (政务蓝), green (生态绿) or contrast (黑白)")
    colours: dict[str, str] = Field(default={}, description="colours of the palette to change, name → #rrggbb; every text/background pair must reach 4.5:1")
    header: str = Field(default="", max_length=64, description="header wording above the site name (at most 30 characters)")
    scale: str = Field(default="standard", description="standard, large or larger")
    emblem: str | None = Field(default=None, max_length=3_000_000, description="a new emblem: PNG, JPEG, GIF or WebP, base64; absent keeps the current one")
    drop_emblem: bool = Field(default=False, description="back to the built-in sun")


class ThemeOut(BaseModel):
    area_id: int
    source_area_id: int | None = Field(description="the area that set the theme in effect; null: the built-in default")
    palette: str
    colours: dict[str, str]
    header: str
    scale: float
    emblem: str | None = Field(description="PNG data URL, or null")


class ObligationQuery(Strict):
    area_id: DatabaseId | None = Field(default=None, description="only this area and below it")
    state: Literal["overdue", "due", "met"] | None = Field(default=None, description="only obligations in this state")


class ObligationOut(BaseModel):
    area_id: int
    area: str
    item_id: int
    item: str
    category: str
    timing: str
    period: str = Field(description="regular items: 2026-11, 2026-Q4 or 2026")
    case_id: int | None
    case: str
    stage: int | None
    stage_name: str
    due: dt.date | None = Field(description="the last day to disclose it (township's zone); none for a later stage")
    state: str = Field(description="overdue, due or met")
    met_by: int | None = Field(description="the approved disclosure meeting it")
    met_on: dt.date | None
    late: bool = Field(description="met after its due date")


class ObligationTally(BaseModel):
    area_id: int
    area: str
    overdue: int
    due: int
    met: int
    late: int


class ObligationList(BaseModel):
    tally: list[ObligationTally]
    items: list[ObligationOut]
