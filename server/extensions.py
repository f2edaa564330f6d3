"""Unbound extensions, bound to the app in create_app; plus the request's DB session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, g, has_request_context, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_socketio import SocketIO
from flask_wtf import CSRFProtect
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from server.db import write_intent

socketio = SocketIO()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


class Database:
    def __init__(self, engine: Engine, factory: sessionmaker[Session]) -> None:
        self.engine = engine
        self.factory = factory


def database() -> Database:
    return current_app.extensions["sunwall.db"]


def db_session() -> Session:
    """The request's session; the request boundary commits or rolls it back."""
    if "db_session" not in g:
        g.db_session = database().factory()
        # Read by the audit log: where the request came from (after ProxyFix).
        g.db_session.info["address"] = (request.remote_addr or "") if has_request_context() else ""
    return g.db_session


def close_db_session(exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.rollback()  # a no-op after a commit; undoes anything half-done
        session.close()


@contextmanager
def session_scope(factory: sessionmaker[Session] | None = None, *, write: bool = False) -> Iterator[Session]:
    """A unit of work outside a request (socket events, background work, CLI): commit or
    roll back. `write=True` when it writes: on SQLite it then takes the write lock before
    its first read (see server.db.write_intent)."""
    intent = write_intent.set(write)
    session = (factory or database().factory)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        write_intent.reset(intent)
