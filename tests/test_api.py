"""JSON API: tokens, sessions with CSRF, the error shape, scope, OpenAPI."""

from __future__ import annotations

import datetime as dt

from openapi_spec_validator import validate

from server.domain import devices
from server.extensions import session_scope
from tests.conftest import csrf_from
from tests.test_public import published  # noqa: F401 - fixture


def body(world, **over):
    data = {
        "area_id": world.village_a.id,
        "catalogue_item_id": world.item_public.id,
        "title": "甲村道路施工通知",
        "body": "## 安排\n\n- 明日开工",
        "valid_from": "2026-11-20T00:00:00+08:00",
    }
    data.update(over)
    return data


def test_openapi_document_is_valid_and_covers_the_routes(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    validate(doc)
    for path in ("/disclosures", "/disclosures/{disclosure_id}/approve", "/feedback/{feedback_id}/answers",
                 "/device/enrol", "/device/manifest", "/devices/{device_id}/enrolment-codes"):
        assert path in doc["paths"], path
    rules = {r.rule for r in client.application.url_map.iter_rules() if r.rule.startswith("/api/v1/")}
    documented = {"/api/v1" + p.replace("{", "<").replace("}", ">") for p in doc["paths"]}
    normalised = {r.replace("<int:", "<").replace("<path:", "<") for r in rules}
    assert normalised == documented


def test_draft_submit_approve_through_the_api(client, world, bearer):
    created = client.post("/api/v1/disclosures", json=body(world), headers=bearer("editor"))
    assert created.status_code == 201, created.get_json()
    d = created.get_json()
    assert d["status"] == "draft" and d["body_html"].startswith("<h2>")
    did = d["id"]
    assert client.post(f"/api/v1/disclosures/{did}/submit", headers=bearer("editor")).status_code == 200
    own = client.post(f"/api/v1/disclosures/{did}/approve", json={}, headers=bearer("editor"))
    assert own.status_code == 403 and own.get_json()["code"] == "forbidden"
    ok = client.post(f"/api/v1/disclosures/{did}/approve", json={"content_hash": d["content_hash"]},
                     headers=bearer("reviewer"))
    assert ok.status_code == 200
    review = ok.get_json()["reviews"][0]
    assert review["reviewer"] == "reviewer" and review["content_hash"] == d["content_hash"]


def test_errors_share_one_shape_and_name_the_field(client, world, bearer):
    resp = client.post("/api/v1/disclosures", json=body(world, title=""), headers=bearer("editor"))
    assert resp.status_code == 422
    err = resp.get_json()
    assert set(err) == {"code", "message", "details"} and err["details"]["field"] == "title"
    resp = client.post("/api/v1/disclosures", json=body(world, valid_from="2026-11-20T00:00:00"), headers=bearer("editor"))
    assert resp.status_code == 422 and resp.get_json()["details"]["field"] == "valid_from"
    resp = client.post("/api/v1/disclosures", data="not json", headers=bearer("editor"))
    assert resp.status_code == 400 and "Content-Type: application/json" in resp.get_json()["message"]
    resp = client.post("/api/v1/disclosures", json=body(world, extra=1), headers=bearer("editor"))
    assert resp.status_code == 422 and resp.get_json()["details"]["field"] == "extra"


def test_no_or_bad_token_is_401(client, world):
    assert client.get("/api/v1/disclosures").status_code == 401
    resp = client.get("/api/v1/disclosures", headers={"Authorization": "Bearer sw_nope"})
    assert resp.status_code == 401 and resp.get_json()["code"] == "unauthenticated"


def test_other_villages_items_are_404_by_id(client, world, bearer):
    did = client.post("/api/v1/disclosures", json=body(world, area_id=world.village_b.id),
                      headers=bearer("editor")).get_json()["id"]
    resp = client.get(f"/api/v1/disclosures/{did}", headers=bearer("editor_a"))
    assert resp.status_code == 404
    assert client.get("/api/v1/disclosures", headers=bearer("editor_a")).get_json()["items"] == []


def test_session_auth_needs_csrf_header_for_writes(client, world, login):
    login("editor")
    assert client.get("/api/v1/me").get_json()["username"] == "editor"
    refused = client.post("/api/v1/disclosures", json=body(world))
    assert refused.status_code == 400 and refused.get_json()["code"] == "csrf_failed"
    token = csrf_from(client.get("/admin/disclosures/new").get_data(as_text=True))
    ok = client.post("/api/v1/disclosures", json=body(world), headers={"X-CSRFToken": token})
    assert ok.status_code == 201


def test_feedback_answers_and_reports_stay_private(client, world, bearer, app):
    import datetime as dt

    from server.domain import feedback
    from server.models import Area

    with app.app_context(), session_scope() as s:
        area = s.get(Area, world.village_a.id)
        report = feedback.submit(s, feedback.FeedbackInput(kind="report", body="有人优亲厚友"), area=area,
                                 disclosure=None, device=None, now=dt.datetime(2026, 11, 20, tzinfo=dt.UTC))
        rid = report.id
    resp = client.post(f"/api/v1/feedback/{rid}/answers", json={"body": "已转纪委核查", "public": True},
                       headers=bearer("handler"))
    assert resp.status_code == 409
    resp = client.post(f"/api/v1/feedback/{rid}/answers", json={"body": "已转纪委核查", "public": False},
                       headers=bearer("handler"))
    assert resp.status_code == 201 and resp.get_json()["status"] == "answered"
    # A report is not even visible to an editor: it looks missing.
    resp = client.post(f"/api/v1/feedback/{rid}/answers", json={"body": "x"}, headers=bearer("editor"))
    assert resp.status_code == 404


def test_device_protocol_enrol_manifest_etag_and_revocation(client, world, bearer):
    code = client.post(f"/api/v1/devices/{world.screen_a.id}/enrolment-codes", headers=bearer("admin"))
    assert code.status_code == 201
    code = code.get_json()["code"]
    enrolled = client.post("/api/v1/device/enrol", json={"code": code})
    assert enrolled.status_code == 201
    dev = {"Authorization": "Bearer " + enrolled.get_json()["token"]}
    again = client.post("/api/v1/device/enrol", json={"code": code})
    assert again.status_code == 422 and again.get_json()["details"]["field"] == "code"

    first = client.get("/api/v1/device/manifest", headers=dev)
    assert first.status_code == 200
    manifest = first.get_json()
    assert manifest["site"]["name"] == "甲村党群服务中心"
    assert first.headers["ETag"] == f'"{manifest["version"]}"'
    again = client.get("/api/v1/device/manifest", headers={**dev, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    for asset in manifest["assets"]:
        got = client.get(f"/api/v1/device/assets/{asset['path']}", headers=dev)
        import hashlib

        assert hashlib.sha256(got.data).hexdigest() == asset["sha256"]
        got.close()
    assert client.get("/api/v1/device/assets/../server/app.py", headers=dev).status_code == 404
    assert client.get("/api/v1/device/manifest").status_code == 401

    assert client.post(f"/api/v1/devices/{world.screen_a.id}/revoke", headers=bearer("admin")).status_code == 200
    assert client.get("/api/v1/device/manifest", headers=dev).status_code == 401


def test_a_screen_fetches_only_its_own_boards_and_a_revoked_one_only_what_it_was_just_given(app, client, world, bearer, published):  # noqa: F811
    from server.clock import FixedClock

    clock = FixedClock(dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC))
    app.extensions["sunwall.clock"] = clock

    def screen(device):
        code = client.post(f"/api/v1/devices/{device.id}/enrolment-codes", headers=bearer("admin")).get_json()["code"]
        return {"Authorization": "Bearer " + client.post("/api/v1/device/enrol", json={"code": code}).get_json()["token"]}

    public, party = screen(world.screen_a), screen(world.screen_a_internal)
    party_boards = {b["title"]: b for b in client.get("/api/v1/device/manifest", headers=party).get_json()["boards"]}
    public_boards = {b["title"]: b for b in client.get("/api/v1/device/manifest", headers=public).get_json()["boards"]}
    internal = party_boards["预备党员转正公示"]
    assert "预备党员转正公示" not in public_boards
    assert client.get(internal["href"], headers=party).status_code == 200
    refused = client.get(internal["href"], headers=public)  # a hash it learnt elsewhere
    assert refused.status_code == 404 and refused.get_json()["code"] == "not_found"
    shown = public_boards["甲村十月财务公开"]
    page = client.get(shown["href"], headers=public)
    assert page.status_code == 200 and "甲村十月财务公开" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "private, max-age=31536000, immutable"

    assert client.post(f"/api/v1/devices/{world.screen_a.id}/revoke", headers=bearer("admin")).status_code == 200
    # Within a minute of its manifest: the boards it was given, nothing else.
    assert client.get(shown["href"], headers=public).status_code == 200
    assert client.get(internal["href"], headers=public).status_code == 401
    clock.advance(dt.timedelta(seconds=61))
    assert client.get(shown["href"], headers=public).status_code == 401


def test_polling_screens_are_marked_seen_together_and_never_backwards(app, client, world, bearer):
    from server.api.devices import seen_book
    from server.clock import FixedClock
    from server.models import Device

    start = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
    clock = FixedClock(start)
    app.extensions["sunwall.clock"] = clock
    seen_book.take()  # what other tests of this process left

    def screen(device):
        code = client.post(f"/api/v1/devices/{device.id}/enrolment-codes", headers=bearer("admin")).get_json()["code"]
        return {"Authorization": "Bearer " + client.post("/api/v1/device/enrol", json={"code": code}).get_json()["token"]}

    def seen():
        with app.app_context(), session_scope() as s:
            return {d.id: d.last_seen_at for d in s.query(Device).filter(Device.id.in_([world.screen_a.id, world.screen_b.id]))}

    a, b = screen(world.screen_a), screen(world.screen_b)
    assert client.get("/api/v1/device/manifest", headers=a).status_code == 200
    assert seen() == {world.screen_a.id: None, world.screen_b.id: None}  # noted, not yet written
    clock.advance(dt.timedelta(seconds=10))
    assert client.get("/api/v1/device/manifest", headers=b).status_code == 200
    assert seen() == {world.screen_a.id: None, world.screen_b.id: None}
    clock.advance(dt.timedelta(seconds=6))  # the oldest note is 16 s old: this poll writes the book
    assert client.get("/api/v1/device/manifest", headers=a).status_code == 200
    assert seen() == {world.screen_a.id: start, world.screen_b.id: start + dt.timedelta(seconds=10)}
    # A note older than what the database has (another process wrote later) changes nothing.
    with app.app_context(), session_scope() as s:
        devices.write_seen(s, {world.screen_a.id: start - dt.timedelta(hours=1)})
    assert seen()[world.screen_a.id] == start


def test_scheduler_rights_are_needed_for_enrolment_codes(client, world, bearer):
    resp = client.post(f"/api/v1/devices/{world.screen_a.id}/enrolment-codes", headers=bearer("editor"))
    assert resp.status_code == 403
    resp = client.post(f"/api/v1/devices/{world.screen_b.id}/enrolment-codes", headers=bearer("editor_a"))
    assert resp.status_code == 404
