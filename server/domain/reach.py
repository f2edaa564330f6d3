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

from sqlalchemy import ColumnElement, or_

from server.models import Area, Device, Scope


def scopes(internal: bool) -> tuple[Scope, ...]:
    """The scopes a screen (or a page) may show."""
    return (Scope.public, Scope.internal) if internal else (Scope.public,)


def disclosure_area_ids(area: Area) -> list[int]:
    """Areas whose disclosures a screen in `area` shows: the area and its ancestors."""
    return area.ancestor_ids()


def echo_clause(area: Area) -> ColumnElement[bool]:
    """Areas whose public answers a screen in `area` shows: its subtree."""
    return Area.path.startswith(area.path, autoescape=True)


def sources_clause(area: Area) -> ColumnElement[bool]:
    """Every area a screen in `area` reads from (keys its cached loop)."""
    return or_(Area.id.in_(disclosure_area_ids(area)), echo_clause(area))


def _suffix(internal: bool) -> str:
    return ":internal" if internal else ""


def screen_rooms(device: Device) -> list[str]:
    """The Socket.IO rooms the server puts a screen in; screens never choose their own.

    `tree:<a>` for each area a above or at the screen (changes flowing down) and
    `at:<s>` for its own area (changes flowing up from its subtree)."""
    area, suffix = device.site.area, _suffix(device.internal)
    rooms = [f"device:{device.id}", f"site:{device.site_id}", f"at:{area.id}{suffix}"]
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
