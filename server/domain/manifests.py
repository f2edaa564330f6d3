"""Per-screen manifests: a week of schedule as data, boards fetched by content hash.

A manifest tells a screen everything it needs to play on its own for the lookahead
window (7 days by default): the boards it may show (each by the sha256 of its HTML, with
its posting period and the screen's own QR link), the loops that hold them (the area's
default loop and the playlists scheduled for this screen), the timeline saying which
loops play when (`timeline.plan_timeline`), and the urgent notices that interrupt it.
A screen offline for days therefore switches playlists and dayparts and takes items
down on time from its cache.

Boards hold nothing that names a screen: the player draws each board's QR code from the
manifest's `qr_url`, so one rendered board serves every screen and is cached forever
(`board_html`). What an area's screens share (`AreaLoop`) is built once per process and
keyed by the loop revisions of every area a screen in it reads from (`reach`). Screens
alike in site, kind, orientation, scope and groups then share one planned `View` (the
schedule, loops, timeline and board list); each screen only adds its own name and signs
its QR links, and remembers the result as its `Stamp`. The version
(ETag) is the hash of the manifest without `generated_at`, stable between changes and
across local midnight only when nothing moved, so an unchanged manifest is a cheap 304.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload, selectinload

import signage_layouts
from server.domain import (
    attachments,
    chrome,
    content,
    disclosures,
    feedback,
    qrlinks,
    reach,
    schedules,
    speech,
    themes,
    timeline,
)
from server.domain.devices import AreaRef, Screen
from server.models import (
    Area,
    Audience,
    BoardKind,
    Device,
    DeviceGroup,
    DeviceKind,
    Disclosure,
    DisclosureKind,
    DisclosureStatus,
    DisclosureVersion,
    LoopRevision,
    Playlist,
    ScheduleEntry,
    SpokenBoard,
    TargetKind,
    UrgentNotice,
    UrgentStatus,
)
from server.models.schedules import device_group_members
from signage_layouts import dates

BOARD_SECONDS = {"notice": 15, "table": 20, "echo_wall": 20, "urgent": 30}
LOOKAHEAD_DAYS = 7
KIOSK_IDLE_SECONDS = 60
BOARD_URL = "/api/v1/device/boards/{sha256}"
AUDIO_URL = "/api/v1/device/audio/{sha256}"
FILE_URL = "/api/v1/device/files/{sha256}"  # attachments: photos, PDF page images, videos
ALOUD = ".aloud"  # the loop key suffix of a playlist that signage reads aloud


def disclosure_data(disclosure: Disclosure, version: DisclosureVersion, internal: bool = False) -> dict[str, Any]:
    """What the board template needs, as an internal (党内) or a public screen shows it: an
    item that goes first inside the party shows the public its public phase only."""
    start = disclosures.shown_from(disclosure, internal)
    corrects = disclosure.corrects
    return {
        "title": version.title,
        "kind": disclosure.kind.value,
        "scope": disclosure.scope.value,
        "area": disclosure.area.name,
        "category": disclosure.catalogue_item.category.name,
        "catalogue_item": disclosure.catalogue_item.title,
        "valid_from": start.isoformat(),
        "valid_to": disclosure.valid_to.isoformat() if disclosure.valid_to else None,
        # 先党内、后党外: on internal screens, when the public phase starts.
        "public_from": disclosure.public_from.isoformat() if internal and disclosure.public_from else None,
        "period": disclosure.period,
        "stage": disclosures.stage_name(disclosure),
        "case": disclosure.case.title if disclosure.case is not None else "",
        # 更正: shown as corrected, with the reason and the date of what it corrects.
        "correction": {
            "reason": disclosure.correction_reason,
            "of": corrects.valid_from.isoformat(),
        } if corrects is not None else None,
        "body_html": version.body_html,
        "table": version.table if disclosure.kind is DisclosureKind.table else None,
        "media": attachments.version_media(version, disclosure),  # photos, PDF pages, video (by sha256)
    }


def disclosure_board(
    disclosure: Disclosure, version: DisclosureVersion, qr_url: str, timezone: str
) -> dict[str, Any]:
    """One disclosure version as a still board with its QR code drawn in (previews)."""
    data = {**disclosure_data(disclosure, version), "qr_url": qr_url, "timezone": timezone}
    return {
        "id": f"d{disclosure.id}",
        "kind": disclosure.kind.value,
        "title": version.title,
        "qr_url": qr_url,
        "html": signage_layouts.render_board(data["kind"], data),
    }


# --------------------------------------------------------------------------- shared part


@dataclass(frozen=True)
class Board:
    """A rendered board as every screen of an area shows it."""

    id: str
    kind: str
    title: str
    sha256: str
    valid_from: dt.datetime | None
    valid_to: dt.datetime | None
    qr: tuple[str, int] | None  # (QR kind, board id); the screen id is added per screen
    html: str = field(repr=False, compare=False)
    names: tuple[str, ...] = ()  # names shown besides the content (area, category, item)
    shelf: tuple[int, int, str] | None = None  # its catalogue category: (position, id, name)
    home: int = 0  # the area it belongs to (its loop is bumped when its audio is made)
    speech: tuple[str, str] | None = field(default=None, repr=False, compare=False)  # (script sha, script)
    audio: tuple[str, float] | None = None  # (sha256 of the read-aloud file, seconds)
    files: tuple[tuple[str, int, str], ...] = ()  # its attachments' files: (sha256, size, type)


@dataclass(frozen=True)
class EntryRow:
    entry_id: int
    playlist_id: int
    target: tuple[TargetKind, int]
    audience: Audience
    rule: timeline.Rule
    read_aloud: bool = False  # signage plays the boards' audio while it is in effect


@dataclass(frozen=True)
class UrgentRow:
    id: int
    target: tuple[TargetKind, int]
    audience: Audience
    board: Board
    read_aloud: bool = False


@dataclass(frozen=True)
class AreaLoop:
    """Everything the screens of one area and scope share, without per-screen parts."""

    built_at: dt.datetime
    revisions: tuple[tuple[int, int], ...]  # (area id, loop revision) the loop was built at
    boards: dict[str, Board]
    default: tuple[str, ...]  # the default loop: board ids in order, the echo wall last
    browse: tuple[tuple[str, tuple[str, ...]], ...]  # every live item by category, for kiosks
    playlists: dict[int, tuple[tuple[str, int | None], ...]]  # playlist → (board id, seconds)
    entries: tuple[EntryRow, ...]
    urgent: tuple[UrgentRow, ...]
    groups: dict[int, frozenset[int]]  # device group → its screens
    screens_targeted: frozenset[int]  # screens an entry or notice names one by one
    theme: themes.Theme = themes.DEFAULT  # the area's theme (its own or inherited)
    timelines: OrderedDict[tuple[Any, ...], timeline.Timeline] = field(default_factory=OrderedDict)
    views: dict[tuple[Any, ...], View] = field(default_factory=dict)  # shared by like screens, see `View`
    stamps: dict[tuple[Any, ...], Stamp] = field(default_factory=dict)  # per screen, see `Stamp`


@dataclass(frozen=True)
class Stamp:
    """What one screen's manifest is, kept while nothing can change it: between `built_at`
    and its next change, on this area loop, for this screen as it was. Enough to answer an
    unchanged poll (304) and a board fetch without planning the manifest again."""

    version: str
    built_at: dt.datetime
    until: dt.datetime
    pages: dict[str, str]  # sha256 → HTML of the boards the screen may fetch
    sounds: frozenset[str] = frozenset()  # sha256 of the read-aloud files it may fetch
    files: dict[str, str] = field(default_factory=dict)  # sha256 → type of the attachment files it may fetch


_AREA_LOOPS: OrderedDict[tuple[Any, ...], AreaLoop] = OrderedDict()
_AREA_LOOPS_MAX = 512
_lock = threading.Lock()


def _rendered(kind: str, data: dict[str, Any]) -> tuple[str, str]:
    """(sha256, html) of a board; render_board memoises, so equal boards share one string."""
    page = signage_layouts.render_board(kind, data)
    return hashlib.sha256(page.encode("utf-8")).hexdigest(), page


def screen_board(
    disclosure: Disclosure, version: DisclosureVersion, internal: bool, zone: str,
) -> tuple[dict[str, Any], str, str]:
    """A disclosure version's board exactly as internal (党内) or public screens get it:
    (its data, the sha256 of its HTML, the HTML). Screens and the archive both use this."""
    data = {**disclosure_data(disclosure, version, internal), "timezone": zone}
    sha, page = _rendered(disclosure.kind.value, data)
    return data, sha, page


def _disclosure_boards(
    session: Session, ids_query: Any, internal: bool, zone: str, voice: str | None,
) -> dict[int, tuple[Disclosure, Board]]:
    boards: dict[int, tuple[Disclosure, Board]] = {}
    found = list(session.scalars(ids_query.options(selectinload(Disclosure.published_version), lazyload(Disclosure.author))))
    held = attachments.preload(session, (d.published_version for d in found))  # one query, not one per board
    for d in found:
        version = d.published_version
        if version is None:
            continue
        data, sha, page = screen_board(d, version, internal, zone)
        _script = _scripter(voice)
        category = d.catalogue_item.category
        boards[d.id] = (d, Board(
            id=f"d{d.id}", kind=d.kind.value, title=version.title, sha256=sha, html=page,
            valid_from=disclosures.shown_from(d, internal), valid_to=d.valid_to, qr=("d", d.id),
            names=(data["area"], data["category"], data["catalogue_item"]),
            shelf=(category.position, category.id, category.name), home=d.area_id,
            speech=_script(d.kind.value, data), files=attachments.screen_files(data["media"]),
        ))
    del held
    return boards


def _shelves(boards: list[Board]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Boards by catalogue category, in the catalogue's order, each keeping its order."""
    # One shelf per category name: a village's and its township's catalogues share the
    # seven categories, and a villager browses them as one, where the first of them stands.
    shelves: dict[str, tuple[int, list[str]]] = {}
    for board in boards:
        if board.shelf is not None:
            position, _, name = board.shelf
            first, ids = shelves.setdefault(name, (position, []))
            shelves[name] = (min(first, position), ids)
            ids.append(board.id)
    return tuple((name, tuple(ids)) for name, (_, ids) in sorted(shelves.items(), key=lambda kv: (kv[1][0], kv[0])))


