"""Users: creation, password checks (argon2), API tokens for scripts, and administration.

An admin manages the users whose every role grant lies inside the admin's own subtrees,
and grants roles only there, so nobody reaches beyond their township through someone
else's account. Nobody changes their own roles or status here (that would be granting
oneself more). Every change is audited; passwords never reach the log.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.domain import access, audit, sessions
from server.domain.areas import create_area, get_area, require_active
from server.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.domain.secrets import digest, new_token
from server.models import ApiToken, Area, AreaKind, RecoveryCode, Role, RoleGrant, User

_hasher = PasswordHasher()
# A hash to verify against when the user does not exist, so timing does not tell.
_DUMMY_HASH = _hasher.hash("sunwall-no-such-user")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 128
# Passwords people pick first; refused for accounts an admin sets up.
COMMON_PASSWORDS = frozenset({
    "12345678", "123456789", "1234567890", "87654321", "11111111", "88888888", "00000000",
    "password", "password1", "passw0rd", "qwertyui", "qwerty123", "abc12345", "abcd1234",
    "a1234567", "iloveyou", "admin123", "admin1234", "1qaz2wsx", "woaini1314", "sunwall123",
})


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(f"密码至少 {MIN_PASSWORD} 位。", field="password")
    return _hasher.hash(password)


def password_problem(password: str, username: str = "") -> str | None:
    """Why a password is too weak for an account an admin creates (None if it is fine)."""
    if len(password) < MIN_PASSWORD:
        return f"密码至少 {MIN_PASSWORD} 位。"
    if len(password) > MAX_PASSWORD:
        return f"密码最多 {MAX_PASSWORD} 位。"
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(lowered)) < 4:
        return "密码太简单（常见密码或重复字符），请换一个。"
    if password.isdigit():
        return "密码不能全是数字。"
    if username and username.lower() in lowered:
        return "密码不能包含用户名。"
    return None


def check_password(password: str, username: str = "", field: str = "password") -> None:
    problem = password_problem(password, username)
    if problem:
        raise ValidationFailed(problem, field=field)


def clean_display_name(display_name: str, username: str) -> str:
    name = " ".join((display_name or "").split()) or username
    if len(name) > 64:
        raise ValidationFailed("姓名最多 64 个字。", field="display_name")
    return name


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    display_name: str,
    grants: list[tuple[Role, Area]],
) -> User:
    if not USERNAME_RE.match(username):
        raise ValidationFailed("用户名只能用 3–64 位字母、数字、点、下划线或连字符。", field="username")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict("该用户名已存在。", field="username")
    user = User(
        username=username,
        display_name=clean_display_name(display_name, username),
        password_hash=hash_password(password),
    )
    user.grants = [RoleGrant(role=role, area=area) for role, area in grants]
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username))
    try:
        if user is None or not user.active:
            _hasher.verify(_DUMMY_HASH, password + "x")
            return None
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def issue_api_token(session: Session, user: User, name: str = "cli") -> str:
    secret = "sw_" + new_token()
    session.add(ApiToken(user_id=user.id, name=name, token_hash=digest(secret)))
    session.flush()
    return secret


def user_for_token(session: Session, secret: str) -> User | None:
    token = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == digest(secret), ApiToken.revoked_at.is_(None))
    )
    if token is None or not token.user.active:
        return None
    return token.user


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"用户 {username} 不存在。", field="username")
    return user


# -- administration ------------------------------------------------------------------


def _state(user: User) -> dict[str, Any]:
    return {
        "username": user.username, "display_name": user.display_name, "active": user.active,
        "must_change_password": user.must_change_password,
        "grants": sorted(f"{g.role.value}@{g.area_id}" for g in user.grants),
    }


def _home(user: User) -> Area | None:
    """The area a user's audit rows are filed under: their topmost grant."""
    return min((g.area for g in user.grants), key=lambda a: (len(a.path), a.id), default=None)


def manageable(actor: User, user: User) -> bool:
    """True when every grant of `user` lies inside one of the actor's admin subtrees."""
    paths = access.subtree_paths(actor, [Role.admin])
    return bool(user.grants) and all(
        any(g.area.path.startswith(p) for p in paths) for g in user.grants
    )


def managed_users(session: Session, actor: User) -> list[User]:
    """The users an admin may manage, by username."""
    query = (
        select(User)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .join(Area, Area.id == RoleGrant.area_id)
        .where(access.area_clause(actor, [Role.admin]))
        .distinct()
    )
    return sorted((u for u in session.scalars(query) if manageable(actor, u)), key=lambda u: u.username)


