"""The area tree: creating areas keeps each one's materialised path."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import Area, AreaKind, LoopRevision, Site


def create_area(session: Session, name: str, kind: AreaKind, parent: Area | None = None) -> Area:
    area = Area(name=name, kind=kind, parent=parent)
    session.add(area)
    session.flush()
    area.path = f"{parent.path if parent else '/'}{area.id}/"
    session.add(LoopRevision(area_id=area.id, revision=0))
    session.flush()
    return area


def create_site(session: Session, area: Area, name: str, address: str = "") -> Site:
    site = Site(area=area, name=name, address=address)
    session.add(site)
    session.flush()
    return site


def ancestors(session: Session, area: Area) -> list[Area]:
    ids = area.ancestor_ids()
    found = {a.id: a for a in session.scalars(select(Area).where(Area.id.in_(ids)))}
    return [found[i] for i in ids if i in found]