def _urgent_board(notice: UrgentNotice, zone: str, voice: str | None) -> Board:
    data = {
        "title": notice.title, "body": notice.body, "area": notice.area.name, "timezone": zone,
        "starts_at": (notice.starts_at or notice.decided_at or notice.created_at).isoformat(),
        "ends_at": notice.ends_at.isoformat(),
    }
    sha, page = _rendered("urgent", data)
    return Board(
        id=f"u{notice.id}", kind="urgent", title=notice.title, sha256=sha, html=page,
        valid_from=notice.starts_at, valid_to=notice.ends_at, qr=None, home=notice.area_id,
        speech=_scripter(voice)("urgent", data),
    )


def _scripter(voice: str | None) -> Any:
    """(kind, data) → (script sha, script) for `voice`, or None when read-aloud is off."""

    def script(kind: str, data: dict[str, Any]) -> tuple[str, str] | None:
        if voice is None:
            return None
        text = speech.script(kind, data)
        return hashlib.sha256(f"{voice}\n{text}".encode()).hexdigest(), text

    return script


def _with_audio(session: Session, boards: dict[str, Board]) -> dict[str, Board]:
    """The boards, each with its read-aloud audio where it has been made (one query)."""
    wanted = {b.speech[0] for b in boards.values() if b.speech is not None}
    if not wanted:
        return boards
    made = {
        row.script_sha: (row.audio_sha, row.seconds)
        for row in session.execute(
            select(SpokenBoard.script_sha, SpokenBoard.audio_sha, SpokenBoard.seconds).where(SpokenBoard.script_sha.in_(wanted))
        )
    }
    return {
        key: replace(b, audio=made[b.speech[0]]) if b.speech is not None and b.speech[0] in made else b
        for key, b in boards.items()
    }


