"""Signed-in browser sessions, kept on the server so that they can be ended there.

The session cookie carries only a random token; its sha256 is stored with the user. A
session ends on logout, after an idle time, at its absolute lifetime, and — for every
session of the user at once — when the password changes or the user is disabled. A
copied cookie is therefore worth nothing after any of these.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.domain.secrets import digest, new_token
from server.models import User, UserSession

LIFETIME = dt.timedelta(hours=12)
IDLE = dt.timedelta(hours=2)
# last_seen_at is written at most this often, to spare the database on every page.
TOUCH_EVERY = dt.timedelta(minutes=1)


def start(
    session: Session, user: User, now: dt.datetime, *, address: str = "", user_agent: str = ""
) -> tuple[UserSession, str]:
    """A new session for `user`; returns the row and the token for the cookie (shown once)."""
    token = new_token()
    row = UserSession(
        user=user,
        token_hash=digest(token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + LIFETIME,
        address=address[:64],
        user_agent=user_agent[:200],
    )
    session.add(row)
    session.flush()
    return row, token


def resolve(session: Session, token: str | None, now: dt.datetime) -> UserSession | None:
    """The live session a cookie token names, or None (ended, expired, idle, user disabled).

    Only reads: the caller decides where the `touch` is written (see server.web.auth)."""
    if not token or len(token) > 200:
        return None
    row = session.scalar(select(UserSession).where(UserSession.token_hash == digest(token)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    if row.expires_at <= now or row.last_seen_at + IDLE <= now:
        return None
    return row


def touch_due(row: UserSession, now: dt.datetime) -> bool:
    return now - row.last_seen_at > TOUCH_EVERY


def touch(session: Session, row_id: int, now: dt.datetime) -> None:
    """Mark the session as used now (it stays alive for another IDLE); flushes."""
    session.execute(
        update(UserSession)
        .where(UserSession.id == row_id, UserSession.last_seen_at < now)
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )


def live(session: Session, user: User, now: dt.datetime) -> list[UserSession]:
    """The user's sessions that still work, most recently used first (the account page)."""
    query = (
        select(UserSession)
        .where(
            UserSession.user_id == user.id,
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > now,
            UserSession.last_seen_at > now - IDLE,
        )
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    )
    return list(session.scalars(query))


def end(session: Session, row: UserSession, now: dt.datetime) -> None:
    if row.revoked_at is None:
        row.revoked_at = now
        session.flush()


def end_all(session: Session, user: User, now: dt.datetime, *, keep: UserSession | None = None) -> int:
    """End every live session of `user` (password change, disabling), except `keep`."""
    query = update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    if keep is not None:
        query = query.where(UserSession.id != keep.id)
    done = session.execute(query.values(revoked_at=now).execution_options(synchronize_session=False))
    session.flush()
    return int(done.rowcount)  # type: ignore[attr-defined]
