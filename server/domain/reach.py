"""Which rows a screen reads, and which screens a change reaches — decided only here.

A screen in area S shows the approved disclosures of S and of every area above it (a
township's notice belongs on each village's screens) and the echo wall of S's whole
subtree (a township hall also shows the answers given to its villages). So a change in
area X concerns the screens in X's subtree and those in X's ancestors, and nothing else.
The manifest query, the manifest cache key and the Socket.IO rooms all come from the
functions below, so they cannot disagree.

Scope works the same way everywhere: an internal (党内) screen reads internal and public
rows, any other screen public rows only; an internal change reaches internal screens only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from server.models import Area, Audience, Device, DeviceGroup, Scope, Site, TargetKind
from server.models.schedules import device_group_members


def scopes(internal: bool) -> tuple[Scope, ...]:
    """The scopes a screen (or a page) may show."""
    return (Scope.public, Scope.internal) if internal else (Scope.public,)


def audience_for(scope: Scope) -> Audience:
    """Who an item of `scope` sent to a target reaches: an internal (党内) one only the
    internal screens of that target."""
    return Audience.internal if scope is Scope.internal else Audience.all


class AreaLike(Protocol):
    """An area or a plain value naming one (`devices.AreaRef`): its place in the tree."""

    @property
    def path(self) -> str: ...

    def ancestor_ids(self) -> list[int]: ...


def disclosure_area_ids(area: AreaLike) -> list[int]:
    """Areas whose disclosures a screen in `area` shows: the area and its ancestors."""
    return area.ancestor_ids()


def echo_clause(area: AreaLike) -> ColumnElement[bool]:
    """Areas whose public answers a screen in `area` shows: its subtree."""
    return Area.path.startswith(area.path, autoescape=True)


def sources_clause(area: AreaLike) -> ColumnElement[bool]:
    """Every area a screen in `area` reads from (keys its cached loop). Every poll runs it,
    so the ancestors are plain equalities: an IN list is re-rendered at each execution."""
    return or_(*(Area.id == a for a in disclosure_area_ids(area)), echo_clause(area))


def _suffix(internal: bool) -> str:
    return ":internal" if internal else ""


class ScreenLike(Protocol):
    """A screen as `devices.Screen` describes it (one row, no ORM objects)."""

    @property
    def id(self) -> int: ...

    @property
    def site_id(self) -> int: ...

    @property
    def internal(self) -> bool: ...

    @property
    def area(self) -> Any: ...  # an AreaLike with an `id`


def screen_rooms(screen: ScreenLike) -> list[str]:
    """The Socket.IO rooms the server puts a screen in; screens never choose their own.

    `tree:<a>` for each area a above or at the screen (changes flowing down) and
    `at:<s>` for its own area (changes flowing up from its subtree)."""
    area, suffix = screen.area, _suffix(screen.internal)
    rooms = [f"device:{screen.id}", f"site:{screen.site_id}", f"at:{area.id}{suffix}"]
    rooms += [f"tree:{a}{suffix}" for a in area.ancestor_ids()]
    return rooms


def change_rooms(area_path: str, internal_only: bool) -> list[str]:
    """The rooms to nudge when what screens show changed in the area with `area_path`."""
    ids = [int(part) for part in area_path.strip("/").split("/") if part]
    suffixes = [":internal"] if internal_only else ["", ":internal"]
    here, above = ids[-1], ids[:-1]
    rooms = [f"tree:{here}{s}" for s in suffixes]
    rooms += [f"at:{a}{s}" for a in above for s in suffixes]
    return rooms


# --------------------------------------------------------------------------- targets
#
# A schedule entry or an urgent notice names a target: an area's subtree, a site, a device
# group or one screen. Its *home* is the area it belongs to (the area itself, the site's
# area, the group's area, the screen's area). Screens in area S can only be reached by
# targets homed in S or above it, so the manifest reads the entries and notices homed in
# `disclosure_area_ids(S)`, and a change to one bumps its home's loop revision: the rooms
# and the cache key then follow from the functions above, as for any other change.


def target_home(session: Session, kind: TargetKind, target_id: int) -> Area | None:
    """The area a target belongs to, or None when the target does not exist."""
    if kind is TargetKind.area:
        return session.get(Area, target_id)
    if kind is TargetKind.site:
        site = session.get(Site, target_id)
        return site.area if site is not None else None
    if kind is TargetKind.group:
        group = session.get(DeviceGroup, target_id)
        return group.area if group is not None else None
    device = session.get(Device, target_id)
    return device.site.area if device is not None else None


def targets(screen: ScreenLike, group_ids: Iterable[int]) -> set[tuple[TargetKind, int]]:
    """Every (kind, id) target that reaches `screen` (a member of `group_ids`)."""
    found = {(TargetKind.area, a) for a in screen.area.ancestor_ids()}
    found |= {(TargetKind.site, screen.site_id), (TargetKind.device, screen.id)}
    found |= {(TargetKind.group, g) for g in group_ids}
    return found


def audience_reaches(audience: Audience, screen: ScreenLike) -> bool:
    return audience is Audience.all or screen.internal


def reaches(target: tuple[TargetKind, int], audience: Audience, reached: set[tuple[TargetKind, int]], screen: ScreenLike) -> bool:
    """Whether something sent to `target` for `audience` plays on `screen` (a `Screen` or
    a `Device`), whose targets are `reached` (`targets`): schedule entries, urgent notices
    and receipts all ask this."""
    return target in reached and audience_reaches(audience, screen)


def _targeted(session: Session, what: Any, kind: TargetKind, target_id: int, audience: Audience) -> Any:
    """`select(what)` over the screens in service that a target reaches, or None."""
    query = select(what).select_from(Device).join(Site, Site.id == Device.site_id).where(Device.decommissioned_at.is_(None))
    if kind is TargetKind.area:
        home = session.get(Area, target_id)
        if home is None:
            return None
        query = query.join(Area, Area.id == Site.area_id).where(Area.path.startswith(home.path, autoescape=True))
    elif kind is TargetKind.site:
        query = query.where(Device.site_id == target_id)
    elif kind is TargetKind.group:
        query = query.join(device_group_members, device_group_members.c.device_id == Device.id).where(
            device_group_members.c.group_id == target_id
        )
    else:
        query = query.where(Device.id == target_id)
    if audience is Audience.internal:
        query = query.where(Device.internal.is_(True))
    return query


def target_devices(session: Session, kind: TargetKind, target_id: int, audience: Audience) -> list[Device]:
    """The screens in service that a target reaches (for delivery receipts and week views)."""
    query = _targeted(session, Device, kind, target_id, audience)
    return [] if query is None else list(session.scalars(query.order_by(Device.site_id, Device.id)))


def target_device_count(session: Session, kind: TargetKind, target_id: int, audience: Audience) -> int:
    """How many screens `target_devices` would list, without loading them."""
    query = _targeted(session, func.count(Device.id), kind, target_id, audience)
    return 0 if query is None else int(session.scalar(query) or 0)