def unspoken(loop: AreaLoop) -> dict[str, tuple[str, int]]:
    """Scripts of the loop's boards that have no audio yet: script sha → (script, home area)."""
    boards = [*loop.boards.values(), *(u.board for u in loop.urgent)]
    return {b.speech[0]: (b.speech[1], b.home) for b in boards if b.speech is not None and b.audio is None}


def _build_area_loop(
    session: Session, area: Area, internal: bool, now: dt.datetime, zone: str, voice: str | None,
    revisions: tuple[tuple[int, int], ...],
) -> AreaLoop:
    above = reach.disclosure_area_ids(area)
    scopes = reach.scopes(internal)
    live = (
        Disclosure.status == DisclosureStatus.approved,
        Disclosure.scope.in_(scopes),
        (Disclosure.valid_to.is_(None)) | (Disclosure.valid_to > now),
    )
    # Every live item of the area and above, newest first: the default loop plays those
    # that joined it, a kiosk lets people browse them all.
    published = _disclosure_boards(
        session,
        select(Disclosure)
        .where(Disclosure.area_id.in_(above), *live)
        .order_by(Disclosure.valid_from.desc(), Disclosure.id.desc()),
        internal,
        zone,
        voice,
    )
    boards = {b.id: b for _, b in published.values()}
    default = [b.id for d, b in published.values() if d.in_default_loop]
    browse = _shelves([b for _, b in published.values()])

    echo_title = f"{area.name}回音壁"
    echo = {
        "title": echo_title,
        "area": area.name,
        "timezone": zone,
        "entries": [
            {"kind": e.kind_label, "question": e.question, "answer": e.answer, "answered_at": e.answered_at.isoformat()}
            for e in feedback.echo_wall(session, area, internal=internal)
        ],
    }
    sha, page = _rendered("echo_wall", echo)
    echo_board = Board(
        id=f"e{area.id}", kind="echo_wall", title=echo_title, sha256=sha, html=page,
        valid_from=None, valid_to=None, qr=("e", area.id), home=area.id, speech=_scripter(voice)("echo_wall", echo),
    )
    boards[echo_board.id] = echo_board
    default.append(echo_board.id)

    audiences = (Audience.all, Audience.internal) if internal else (Audience.all,)
    entry_rows = list(
        session.scalars(
            select(ScheduleEntry)
            .join(Playlist, Playlist.id == ScheduleEntry.playlist_id)
            .where(
                ScheduleEntry.area_id.in_(above),
                ScheduleEntry.cancelled_at.is_(None),
                ScheduleEntry.audience.in_(audiences),
                Playlist.retired_at.is_(None),
                (ScheduleEntry.ends_on.is_(None)) | (ScheduleEntry.ends_on >= (now - dt.timedelta(days=1)).date()),
            )
            .order_by(ScheduleEntry.id)
        )
    )
    playlists: dict[int, tuple[tuple[str, int | None], ...]] = {}
    wanted = {e.playlist_id: e.playlist for e in entry_rows}
    item_ids = {i.disclosure_id for p in wanted.values() for i in p.items if i.disclosure_id is not None}
    # The scope rule where data leaves the server: an internal item never reaches a public
    # screen, whatever a playlist says.
    item_boards = _disclosure_boards(session, select(Disclosure).where(Disclosure.id.in_(item_ids), *live), internal, zone, voice)
    for playlist_id, playlist in wanted.items():
        loop: list[tuple[str, int | None]] = []
        for item in playlist.items:
            if item.kind is BoardKind.echo_wall:
                loop.append((echo_board.id, item.duration))
            elif item.disclosure_id in item_boards:
                board = item_boards[item.disclosure_id][1]
                boards[board.id] = board
                loop.append((board.id, item.duration))
        playlists[playlist_id] = tuple(loop)
    entries = tuple(
        EntryRow(e.id, e.playlist_id, (e.target_kind, e.target_id), e.audience, schedules.rule_of(e), e.read_aloud)
        for e in entry_rows
    )

    notices = list(session.scalars(
        select(UrgentNotice).where(
            UrgentNotice.area_id.in_(above),
            UrgentNotice.status == UrgentStatus.approved,
            UrgentNotice.scope.in_(scopes),
            UrgentNotice.ends_at > now,
        ).order_by(UrgentNotice.id)
    ))
    spoken = _with_audio(session, {f"u{n.id}": _urgent_board(n, zone, voice) for n in notices})
    urgent = tuple(
        UrgentRow(n.id, (n.target_kind, n.target_id), reach.audience_for(n.scope), spoken[f"u{n.id}"], n.read_aloud)
        for n in notices
    )
    boards = _with_audio(session, boards)
    groups: dict[int, set[int]] = {}
    for group_id, device_id in session.execute(
        select(device_group_members.c.group_id, device_group_members.c.device_id)
        .join(DeviceGroup, DeviceGroup.id == device_group_members.c.group_id)
        .where(DeviceGroup.area_id.in_(above), DeviceGroup.retired_at.is_(None))
    ):
        groups.setdefault(group_id, set()).add(device_id)
    return AreaLoop(
        built_at=now, revisions=revisions, boards=boards, default=tuple(default), browse=browse, playlists=playlists,
        entries=entries, urgent=urgent, groups={g: frozenset(d) for g, d in groups.items()},
        screens_targeted=frozenset(
            target_id for kind, target_id in [e.target for e in entries] + [u.target for u in urgent]
            if kind is TargetKind.device
        ),
        theme=themes.effective(session, area),
    )