def get_managed_user(session: Session, actor: User, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not manageable(actor, user):
        raise NotFound("未找到该用户。", field="user_id")
    return user


def _not_self(actor: User, user: User) -> None:
    if actor.id == user.id:
        raise Forbidden("不能修改自己的角色或状态，请让上级管理员操作。")


def _grant_area(session: Session, actor: User, area_id: int) -> Area:
    area = get_area(session, actor, area_id)
    require_active(area)
    return area


def _audit(session: Session, actor: User, action: str, user: User, now: dt.datetime,
           before: dict[str, Any] | None, area: Area | None = None, **detail: Any) -> None:
    audit.record(
        session, actor, action, now, target=("user", user.id), area=area or _home(user),
        before=before, after=_state(user), detail={"username": user.username, **detail},
    )


def add_user(
    session: Session, actor: User, now: dt.datetime, *, username: str, display_name: str,
    password: str, grants: list[tuple[Role, int]],
) -> User:
    """An admin creates an account; the user must choose a new password at first sign-in."""
    if not grants:
        raise ValidationFailed("请至少授予一个角色。", field="role")
    placed = [(role, _grant_area(session, actor, area_id)) for role, area_id in grants]
    check_password(password, username)
    user = create_user(session, username=username, password=password, display_name=display_name,
                       grants=list(dict.fromkeys(placed)))
    user.must_change_password = True
    session.flush()
    _audit(session, actor, "user.create", user, now, None,
           grants=[f"{r.value}@{a.id}" for r, a in placed])
    return user


def edit_user(session: Session, actor: User, user_id: int, now: dt.datetime, *, display_name: str) -> User:
    user = get_managed_user(session, actor, user_id)
    name = clean_display_name(display_name, user.username)
    if name != user.display_name:
        before = _state(user)
        user.display_name = name
        session.flush()
        _audit(session, actor, "user.edit", user, now, before, changed=["display_name"])
    return user


def grant(session: Session, actor: User, user_id: int, role: Role, area_id: int, now: dt.datetime) -> RoleGrant:
    """Give a managed user a role on an area subtree the actor administers."""
    user = get_managed_user(session, actor, user_id)
    _not_self(actor, user)
    area = _grant_area(session, actor, area_id)
    if any(g.role is role and g.area_id == area.id for g in user.grants):
        raise Conflict(f"该用户在“{area.name}”已有“{access.ROLE_LABELS[role]}”角色。", field="role")
    before = _state(user)
    row = RoleGrant(role=role, area=area)
    user.grants.append(row)
    session.flush()
    _audit(session, actor, "user.grant", user, now, before, area=area, role=role.value, area_id=area.id)
    return row


def revoke_grant(session: Session, actor: User, user_id: int, grant_id: int, now: dt.datetime) -> User:
    """Withdraw one role; the last one stays (disable the account instead)."""
    user = get_managed_user(session, actor, user_id)
    _not_self(actor, user)
    row = next((g for g in user.grants if g.id == grant_id), None)
    if row is None:
        raise NotFound("未找到该角色。", field="grant_id")
    if len(user.grants) == 1:
        raise Conflict("这是该用户唯一的角色；不再使用该账号时请停用用户。", field="grant_id")
    before, area = _state(user), row.area
    user.grants.remove(row)
    session.flush()
    _audit(session, actor, "user.revoke_grant", user, now, before, area=area,
           role=row.role.value, area_id=area.id)
    return user


def set_active(session: Session, actor: User, user_id: int, active: bool, now: dt.datetime) -> User:
    """Disable (ending every session at once) or enable an account."""
    user = get_managed_user(session, actor, user_id)
    _not_self(actor, user)
    if user.active == active:
        return user
    before = _state(user)
    user.active = active
    if active:
        _audit(session, actor, "user.enable", user, now, before)
    else:
        ended = sessions.end_all(session, user, now)
        _audit(session, actor, "user.disable", user, now, before, sessions_ended=ended)
    return user


def reset_password(
    session: Session, actor: User, user_id: int, password: str, now: dt.datetime,
    *, clear_second_factor: bool = False,
) -> User:
    """Set a temporary password: the user must change it at next sign-in; sessions end.
    `clear_second_factor` also removes two-step verification (phone and codes lost)."""
    user = get_managed_user(session, actor, user_id)
    _not_self(actor, user)
    check_password(password, user.username)
    before = _state(user)
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.failed_logins, user.locked_until = 0, None
    ended = sessions.end_all(session, user, now)
    _audit(session, actor, "user.password_reset", user, now, before, sessions_ended=ended)
    if clear_second_factor and user.totp_enabled:
        remove_second_factor(session, actor, user, now)
    return user


def create_first_admin(
    session: Session, now: dt.datetime, *, username: str, display_name: str, password: str,
    root_name: str, root_kind: AreaKind, must_change_password: bool,
) -> User | None:
    """A fresh install's root area and its first admin (`sunwall init`); None if the
    database already has users, so running it again changes nothing."""
    if session.scalar(select(User.id).limit(1)) is not None:
        return None
    check_password(password, username)
    root = create_area(session, root_name, root_kind)
    user = create_user(session, username=username, password=password, display_name=display_name,
                       grants=[(Role.admin, root)])
    user.must_change_password = must_change_password
    session.flush()
    audit.record(session, None, "area.create", now, target=("area", root.id), area=root,
                 detail={"name": root.name, "kind": root.kind.value}, username="sunwall init")
    audit.record(session, None, "user.create", now, target=("user", user.id), area=root,
                 after=_state(user), detail={"username": user.username, "grants": [f"admin@{root.id}"]},
                 username="sunwall init")
    return user


def remove_second_factor(session: Session, actor: User, user: User, now: dt.datetime) -> None:
    """Take the second factor and its recovery codes away: by the user (who proved it),
    or by an admin for a user who lost both phone and recovery codes."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    audit.record(
        session, actor, "totp.disable", now, target=("user", user.id),
        before={"totp": True}, after={"totp": False}, detail={"user": user.username},
    )
    session.flush()
