"""API: the area tree, halls (sites) and user accounts, for admins and set-up scripts.

The same services as the admin pages (server.domain.areas / users): authorised by
area subtree, audited, and committed once by `endpoint`. GET /areas lists every area
the caller can see (any role); the other routes need the admin role on the area.
"""

from __future__ import annotations

import base64

from sqlalchemy import select

from server.api import current_actor, endpoint
from server.api.schemas import (
    AreaEditIn,
    AreaIn,
    AreaMoveIn,
    AreaNodeOut,
    AreaTreeOut,
    GrantIn,
    GrantOut,
    GrantRevokeIn,
    PasswordResetIn,
    SiteEditIn,
    SiteIn,
    SiteList,
    SiteOut,
    ThemeIn,
    ThemeOut,
    UserEditIn,
    UserIn,
    UserList,
    UserOut,
)
from server.clock import now
from server.domain import areas, themes, users
from server.domain.access import area_clause
from server.domain.errors import ValidationFailed
from server.extensions import db_session
from server.models import Area, AreaKind, Role, Site, User

ADMIN_ONLY = {403: "not an admin of that area", 404: "no such object in the caller's subtrees"}


def _area(area: Area, depth: int = 0) -> AreaNodeOut:
    return AreaNodeOut(id=area.id, parent_id=area.parent_id, name=area.name, kind=area.kind.value,
                       code=area.code, depth=depth, retired_at=area.retired_at)


def _site(site: Site) -> SiteOut:
    return SiteOut(id=site.id, area_id=site.area_id, area=site.area.name, name=site.name, address=site.address,
                   contact_name=site.contact_name, contact_phone=site.contact_phone, retired_at=site.retired_at)


def _user(user: User) -> UserOut:
    return UserOut(
        id=user.id, username=user.username, display_name=user.display_name, active=user.active,
        must_change_password=user.must_change_password,
        grants=[GrantOut(id=g.id, role=g.role.value, area_id=g.area_id, area=g.area.name) for g in user.grants],
    )


@endpoint("get", "/areas", summary="Areas in the caller's subtrees, as a tree", tag="areas", response=AreaTreeOut)
def list_areas():
    rows = db_session().scalars(select(Area).where(area_clause(current_actor())))
    return AreaTreeOut(items=[_area(a, depth) for a, depth in areas.tree_order(rows)])


@endpoint("post", "/areas", summary="Create an area under one the caller administers", tag="areas", body=AreaIn, response=AreaNodeOut, status=201, responses={**ADMIN_ONLY, 409: "name or code taken", 422: "kind not allowed there"})
def create_area(payload: AreaIn):
    area = areas.add_area(db_session(), current_actor(), payload.parent_id, payload.name,
                          AreaKind(payload.kind), now(), code=payload.code)
    return _area(area)


@endpoint("patch", "/areas/{id}", summary="Rename an area or set its code", tag="areas", body=AreaEditIn, response=AreaNodeOut, responses={**ADMIN_ONLY, 409: "name or code taken"})
def edit_area(id: int, payload: AreaEditIn):
    session, user = db_session(), current_actor()
    area = areas.get_area(session, user, id)
    name = area.name if payload.name is None else payload.name
    code = area.code if payload.code is None else payload.code
    return _area(areas.edit_area(session, user, id, now(), name=name, code=code))


@endpoint("post", "/areas/{id}/move", summary="Move an area and its subtree under another parent", tag="areas", body=AreaMoveIn, response=AreaNodeOut, responses={**ADMIN_ONLY, 422: "into its own subtree, or kind not allowed there"})
def move_area(id: int, payload: AreaMoveIn):
    return _area(areas.move_area(db_session(), current_actor(), id, payload.parent_id, now()))


@endpoint("post", "/areas/{id}/retire", summary="Retire an area (its sub-areas and sites first)", tag="areas", response=AreaNodeOut, responses={**ADMIN_ONLY, 409: "already retired, or still has live sub-areas or sites"})
def retire_area(id: int):
    return _area(areas.retire_area(db_session(), current_actor(), id, now()))


def _theme(area: Area, theme: themes.Theme) -> ThemeOut:
    return ThemeOut(area_id=area.id, source_area_id=theme.area_id, **theme.as_manifest())


@endpoint("get", "/areas/{id}/theme", summary="The theme in effect in an area (its own or inherited)", tag="areas", response=ThemeOut, responses={404: "no such area in the caller's subtrees"})
def get_theme(id: int):
    session = db_session()
    area = themes.visible(session, current_actor(), id)
    return _theme(area, themes.effective(session, area))


@endpoint("put", "/areas/{id}/theme", summary="Set a county's or township's theme (every screen below follows)", tag="areas", body=ThemeIn, response=ThemeOut, responses={**ADMIN_ONLY, 422: "a colour below 4.5:1 contrast, a village, a bad emblem …"})
def put_theme(id: int, payload: ThemeIn):
    session, user = db_session(), current_actor()
    area = areas.get_area(session, user, id)
    emblem = None
    if payload.emblem:
        try:
            emblem = base64.b64decode(payload.emblem, validate=True)
        except ValueError:
            raise ValidationFailed("标志图片要用 base64 编码。", field="emblem") from None
    data = themes.ThemeInput(palette=payload.palette, colours=payload.colours, header=payload.header,
                             scale=payload.scale, emblem=emblem, drop_emblem=payload.drop_emblem)
    return _theme(area, themes.save(session, user, area, data, now()))