_REVISION_QUERIES: dict[str, Any] = {}


def _revisions_query(area: Area | AreaRef) -> Any:
    """The loop revisions a screen in `area` reads from: one statement per area, built once
    (every poll runs it). The area's path names it and its ancestors, so it is the key."""
    query = _REVISION_QUERIES.get(area.path)
    if query is None:
        query = (
            select(LoopRevision.area_id, LoopRevision.revision, LoopRevision.changed_at)
            .join(Area, Area.id == LoopRevision.area_id)
            .where(reach.sources_clause(area))
            .order_by(LoopRevision.area_id)
        )
        with _lock:
            if len(_REVISION_QUERIES) > 4096:
                _REVISION_QUERIES.clear()
            _REVISION_QUERIES[area.path] = query
    return query


def area_loop(session: Session, area: Area | AreaRef, internal: bool, now: dt.datetime, settings: Settings) -> AreaLoop:
    """What every screen of `area` and scope shares, built once per process for the loop
    revisions it reads from (and the zone and voice it is made with)."""
    zone, voice = settings.timezone, settings.voice
    rows = session.connection().execute(_revisions_query(area)).all()
    revisions = tuple((area_id, revision) for area_id, revision, _ in rows)
    changed_at = max((row.changed_at for row in rows if row.changed_at is not None), default=None)
    # The time of the last change is part of the key: revisions alone could come back
    # after a rolled-back transaction.
    key = (str(session.get_bind().engine.url), area.id, area.name, area.path, internal, zone, voice, revisions, changed_at)
    with _lock:
        cached = _AREA_LOOPS.get(key)
        if cached is not None:
            _AREA_LOOPS.move_to_end(key)
    # Items that ended before `built_at` are not in the cache: never answer for an earlier time.
    if cached is not None and cached.built_at <= now:
        return cached
    home = area if isinstance(area, Area) else session.get_one(Area, area.id)
    built = _build_area_loop(session, home, internal, now, zone, voice, revisions)
    with _lock:
        _AREA_LOOPS[key] = built
        while len(_AREA_LOOPS) > _AREA_LOOPS_MAX:
            _AREA_LOOPS.popitem(last=False)
    return built


