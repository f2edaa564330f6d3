"""Alembic environment: runs against the URL the caller put in the config."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context

import server.models  # noqa: F401  (registers every table)
from server.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def render_item(kind: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render our column types as the plain types they store, so migrations stay stable."""
    from server.db import UTCDateTime, ValueEnum

    if kind == "type" and isinstance(obj, ValueEnum):
        return f"sa.String(length={obj.impl.length})"
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "", foreign_keys=False)
    with engine.connect() as conn:
        _run(conn)
        if conn.dialect.name == "sqlite":
            # Keys were not enforced while tables were rebuilt: prove nothing broke.
            broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left rows with broken foreign keys: {broken[:5]}")
    engine.dispose()


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True, compare_type=True, render_item=render_item)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