@endpoint("delete", "/areas/{id}/theme", summary="Drop an area's own theme (it inherits again)", tag="areas", response=ThemeOut, responses=ADMIN_ONLY)
def delete_theme(id: int):
    session, user = db_session(), current_actor()
    area = areas.get_area(session, user, id)
    themes.clear(session, user, area, now())
    return _theme(area, themes.effective(session, area))


@endpoint("get", "/sites", summary="Halls in the caller's admin subtrees", tag="areas", response=SiteList)
def list_sites():
    return SiteList(items=[_site(s) for s in areas.admin_sites(db_session(), current_actor())])


@endpoint("post", "/sites", summary="Create a hall in an area", tag="areas", body=SiteIn, response=SiteOut, status=201, responses={**ADMIN_ONLY, 409: "name taken in that area"})
def create_site(payload: SiteIn):
    site = areas.add_site(db_session(), current_actor(), payload.area_id, now(), name=payload.name,
                          address=payload.address, contact_name=payload.contact_name,
                          contact_phone=payload.contact_phone)
    return _site(site)


@endpoint("patch", "/sites/{id}", summary="Change a hall's name, address or contact", tag="areas", body=SiteEditIn, response=SiteOut, responses=ADMIN_ONLY)
def edit_site(id: int, payload: SiteEditIn):
    session, user = db_session(), current_actor()
    site = areas.get_site(session, user, id)
    given = payload.model_dump(exclude_none=True)
    fields = {f: given.get(f, getattr(site, f)) for f in ("name", "address", "contact_name", "contact_phone")}
    return _site(areas.edit_site(session, user, id, now(), **fields))


@endpoint("post", "/sites/{id}/retire", summary="Retire a hall", tag="areas", response=SiteOut, responses={**ADMIN_ONLY, 409: "already retired"})
def retire_site(id: int):
    return _site(areas.retire_site(db_session(), current_actor(), id, now()))


@endpoint("get", "/users", summary="Users the caller may manage", tag="users", response=UserList)
def list_users():
    return UserList(items=[_user(u) for u in users.managed_users(db_session(), current_actor())])


@endpoint("post", "/users", summary="Create a user (must change the password at first sign-in)", tag="users", body=UserIn, response=UserOut, status=201, responses={**ADMIN_ONLY, 409: "username taken", 422: "weak password or bad username"})
def create_user(payload: UserIn):
    made = users.add_user(
        db_session(), current_actor(), now(), username=payload.username, display_name=payload.display_name,
        password=payload.password, grants=[(Role(g.role), g.area_id) for g in payload.grants],
    )
    return _user(made)


@endpoint("get", "/users/{id}", summary="One user the caller may manage", tag="users", response=UserOut, responses={404: "not a user the caller manages"})
def get_user(id: int):
    return _user(users.get_managed_user(db_session(), current_actor(), id))


@endpoint("patch", "/users/{id}", summary="Change a user's display name", tag="users", body=UserEditIn, response=UserOut, responses=ADMIN_ONLY)
def edit_user(id: int, payload: UserEditIn):
    return _user(users.edit_user(db_session(), current_actor(), id, now(), display_name=payload.display_name))


@endpoint("post", "/users/{id}/grants", summary="Grant a role on an area subtree", tag="users", body=GrantIn, response=UserOut, status=201, responses={**ADMIN_ONLY, 409: "already granted"})
def grant_role(id: int, payload: GrantIn):
    session, user = db_session(), current_actor()
    row = users.grant(session, user, id, Role(payload.role), payload.area_id, now())
    return _user(row.user)


@endpoint("post", "/users/{id}/grants/revoke", summary="Withdraw one role (not the last one)", tag="users", body=GrantRevokeIn, response=UserOut, responses={**ADMIN_ONLY, 409: "the user's last role"})
def revoke_role(id: int, payload: GrantRevokeIn):
    return _user(users.revoke_grant(db_session(), current_actor(), id, payload.grant_id, now()))


@endpoint("post", "/users/{id}/disable", summary="Disable a user and end all their sessions", tag="users", response=UserOut, responses=ADMIN_ONLY)
def disable_user(id: int):
    return _user(users.set_active(db_session(), current_actor(), id, False, now()))


@endpoint("post", "/users/{id}/enable", summary="Enable a disabled user", tag="users", response=UserOut, responses=ADMIN_ONLY)
def enable_user(id: int):
    return _user(users.set_active(db_session(), current_actor(), id, True, now()))


@endpoint("post", "/users/{id}/password-reset", summary="Set a temporary password and end the user's sessions", tag="users", body=PasswordResetIn, response=UserOut, responses={**ADMIN_ONLY, 422: "weak password"})
def reset_password(id: int, payload: PasswordResetIn):
    return _user(users.reset_password(db_session(), current_actor(), id, payload.password, now(),
                                      clear_second_factor=payload.clear_second_factor))