# --------------------------------------------------------------------------- per screen


def _timeline(loop: AreaLoop, rules: tuple[timeline.Rule, ...], start: dt.datetime, zone: str, days: int) -> timeline.Timeline:
    key = (tuple(r.entry_id for r in rules), start, days)
    with _lock:
        found = loop.timelines.get(key)
    if found is None:
        found = timeline.plan_timeline(rules, start, zone, dt.timedelta(days=days))
        with _lock:
            loop.timelines[key] = found
            while len(loop.timelines) > 256:
                loop.timelines.popitem(last=False)
    return found


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat() if moment is not None else None


@dataclass
class ManifestPlan:
    """A screen's manifest; `version` is its ETag and `pages` the boards it may fetch."""

    version: str
    body: dict[str, Any]
    pages: dict[str, str]

    def render(self, now: dt.datetime) -> dict[str, Any]:
        return {**self.body, "version": self.version, "generated_at": now.isoformat()}


@dataclass(frozen=True)
class Settings:
    """How this server makes manifests: where QR links point and how they are signed, the
    township's zone and how many days ahead a screen is told."""

    public_url: str
    qr_secret: bytes
    timezone: str = "Asia/Shanghai"
    lookahead_days: int = LOOKAHEAD_DAYS
    kiosk_idle_seconds: int = KIOSK_IDLE_SECONDS
    voice: str | None = None  # the read-aloud engine (`server.voice`); None: boards carry no audio

    @classmethod
    def from_config(cls, config: Any) -> Settings:
        return cls(
            config["PUBLIC_URL"], config["SECRET_KEY"].encode(), config["TIMEZONE"], config["LOOKAHEAD_DAYS"],
            config["KIOSK_IDLE_SECONDS"], config.get("VOICE_ID"),
        )


