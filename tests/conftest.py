"""Shared fixtures: databases on both backends, the app, clients, and a small world.

Domain tests run on SQLite and PostgreSQL (the `session` fixture is parametrised);
set SUNWALL_TEST_POSTGRES=0 to skip the PostgreSQL half on a machine without it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher  # noqa: E402
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

# Cheap argon2 parameters in-process: the tests check behaviour, not hashing cost.
import server.domain.users as _users  # noqa: E402
from server.db import make_engine
from server.migrate import upgrade

_users._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

PG_ADMIN_URL = os.environ.get("SUNWALL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)  # a Friday, 10:00 in Beijing


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("SUNWALL_TEST_POSTGRES", "1") == "0":
        skip = pytest.mark.skip(reason="SUNWALL_TEST_POSTGRES=0")
        for item in items:
            if "postgresql" in item.keywords or "[postgresql" in item.nodeid:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated to head once; tests copy it."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@contextmanager
def pg_database(prefix: str, migrate: bool = True) -> Iterator[str]:
    """A new PostgreSQL database (migrated to head unless told not to), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        if migrate:
            upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """One migrated database for the whole run; tests roll their work back."""
    with pg_database("sunwall_test") as url:
        yield url


@pytest.fixture
def fresh_pg() -> Iterator[str]:
    """A migrated database of a test's own, for tests that commit."""
    with pg_database("sunwall_fresh") as url:
        yield url


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "sunwall.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def session(request: pytest.FixtureRequest) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    engine = make_engine(url)
    conn = engine.connect()
    outer = conn.begin()
    sess = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    yield sess
    sess.close()
    outer.rollback()
    conn.close()
    engine.dispose()


@dataclass
class World:
    """A township with two villages, their halls and screens, and one user per role."""

    town: Any
    village_a: Any
    village_b: Any
    site_a: Any
    site_b: Any
    screen_a: Any
    screen_a_internal: Any
    screen_b: Any
    item_public: Any
    item_internal: Any
    editor: Any
    editor_a: Any
    reviewer: Any
    handler: Any
    supervisor: Any
    admin: Any
    items: dict[Any, Any]

    def item_for(self, area: Any, item: Any) -> Any:
        """The item of the same title in the catalogue of `area`'s organisation type
        (a township office drafts from the township catalogue, a village from the village one)."""
        return self.items.get((area.kind, item.title), item)


@pytest.fixture
def make_world():
    """Factory: build a World in the given session (flushes, does not commit)."""
    from server.domain import areas, devices, users
    from server.models import (
        AreaKind,
        CatalogueCategory,
        CatalogueItem,
        DeviceKind,
        Orientation,
        Role,
        Scope,
    )

    def build(session: Session) -> World:
        town = areas.create_area(session, "测试镇", AreaKind.township)
        a = areas.create_area(session, "甲村", AreaKind.village, town)
        b = areas.create_area(session, "乙村", AreaKind.village, town)
        site_a = areas.create_site(session, a, "甲村党群服务中心")
        site_b = areas.create_site(session, b, "乙村党群服务中心")
        items = {}
        for kind in (AreaKind.village, AreaKind.township):
            cat = CatalogueCategory(name="财务与党费", position=0, org_kind=kind)
            session.add(cat)
            for title, scope in (("村级财务收支明细", Scope.public), ("预备党员转正", Scope.internal)):
                items[(kind, title)] = CatalogueItem(category=cat, title=title, scope=scope)
        session.add_all(items.values())
        session.flush()
        pub, internal = items[(AreaKind.village, "村级财务收支明细")], items[(AreaKind.village, "预备党员转正")]

        def person(name: str, role: Role, area: Any) -> Any:
            return users.create_user(
                session, username=name, password="correct-horse", display_name=name, grants=[(role, area)]
            )

        return World(
            town=town, village_a=a, village_b=b, site_a=site_a, site_b=site_b,
            screen_a=devices.create_device(
                session, None, site_a, "甲村大厅屏", DeviceKind.signage, Orientation.landscape, NOW
            ),
            screen_a_internal=devices.create_device(
                session, None, site_a, "甲村党员活动室屏", DeviceKind.signage, Orientation.landscape, NOW,
                internal=True,
            ),
            screen_b=devices.create_device(
                session, None, site_b, "乙村大厅屏", DeviceKind.signage, Orientation.landscape, NOW
            ),
            item_public=pub, item_internal=internal,
            editor=person("editor", Role.editor, town),
            editor_a=person("editor_a", Role.editor, a),
            reviewer=person("reviewer", Role.reviewer, town),
            handler=person("handler", Role.handler, town),
            supervisor=person("supervisor", Role.supervisor, town),
            admin=person("admin", Role.admin, town),
            items=items,
        )

    return build


@pytest.fixture
def now() -> dt.datetime:
    return NOW


@pytest.fixture
def app(sqlite_url: str, tmp_path: Path):
    from server.app import create_app

    app = create_app(
        {
            "TESTING": True,
            "DATA_DIR": tmp_path,
            "DATABASE_URL": sqlite_url,
            "SECRET_KEY": "test-secret",
            "PUBLIC_URL": "http://sunwall.test",
            "RATELIMIT_STORAGE_URI": "memory://",
            "ASYNC_MODE": "threading",  # in-process test client; live servers use the default
            "READ_ALOUD": "off",  # no background work behind the test client (tests/test_voice.py)
        }
    )
    yield app
    app.extensions["sunwall.db"].engine.dispose()


@pytest.fixture
def world(app, make_world) -> World:
    """A committed World in the app's database."""
    from server.extensions import session_scope

    with app.app_context(), session_scope() as s:
        built = make_world(s)
    return built


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def login(client):
    """Factory: sign a user in through the real form (with its CSRF token)."""
    import re

    def do(username: str, password: str = "correct-horse") -> Any:
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        return client.post("/login", data={"username": username, "password": password, "csrf_token": token})

    return do


def csrf_from(html: str) -> str:
    import re

    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.fixture
def bearer(app, world):
    """Factory: the Authorization header of a new API token for `username`."""
    from server.domain import users

    def issue(username: str) -> dict[str, str]:
        from server.extensions import session_scope

        with app.app_context(), session_scope() as s:
            return {"Authorization": "Bearer " + users.issue_api_token(s, users.get_user(s, username))}

    return issue


@pytest.fixture(scope="module")
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real server process with the demo township, one per test module, playing its
    default loops (the demo's schedule entries cancelled)."""
    from tests.live import demo_server

    with demo_server(tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium, one per test module."""
    from tests.browser import chromium

    with chromium() as b:
        yield b


@pytest.fixture
def contexts(browser: Any) -> Iterator[list[Any]]:
    """Browser contexts a test opens, closed after it."""
    opened: list[Any] = []
    yield opened
    for c in opened:
        c.close()
