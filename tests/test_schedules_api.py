"""Scheduling API: a round trip (playlist → group → entry → week → cancel), 422s that
name the field, and 404 for anything outside the caller's subtree."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from openapi_spec_validator import validate

from server.clock import FixedClock
from server.domain import disclosures, users
from server.domain.disclosures import DraftInput
from server.extensions import session_scope
from server.models import Role
from tests.conftest import NOW

API = "/api/v1"


@pytest.fixture
def town(app, world) -> dict[str, Any]:
    app.extensions["sunwall.clock"] = FixedClock(NOW)
    with app.app_context(), session_scope() as s:
        for name, area in (("sched_town", world.town), ("sched_a", world.village_a), ("sched_b", world.village_b)):
            users.create_user(s, username=name, password="correct-horse", display_name=name, grants=[(Role.scheduler, s.merge(area))])
        editor, reviewer = users.get_user(s, "editor"), users.get_user(s, "reviewer")
        made = {}
        for key, item in (("public", world.item_public), ("secret", world.item_internal)):
            d = disclosures.create_draft(s, editor, DraftInput(area_id=world.village_a.id, catalogue_item_id=item.id,
                                                               title=f"甲村{key}", valid_from=NOW - dt.timedelta(days=1), body="正文"), NOW)
            disclosures.submit(s, editor, d.id, NOW)
            disclosures.approve(s, reviewer, d.id, NOW)
            made[key] = d.id
    return made


def problem(resp, status: int, field: str) -> str:
    body = resp.get_json()
    assert resp.status_code == status, body
    assert set(body) == {"code", "message", "details"} and body["details"].get("field") == field, body
    return body["message"]


def test_the_openapi_document_lists_the_scheduling_routes(client):
    doc = client.get(f"{API}/openapi.json").get_json()
    validate(doc)
    for path in ("/playlists", "/playlists/{playlist_id}", "/playlists/{playlist_id}/retire", "/schedule-entries",
                 "/schedule-entries/{entry_id}/cancel", "/device-groups", "/device-groups/{group_id}",
                 "/device-groups/{group_id}/retire", "/devices/{device_id}/week", "/disclosures/{disclosure_id}/default-loop"):
        assert path in doc["paths"], path
    week = doc["paths"]["/devices/{device_id}/week"]["get"]
    assert week["tags"] == ["scheduling"] and [p["name"] for p in week["parameters"]] == ["device_id", "start"]
    assert "from" in doc["components"]["schemas"]["StretchOut"]["properties"]


def test_a_round_trip_playlist_group_entry_week_cancel(client, town, bearer, world):
    me = bearer("sched_town")
    made = client.post(f"{API}/playlists", headers=me, json={
        "area_id": world.town.id, "name": "晚间节目",
        "items": [{"disclosure_id": town["public"], "duration": 30}, {"kind": "echo_wall"}],
    })
    assert made.status_code == 201, made.get_json()
    playlist = made.get_json()
    assert [(i["kind"], i["seconds"], i["plays"]) for i in playlist["items"]] == [("disclosure", 30, True), ("echo_wall", 20, True)]
    assert playlist["loop_seconds"] == 50 and playlist["internal"] is False
    pid = playlist["id"]
    renamed = client.put(f"{API}/playlists/{pid}", headers=me, json={"name": "晚间", "items": [{"kind": "echo_wall"}, {"disclosure_id": town["public"]}]})
    assert renamed.status_code == 200 and [i["title"] for i in renamed.get_json()["items"]] == ["回音壁", "甲村public"]
    assert client.get(f"{API}/playlists/{pid}", headers=me).get_json()["name"] == "晚间"

    group = client.post(f"{API}/device-groups", headers=me, json={"area_id": world.town.id, "name": "两村大厅屏",
                                                                 "device_ids": [world.screen_a.id, world.screen_b.id]})
    assert group.status_code == 201 and [d["name"] for d in group.get_json()["devices"]] == ["甲村大厅屏", "乙村大厅屏"]
    gid = group.get_json()["id"]
    one = client.put(f"{API}/device-groups/{gid}", headers=me, json={"name": "甲村大厅", "device_ids": [world.screen_a.id]})
    assert one.status_code == 200 and len(one.get_json()["devices"]) == 1

    entry = client.post(f"{API}/schedule-entries", headers=me, json={
        "playlist_id": pid, "target_kind": "group", "target_id": gid, "starts_on": "2026-11-20",
        "weekdays": [1, 2, 3, 4, 5], "dayparts": [{"start": "18:00", "end": "22:00"}], "priority": 20, "note": "工作日晚上",
    })
    assert entry.status_code == 201, entry.get_json()
    e = entry.get_json()
    assert e["target"] == "屏幕分组“甲村大厅”" and e["weekdays"] == [1, 2, 3, 4, 5]
    assert e["dayparts"] == [{"start": "18:00", "end": "22:00"}] and e["audience"] == "all"
    assert [x["id"] for x in client.get(f"{API}/schedule-entries", headers=me).get_json()["items"]] == [e["id"]]

    week = client.get(f"{API}/devices/{world.screen_a.id}/week?start=2026-11-23", headers=me)
    assert week.status_code == 200, week.get_json()
    w = week.get_json()
    assert w["from"] == "2026-11-22T16:00:00Z" and w["until"] == "2026-11-29T16:00:00Z" and w["timezone"] == "Asia/Shanghai"
    evening = [s for s in w["stretches"] if not s["default_loop"]]
    assert [(s["from"], s["until"]) for s in evening][0] == ("2026-11-23T10:00:00Z", "2026-11-23T14:00:00Z")
    assert len(evening) == 5 and evening[0]["entries"] == [{"id": e["id"], "playlist_id": pid, "playlist": "晚间", "priority": 20}]
    assert evening[0]["priority"] == 20 and w["stretches"][0]["default_loop"] and w["stretches"][0]["priority"] is None
    other = client.get(f"{API}/devices/{world.screen_b.id}/week", headers=me).get_json()
    assert [s["default_loop"] for s in other["stretches"]] == [True]

    busy = client.post(f"{API}/playlists/{pid}/retire", headers=me)
    assert busy.status_code == 409
    cancelled = client.post(f"{API}/schedule-entries/{e['id']}/cancel", headers=me)
    assert cancelled.status_code == 200 and cancelled.get_json()["cancelled_at"]
    assert client.get(f"{API}/schedule-entries", headers=me).get_json()["items"] == []
    assert client.post(f"{API}/schedule-entries/{e['id']}/cancel", headers=me).status_code == 409
    assert client.post(f"{API}/playlists/{pid}/retire", headers=me).get_json()["retired_at"]
    assert client.post(f"{API}/device-groups/{gid}/retire", headers=me).get_json()["retired_at"]
    assert client.get(f"{API}/playlists", headers=me).get_json()["items"] == []


def test_bad_input_is_a_422_naming_the_field(client, town, bearer, world):
    me = bearer("sched_a")
    pid = client.post(f"{API}/playlists", headers=me, json={"area_id": world.village_a.id, "name": "白天", "items": [{"kind": "echo_wall"}]}).get_json()["id"]
    secret_list = client.post(f"{API}/playlists", headers=me, json={"area_id": world.village_a.id, "name": "党内",
                                                                    "items": [{"disclosure_id": town["secret"]}]}).get_json()
    assert secret_list["internal"] is True
    good = {"playlist_id": pid, "target_kind": "site", "target_id": world.site_a.id, "starts_on": "2026-11-20"}
    cases = [
        ({**good, "dayparts": [{"start": "22:00", "end": "02:00"}]}, "dayparts", "拆成两段"),
        ({**good, "dayparts": [{"start": "8点", "end": "12:00"}]}, "dayparts.0.start", "格式"),
        ({**good, "dayparts": [{"start": "08:00", "end": "24:01"}]}, "dayparts.0.end", "不存在"),
        ({**good, "starts_on": "2026-12-10", "ends_on": "2026-12-01"}, "ends_on", "不能早于"),
        ({**good, "starts_on": "2026-11-01", "ends_on": "2026-11-19"}, "ends_on", "已经过去"),
        ({**good, "weekdays": []}, "weekdays", "星期"),
        ({**good, "weekdays": [0]}, "weekdays.0", "不能小于 1"),
        ({**good, "priority": 500}, "priority", "1–100"),
        ({**good, "target_id": world.site_b.id}, "target_id", "不在你可以排期的范围内"),
        ({**good, "target_kind": "hall"}, "target_kind", "只能是"),
        ({**good, "playlist_id": secret_list["id"]}, "audience", "党内屏"),
        ({**good, "colour": "red"}, "colour", "不是可接受的字段"),
    ]
    for body, field, says in cases:
        message = problem(client.post(f"{API}/schedule-entries", headers=me, json=body), 422, field)
        assert says in message, (field, message)
    ok = client.post(f"{API}/schedule-entries", headers=me, json={**good, "dayparts": [{"start": "18:00", "end": "22:00"}]})
    assert ok.status_code == 201
    dup = client.post(f"{API}/schedule-entries", headers=me, json={**good, "dayparts": [{"start": "21:00", "end": "23:00"}]})
    assert "重复" in problem(dup, 422, "starts_on")
    # An internal item in a playlist an entry plays on every screen.
    added = client.put(f"{API}/playlists/{pid}", headers=me, json={"name": "白天", "items": [{"disclosure_id": town["secret"]}]})
    assert "党内事项" in problem(added, 422, "items")
    problem(client.post(f"{API}/playlists", headers=me, json={"area_id": world.village_a.id, "name": "短", "items": [{"kind": "echo_wall", "duration": 3}]}),
            422, "items.0.duration")
    problem(client.post(f"{API}/playlists", headers=me, json={"area_id": world.village_a.id, "name": "", "items": [{"kind": "echo_wall"}]}), 422, "name")
    problem(client.post(f"{API}/device-groups", headers=me, json={"area_id": world.village_a.id, "name": "越界", "device_ids": [world.screen_b.id]}),
            422, "device_ids")
    assert client.get(f"{API}/schedule-entries?include_past=maybe", headers=me).status_code == 400
    assert client.get(f"{API}/devices/{world.screen_a.id}/week?start=9999-12-31", headers=me).status_code == 400


def test_anything_outside_the_callers_subtree_is_404(client, town, bearer, world):
    mine = bearer("sched_a")
    pid = client.post(f"{API}/playlists", headers=mine, json={"area_id": world.village_a.id, "name": "甲村", "items": [{"kind": "echo_wall"}]}).get_json()["id"]
    gid = client.post(f"{API}/device-groups", headers=mine, json={"area_id": world.village_a.id, "name": "甲村屏", "device_ids": [world.screen_a.id]}).get_json()["id"]
    eid = client.post(f"{API}/schedule-entries", headers=mine, json={"playlist_id": pid, "target_kind": "site", "target_id": world.site_a.id,
                                                                     "starts_on": "2026-11-20"}).get_json()["id"]
    theirs = bearer("sched_b")
    assert client.get(f"{API}/playlists", headers=theirs).get_json()["items"] == []
    assert client.get(f"{API}/schedule-entries", headers=theirs).get_json()["items"] == []
    assert client.get(f"{API}/device-groups", headers=theirs).get_json()["items"] == []
    for method, url, body in [
        ("get", f"/playlists/{pid}", None),
        ("put", f"/playlists/{pid}", {"name": "改", "items": [{"kind": "echo_wall"}]}),
        ("post", f"/playlists/{pid}/retire", None),
        ("post", f"/schedule-entries/{eid}/cancel", None),
        ("put", f"/device-groups/{gid}", {"name": "改", "device_ids": []}),
        ("post", f"/device-groups/{gid}/retire", None),
        ("get", f"/devices/{world.screen_a.id}/week", None),
        ("put", f"/disclosures/{town['public']}/default-loop", {"in_default_loop": False}),
        ("post", "/playlists", {"area_id": world.village_a.id, "name": "闯入", "items": [{"kind": "echo_wall"}]}),
    ]:
        resp = getattr(client, method)(API + url, headers=theirs, json=body)
        assert resp.status_code == 404, (method, url, resp.get_json())
    resp = client.post(f"{API}/schedule-entries", headers=theirs, json={"playlist_id": pid, "target_kind": "site",
                                                                       "target_id": world.site_b.id, "starts_on": "2026-11-20"})
    problem(resp, 404, "playlist_id")
    assert client.get(f"{API}/playlists/{pid}", headers=mine).status_code == 200


def test_the_default_loop_flag_through_the_api(client, town, bearer):
    url = f"{API}/disclosures/{town['public']}/default-loop"
    out = client.put(url, headers=bearer("editor_a"), json={"in_default_loop": False})
    assert out.status_code == 200 and out.get_json() == {"disclosure_id": town["public"], "title": "甲村public", "in_default_loop": False}
    assert client.put(url, headers=bearer("sched_a"), json={"in_default_loop": True}).status_code == 403
    problem(client.put(url, headers=bearer("reviewer"), json={"in_default_loop": "sometimes"}), 422, "in_default_loop")