def _screen_key(screen: Screen, member_of: list[int], settings: Settings) -> tuple[Any, ...]:
    """Everything about the screen its manifest depends on (the area loop is the rest)."""
    return (
        screen.id, screen.name, screen.kind, screen.orientation, screen.internal, screen.site_id, screen.site_name,
        tuple(member_of), settings, screen.locale,
    )


def _member_of(loop: AreaLoop, device_id: int) -> list[int]:
    return [g for g, members in loop.groups.items() if device_id in members]


def known_stamp(session: Session, screen: Screen, now: dt.datetime, settings: Settings) -> Stamp:
    """The screen's current manifest version and boards, planning the manifest only when
    something may have changed since it was last planned."""
    return screen_manifest(session, screen, now, settings, have=None)[0]


def screen_manifest(
    session: Session, screen: Screen, now: dt.datetime, settings: Settings, *, have: str | None
) -> tuple[Stamp, ManifestPlan | None]:
    """What a screen that holds version `have` (None: any, it only asks for the stamp)
    needs: the current stamp, and the plan unless the screen is up to date or only asked
    for the stamp and it was still valid. One area loop, read once, serves both."""
    loop = area_loop(session, screen.area, screen.internal, now, settings)
    member_of = _member_of(loop, screen.id)
    key = _screen_key(screen, member_of, settings)
    with _lock:
        stamp = loop.stamps.get(key)
    if stamp is not None and stamp.built_at <= now < stamp.until and have in (None, stamp.version):
        return stamp, None
    plan = _plan(loop, member_of, screen, now, settings)
    with _lock:
        stamp = loop.stamps[key]
    return stamp, (None if have == stamp.version else plan)


def plan_manifest(session: Session, device: Device, now: dt.datetime, settings: Settings) -> ManifestPlan:
    """The screen's whole manifest as of `now`."""
    screen = Screen.of(device)
    loop = area_loop(session, screen.area, screen.internal, now, settings)
    return _plan(loop, _member_of(loop, screen.id), screen, now, settings)


