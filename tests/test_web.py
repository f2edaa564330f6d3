"""Admin pages: sign-in, drafting, review, four-eyes, CSRF, escaping, area scope."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from server.extensions import session_scope
from server.models import Disclosure, DisclosureStatus, Review
from tests.conftest import csrf_from


def new_draft_form(client, world, **over):
    page = client.get("/admin/disclosures/new").get_data(as_text=True)
    data = {
        "csrf_token": csrf_from(page),
        "area_id": str(world.village_a.id),
        "catalogue_item_id": str(world.item_public.id),
        "kind": "notice",
        "title": "甲村关于修缮村道的通知",
        "body": "## 施工安排\n\n- 11月25日开工\n- **请绕行**\n\n| 路段 | 工期 |\n| --- | --- |\n| 村口至小学 | 5天 |",
        "table": "",
        "valid_from": "2026-11-20",
        "valid_to": "2026-12-20",
    }
    data.update(over)
    return client.post("/admin/disclosures/new", data=data)


def test_login_rejects_wrong_password_and_accepts_right_one(client, world, login):
    bad = login("editor", "wrong-password")
    assert bad.status_code == 401
    assert "用户名或密码不正确" in bad.get_data(as_text=True)
    ok = login("editor")
    assert ok.status_code == 302
    assert "工作台" in client.get("/admin/").get_data(as_text=True)


def test_forms_without_csrf_token_are_rejected(client, world, login):
    resp = client.post("/login", data={"username": "editor", "password": "correct-horse"})
    assert resp.status_code == 400
    assert "CSRF" in resp.get_data(as_text=True)
    login("editor")
    resp = client.post("/admin/disclosures/new", data={"title": "x"})
    assert resp.status_code == 400
    with client.application.app_context(), session_scope() as s:
        assert s.scalar(select(func.count(Disclosure.id))) == 0


def test_editor_drafts_submits_and_reviewer_approves(app, client, world, login):
    login("editor")
    resp = new_draft_form(client, world)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    detail_url = resp.headers["Location"]
    page = client.get(detail_url).get_data(as_text=True)
    assert "<h2>施工安排</h2>" in page and "<strong>请绕行</strong>" in page and "<td>村口至小学</td>" in page
    client.post(detail_url + "/submit", data={"csrf_token": csrf_from(page)})
    client.post("/logout", data={"csrf_token": csrf_from(page)})

    login("reviewer")
    page = client.get(detail_url).get_data(as_text=True)
    assert "审核通过并发布" in page
    content_hash = re.search(r'name="content_hash" value="([0-9a-f]{64})"', page).group(1)
    resp = client.post(
        detail_url + "/approve",
        data={"csrf_token": csrf_from(page), "content_hash": content_hash, "comment": "同意"},
        follow_redirects=True,
    )
    text = resp.get_data(as_text=True)
    assert "审核通过" in text and "已发布" in text
    with app.app_context(), session_scope() as s:
        review = s.scalars(select(Review)).one()
        assert review.content_hash == content_hash
        assert review.reviewer.username == "reviewer"


def test_author_approving_own_item_is_refused_with_a_message(app, client, world, login):
    login("admin")  # admin may review, but never their own draft
    detail_url = new_draft_form(client, world).headers["Location"]
    page = client.get(detail_url).get_data(as_text=True)
    client.post(detail_url + "/submit", data={"csrf_token": csrf_from(page)})
    page = client.get(detail_url).get_data(as_text=True)
    assert "不能由你本人审核" in page
    resp = client.post(detail_url + "/approve", data={"csrf_token": csrf_from(page)}, follow_redirects=True)
    assert "不能审核它" in resp.get_data(as_text=True)
    with app.app_context(), session_scope() as s:
        assert s.scalars(select(Disclosure)).one().status is DisclosureStatus.submitted


def test_bad_form_input_names_the_field_and_saves_nothing(app, client, world, login):
    login("editor")
    resp = new_draft_form(client, world, title="", valid_to="2026-01-01")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "标题：请填写标题。" in text
    resp = new_draft_form(client, world, kind="table", table="姓名,金额\n张三")
    assert resp.status_code == 422
    assert "第 1 行应有 2 个单元格" in resp.get_data(as_text=True)
    with app.app_context(), session_scope() as s:
        assert s.scalar(select(func.count(Disclosure.id))) == 0


def test_script_in_title_and_body_is_inert_on_admin_pages(client, world, login):
    login("editor")
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    url = new_draft_form(client, world, title="标题" + evil, body="正文" + evil).headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x onerror" not in page
    assert "&lt;script&gt;" in page
    listing = client.get("/admin/disclosures").get_data(as_text=True)
    assert "<script>alert" not in listing


def test_village_editor_gets_404_for_another_villages_item(app, client, world, login):
    from server.domain import disclosures

    with app.app_context(), session_scope() as s:
        from server.models import User

        editor = s.scalars(select(User).where(User.username == "editor")).one()
        d = disclosures.create_draft(
            s, editor,
            disclosures.DraftInput(
                area_id=world.village_b.id, catalogue_item_id=world.item_public.id, title="乙村事项",
                valid_from=__import__("datetime").datetime(2026, 11, 1, tzinfo=__import__("datetime").UTC),
                body="正文",
            ),
            __import__("datetime").datetime(2026, 11, 1, tzinfo=__import__("datetime").UTC),
        )
        other_id = d.id
    login("editor_a")
    resp = client.get(f"/admin/disclosures/{other_id}")
    assert resp.status_code == 404
    assert "乙村事项" not in resp.get_data(as_text=True)


def test_scheduler_adds_a_screen_and_gets_a_one_time_enrolment_code(app, client, world, login):
    from server.domain import users as user_domain
    from server.models import Area, Device, Role

    with app.app_context(), session_scope() as s:
        user_domain.create_user(s, username="scheduler", password="correct-horse", display_name="排期",
                                grants=[(Role.scheduler, s.get(Area, world.village_a.id))])
    login("editor")
    assert client.get("/admin/screens/new").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/admin/").get_data(as_text=True))})
    login("scheduler")
    page = client.get("/admin/screens/new").get_data(as_text=True)
    assert "甲村党群服务中心" in page and "乙村党群服务中心" not in page
    bad = client.post("/admin/screens/new", data={"csrf_token": csrf_from(page), "site_id": world.site_b.id,
                                                  "name": "越权屏", "kind": "signage", "orientation": "landscape"})
    assert bad.status_code == 422
    ok = client.post("/admin/screens/new", data={"csrf_token": csrf_from(page), "site_id": world.site_a.id,
                                                 "name": "门口竖屏", "kind": "signage", "orientation": "portrait"},
                     follow_redirects=True)
    assert "已添加屏幕" in ok.get_data(as_text=True)
    with app.app_context(), session_scope() as s:
        device = s.scalars(select(Device).where(Device.name == "门口竖屏")).one()
        assert device.orientation.value == "portrait" and not device.internal
        assert s.scalar(select(func.count(Device.id)).where(Device.name == "越权屏")) == 0
    listing = client.get("/admin/screens").get_data(as_text=True)
    code_page = client.post(f"/admin/screens/{device.id}/enrolment-code", data={"csrf_token": csrf_from(listing)})
    code = re.search(r'--code ([0-9A-Z]{10})', code_page.get_data(as_text=True)).group(1)
    assert client.post("/api/v1/device/enrol", json={"code": code}).status_code == 201
    assert client.post("/api/v1/device/enrol", json={"code": code}).status_code == 422


def test_reviewer_sees_a_screen_preview_of_the_exact_version(client, world, login):
    login("editor")
    url = new_draft_form(client, world, title="预览中的通知").headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert f"{url}/preview/landscape" in page and f"{url}/preview/portrait" in page
    preview = client.get(f"{url}/preview/landscape")
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and preview.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "预览中的通知" in text and "layout-landscape" in text and "<script" not in text
    assert client.get(f"{url}/preview/nonsense").status_code == 404


def test_controls_are_shown_only_to_roles_that_may_use_them(client, world, login):
    login("handler")
    dashboard = client.get("/admin/").get_data(as_text=True)
    assert "起草公开事项" not in dashboard
    assert "注册码" not in client.get("/admin/screens").get_data(as_text=True)
    assert client.get("/favicon.ico").status_code == 204


def test_dates_typed_in_forms_are_in_the_townships_zone(app, client, world, login):
    import datetime as dt

    login("editor")
    new_draft_form(client, world, title="北京时间")
    app.config["TIMEZONE"] = "UTC"
    new_draft_form(client, world, title="协调世界时")
    with app.app_context(), session_scope() as s:
        starts = {d.title: d.valid_from for d in s.scalars(select(Disclosure))}
    assert starts["北京时间"] == dt.datetime(2026, 11, 19, 16, 0, tzinfo=dt.UTC)
    assert starts["协调世界时"] == dt.datetime(2026, 11, 20, 0, 0, tzinfo=dt.UTC)
