"""Bad input is a clear 4xx in the one error shape, never a 500 (issue 5, defect 5)."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

HUGE = 2**63  # one past the largest 64-bit database key


def draft(world, **over):
    data = {
        "area_id": world.village_a.id,
        "catalogue_item_id": world.item_public.id,
        "title": "甲村道路施工通知",
        "body": "## 安排\n\n- 明日开工",
        "valid_from": "2026-11-20T00:00:00+08:00",
    }
    return {**data, **over}


def error_of(resp, status: int) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)[:300]
    err = resp.get_json()
    assert set(err) == {"code", "message", "details"}
    return err


# 1. Ids beyond 64 bits


@pytest.mark.parametrize("url", [
    f"/api/v1/disclosures/{HUGE}",
    "/api/v1/disclosures/99999999999999999999",
    f"/api/v1/feedback/{HUGE}",
    f"/api/v1/disclosures/{HUGE - 1}",  # the largest key: looked up, simply missing
])
def test_huge_ids_in_api_urls_are_404(client, bearer, url):
    assert error_of(client.get(url, headers=bearer("editor")), 404)["code"] == "not_found"


def test_huge_ids_in_api_urls_of_writes_are_404(client, bearer):
    resp = client.post(f"/api/v1/devices/{HUGE}/revoke", headers=bearer("admin"))
    assert error_of(resp, 404)["code"] == "not_found"


@pytest.mark.parametrize("url", [
    "/admin/disclosures/99999999999999999999",
    f"/admin/disclosures/{HUGE}/edit",
    f"/admin/feedback/{HUGE}",
])
def test_huge_ids_in_admin_urls_are_the_friendly_404(client, world, login, url):
    login("admin")
    resp = client.get(url)
    assert resp.status_code == 404 and "没有找到这个页面" in resp.get_data(as_text=True)


def test_every_integer_in_a_route_is_capped_at_64_bits(app):
    from werkzeug.routing import IntegerConverter

    capped = [
        (rule.rule, conv.max)
        for rule in app.url_map.iter_rules()
        for conv in rule._converters.values()
        if isinstance(conv, IntegerConverter)
    ]
    assert capped and all(limit == 2**63 - 1 for _, limit in capped), capped


@pytest.mark.parametrize("name", ["area_id", "catalogue_item_id"])
@pytest.mark.parametrize("value", [HUGE, 10**30, 0])
def test_ids_in_json_bodies_are_bounded(client, world, bearer, name, value):
    resp = client.post("/api/v1/disclosures", json=draft(world, **{name: value}), headers=bearer("editor"))
    err = error_of(resp, 422)
    assert err["details"]["field"] == name and name in err["message"]


def test_every_id_in_a_body_or_query_schema_is_bounded():
    from typing import Annotated

    from pydantic import TypeAdapter, ValidationError

    from server.api import OPERATIONS

    fields = {
        (model.__name__, name): field
        for op in OPERATIONS
        for model in (op.body, op.query) if model is not None
        for name, field in model.model_fields.items() if name == "id" or name.endswith("_id")
    }
    assert ("DisclosureIn", "area_id") in fields and ("AuditQuery", "area_id") in fields

    def accepts_huge(field) -> bool:
        try:
            TypeAdapter(Annotated[field.annotation, field]).validate_python(HUGE)
        except ValidationError:
            return False
        return True

    assert [where for where, field in fields.items() if accepts_huge(field)] == []


def test_huge_id_in_a_query_is_400_naming_it(client, bearer):
    err = error_of(client.get(f"/api/v1/audit?area_id={HUGE}", headers=bearer("supervisor")), 400)
    assert err["details"]["field"] == "area_id" and "area_id" in err["message"]


# 2. JSON nested too deep, malformed, or not JSON at all


@pytest.mark.parametrize("raw", ["[" * 5000 + "]" * 5000, '{"a":' * 5000 + "1" + "}" * 5000, "[" * 100000])
def test_deeply_nested_json_is_400(client, bearer, raw):
    resp = client.post("/api/v1/disclosures", data=raw, content_type="application/json", headers=bearer("editor"))
    err = error_of(resp, 400)
    assert "JSON 嵌套过深" in err["message"] and err["details"]["field"] == "body"


def test_brackets_inside_strings_are_not_nesting(client, world, bearer):
    resp = client.post("/api/v1/disclosures", json=draft(world, title='[{"' * 40), headers=bearer("editor"))
    assert resp.status_code == 201, resp.get_json()


@pytest.mark.parametrize("raw", ['{"title": ', "{'title': 1}", '{"rows": NaN}', '{"n": 1e999}', b"\xff\xfe\x00"])
def test_malformed_json_is_400_saying_so(client, bearer, raw):
    resp = client.post("/api/v1/disclosures", data=raw, content_type="application/json", headers=bearer("editor"))
    err = error_of(resp, 400)
    assert "不是有效的 JSON" in err["message"] and err["details"]["field"] == "body"


def test_a_body_that_is_not_declared_json_is_400(client, world, bearer):
    import json

    resp = client.post("/api/v1/disclosures", data=json.dumps(draft(world)), content_type="text/plain",
                       headers=bearer("editor"))
    assert "Content-Type: application/json" in error_of(resp, 400)["message"]


@pytest.mark.parametrize("payload", [[1, 2], "标题", 42, None])
def test_a_body_that_is_not_an_object_is_422_naming_body(client, bearer, payload):
    import json

    resp = client.post("/api/v1/disclosures", data=json.dumps(payload), content_type="application/json",
                       headers=bearer("editor"))
    err = error_of(resp, 422)
    assert err["details"]["field"] == "body" and "JSON 对象" in err["message"]


def test_strings_beyond_the_schema_are_422_in_chinese(client, world, bearer):
    resp = client.post("/api/v1/disclosures", json=draft(world, title="长" * 5000), headers=bearer("editor"))
    err = error_of(resp, 422)
    assert err["details"]["field"] == "title" and "最多 120 个字符" in err["message"]
    table = {"columns": ["姓名"], "rows": [["x" * 100_000]]}
    resp = client.post("/api/v1/disclosures", json=draft(world, kind="table", table=table), headers=bearer("editor"))
    err = error_of(resp, 422)
    assert err["details"]["field"] == "table.rows.0.0" and "500 个字符" in err["message"]


def test_a_body_over_the_size_limit_is_413_in_the_error_shape(app, client, world, bearer):
    app.config["MAX_CONTENT_LENGTH"] = 4096
    resp = client.post("/api/v1/disclosures", json=draft(world, body="字" * 4000), headers=bearer("editor"))
    err = error_of(resp, 413)
    assert err["details"]["max_bytes"] == 4096


# 3. Query parameters are checked by schema


@pytest.mark.parametrize("path", ["/api/v1/disclosures", "/api/v1/feedback"])
def test_unknown_status_in_an_api_list_is_400_naming_the_allowed_values(client, bearer, path):
    err = error_of(client.get(f"{path}?status=bogus", headers=bearer("supervisor")), 400)
    assert err["details"]["field"] == "status" and "status" in err["message"] and "bogus" in err["message"]
    assert err["details"]["allowed"] and all(value in err["message"] for value in err["details"]["allowed"])


def test_unknown_query_parameters_are_400_naming_them(client, bearer):
    err = error_of(client.get("/api/v1/disclosures?stauts=draft&page=2", headers=bearer("editor")), 400)
    assert err["details"]["unknown"] == ["page", "stauts"] and "stauts" in err["message"]
    err = error_of(client.get("/api/v1/disclosures?status=draft&status=approved", headers=bearer("editor")), 400)
    assert err["details"]["field"] == "status"


def test_a_valid_status_still_filters(client, world, bearer):
    created = client.post("/api/v1/disclosures", json=draft(world), headers=bearer("editor")).get_json()
    drafts = client.get("/api/v1/disclosures?status=draft", headers=bearer("editor")).get_json()["items"]
    approved = client.get("/api/v1/disclosures?status=approved", headers=bearer("editor")).get_json()["items"]
    assert [d["id"] for d in drafts] == [created["id"]] and approved == []


def test_the_openapi_document_lists_query_parameters(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    validate(doc)
    params = {p["name"]: p for p in doc["paths"]["/disclosures"]["get"]["parameters"]}
    assert params["status"]["in"] == "query" and "submitted" in params["status"]["schema"]["enum"]
    assert params["status"]["description"]
    audit = {p["name"]: p for p in doc["paths"]["/audit"]["get"]["parameters"]}
    assert {"area_id", "username", "action", "since", "until", "limit", "offset"} <= set(audit)
    assert "disclosure.approve" in audit["action"]["schema"]["enum"]
    assert "400" in doc["paths"]["/disclosures"]["get"]["responses"]


@pytest.mark.parametrize("path", ["/admin/disclosures", "/admin/feedback"])
def test_unknown_status_in_an_admin_list_is_a_400_page(client, world, login, path):
    login("admin")
    resp = client.get(f"{path}?status=bogus")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "查询参数 status" in page and "bogus" in page
    assert client.get(path).status_code == 200


def test_the_feedback_inbox_still_takes_all(client, world, login):
    login("handler")
    assert client.get("/admin/feedback?status=all").status_code == 200
    assert client.get("/admin/feedback?status=answered").status_code == 200


# 4. 405 says which methods are allowed


def test_405_carries_allow_in_the_api(client):
    resp = client.delete("/api/v1/disclosures")
    err = error_of(resp, 405)
    assert err["code"] == "method_not_allowed"
    assert {"GET", "POST"} <= {m.strip() for m in resp.headers["Allow"].split(",")}


def test_405_carries_allow_on_pages(client):
    resp = client.put("/login")
    assert resp.status_code == 405 and "出错了" in resp.get_data(as_text=True)
    assert {"GET", "POST"} <= {m.strip() for m in resp.headers["Allow"].split(",")}
    resp = client.delete("/admin/disclosures")
    assert resp.status_code == 405 and "GET" in resp.headers["Allow"]


def test_routes_without_parameters_refuse_any_query_parameter(client, world, bearer):
    """No route silently ignores what it was asked: a stray parameter is a clear 400."""
    for path in ("/api/v1/me", "/api/v1/catalogue", "/api/v1/disclosures/1"):
        resp = client.get(path + "?status=bogus", headers=bearer("editor"))
        assert resp.status_code == 400, path
        assert resp.get_json()["details"]["field"] == "status"