@dataclass(frozen=True)
class View:
    """What every screen of one site, kind, orientation, scope and set of groups plays:
    the manifest without the screen's own name and QR links. Planned once per area loop
    and shared, so when a village's screens all fetch after a change the schedule is
    planned once, not once per screen."""

    version: str
    built_at: dt.datetime
    until: dt.datetime  # the next moment the view changes by itself
    body: dict[str, Any]  # the manifest less `device` and `boards`
    boards: tuple[dict[str, Any], ...]  # the board entries, without `qr_url`
    qr: tuple[tuple[str, int] | None, ...]  # each board's QR target, to sign per screen
    pages: dict[str, str]  # sha256 → HTML of the boards listed
    sounds: frozenset[str]  # sha256 of their read-aloud files
    files: dict[str, str] = field(default_factory=dict)  # sha256 → type of their attachment files


def _view_key(loop: AreaLoop, screen: Screen, member_of: list[int], settings: Settings) -> tuple[Any, ...]:
    # A screen named by a target of its own gets a view of its own.
    own = screen.id if screen.id in loop.screens_targeted else None
    return (
        screen.site_id, screen.site_name, screen.kind, screen.orientation, screen.internal, tuple(member_of), own, settings,
        screen.locale,
    )


def _view(loop: AreaLoop, member_of: list[int], screen: Screen, now: dt.datetime, settings: Settings) -> View:
    key = _view_key(loop, screen, member_of, settings)
    with _lock:
        found = loop.views.get(key)
    if found is not None and found.built_at <= now < found.until:
        return found
    found = _plan_view(loop, member_of, screen, now, settings)
    with _lock:
        loop.views[key] = found
    return found


def _plan_view(loop: AreaLoop, member_of: list[int], screen: Screen, now: dt.datetime, settings: Settings) -> View:
    timezone, lookahead_days = settings.timezone, settings.lookahead_days
    reached = reach.targets(screen, member_of)

    start = dates.day_start(dates.local_day(now, timezone), timezone)
    end = start + dt.timedelta(days=lookahead_days + 1)
    entries = [e for e in loop.entries if reach.reaches(e.target, e.audience, reached, screen)]
    plan = _timeline(loop, tuple(e.rule for e in entries), start, timezone, lookahead_days + 1)
    # A playlist played by an entry that reads aloud is a loop of its own ("p4.aloud").
    loop_of = {e.entry_id: f"p{e.playlist_id}" + (ALOUD if e.read_aloud else "") for e in entries}

    segments, used = [], set()
    for seg in plan.segments:
        if seg.end <= now:
            continue
        keys = list(dict.fromkeys(loop_of[i] for i in seg.entry_ids)) or ["default"]
        used.update(keys)
        segments.append({"from": _iso(seg.start), "until": _iso(seg.end), "loops": keys})

    def showable(board: Board) -> bool:
        return (board.valid_to is None or board.valid_to > now) and (board.valid_from is None or board.valid_from < end)

    loops: dict[str, list[dict[str, Any]]] = {}
    if "default" in used:
        loops["default"] = [{"board": b, "seconds": None} for b in loop.default if showable(loop.boards[b])]
    for key in sorted(used - {"default"}):
        aloud = key.endswith(ALOUD)
        loops[key] = [
            {"board": b, "seconds": s, **({"speak": True} if aloud else {})}
            for b, s in loop.playlists.get(int(key.removesuffix(ALOUD)[1:]), ()) if showable(loop.boards[b])
        ]
    listed = {item["board"] for items in loops.values() for item in items}
    browse: list[dict[str, Any]] = []
    if screen.kind is DeviceKind.kiosk:
        # A touch kiosk carries everything it may browse, so it browses offline too.
        for name, ids in loop.browse:
            found = [b for b in ids if showable(loop.boards[b])]
            if found:
                browse.append({"category": name, "boards": found})
                listed.update(found)
    shown = [loop.boards[b] for b in sorted(listed)]
    urgent_rows = [
        u for u in loop.urgent if reach.reaches(u.target, u.audience, reached, screen) and showable(u.board)
    ]
    urgent = [u.board for u in urgent_rows]

    # The first segment boundary after now (the plan starts at midnight, so its own
    # `next_change` may be behind us already).
    edges = [next((t for seg in plan.segments for t in (seg.start, seg.end) if t > now), end)]
    for board in shown + urgent:
        edges += [t for t in (board.valid_from, board.valid_to) if t is not None and t > now]
    edges.append(start + dt.timedelta(days=1))  # the lookahead window moves on at midnight
    titles = [loop.boards[b["board"]].title for b in loops.get("default", []) if loop.boards[b["board"]].kind != "echo_wall"][:5]
    locale = chrome.normalise(screen.locale)  # the chrome's language; content stays as written
    ticker = chrome.ticker(locale, screen.site_name, titles)
    body: dict[str, Any] = {
        "site": {"id": screen.site_id, "name": screen.site_name, "area": screen.area.name},
        "layout": signage_layouts.layout_for(screen.kind.value, screen.orientation.value),
        "timezone": timezone,
        "locale": locale,
        "lang": chrome.LANG_TAGS[locale],
        "chrome": dict(chrome.strings(locale)),
        "ticker": ticker,
        "theme": loop.theme.as_manifest(),
        "sources": {str(a): r for a, r in loop.revisions},
        "loops": loops,
        "timeline": segments,
        "urgent": [b.id for b in urgent],
        "speak": [u.board.id for u in urgent_rows if u.read_aloud],
        "next_change_at": _iso(min(edges)),
        "assets": signage_layouts.player_assets(),
    }
    if screen.kind is DeviceKind.kiosk:
        body["browse"] = browse
        body["kiosk"] = {"idle_seconds": settings.kiosk_idle_seconds}
    boards = tuple(_board_entry(b) for b in shown + urgent)
    names = sorted({n for b in shown for n in b.names})
    version = content.content_hash(
        {**body, "boards": boards, "names": names, "templates": signage_layouts.templates_fingerprint()}
    )
    return View(
        version=version, built_at=now, until=min(edges), body=body, boards=boards,
        qr=tuple(b.qr for b in shown + urgent), pages={b.sha256: b.html for b in shown + urgent},
        sounds=frozenset(b.audio[0] for b in shown + urgent if b.audio is not None),
        files={sha: mime for b in shown for sha, _, mime in b.files},
    )


