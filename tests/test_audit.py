"""The audit log: who may read which rows, the filters, the page, CSV export, the API,
and the database refusing to change a written row (both backends)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError

from server.domain import audit, disclosures, users
from server.domain.disclosures import DraftInput
from server.domain.errors import Forbidden, NotFound, ValidationFailed
from server.extensions import session_scope
from server.models import Area, AuditEvent, Role, User

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing


def draft(world, area) -> DraftInput:
    return DraftInput(
        area_id=area.id, catalogue_item_id=world.item_public.id, title=f"{area.name}财务公开",
        valid_from=NOW, body="## 收入\n\n- 转移支付 5 万元",
    )


def person(session, name: str, *grants: tuple[Role, Area]) -> User:
    return users.create_user(session, username=name, password="correct-horse", display_name=name, grants=list(grants))


def seen_by(session, user: User, **where) -> list[str]:
    """What `user` finds, leaving out the screens the world's set-up added."""
    rows = audit.search(session, user, audit.AuditFilter(**where))
    return [f"{e.action} {e.username}" for e in rows if not e.action.startswith("device.")]


# Who sees what (domain, SQLite and PostgreSQL)


def test_a_change_in_village_a_is_seen_by_the_township_not_by_village_b(session, make_world):
    w = make_world(session)
    sup_a = person(session, "sup_a", (Role.supervisor, w.village_a))
    sup_b = person(session, "sup_b", (Role.supervisor, w.village_b))
    disclosures.create_draft(session, w.editor_a, draft(w, w.village_a), NOW)

    assert "disclosure.create editor_a" in seen_by(session, w.supervisor)
    assert "disclosure.create editor_a" in seen_by(session, w.admin)
    assert "disclosure.create editor_a" in seen_by(session, sup_a)
    assert seen_by(session, sup_b) == []
    assert audit.search(session, w.editor, audit.AuditFilter()) == []  # editors do not read the log


def test_rows_of_no_area_belong_to_the_user_who_acted(session, make_world):
    w = make_world(session)
    sup_a = person(session, "sup_a", (Role.supervisor, w.village_a))
    both = person(session, "both", (Role.admin, w.town), (Role.editor, w.village_a))
    for actor in (w.editor_a, w.editor, both):
        audit.record(session, actor, "password.change", NOW)
    audit.record(session, None, "login.failure", NOW, username="stranger")
    session.flush()

    assert seen_by(session, sup_a) == ["password.change editor_a"]
    township = seen_by(session, w.supervisor)
    assert {"password.change editor_a", "password.change editor", "password.change both",
            "login.failure stranger"} <= set(township)


def test_filters_by_area_user_action_and_time(session, make_world):
    w = make_world(session)
    a = disclosures.create_draft(session, w.editor_a, draft(w, w.village_a), NOW)
    disclosures.create_draft(session, w.editor, draft(w, w.village_b), NOW + dt.timedelta(days=2))
    disclosures.submit(session, w.editor_a, a.id, NOW + dt.timedelta(hours=1))
    sup = w.supervisor

    assert seen_by(session, sup, area_id=w.village_b.id) == ["disclosure.create editor"]
    assert seen_by(session, sup, username="editor_a") == ["disclosure.submit editor_a", "disclosure.create editor_a"]
    assert seen_by(session, sup, action="disclosure.submit") == ["disclosure.submit editor_a"]
    assert seen_by(session, sup, since=NOW + dt.timedelta(days=1)) == ["disclosure.create editor"]
    assert seen_by(session, sup, until=NOW + dt.timedelta(minutes=30)) == ["disclosure.create editor_a"]
    # newest first, and a page of one has another after it
    assert seen_by(session, sup, username="editor_a", limit=1, offset=1) == ["disclosure.create editor_a"]
    assert audit.page(session, sup, audit.AuditFilter(username="editor_a", limit=1)).more
    assert not audit.page(session, sup, audit.AuditFilter(username="editor_a", limit=2)).more


