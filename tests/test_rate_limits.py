"""Rate limits sized for real offices and halls: many people behind one address get
through, one attacked account is locked, floods are refused without losing what a
villager typed, and screen enrolment codes cannot be guessed at speed."""

from __future__ import annotations

import re

import pytest

from server.domain import users
from server.extensions import session_scope
from server.models import Area, Role
from tests.conftest import csrf_from
from tests.test_public import feedback_count, published, qr_path  # noqa: F401 - fixture

OFFICE = "10.20.0.1"  # a township office: every PC behind one NAT address


def browser_at(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def try_login(client, username, password):
    page = client.get("/login").get_data(as_text=True)
    return client.post("/login", data={"csrf_token": csrf_from(page), "username": username, "password": password})


def test_an_office_behind_one_address_signs_in_while_an_attacked_account_locks(app, world):
    with app.app_context(), session_scope() as s:
        town = s.get(Area, world.town.id)
        for i in range(20):
            users.create_user(s, username=f"clerk{i:02d}", password="correct-horse",
                              display_name=f"办事员{i}", grants=[(Role.editor, town)])
    attacker = browser_at(app, "203.0.113.9")
    answers = [try_login(attacker, "editor", f"guess-{i}") for i in range(6)]
    assert [a.status_code for a in answers] == [401] * 6
    assert "用户名或密码不正确" in answers[3].get_data(as_text=True)
    assert "账号已暂时锁定" in answers[4].get_data(as_text=True)
    # The whole office signs in within the minute, from the one address.
    for i in range(20):
        resp = try_login(browser_at(app, OFFICE), f"clerk{i:02d}", "correct-horse")
        assert resp.status_code == 302, (i, resp.get_data(as_text=True))
    # The attacked account's owner is told it is locked and until when, nothing more.
    owner = try_login(browser_at(app, OFFICE), "editor", "correct-horse")
    assert owner.status_code == 401 and "账号已暂时锁定，请在" in owner.get_data(as_text=True)


def test_one_address_gets_429_after_the_documented_login_rate(app, world):
    office = browser_at(app, OFFICE)
    codes = [try_login(office, f"nobody{i}", "guess").status_code for i in range(31)]
    assert codes[:30] == [401] * 30  # LOGIN_RATE: 30 per minute per address
    assert codes[30] == 429
    assert try_login(browser_at(app, "10.99.0.1"), "editor", "correct-horse").status_code == 302


def post_from(client, path, **over):
    page = client.get(path).get_data(as_text=True)
    data = {"csrf_token": csrf_from(page), "kind": "suggestion", "body": "建议村口装路灯", "anonymous": "y"}
    data.update(over)
    return client.post(path, data=data)


def test_a_hall_full_of_phones_may_post_and_a_flood_keeps_the_villagers_text(app, world, published):  # noqa: F811
    path = qr_path(app, "d", published[0], world.screen_a.id)
    hall = browser_at(app, "10.30.0.1")
    codes = [post_from(hall, path, body=f"第{i}条建议").status_code for i in range(10)]
    assert codes == [302] * 10  # FEEDBACK_RATE: 10 a minute from one hall's Wi-Fi
    refused = post_from(hall, path, body="请修一修村口的路灯", kind="opinion")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert "我要留言" in text and "操作太频繁" in text
    assert "请修一修村口的路灯" in text  # what was typed is still in the box
    assert re.search(r'<input checked[^>]*value="opinion"', text)  # and the chosen kind
    assert feedback_count(app) == 10


def test_one_screen_takes_a_bounded_number_of_posts_from_everywhere(app, world, published):  # noqa: F811
    path = qr_path(app, "d", published[0], world.screen_a.id)
    codes = [post_from(browser_at(app, f"10.40.{i}.1"), path).status_code for i in range(31)]
    assert codes[:30] == [302] * 30  # FEEDBACK_SCREEN_RATE: 30 a minute per screen
    assert codes[30] == 429
    other_screen = qr_path(app, "d", published[0], world.screen_b.id)
    assert post_from(browser_at(app, "10.41.0.1"), other_screen).status_code == 302


def test_an_expired_form_keeps_the_text_and_takes_it_on_the_second_try(app, world, published):  # noqa: F811
    path = qr_path(app, "d", published[0], world.screen_a.id)
    phone = browser_at(app, "10.50.0.1")
    phone.get(path)
    resp = phone.post(path, data={"csrf_token": "stale", "kind": "question", "body": "低保什么时候发？"})
    text = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "页面已过期" in text and "低保什么时候发？" in text
    retry = phone.post(path, data={"csrf_token": csrf_from(text), "kind": "question", "body": "低保什么时候发？"})
    assert retry.status_code == 302 and feedback_count(app) == 1


def test_a_refused_post_keeps_the_text(app, world, published):  # noqa: F811
    path = qr_path(app, "d", published[0], world.screen_a.id)
    resp = post_from(browser_at(app, "10.60.0.1"), path, body="水渠漏水", anonymous="", phone="12ab")
    assert resp.status_code == 422 and "水渠漏水" in resp.get_data(as_text=True)


def test_enrolment_codes_cannot_be_guessed_at_speed(app, world):
    guesser = browser_at(app, "198.51.100.7")
    codes = [guesser.post("/api/v1/device/enrol", json={"code": f"ABCDE{i:05d}"}) for i in range(11)]
    assert [c.status_code for c in codes[:10]] == [422] * 10  # ENROL_RATE: 10 per minute
    assert codes[10].status_code == 429
    body = codes[10].get_json()
    assert set(body) == {"code", "message", "details"} and "太频繁" in body["message"]
    assert browser_at(app, "198.51.100.8").post("/api/v1/device/enrol", json={"code": "X"}).status_code == 422


def test_receipt_batches_are_limited_per_screen_not_per_address(app, world, bearer):
    def screen_key(device):
        code = app.test_client().post(f"/api/v1/devices/{device.id}/enrolment-codes", headers=bearer("admin"))
        token = app.test_client().post("/api/v1/device/enrol", json={"code": code.get_json()["code"]}).get_json()["token"]
        return {"Authorization": "Bearer " + token}

    hall = browser_at(app, "10.30.0.1")  # every screen of the hall behind one address
    noisy, quiet = screen_key(world.screen_a), screen_key(world.screen_b)
    answers = [hall.post("/api/v1/device/receipts", json={"receipts": []}, headers=noisy) for _ in range(31)]
    assert [a.status_code for a in answers[:30]] == [200] * 30  # RECEIPT_RATE: 30 per minute
    assert answers[30].status_code == 429 and "太频繁" in answers[30].get_json()["message"]
    assert hall.post("/api/v1/device/receipts", json={"receipts": []}, headers=quiet).status_code == 200


@pytest.mark.parametrize("rate", ["FEEDBACK_RATE", "FEEDBACK_SCREEN_RATE", "LOGIN_RATE", "ENROL_RATE", "RECEIPT_RATE"])
def test_every_rate_is_documented_with_its_default(app, rate):
    from pathlib import Path

    doc = (Path(__file__).parents[1] / "docs" / "deployment.md").read_text(encoding="utf-8")
    assert f"`SUNWALL_{rate}` | `{app.config[rate]}`" in doc


def test_the_screen_budget_is_keyed_on_a_verified_qr_code(app, world, published):  # noqa: F811
    # Forged tokens naming screen A must not spend screen A's budget.
    good = qr_path(app, "d", published[0], world.screen_a.id)
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    for i in range(35):
        browser_at(app, f"10.70.{i}.1").post(forged, data={"body": "x"})
    assert post_from(browser_at(app, "10.71.0.1"), good).status_code == 302