def _plan(loop: AreaLoop, member_of: list[int], screen: Screen, now: dt.datetime, settings: Settings) -> ManifestPlan:
    """The screen's manifest: its view, its own name and its QR links."""
    view = _view(loop, member_of, screen, now, settings)
    device = {
        "id": screen.id, "name": screen.name, "kind": screen.kind.value,
        "orientation": screen.orientation.value, "internal": screen.internal,
    }
    links = [_qr_url(qr, screen.id, settings) for qr in view.qr]
    version = content.content_hash({"view": view.version, "device": device, "qr": links})
    stamp = Stamp(
        version=version, built_at=now, until=view.until, pages=view.pages, sounds=view.sounds, files=view.files
    )
    with _lock:
        loop.stamps[_screen_key(screen, member_of, settings)] = stamp
    boards = [{**entry, "qr_url": link} for entry, link in zip(view.boards, links, strict=True)]
    return ManifestPlan(version=version, body={**view.body, "device": device, "boards": boards}, pages=view.pages)


def _qr_url(qr: tuple[str, int] | None, device_id: int, settings: Settings) -> str | None:
    if qr is None:
        return None
    return qrlinks.make_url(settings.public_url, settings.qr_secret, qrlinks.QrTarget(qr[0], qr[1], device_id))


def _board_entry(board: Board) -> dict[str, Any]:
    return {
        "id": board.id,
        "kind": board.kind,
        "title": board.title,
        "content": board.sha256,
        "href": BOARD_URL.format(sha256=board.sha256),
        "seconds": BOARD_SECONDS[board.kind],
        "from": _iso(board.valid_from),
        "until": _iso(board.valid_to),
        "audio": None if board.audio is None else {
            "href": AUDIO_URL.format(sha256=board.audio[0]), "content": board.audio[0], "seconds": board.audio[1],
        },
        "files": [
            {"content": sha, "href": FILE_URL.format(sha256=sha), "size": size, "type": mime}
            for sha, size, mime in board.files
        ],
    }
