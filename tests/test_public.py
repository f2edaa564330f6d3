"""Phone pages from a QR code: the item, feedback, tickets, floods and garbage."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from server.domain import disclosures, feedback, qrlinks
from server.extensions import session_scope
from server.models import Device, Feedback, User
from tests.conftest import csrf_from


@pytest.fixture
def published(app, world):
    """An approved public notice and an approved internal one in village A."""
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    with app.app_context(), session_scope() as s:
        editor = s.scalars(select(User).where(User.username == "editor")).one()
        reviewer = s.scalars(select(User).where(User.username == "reviewer")).one()
        ids = []
        for item, title in ((world.item_public, "甲村十月财务公开"), (world.item_internal, "预备党员转正公示")):
            d = disclosures.create_draft(
                s, editor,
                disclosures.DraftInput(area_id=world.village_a.id, catalogue_item_id=item.id, title=title,
                                       valid_from=start, body="**正文** 内容"),
                start,
            )
            disclosures.submit(s, editor, d.id, start)
            disclosures.approve(s, reviewer, d.id, start)
            ids.append(d.id)
    return ids


def qr_path(app, kind: str, board_id: int, device_id: int) -> str:
    token = qrlinks.make_token(app.config["SECRET_KEY"].encode(), qrlinks.QrTarget(kind, board_id, device_id))
    return f"/q/{token}"


def feedback_count(app) -> int:
    with app.app_context(), session_scope() as s:
        return s.scalar(select(func.count(Feedback.id))) or 0


def post_feedback(client, path, **over):
    page = client.get(path).get_data(as_text=True)
    data = {"csrf_token": csrf_from(page), "kind": "question", "body": "村道什么时候修？", "anonymous": "y"}
    data.update(over)
    return client.post(path, data=data)


def test_qr_page_shows_the_full_item_and_takes_feedback(app, client, world, published):
    path = qr_path(app, "d", published[0], world.screen_a.id)
    page = client.get(path)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "甲村十月财务公开" in text and "<strong>正文</strong>" in text
    assert "意见" in text and "建议" in text and "咨询" in text and "举报" in text
    resp = post_feedback(client, path)
    assert resp.status_code == 302
    status_url = resp.headers["Location"]
    ticket = client.get(status_url).get_data(as_text=True)
    assert "提交成功" in ticket and "回执号" in ticket and "待答复" in ticket
    with app.app_context(), session_scope() as s:
        saved = s.scalars(select(Feedback)).one()
        assert saved.ticket_code in status_url
        assert saved.device_id == world.screen_a.id and saved.disclosure_id == published[0]
        assert saved.anonymous and saved.author_name == ""


def test_internal_items_never_render_on_the_public_page(app, client, world, published):
    text = client.get(qr_path(app, "d", published[1], world.screen_a_internal.id)).get_data(as_text=True)
    assert "预备党员转正公示" not in text and "正文" not in text
    assert "党内公开事项" in text


@pytest.mark.parametrize(
    "path",
    ["/q/d1.1.AAAAAAAAAA", "/q/garbage", "/q/" + "x" * 3000, "/q/d99999.1.ABCDEFGHIJ", "/t/NOPE1234", "/nowhere"],
)
def test_unknown_or_tampered_qr_gives_a_friendly_chinese_404(app, client, world, published, path):
    resp = client.get(path)
    assert resp.status_code == 404
    assert "没有找到这个页面" in resp.get_data(as_text=True)


def test_a_valid_token_with_a_changed_device_is_refused(app, client, world, published):
    good = qr_path(app, "d", published[0], world.screen_a.id)
    forged = good.replace(f".{world.screen_a.id}.", f".{world.screen_b.id}.")
    assert client.get(forged).status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [("", "请填写内容"), ("   ", "请填写内容"), ("长" * 5000, "最多 1000 个字，现在有 5000 个")],
)
def test_empty_or_huge_feedback_is_refused_and_nothing_saved(app, client, world, published, body, message):
    resp = post_feedback(client, qr_path(app, "d", published[0], world.screen_a.id), body=body)
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    assert feedback_count(app) == 0


def test_bad_phone_and_kind_are_named(app, client, world, published):
    path = qr_path(app, "d", published[0], world.screen_a.id)
    resp = post_feedback(client, path, anonymous="", name="张三", phone="12ab")
    assert resp.status_code == 422 and "电话" in resp.get_data(as_text=True)
    resp = post_feedback(client, path, kind="spam")
    assert resp.status_code == 422 and "类型" in resp.get_data(as_text=True)
    assert feedback_count(app) == 0


def test_feedback_without_csrf_is_rejected(app, client, world, published):
    resp = client.post(qr_path(app, "d", published[0], world.screen_a.id), data={"kind": "question", "body": "x"})
    assert resp.status_code == 400
    assert feedback_count(app) == 0


def test_a_flood_from_one_address_gets_429_after_the_documented_rate(app, client, world, published):
    path = qr_path(app, "d", published[0], world.screen_a.id)
    codes = [post_feedback(client, path, body=f"第{i}条").status_code for i in range(12)]
    assert codes[:10] == [302] * 10  # FEEDBACK_RATE: 10 per minute per address
    assert codes[10:] == [429, 429]
    assert "操作太频繁" in post_feedback(client, path).get_data(as_text=True)
    assert feedback_count(app) == 10
    # Another address is not affected.
    other = client.post(path, data={}, environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code != 429


def test_echo_wall_page_shows_public_answers_without_names_or_phones(app, client, world, published):
    with app.app_context(), session_scope() as s:
        from server.models import Area

        area = s.get(Area, world.village_a.id)
        ticket = feedback.submit(
            s, feedback.FeedbackInput(kind="question", body="低保怎么申请？我的电话13812345678", anonymous=False,
                                      name="王大妈", phone="13912345678"),
            area=area, disclosure=None, device=s.get(Device, world.screen_a.id), now=dt.datetime(2026, 11, 2, tzinfo=dt.UTC),
        )
        handler = s.scalars(select(User).where(User.username == "handler")).one()
        feedback.answer(s, handler, ticket.id, "请带户口本到村委会办理。", True, dt.datetime(2026, 11, 3, tzinfo=dt.UTC))
        code = ticket.ticket_code
    text = client.get(qr_path(app, "e", world.village_a.id, world.screen_a.id)).get_data(as_text=True)
    assert "低保怎么申请" in text and "请带户口本到村委会办理" in text
    assert "王大妈" not in text and "13912345678" not in text and "13812345678" not in text
    assert "138****5678" in text
    status = client.get(f"/t/{code}").get_data(as_text=True)
    assert "请带户口本到村委会办理" in status and "已答复" in status


def test_script_in_feedback_is_escaped_on_the_ticket_page(app, client, world, published):
    path = qr_path(app, "d", published[0], world.screen_a.id)
    resp = post_feedback(client, path, body='<script>alert(1)</script><img src=x onerror=alert(2)>')
    text = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "<script>alert(1)" not in text and "<img src=x" not in text
    assert "&lt;script&gt;" in text


def test_healthz(client, world):
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.get_json()["status"] == "ok"


def test_an_item_past_its_posting_period_shows_no_content_on_the_phone(app, client, world):
    """Defect: an aid list with names stayed readable from its QR code after valid_to."""
    from server.clock import FixedClock

    start, end = dt.datetime(2026, 11, 1, tzinfo=dt.UTC), dt.datetime(2026, 11, 8, tzinfo=dt.UTC)
    with app.app_context(), session_scope() as s:
        editor = s.scalars(select(User).where(User.username == "editor")).one()
        reviewer = s.scalars(select(User).where(User.username == "reviewer")).one()
        d = disclosures.create_draft(
            s, editor,
            disclosures.DraftInput(area_id=world.village_a.id, catalogue_item_id=world.item_public.id,
                                   title="困难群众救助名单公示", valid_from=start, valid_to=end, body="张三 李四 王五"),
            start,
        )
        disclosures.submit(s, editor, d.id, start)
        disclosures.approve(s, reviewer, d.id, start)
        disclosure_id = d.id
    path = qr_path(app, "d", disclosure_id, world.screen_a.id)
    clock = FixedClock(end - dt.timedelta(minutes=1))
    app.extensions["sunwall.clock"] = clock
    assert "张三 李四 王五" in client.get(path).get_data(as_text=True)
    clock.set(end)
    text = client.get(path).get_data(as_text=True)
    assert "公示期已结束" in text and "张三" not in text
    # The citizen can still write, and staff still see the item in the admin UI.
    assert post_feedback(client, path).status_code == 302
    assert feedback_count(app) == 1
    client.post("/logout")
    login = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"username": "supervisor", "password": "correct-horse", "csrf_token": csrf_from(login)})
    assert "张三 李四 王五" in client.get(f"/admin/disclosures/{disclosure_id}").get_data(as_text=True)


def test_internal_feedback_answers_never_reach_the_public_echo_wall_page(app, client, world, published):
    with app.app_context(), session_scope() as s:
        from server.models import Area

        area = s.get(Area, world.village_a.id)
        internal_item = s.get(disclosures.Disclosure, published[1])
        ticket = feedback.submit(
            s, feedback.FeedbackInput(kind="question", body="转正公示在哪看？"),
            area=area, disclosure=internal_item, device=s.get(Device, world.screen_a.id), now=dt.datetime(2026, 11, 2, tzinfo=dt.UTC),
        )
        handler = s.scalars(select(User).where(User.username == "handler")).one()
        feedback.answer(s, handler, ticket.id, "党员活动室公示栏", True, dt.datetime(2026, 11, 3, tzinfo=dt.UTC))
    text = client.get(qr_path(app, "e", world.village_a.id, world.screen_a_internal.id)).get_data(as_text=True)
    assert "转正公示在哪看" not in text and "党员活动室公示栏" not in text
