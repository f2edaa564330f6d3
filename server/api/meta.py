"""API: who am I (areas are in server.api.admin, the catalogue in server.api.catalogue)."""

from __future__ import annotations

from server.api import current_actor, endpoint
from server.api.schemas import MeOut


@endpoint("get", "/me", summary="The calling user and their role grants", tag="meta", response=MeOut)
def me():
    user = current_actor()
    return MeOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=[{"role": g.role.value, "area_id": g.area_id, "area": g.area.name} for g in user.grants],
    )