def test_bad_filters_are_refused(session, make_world):
    w = make_world(session)
    sup_a = person(session, "sup_a", (Role.supervisor, w.village_a))
    with pytest.raises(NotFound):
        audit.search(session, sup_a, audit.AuditFilter(area_id=w.village_b.id))
    with pytest.raises(ValidationFailed) as err:
        audit.search(session, sup_a, audit.AuditFilter(since=NOW, until=NOW - dt.timedelta(days=1)))
    assert err.value.field == "until"
    with pytest.raises(Forbidden):
        audit.page(session, w.editor, audit.AuditFilter())


@pytest.mark.parametrize("change", [
    lambda: update(AuditEvent).values(username="someone-else"),
    lambda: delete(AuditEvent),
])
def test_the_database_refuses_to_change_audit_rows(session, make_world, change):
    w = make_world(session)
    audit.record(session, w.editor, "password.change", NOW)
    session.flush()
    with pytest.raises(DBAPIError), session.begin_nested():
        session.execute(change())
    assert session.scalars(select(AuditEvent.username).where(AuditEvent.action == "password.change")).all() == ["editor"]


# The page, the CSV export and the API (SQLite)


def add_rows(app, world, *rows: tuple[str, str, dt.datetime, str]) -> None:
    """Rows as (username, action, when, area name: 甲村/乙村/'')."""
    with app.app_context(), session_scope() as s:
        areas = {"甲村": s.get(Area, world.village_a.id), "乙村": s.get(Area, world.village_b.id), "": None}
        for username, action, when, area in rows:
            actor = s.scalars(select(User).where(User.username == username)).one_or_none()
            audit.record(s, actor, action, when, username=username, area=areas[area], target=("disclosure", 7),
                         detail={"title": "公开事项"})


def table(resp) -> str:
    """The rows of the log on a page (the filters above it name every action too)."""
    html = resp.get_data(as_text=True)
    return html[html.index("<tbody>"):html.index("</tbody>")]


@pytest.fixture
def sup_b(app, world):
    with app.app_context(), session_scope() as s:
        person(s, "sup_b", (Role.supervisor, s.get(Area, world.village_b.id)))


def test_the_page_shows_the_callers_rows_with_chinese_labels(client, app, world, login, sup_b):
    add_rows(app, world, ("editor_a", "disclosure.approve", NOW, "甲村"))
    login("supervisor")
    rows = table(client.get("/admin/audit"))
    assert "审核通过" in rows and "editor_a" in rows and "甲村" in rows
    client.post("/logout")
    login("sup_b")
    resp = client.get("/admin/audit")
    assert resp.status_code == 200 and "审计日志" in resp.get_data(as_text=True)
    assert "审核通过" not in table(resp) and "editor_a" not in table(resp)


def test_the_page_and_its_link_are_for_supervisors_and_admins(client, world, login):
    login("editor")
    assert "审计日志" not in client.get("/admin/").get_data(as_text=True)
    assert client.get("/admin/audit").status_code == 403
    client.post("/logout")
    login("admin")
    assert "/admin/audit" in client.get("/admin/").get_data(as_text=True)


def test_dates_are_the_townships_days(client, app, world, login):
    # 2026-11-19 17:30 UTC is 2026-11-20 01:30 in Beijing: a row of the 20th there.
    add_rows(app, world, ("editor_a", "disclosure.submit", dt.datetime(2026, 11, 19, 17, 30, tzinfo=dt.UTC), "甲村"))
    login("supervisor")
    on_20th = table(client.get("/admin/audit?since=2026-11-20&until=2026-11-20"))
    on_19th = table(client.get("/admin/audit?since=2026-11-19&until=2026-11-19"))
    assert "提交审核" in on_20th and "提交审核" not in on_19th


def test_the_page_filters_and_reports_bad_filters_beside_the_field(client, app, world, login):
    add_rows(app, world, ("editor_a", "disclosure.create", NOW, "甲村"), ("editor", "disclosure.submit", NOW, "乙村"))
    login("supervisor")
    rows = table(client.get(f"/admin/audit?area_id={world.village_b.id}&action=disclosure.submit"))
    assert "提交审核" in rows and "editor_a" not in rows and "起草公开事项" not in rows
    resp = client.get("/admin/audit?area_id=99999999999999999999&since=tomorrow")
    errors = re.findall(r'class="error" role="alert">([^<]+)<', resp.get_data(as_text=True))
    assert resp.status_code == 400 and [e.split("：")[0] for e in errors] == ["区域", "开始日期"]
    resp = client.get("/admin/audit?since=2026-11-20&until=2026-11-19")
    errors = re.findall(r'class="error" role="alert">([^<]+)<', resp.get_data(as_text=True))
    assert resp.status_code == 400 and errors == ["结束日期：结束日期不能早于开始日期。"]


