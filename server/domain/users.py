"""Users: creation, password checks (argon2) and API tokens for scripts."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.domain.errors import Conflict, NotFound, ValidationFailed
from server.domain.secrets import digest, new_token
from server.models import ApiToken, Area, Role, RoleGrant, User

_hasher = PasswordHasher()
# A hash to verify against when the user does not exist, so timing does not tell.
_DUMMY_HASH = _hasher.hash("sunwall-no-such-user")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
MIN_PASSWORD = 8


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(f"密码至少 {MIN_PASSWORD} 位。", field="password")
    return _hasher.hash(password)


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
        display_name=display_name or username,
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
