"""API: who am I, the catalogue (areas are in server.api.admin)."""

from __future__ import annotations

from sqlalchemy import select

from server.api import current_actor, endpoint
from server.api.schemas import CatalogueItemOut, CatalogueOut, CategoryOut, MeOut
from server.extensions import db_session
from server.models import CatalogueCategory


@endpoint("get", "/me", summary="The calling user and their role grants", tag="meta", response=MeOut)
def me():
    user = current_actor()
    return MeOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=[{"role": g.role.value, "area_id": g.area_id, "area": g.area.name} for g in user.grants],
    )


@endpoint("get", "/catalogue", summary="The disclosure catalogue", tag="meta", response=CatalogueOut)
def catalogue():
    current_actor()
    cats = db_session().scalars(select(CatalogueCategory).order_by(CatalogueCategory.position))
    return CatalogueOut(
        categories=[
            CategoryOut(
                id=c.id,
                name=c.name,
                items=[
                    CatalogueItemOut(
                        id=i.id, title=i.title, scope=i.scope.value, timing=i.timing.value,
                        period=i.period, deadline_days=i.deadline_days,
                    )
                    for i in c.items
                ],
            )
            for c in cats
        ]
    )