def test_the_page_is_paginated_newest_first(client, app, world, login):
    from server.web.audit import PAGE_SIZE

    add_rows(app, world, *[("editor_a", "disclosure.edit", NOW + dt.timedelta(minutes=i), "甲村")
                           for i in range(PAGE_SIZE + 1)])
    add_rows(app, world, ("editor_a", "disclosure.create", NOW - dt.timedelta(days=1), "甲村"))
    login("supervisor")
    first = client.get("/admin/audit?username=editor_a")
    assert "起草公开事项" not in table(first) and "page=2" in first.get_data(as_text=True)
    second = table(client.get("/admin/audit?username=editor_a&page=2"))
    assert "起草公开事项" in second and second.count("<tr>") == 2  # 102 rows: 100 + 2


def test_csv_export_has_a_bom_and_defuses_formulas(client, app, world, login):
    evil = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)"]
    add_rows(app, world, *[(name, "login.failure", NOW, "") for name in evil])
    add_rows(app, world, ("editor_a", "disclosure.approve", NOW, "甲村"))
    login("supervisor")
    resp = client.get("/admin/audit.csv")
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in resp.headers["Content-Disposition"]
    assert resp.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert rows[0][:4] == ["时间", "用户", "地址", "操作"]
    names = {r[1] for r in rows[1:]}
    assert {"'" + name for name in evil} <= names and not any(n.startswith(("=", "+", "-", "@")) for n in names)
    assert any(r[1] == "editor_a" and r[3] == "审核通过" and r[7] == "甲村" for r in rows[1:])
    only = client.get("/admin/audit.csv?action=disclosure.approve").data.decode("utf-8-sig")
    assert [r[1] for r in csv.reader(io.StringIO(only))][1:] == ["editor_a"]


def test_the_api_has_the_same_filters(client, app, world, sup_b):
    add_rows(app, world, ("editor_a", "disclosure.create", NOW, "甲村"), ("editor", "disclosure.submit", NOW, "乙村"))
    with app.app_context(), session_scope() as s:
        tokens = {
            name: {"Authorization": "Bearer " + users.issue_api_token(
                s, s.scalars(select(User).where(User.username == name)).one())}
            for name in ("supervisor", "sup_b", "editor")
        }
    q = "/api/v1/audit?action=disclosure."
    got = client.get(q + "create", headers=tokens["supervisor"]).get_json()
    assert [(e["username"], e["action_label"], e["area"]) for e in got["items"]] == [("editor_a", "起草公开事项", "甲村")]
    assert got["next_offset"] is None
    got = client.get("/api/v1/audit?limit=1", headers=tokens["supervisor"]).get_json()
    assert len(got["items"]) == 1 and got["next_offset"] == 1
    assert client.get(q + "create", headers=tokens["sup_b"]).get_json()["items"] == []
    assert [e["username"] for e in client.get(q + "submit", headers=tokens["sup_b"]).get_json()["items"]] == ["editor"]
    resp = client.get(f"/api/v1/audit?area_id={world.village_a.id}", headers=tokens["sup_b"])
    assert resp.status_code == 404 and resp.get_json()["details"]["field"] == "area_id"
    resp = client.get("/api/v1/audit?action=disclosure.destroy", headers=tokens["supervisor"])
    assert resp.status_code == 400 and "disclosure.approve" in resp.get_json()["message"]
    resp = client.get("/api/v1/audit?since=2026-11-21&until=2026-11-20", headers=tokens["supervisor"])
    assert resp.status_code == 422 and resp.get_json()["details"]["field"] == "until"
    assert client.get("/api/v1/audit", headers=tokens["editor"]).status_code == 403
