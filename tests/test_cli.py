"""The `sunwall` command: migrations, users, tokens, and the demo township."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from server.cli import main
from server.db import make_engine
from server.models import (
    Area,
    AreaKind,
    CatalogueCategory,
    CatalogueItem,
    Device,
    DeviceKind,
    Disclosure,
    DisclosureStatus,
    Feedback,
    FeedbackStatus,
    Orientation,
    Scope,
    User,
)


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("SUNWALL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SUNWALL_DATABASE_URL", raising=False)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
def demo_db(run, tmp_path):
    first = run("demo", "--no-serve", "--port", "5999")
    assert first.exit_code == 0, first.output
    assert "Seeding" in first.output
    engine = make_engine(f"sqlite:///{tmp_path / 'sunwall.db'}")
    yield engine, first.output
    engine.dispose()


def count(engine, query) -> int:
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


def test_demo_prints_urls_and_logins_and_is_idempotent(run, demo_db):
    engine, output = demo_db
    assert "http://127.0.0.1:5999/login" in output
    assert "sunwall-demo" in output and "supervisor" in output
    assert "http://127.0.0.1:5999/player/pk_" in output
    areas = count(engine, select(func.count(Area.id)))
    again = run("demo", "--no-serve", "--port", "5999")
    assert again.exit_code == 0 and "Seeding" not in again.output
    assert count(engine, select(func.count(Area.id))) == areas
    assert "/player/pk_" in again.output


def test_demo_township_is_realistic(demo_db):
    engine, _ = demo_db
    from sqlalchemy.orm import Session

    with Session(engine) as s:
        kinds = [a.kind for a in s.scalars(select(Area))]
        assert kinds.count(AreaKind.township) == 1
        assert kinds.count(AreaKind.village) >= 10 and kinds.count(AreaKind.community) >= 1
        devices = list(s.scalars(select(Device)))
        by_site: dict[int, set] = {}
        for d in devices:
            by_site.setdefault(d.site_id, set()).add((d.kind, d.orientation))
        assert len(by_site) >= 11
        for combos in by_site.values():
            assert (DeviceKind.signage, Orientation.landscape) in combos
            assert any(k is DeviceKind.kiosk for k, _ in combos)
        assert any(d.internal for d in devices)
        assert s.scalar(select(func.count(CatalogueCategory.id)).where(CatalogueCategory.org_kind == AreaKind.village)) == 7
        assert s.scalar(select(func.count(CatalogueItem.id))) >= 12
        approved = list(s.scalars(select(Disclosure).where(Disclosure.status == DisclosureStatus.approved)))
        assert len(approved) >= 20
        assert any(d.scope is Scope.internal for d in approved)
        tables = [d.published_version.table for d in approved if d.published_version.table]
        assert len(tables) >= 3
        aid = next(t for t in tables if "身份证号" in t["columns"])
        assert all("*" * 11 in row[1] and "****" in row[2] for row in aid["rows"])
        statuses = {f.status for f in s.scalars(select(Feedback))}
        assert statuses == {FeedbackStatus.open, FeedbackStatus.answered}
        assert {u.username for u in s.scalars(select(User))} == {
            "admin", "editor", "reviewer", "scheduler", "handler", "supervisor"}


def test_user_create_and_token(run, demo_db, tmp_path):
    engine, _ = demo_db
    made = run("user", "create", "zhangsan", "--role", "editor", "--area", "东山村", "--name", "张三",
               "--password", "long-enough-pw")
    assert made.exit_code == 0, made.output
    short = CliRunner().invoke(main, ["user", "create", "lisi", "--role", "editor", "--area", "东山村",
                                      "--password", "short"])
    assert short.exit_code != 0 and "密码至少" in short.output
    dup = CliRunner().invoke(main, ["user", "create", "zhangsan", "--role", "editor", "--area", "东山村",
                                    "--password", "long-enough-pw"])
    assert dup.exit_code != 0 and "已存在" in dup.output
    token = run("user", "token", "zhangsan").output.strip()
    assert token.startswith("sw_")

    from server.app import create_app

    app = create_app({"DATA_DIR": tmp_path, "SECRET_KEY": "x"})
    client = app.test_client()
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert me["username"] == "zhangsan" and me["roles"][0]["area"] == "东山村"
    areas = client.get("/api/v1/areas", headers={"Authorization": f"Bearer {token}"}).get_json()["items"]
    assert [a["name"] for a in areas] == ["东山村"]
    app.extensions["sunwall.db"].engine.dispose()
    missing = CliRunner().invoke(main, ["user", "token", "nobody"])
    assert missing.exit_code != 0


def test_db_upgrade_on_an_empty_directory(run, tmp_path):
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "sunwall.db").exists()
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_init_asks_creates_the_admin_and_catalogue_once(run, tmp_path, monkeypatch):
    for name in ("USERNAME", "PASSWORD", "NAME"):
        monkeypatch.delenv(f"SUNWALL_ADMIN_{name}", raising=False)
    monkeypatch.delenv("SUNWALL_ROOT_AREA", raising=False)
    monkeypatch.delenv("SUNWALL_ROOT_KIND", raising=False)
    answers = "zhou\n周建国\n12345678\n12345678\nQinghe-2026\nQinghe-2026\n清河镇\n乡镇\n"
    first = run("init", input=answers)
    assert first.exit_code == 0, first.output
    assert "密码太简单" in first.output  # the weak password was asked again
    assert "created admin zhou of 清河镇 (must change the password at first sign-in)" in first.output
    engine = make_engine(f"sqlite:///{tmp_path / 'sunwall.db'}")
    from sqlalchemy.orm import Session

    with Session(engine) as s:
        admin = s.scalars(select(User)).one()
        assert admin.must_change_password and admin.display_name == "周建国"
        assert [(g.role.value, g.area.name, g.area.kind) for g in admin.grants] == [("admin", "清河镇", AreaKind.township)]
        assert s.scalar(select(func.count(CatalogueCategory.id)).where(CatalogueCategory.org_kind == AreaKind.village)) == 7
        items = s.scalar(select(func.count(CatalogueItem.id)))
    again = run("init")
    assert again.exit_code == 0 and "nothing changed" in again.output and "Admin" not in again.output
    with Session(engine) as s:
        assert s.scalar(select(func.count(User.id))) == 1 and s.scalar(select(func.count(Area.id))) == 1
        assert s.scalar(select(func.count(CatalogueItem.id))) == items
    engine.dispose()


def test_init_from_the_environment_keeps_the_password(run, tmp_path, monkeypatch):
    monkeypatch.setenv("SUNWALL_ADMIN_USERNAME", "county_admin")
    monkeypatch.setenv("SUNWALL_ADMIN_PASSWORD", "County-secret-9")
    monkeypatch.setenv("SUNWALL_ADMIN_NAME", "县管理员")
    monkeypatch.setenv("SUNWALL_ROOT_AREA", "青山县")
    monkeypatch.setenv("SUNWALL_ROOT_KIND", "county")
    result = run("init", input="")
    assert result.exit_code == 0, result.output
    assert "password kept as given" in result.output
    engine = make_engine(f"sqlite:///{tmp_path / 'sunwall.db'}")
    from sqlalchemy.orm import Session

    with Session(engine) as s:
        admin = s.scalars(select(User)).one()
        assert not admin.must_change_password and admin.grants[0].area.kind is AreaKind.county
    engine.dispose()


def test_init_refuses_a_weak_password_or_a_village_root_from_the_environment(run, tmp_path, monkeypatch):
    monkeypatch.setenv("SUNWALL_ADMIN_USERNAME", "admin")
    monkeypatch.setenv("SUNWALL_ADMIN_NAME", "管理员")
    monkeypatch.setenv("SUNWALL_ROOT_AREA", "东山村")
    monkeypatch.setenv("SUNWALL_ADMIN_PASSWORD", "password")
    weak = CliRunner().invoke(main, ["init"])
    assert weak.exit_code != 0 and "SUNWALL_ADMIN_PASSWORD" in weak.output
    monkeypatch.setenv("SUNWALL_ADMIN_PASSWORD", "Strong-pass-26")
    monkeypatch.setenv("SUNWALL_ROOT_KIND", "village")
    village = CliRunner().invoke(main, ["init"])
    assert village.exit_code != 0 and "SUNWALL_ROOT_KIND" in village.output
    engine = make_engine(f"sqlite:///{tmp_path / 'sunwall.db'}")
    assert count(engine, select(func.count(User.id))) == 0
    engine.dispose()


def test_demo_and_init_share_one_catalogue(demo_db):
    from server.domain.starting_catalogue import STARTING_CATALOGUE, starting_titles

    engine, _ = demo_db
    with engine.connect() as conn:
        rows = conn.execute(select(CatalogueCategory.org_kind, CatalogueItem.title).join(CatalogueItem.category))
        titles = {(kind, title) for kind, title in rows}
    assert titles == {(kind, title) for kind in STARTING_CATALOGUE for title in starting_titles(kind)}


def test_attachments_prune_removes_an_abandoned_upload_and_its_file(run, demo_db, tmp_path):
    """An upload no draft kept, older than --days, goes with its file; the rest stays."""
    import datetime as dt

    from server.blobs import BlobStore
    from server.db import make_sessionmaker
    from server.domain import attachments
    from tests.test_attachments import jpeg_with_gps

    engine, _ = demo_db
    blobs = BlobStore(tmp_path / "blobs")
    with make_sessionmaker(engine)() as s, s.begin():
        editor = s.scalars(select(User).where(User.username == "editor")).one()
        old = attachments.store(s, editor, "没用上.jpg", jpeg_with_gps(), dt.datetime(2020, 1, 1, tzinfo=dt.UTC), blobs=blobs)
        sha = old.sha256
    assert blobs.has(sha)
    done = run("attachments", "prune", "--days", "7")
    assert done.exit_code == 0 and "removed 1 unused file(s)" in done.output
    assert not blobs.has(sha)
    assert run("attachments", "prune", "--days", "0").exit_code == 2  # out of range: refused by click
