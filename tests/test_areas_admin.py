"""The area tree and its halls: order, kind rules, moves, retiring, scope, audit, pages, API."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.domain import access, areas, users
from server.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.extensions import session_scope
from server.models import Area, AreaKind, AuditEvent, LoopRevision, Role, Site
from tests.conftest import csrf_from


def revision(session, area) -> int:
    return session.scalar(select(LoopRevision.revision).where(LoopRevision.area_id == area.id))


def actions(session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_siblings_sort_by_code_then_by_name_naturally_not_by_path(session, make_world, now):
    w = make_world(session)
    # Ten more villages: ids past 9 sort "/1/10/" before "/1/2/" by path alone.
    for n in range(12, 2, -1):
        areas.add_area(session, w.admin, w.town.id, f"{n}组", AreaKind.village, now)
    coded = areas.add_area(session, w.admin, w.town.id, "最后建的村", AreaKind.village, now, code="001")
    names = [a.name for a, depth in areas.admin_tree(session, w.admin) if depth == 1]
    assert names == ["最后建的村", "3组", "4组", "5组", "6组", "7组", "8组", "9组", "10组", "11组", "12组", "甲村", "乙村"]
    assert coded.code == "001"


def test_kind_rules_refuse_a_township_inside_a_village(session, make_world, now):
    w = make_world(session)
    with pytest.raises(ValidationFailed) as refused:
        areas.add_area(session, w.admin, w.village_a.id, "新镇", AreaKind.township, now)
    assert refused.value.field == "kind" and "村" in refused.value.message
    county = areas.create_area(session, "青山县", AreaKind.county)
    with pytest.raises(ValidationFailed):
        areas.create_area(session, "孤村", AreaKind.village)  # a village cannot be a root
    with pytest.raises(ValidationFailed):
        areas.create_area(session, "县中县", AreaKind.county, county)


def test_names_are_unique_among_siblings_and_codes_everywhere(session, make_world, now):
    w = make_world(session)
    with pytest.raises(Conflict) as twin:
        areas.add_area(session, w.admin, w.town.id, "甲村", AreaKind.village, now)
    assert twin.value.field == "name"
    areas.edit_area(session, w.admin, w.village_a.id, now, name="甲村", code="330122101201")
    with pytest.raises(Conflict) as taken:
        areas.edit_area(session, w.admin, w.village_b.id, now, name="乙村", code="330122101201")
    assert taken.value.field == "code" and "甲村" in taken.value.message
    with pytest.raises(ValidationFailed):
        areas.edit_area(session, w.admin, w.village_b.id, now, name="乙村", code="33 01")


def test_rename_reaches_the_screens_and_is_audited(session, make_world, now):
    w = make_world(session)
    before = revision(session, w.village_a)
    areas.edit_area(session, w.admin, w.village_a.id, now, name="甲村（新）", code=None)
    assert w.village_a.name == "甲村（新）"
    assert revision(session, w.village_a) == before + 1
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "area.edit")).one()
    assert event.username == "admin" and event.detail["changed"] == ["name"]
    assert event.before_digest != event.after_digest
    # Saving the same values changes nothing and logs nothing.
    areas.edit_area(session, w.admin, w.village_a.id, now, name="甲村（新）", code="")
    assert actions(session).count("area.edit") == 1


def test_move_rewrites_every_descendant_path_and_scope_follows(session, make_world, now):
    w = make_world(session)
    county = areas.create_area(session, "青山县", AreaKind.county)
    other = areas.create_area(session, "白河镇", AreaKind.township, county)
    boss = users.create_user(session, username="county_admin", password="correct-horse", display_name="县管理员",
                             grants=[(Role.admin, county)])
    old_town_path = w.town.path
    # The county admin cannot see the township yet: moving it there needs an admin of both.
    with pytest.raises(NotFound):
        areas.move_area(session, boss, w.town.id, other.id, now)
    both = users.create_user(session, username="both", password="correct-horse", display_name="两地",
                             grants=[(Role.admin, county), (Role.admin, w.town)])
    before = revision(session, w.village_a)
    areas.move_area(session, both, w.village_a.id, other.id, now)
    assert w.village_a.parent_id == other.id
    assert w.village_a.path == f"{other.path}{w.village_a.id}/"
    assert w.town.path == old_town_path
    assert revision(session, w.village_a) == before + 1
    # The township's editor no longer sees the moved village; the county admin does.
    town_editor = w.editor
    assert not access.can_act(town_editor, w.village_a, Role.editor)
    assert access.can_act(boss, w.village_a, Role.admin)
    # Moving the whole township under the county rewrites its villages' paths too.
    areas.move_area(session, both, w.town.id, county.id, now)
    session.refresh(w.village_b)
    assert w.town.path == f"{county.path}{w.town.id}/"
    assert w.village_b.path == f"{w.town.path}{w.village_b.id}/"
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "area.move").order_by(AuditEvent.id.desc())).first()
    assert event.detail["to_parent_id"] == county.id and event.detail["areas_moved"] == 2


def test_move_into_own_subtree_or_wrong_kind_is_refused(session, make_world, now):
    w = make_world(session)
    county = areas.create_area(session, "青山县", AreaKind.county)
    admin = users.create_user(session, username="root", password="correct-horse", display_name="县",
                              grants=[(Role.admin, county), (Role.admin, w.town)])
    inner = areas.create_area(session, "城关镇", AreaKind.township, county)
    with pytest.raises(ValidationFailed) as loop:
        areas.move_area(session, admin, county.id, inner.id, now)
    assert loop.value.field == "parent_id"
    with pytest.raises(ValidationFailed) as self_loop:
        areas.move_area(session, admin, inner.id, inner.id, now)
    assert self_loop.value.field == "parent_id"
    with pytest.raises(ValidationFailed) as kind:
        areas.move_area(session, admin, w.town.id, w.village_a.id, now)  # a township into a village
    assert kind.value.field in ("kind", "parent_id")
    assert w.town.parent_id is None


def test_retire_needs_an_empty_area_and_then_refuses_new_things(session, make_world, now):
    w = make_world(session)
    with pytest.raises(Conflict) as busy:
        areas.retire_area(session, w.admin, w.village_a.id, now)
    assert "场所" in busy.value.message
    areas.retire_site(session, w.admin, w.site_a.id, now)
    areas.retire_area(session, w.admin, w.village_a.id, now)
    assert w.village_a.retired_at == now
    with pytest.raises(ValidationFailed):
        areas.add_site(session, w.admin, w.village_a.id, now, name="新大厅")
    with pytest.raises(ValidationFailed):
        users.grant(session, w.admin, w.editor_a.id, Role.reviewer, w.village_a.id, now)
    offered = [a.name for a, _ in areas.offered_areas(session, w.admin, Role.admin)]
    assert "甲村" not in offered and "乙村" in offered
    # The retired area is still listed (its history stays), and a new 甲村 may be created.
    assert "甲村" in [a.name for a, _ in areas.admin_tree(session, w.admin)]
    areas.add_area(session, w.admin, w.town.id, "甲村", AreaKind.village, now)
    assert actions(session)[-3:] == ["site.retire", "area.retire", "area.create"]


def test_admins_act_only_inside_their_subtree(session, make_world, now):
    w = make_world(session)
    village_admin = users.create_user(session, username="a_admin", password="correct-horse", display_name="甲村管理员",
                                      grants=[(Role.admin, w.village_a)])
    with pytest.raises(NotFound):
        areas.edit_area(session, village_admin, w.village_b.id, now, name="改名", code=None)
    with pytest.raises(NotFound):
        areas.get_site(session, village_admin, w.site_b.id)
    with pytest.raises(Forbidden):  # an editor sees the area but may not administer it
        areas.edit_area(session, w.editor, w.village_a.id, now, name="改名", code=None)
    assert [a.name for a, _ in areas.admin_tree(session, village_admin)] == ["甲村"]
    assert [s.name for s in areas.admin_sites(session, village_admin)] == ["甲村党群服务中心"]


def test_sites_are_created_edited_and_retired_with_audit(session, make_world, now):
    w = make_world(session)
    hall = areas.add_site(session, w.admin, w.village_b.id, now, name="乙村文化礼堂", address="乙村村委旁",
                          contact_name="王会计", contact_phone="0571-8888 1234")
    with pytest.raises(ValidationFailed) as bad_phone:
        areas.edit_site(session, w.admin, hall.id, now, name="乙村文化礼堂", address="", contact_name="",
                        contact_phone="打电话给我")
    assert bad_phone.value.field == "contact_phone"
    with pytest.raises(Conflict):
        areas.edit_site(session, w.admin, hall.id, now, name="乙村党群服务中心", address="", contact_name="",
                        contact_phone="")
    before = revision(session, w.village_b)
    areas.edit_site(session, w.admin, hall.id, now, name="乙村礼堂", address="乙村村委旁", contact_name="王会计",
                    contact_phone="13800001111")
    assert revision(session, w.village_b) == before + 1  # the hall's name is on its screens
    areas.retire_site(session, w.admin, hall.id, now)
    with pytest.raises(Conflict):
        areas.retire_site(session, w.admin, hall.id, now)
    rows = session.scalars(select(AuditEvent).where(AuditEvent.target_type == "site")).all()
    assert [r.action for r in rows] == ["site.create", "site.edit", "site.retire"]
    assert all("13800001111" not in str(r.detail) and "王会计" not in str(r.detail) for r in rows)


# -- pages and API -------------------------------------------------------------------


def test_admin_pages_create_rename_move_and_retire(app, client, world, login):
    login("admin")
    page = client.get("/admin/areas").get_data(as_text=True)
    assert "区域与场所" in page and "甲村党群服务中心" in page
    form = client.get(f"/admin/areas/new?parent_id={world.town.id}").get_data(as_text=True)
    made = client.post("/admin/areas/new", data={
        "csrf_token": csrf_from(form), "parent_id": world.town.id, "name": "丙村", "kind": "village", "code": "",
    })
    assert made.status_code == 302
    bad = client.post("/admin/areas/new", data={
        "csrf_token": csrf_from(form), "parent_id": world.town.id, "name": "丙村", "kind": "village", "code": "",
    })
    assert bad.status_code == 422 and "已有名为“丙村”的区域" in bad.get_data(as_text=True)
    with app.app_context(), session_scope() as s:
        bing = s.scalars(select(Area).where(Area.name == "丙村")).one()
        town_id = world.town.id
    edit = client.get(f"/admin/areas/{bing.id}/edit").get_data(as_text=True)
    assert client.post(f"/admin/areas/{bing.id}/edit", data={
        "csrf_token": csrf_from(edit), "name": "丙村（新）", "code": "3301",
    }).status_code == 302
    into_village = client.post(f"/admin/areas/{bing.id}/move", data={
        "csrf_token": csrf_from(edit), "parent_id": world.village_a.id,
    })
    assert into_village.status_code == 422  # a village is not offered as a parent
    site_form = client.get(f"/admin/sites/new?area_id={bing.id}").get_data(as_text=True)
    assert client.post("/admin/sites/new", data={
        "csrf_token": csrf_from(site_form), "area_id": bing.id, "name": "丙村大厅", "address": "", "contact_name": "",
        "contact_phone": "",
    }).status_code == 302
    refused = client.post(f"/admin/areas/{bing.id}/retire", data={"csrf_token": csrf_from(edit)}, follow_redirects=True)
    assert "请先停用它们" in refused.get_data(as_text=True)
    page = client.get("/admin/areas").get_data(as_text=True)
    assert "丙村（新）" in page and "3301" in page and "丙村大厅" in page
    with app.app_context(), session_scope() as s:
        assert s.get(Area, bing.id).parent_id == town_id and s.get(Area, bing.id).retired_at is None
        assert s.scalars(select(Site).where(Site.name == "丙村大厅")).one().area_id == bing.id


def test_area_pages_are_for_admins_only(client, world, login):
    login("editor")
    assert "区域与场所" not in client.get("/admin/").get_data(as_text=True)
    assert client.get("/admin/areas").status_code == 403
    assert client.get(f"/admin/areas/{world.village_a.id}/edit").status_code == 403
    page = client.get("/admin/").get_data(as_text=True)
    resp = client.post("/admin/areas/new", data={"csrf_token": csrf_from(page), "parent_id": world.town.id,
                                                 "name": "黑村", "kind": "village"})
    assert resp.status_code == 403


def test_api_areas_tree_create_edit_move_retire(client, world, bearer):
    admin = bearer("admin")
    tree = client.get("/api/v1/areas", headers=admin).get_json()["items"]
    assert [(a["name"], a["depth"]) for a in tree] == [("测试镇", 0), ("甲村", 1), ("乙村", 1)]
    made = client.post("/api/v1/areas", json={"parent_id": world.town.id, "name": "丙村", "kind": "village"},
                       headers=admin)
    assert made.status_code == 201, made.get_json()
    area_id = made.get_json()["id"]
    wrong = client.post("/api/v1/areas", json={"parent_id": area_id, "name": "镇中镇", "kind": "township"},
                        headers=admin)
    assert wrong.status_code == 422 and wrong.get_json()["details"]["field"] == "kind"
    coded = client.patch(f"/api/v1/areas/{area_id}", json={"code": "330122"}, headers=admin).get_json()
    assert coded["name"] == "丙村" and coded["code"] == "330122"
    loop = client.post(f"/api/v1/areas/{world.town.id}/move", json={"parent_id": area_id}, headers=admin)
    assert loop.status_code == 422
    retired = client.post(f"/api/v1/areas/{area_id}/retire", headers=admin)
    assert retired.status_code == 200 and retired.get_json()["retired_at"]
    assert client.post(f"/api/v1/areas/{area_id}/retire", headers=admin).status_code == 409
    editor = bearer("editor_a")
    assert [a["name"] for a in client.get("/api/v1/areas", headers=editor).get_json()["items"]] == ["甲村"]
    assert client.patch(f"/api/v1/areas/{world.village_b.id}", json={"name": "x"}, headers=editor).status_code == 404
    assert client.patch(f"/api/v1/areas/{world.village_a.id}", json={"name": "x"}, headers=editor).status_code == 403


def test_api_sites(client, world, bearer):
    admin = bearer("admin")
    made = client.post("/api/v1/sites", json={"area_id": world.village_b.id, "name": "乙村礼堂",
                                              "contact_phone": "13800001111"}, headers=admin)
    assert made.status_code == 201
    site_id = made.get_json()["id"]
    edited = client.patch(f"/api/v1/sites/{site_id}", json={"address": "村委旁"}, headers=admin).get_json()
    assert edited["address"] == "村委旁" and edited["name"] == "乙村礼堂" and edited["contact_phone"] == "13800001111"
    listed = client.get("/api/v1/sites", headers=admin).get_json()["items"]
    assert {s["name"] for s in listed} == {"甲村党群服务中心", "乙村党群服务中心", "乙村礼堂"}
    assert client.post(f"/api/v1/sites/{site_id}/retire", headers=admin).get_json()["retired_at"]
    assert client.post(f"/api/v1/sites/{site_id}/retire", headers=bearer("editor")).status_code == 403
