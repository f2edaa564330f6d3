"""Alembic: `upgrade head` on an empty database matches the models exactly."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from server.db import Base, make_engine


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_migrations_match_the_models(request, backend):
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    engine = make_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    assert diff == []


ROWS_AT_0002 = [
    "INSERT INTO areas (id, parent_id, name, kind, path) VALUES (1, NULL, '清河镇', 'township', '/1/')",
    "INSERT INTO areas (id, parent_id, name, kind, path) VALUES (2, 1, '东山村', 'village', '/1/2/')",
    "INSERT INTO loop_revisions (area_id, revision) VALUES (1, 0), (2, 0)",
    "INSERT INTO sites (id, area_id, name, address) VALUES (1, 2, '东山村党群服务中心', '')",
    "INSERT INTO devices (id, site_id, name, kind, orientation, internal, created_at)"
    " VALUES (1, 1, '大厅屏', 'signage', 'landscape', false, '2026-11-01 00:00:00+00:00'),"
    " (2, 1, '党员活动室屏', 'signage', 'landscape', true, '2026-11-01 00:00:00+00:00')",
    "INSERT INTO users (id, username, display_name, password_hash, active, locale, created_at) VALUES"
    " (1, 'editor', '经办人', 'x', true, 'zh_CN', '2026-11-01 00:00:00+00:00'),"
    " (2, 'helper', '改稿人', 'x', true, 'zh_CN', '2026-11-01 00:00:00+00:00'),"
    " (3, 'reviewer', '审核人', 'x', true, 'zh_CN', '2026-11-01 00:00:00+00:00')",
    "INSERT INTO catalogue_categories (id, name, position) VALUES (1, '财务', 0)",
    "INSERT INTO catalogue_items (id, category_id, title, scope, timing, period, deadline_days, forms,"
    " responsible_department, position) VALUES (1, 1, '财务公开', 'public', 'regular', 'monthly', 7, 'screen', '', 0)",
    "INSERT INTO disclosures (id, area_id, catalogue_item_id, kind, scope, status, title, valid_from, author_id,"
    " created_at, updated_at) VALUES (1, 2, 1, 'notice', 'public', 'approved', '十月财务',"
    " '2026-11-01 00:00:00+00:00', 1, '2026-11-01 00:00:00+00:00', '2026-11-01 00:00:00+00:00')",
    "INSERT INTO disclosure_versions (id, disclosure_id, number, title, body_source, body_html, content_hash,"
    " created_at, created_by_id) VALUES (1, 1, 1, '十月财务', 'a', 'a', 'h1', '2026-11-01 00:00:00+00:00', 1),"
    " (2, 1, 2, '十月财务', 'b', 'b', 'h2', '2026-11-01 00:00:00+00:00', 2)",
    "INSERT INTO reviews (id, disclosure_id, version_id, reviewer_id, decision, content_hash, comment, decided_at)"
    " VALUES (1, 1, 2, 3, 'approved', 'h2', '', '2026-11-02 00:00:00+00:00')",
    "INSERT INTO feedback (id, ticket_code, area_id, device_id, kind, body, anonymous, author_name, author_phone,"
    " status, created_at, due_at) VALUES"
    " (1, 'AAAA1111', 2, 1, 'question', '问', true, '', '', 'open', '2026-11-02 00:00:00+00:00', '2026-11-09 00:00:00+00:00'),"
    " (2, 'AAAA2222', 2, 2, 'question', '问', true, '', '', 'open', '2026-11-02 00:00:00+00:00', '2026-11-09 00:00:00+00:00')",
]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_database_with_data_upgrades_from_the_previous_release(request, tmp_path, backend):
    """Rows written before 0003 survive it (SQLite rebuilds tables that rows point at) and
    are filled in: reviews name their authors, feedback from an internal screen is internal."""
    from sqlalchemy import text

    from server.migrate import upgrade
    from tests.conftest import pg_database

    def check(url: str) -> None:
        upgrade(url, "0002")
        engine = make_engine(url)
        with engine.begin() as conn:
            for statement in ROWS_AT_0002:
                conn.execute(text(statement))
        engine.dispose()
        upgrade(url)
        engine = make_engine(url)
        with engine.connect() as conn:
            authors = conn.execute(text("SELECT user_id FROM review_authors ORDER BY user_id")).scalars().all()
            scopes = conn.execute(text("SELECT scope FROM feedback ORDER BY id")).scalars().all()
            areas = conn.execute(text("SELECT count(*) FROM areas")).scalar()
        engine.dispose()
        assert authors == [1, 2] and scopes == ["public", "internal"] and areas == 2

    if backend == "sqlite":
        check(f"sqlite:///{tmp_path / 'old.db'}")
    else:
        with pg_database("sunwall_upgrade", migrate=False) as url:
            check(url)
