"""User administration: create, roles by subtree, no self-escalation, disable, reset, pages, API."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.domain import sessions, users
from server.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.extensions import session_scope
from server.models import AuditEvent, Role, User
from tests.conftest import NOW, csrf_from


def village_admin(session, w) -> User:
    return users.create_user(session, username="a_admin", password="correct-horse", display_name="甲村管理员",
                             grants=[(Role.admin, w.village_a)])


def test_admin_creates_a_user_who_must_change_the_password(session, make_world, now):
    w = make_world(session)
    made = users.add_user(session, w.admin, now, username="dongshan_editor", display_name="李秀兰",
                          password="Dongshan-2026", grants=[(Role.editor, w.village_a.id), (Role.reviewer, w.village_a.id)])
    assert made.must_change_password
    assert sorted(g.role.value for g in made.grants) == ["editor", "reviewer"]
    assert users.authenticate(session, "dongshan_editor", "Dongshan-2026") is made
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "user.create")).one()
    assert event.username == "admin" and event.area_path == w.village_a.path
    assert "Dongshan-2026" not in str(event.detail)


@pytest.mark.parametrize("password, reason", [
    ("short1!", "至少 8 位"),
    ("12345678", "太简单"),
    ("20261120", "全是数字"),
    ("aaaaaaaaaa", "太简单"),
    ("newclerk-2026", "用户名"),
])
def test_weak_initial_passwords_are_refused(session, make_world, now, password, reason):
    w = make_world(session)
    with pytest.raises(ValidationFailed) as weak:
        users.add_user(session, w.admin, now, username="newclerk", display_name="", password=password,
                       grants=[(Role.editor, w.village_a.id)])
    assert weak.value.field == "password" and reason in weak.value.message
    assert session.scalar(select(User).where(User.username == "newclerk")) is None


def test_an_admin_grants_only_inside_their_subtree(session, make_world, now):
    w = make_world(session)
    boss = village_admin(session, w)
    with pytest.raises(NotFound):  # the township is above the village admin
        users.add_user(session, boss, now, username="clerk", display_name="", password="Qinghe-2026",
                       grants=[(Role.editor, w.town.id)])
    with pytest.raises(NotFound):
        users.add_user(session, boss, now, username="clerk", display_name="", password="Qinghe-2026",
                       grants=[(Role.editor, w.village_b.id)])
    clerk = users.add_user(session, boss, now, username="clerk", display_name="", password="Qinghe-2026",
                           grants=[(Role.editor, w.village_a.id)])
    with pytest.raises(Conflict):
        users.add_user(session, boss, now, username="clerk", display_name="", password="Qinghe-2026",
                       grants=[(Role.editor, w.village_a.id)])
    with pytest.raises(Conflict):
        users.grant(session, boss, clerk.id, Role.editor, w.village_a.id, now)
    with pytest.raises(NotFound):
        users.grant(session, boss, clerk.id, Role.reviewer, w.town.id, now)


def test_users_with_a_grant_outside_the_subtree_are_not_manageable(session, make_world, now):
    w = make_world(session)
    boss = village_admin(session, w)
    assert [u.username for u in users.managed_users(session, boss)] == ["a_admin", "editor_a"]
    town_roles = {u.username for u in users.managed_users(session, w.admin)}
    assert {"editor", "editor_a", "reviewer", "admin", "a_admin"} <= town_roles
    # The town's editor also holds a village grant: still out of the village admin's reach.
    with pytest.raises(NotFound):
        users.set_active(session, boss, w.editor.id, False, now)
    with pytest.raises(NotFound):
        users.reset_password(session, boss, w.editor.id, "Qinghe-2026", now)
    users.grant(session, w.admin, w.editor_a.id, Role.reviewer, w.town.id, now)
    assert "editor_a" not in [u.username for u in users.managed_users(session, boss)]


def test_nobody_changes_their_own_roles_or_status(session, make_world, now):
    w = make_world(session)
    with pytest.raises(Forbidden):
        users.grant(session, w.admin, w.admin.id, Role.supervisor, w.village_a.id, now)
    with pytest.raises(Forbidden):
        users.set_active(session, w.admin, w.admin.id, False, now)
    with pytest.raises(Forbidden):
        users.reset_password(session, w.admin, w.admin.id, "Qinghe-2026", now)
    assert [g.role for g in w.admin.grants] == [Role.admin]


def test_revoke_keeps_the_last_role(session, make_world, now):
    w = make_world(session)
    extra = users.grant(session, w.admin, w.editor_a.id, Role.reviewer, w.village_a.id, now)
    only = next(g for g in w.editor_a.grants if g.role is Role.editor)
    users.revoke_grant(session, w.admin, w.editor_a.id, extra.id, now)
    assert [g.role for g in w.editor_a.grants] == [Role.editor]
    with pytest.raises(Conflict):
        users.revoke_grant(session, w.admin, w.editor_a.id, only.id, now)
    events = session.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "user", AuditEvent.target_id == str(w.editor_a.id))).all()
    assert list(events) == ["user.grant", "user.revoke_grant"]


def test_disabling_ends_every_session_and_enabling_restores_sign_in(session, make_world, now):
    w = make_world(session)
    _row, token = sessions.start(session, w.editor_a, now)
    users.set_active(session, w.admin, w.editor_a.id, False, now)
    assert sessions.resolve(session, token, now) is None
    assert users.authenticate(session, "editor_a", "correct-horse") is None
    users.set_active(session, w.admin, w.editor_a.id, True, now)
    assert users.authenticate(session, "editor_a", "correct-horse") is w.editor_a
    disabled = session.scalars(select(AuditEvent).where(AuditEvent.action == "user.disable")).one()
    assert disabled.detail["sessions_ended"] == 1


def test_password_reset_ends_sessions_and_forces_a_change(session, make_world, now):
    w = make_world(session)
    _row, token = sessions.start(session, w.editor_a, now)
    w.editor_a.failed_logins = 4
    users.reset_password(session, w.admin, w.editor_a.id, "Temporary-77", now)
    assert sessions.resolve(session, token, now) is None
    assert w.editor_a.must_change_password and w.editor_a.failed_logins == 0
    assert users.authenticate(session, "editor_a", "Temporary-77") is w.editor_a
    assert users.authenticate(session, "editor_a", "correct-horse") is None
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "user.password_reset")).one()
    assert "Temporary-77" not in str(event.detail) and event.before_digest != event.after_digest


def test_an_admin_can_clear_a_lost_second_factor_with_the_reset(session, make_world, now):
    """A user who lost phone and recovery codes is not locked out for good."""
    import pyotp

    from server.domain import signin
    from server.models import RecoveryCode

    w = make_world(session)
    secret = signin.begin_totp(session, w.editor_a, now)
    signin.enable_totp(session, w.editor_a, None, pyotp.TOTP(secret).at(now), now)
    users.reset_password(session, w.admin, w.editor_a.id, "Temporary-77", now)
    assert w.editor_a.totp_enabled  # a plain reset keeps it
    users.reset_password(session, w.admin, w.editor_a.id, "Temporary-78", now, clear_second_factor=True)
    assert not w.editor_a.totp_enabled and w.editor_a.totp_secret is None
    assert session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == w.editor_a.id)).all() == []
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "totp.disable")).one()
    assert event.username == "admin" and event.detail["user"] == "editor_a"


# -- pages and API -------------------------------------------------------------------


def test_admin_pages_create_grant_disable(app, client, world, login):
    login("admin")
    nav = client.get("/admin/").get_data(as_text=True)
    assert "/admin/users" in nav and "/admin/imports" in nav and "/admin/areas" in nav
    form = client.get("/admin/users/new").get_data(as_text=True)
    weak = client.post("/admin/users/new", data={
        "csrf_token": csrf_from(form), "username": "jiacun_rev", "display_name": "王审核", "password": "12345678",
        "role": "reviewer", "area_id": world.village_a.id,
    })
    assert weak.status_code == 422 and "密码太简单" in weak.get_data(as_text=True)
    made = client.post("/admin/users/new", data={
        "csrf_token": csrf_from(form), "username": "jiacun_rev", "display_name": "王审核", "password": "Jiacun-2026",
        "role": "reviewer", "area_id": world.village_a.id,
    })
    assert made.status_code == 302
    detail_url = made.headers["Location"]
    page = client.get(detail_url).get_data(as_text=True)
    assert "王审核" in page and "审核人" in page and "下次登录时必须先修改密码" in page
    granted = client.post(detail_url + "/grants", data={"csrf_token": csrf_from(page), "role": "handler",
                                                        "area_id": world.village_a.id}, follow_redirects=True)
    assert "已授予“承办人”（甲村）" in granted.get_data(as_text=True)
    disabled = client.post(detail_url + "/disable", data={"csrf_token": csrf_from(page)}, follow_redirects=True)
    assert "已停用 jiacun_rev" in disabled.get_data(as_text=True)
    listing = client.get("/admin/users").get_data(as_text=True)
    assert "jiacun_rev" in listing and "已停用" in listing
    with app.app_context(), session_scope() as s:
        person = users.get_user(s, "jiacun_rev")
        assert not person.active and {g.role for g in person.grants} == {Role.reviewer, Role.handler}


def test_a_new_user_is_sent_to_change_the_password_at_first_sign_in(app, client, world, login):
    with app.app_context(), session_scope() as s:
        admin = users.get_user(s, "admin")
        users.add_user(s, admin, NOW,
                       username="fresh", display_name="新人", password="Spring-start-1",
                       grants=[(Role.editor, world.village_a.id)])
    first = login("fresh", "Spring-start-1")
    assert first.status_code == 302 and "password" in first.headers["Location"]
    assert "password" in client.get("/admin/disclosures").headers.get("Location", "")


def test_user_pages_are_for_admins_only(client, world, login):
    login("reviewer")
    assert client.get("/admin/users").status_code == 403
    assert client.get(f"/admin/users/{world.editor_a.id}").status_code == 403


def test_api_users(client, world, bearer):
    admin = bearer("admin")
    made = client.post("/api/v1/users", json={
        "username": "api_clerk", "display_name": "接口", "password": "Api-clerk-2026",
        "grants": [{"role": "editor", "area_id": world.village_b.id}],
    }, headers=admin)
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["must_change_password"] and body["grants"][0]["area"] == "乙村"
    uid = body["id"]
    dup = client.post("/api/v1/users", json={"username": "api_clerk", "password": "Api-clerk-2026",
                                             "grants": [{"role": "editor", "area_id": world.village_b.id}]}, headers=admin)
    assert dup.status_code == 409 and dup.get_json()["details"]["field"] == "username"
    granted = client.post(f"/api/v1/users/{uid}/grants", json={"role": "reviewer", "area_id": world.village_b.id},
                          headers=admin).get_json()
    grant_id = next(g["id"] for g in granted["grants"] if g["role"] == "reviewer")
    revoked = client.post(f"/api/v1/users/{uid}/grants/revoke", json={"grant_id": grant_id}, headers=admin).get_json()
    assert [g["role"] for g in revoked["grants"]] == ["editor"]
    assert client.patch(f"/api/v1/users/{uid}", json={"display_name": "接口人"}, headers=admin).get_json()["display_name"] == "接口人"
    assert client.post(f"/api/v1/users/{uid}/password-reset", json={"password": "123"}, headers=admin).status_code == 422
    assert client.post(f"/api/v1/users/{uid}/disable", headers=admin).get_json()["active"] is False
    assert client.post(f"/api/v1/users/{uid}/enable", headers=admin).get_json()["active"] is True
    assert "api_clerk" in [u["username"] for u in client.get("/api/v1/users", headers=admin).get_json()["items"]]
    editor = bearer("editor_a")
    assert client.get("/api/v1/users", headers=editor).get_json()["items"] == []
    assert client.get(f"/api/v1/users/{uid}", headers=editor).status_code == 404
    assert client.post(f"/api/v1/users/{world.admin.id}/disable", headers=admin).status_code == 403
