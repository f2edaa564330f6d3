"""Database plumbing: the declarative base, column types and engine set-up.

SQLite is the embedded default (WAL mode, busy timeout, foreign keys on); any other
SQLAlchemy URL — PostgreSQL in production — is used as given.
"""

from __future__ import annotations

import datetime as dt
import enum
from contextvars import ContextVar
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, String, TypeDecorator, create_engine, event
from sqlalchemy.orm import DeclarativeBase, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class ValueEnum(TypeDecorator[enum.Enum]):
    """Store a Python enum by its value as a plain string (no native DB enum)."""

    impl = String(32)
    cache_ok = True

    def __init__(self, enum_class: type[enum.Enum], length: int = 32) -> None:
        super().__init__(length)
        self.enum_class = enum_class

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return self.enum_class(value).value

    def process_result_value(self, value: Any, dialect: Any) -> enum.Enum | None:
        if value is None:
            return None
        return self.enum_class(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# True while serving a request that may write (POST, PUT, ...): on SQLite its transaction
# then starts with BEGIN IMMEDIATE, taking the write lock before the first read. A
# deferred transaction that read first and writes later fails at once ("database is
# locked") when another writer committed in between, which would turn two reviewers
# clicking together into a 500 instead of one success and one clear conflict.
write_intent: ContextVar[bool] = ContextVar("sunwall_write_intent", default=False)


def make_engine(url: str, *, foreign_keys: bool = True) -> Engine:
    """`foreign_keys=False` is for migrations only: SQLite's batch mode rebuilds a table by
    copying and dropping it, which enforced foreign keys refuse once rows point at it."""
    if url.startswith("sqlite"):
        # isolation_level=None: pysqlite leaves BEGIN to us (SQLAlchemy's documented
        # recipe), so transactions and savepoints behave as on PostgreSQL.
        engine = create_engine(
            url, connect_args={"timeout": 15, "check_same_thread": False, "isolation_level": None}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=15000")
            cur.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False)
