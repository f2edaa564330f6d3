"""The disclosure catalogue: the starting catalogues, items_for, the rules of an item, who may
edit it, the admin pages and the API."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from server.domain import areas, catalogue, users
from server.domain.catalogue import ItemInput, item_problems
from server.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.domain.starting_catalogue import STARTING_CATALOGUE
from server.extensions import session_scope
from server.models import (
    AreaKind,
    AuditEvent,
    CatalogueCategory,
    CatalogueItem,
    DisclosureCase,
    Role,
    Scope,
    Timing,
)
from tests.conftest import NOW, csrf_from


def good(**change) -> ItemInput:
    data = ItemInput(
        title="村级光伏电站收益分配", scope="public", internal_days=0, timing="regular", period="yearly",
        stages=[], deadline_days=15, forms=["screen", "board"], responsible_department="村集体经济组织",
        responsible_person="村委会主任",
    )
    for key, value in change.items():
        setattr(data, key, value)
    return data


def person(session, name, role, area):
    return users.create_user(session, username=name, password="correct-horse", display_name=name, grants=[(role, area)])


def village_item(session, title):
    return session.scalars(
        select(CatalogueItem).join(CatalogueItem.category)
        .where(CatalogueCategory.org_kind == AreaKind.village, CatalogueItem.title == title)
    ).one()


# -- the starting catalogues -----------------------------------------------------------


def test_every_organisation_type_gets_a_realistic_starting_catalogue(session):
    added = catalogue.seed_catalogue(session)
    sizes = {kind: len(catalogue.live_items(session, kind)) for kind in STARTING_CATALOGUE}
    assert added == sum(sizes.values())
    assert 55 <= sizes[AreaKind.village] <= 65
    assert all(12 <= sizes[k] <= 25 for k in (AreaKind.community, AreaKind.township, AreaKind.department, AreaKind.enterprise))
    assert [c.name for c in catalogue.categories(session, AreaKind.village)] == [
        "民主决策", "思想建设", "组织建设", "干部工作", "党风廉政", "服务群众", "财务与党费"]

    development = village_item(session, "发展党员各阶段公示")
    assert development.timing is Timing.staged and development.phased
    assert development.stages == ["确定入党积极分子", "确定发展对象", "接收预备党员", "预备党员转正"]
    four = village_item(session, "“四议两公开”决策事项")
    assert four.stages[0] == "党支部会提议" and four.stages[-1] == "实施结果公开" and len(four.stages) == 6
    for title in ("预备党员转正", "党员处分决定"):
        item = village_item(session, title)
        assert item.scope is Scope.public and item.internal_days in (5, 7), title
    dues = village_item(session, "党费收缴情况")
    assert (dues.timing, dues.period, dues.responsible_person) == (Timing.regular, "quarterly", "组织委员")
    village = catalogue.live_items(session, AreaKind.village)
    assert sum(i.scope is Scope.internal for i in village) >= 5
    assert sum(i.phased for i in village) >= 3
    assert {i.timing for i in village} == set(Timing)
    assert all(i.responsible_department and i.responsible_person for i in village)
    # The township office's party-building items answer to the office the install names.
    township = catalogue.live_items(session, AreaKind.township)
    assert any(i.responsible_department == "镇党建办" for i in township)


def test_seeding_is_idempotent_per_organisation_type(session):
    own = CatalogueCategory(org_kind=AreaKind.village, name="我们自己的分类", position=0)
    session.add(own)
    session.flush()
    added = catalogue.seed_catalogue(session, responsible_department="乡党建办")
    assert [c.name for c in catalogue.categories(session, AreaKind.village)] == ["我们自己的分类"]
    assert catalogue.live_items(session, AreaKind.community)
    assert any(i.responsible_department == "乡党建办" for i in catalogue.live_items(session, AreaKind.township))
    assert added > 0 and catalogue.seed_catalogue(session) == 0
    assert session.scalar(select(func.count(CatalogueCategory.id)).where(CatalogueCategory.org_kind == AreaKind.community)) == 4


def test_items_for_an_area_are_its_kinds_live_items_in_catalogue_order(session):
    catalogue.seed_catalogue(session)
    county = areas.create_area(session, "青山县", AreaKind.county)
    town = areas.create_area(session, "清河镇", AreaKind.township, county)
    east = areas.create_area(session, "东山村", AreaKind.village, town)
    admin = person(session, "town_admin", Role.admin, town)

    items = catalogue.items_for(session, east)
    assert [i.title for i in items] == [i.title for i in catalogue.live_items(session, AreaKind.village)]
    assert items[0].title == "“四议两公开”决策事项" and items[-1].title == "党组织工作经费使用"
    assert catalogue.items_for(session, county) == []
    assert {i.category.org_kind for i in catalogue.items_for(session, town)} == {AreaKind.township}

    # Retired items drop out; moving a category moves its items.
    catalogue.retire_item(session, admin, items[0].id, NOW)
    finances = catalogue.categories(session, AreaKind.village)[-1]
    for _ in range(6):
        catalogue.move_category(session, admin, finances.id, -1, NOW)
    after = catalogue.items_for(session, east)
    assert items[0] not in after
    assert after[0].category.name == "财务与党费" and after[0].title == "党费收缴情况"


# -- the rules of an item --------------------------------------------------------------


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"title": "  "}, "title", "事项：请填写"),
    ({"title": "长" * 121}, "title", "最多 120"),
    ({"scope": "everyone"}, "scope", "公开范围"),
    ({"scope": "internal", "internal_days": 5}, "internal_days", "先党内后党外"),
    ({"internal_days": 3}, "internal_days", "党内先行天数"),
    ({"scope": "phased", "internal_days": 0}, "internal_days", "1–30"),
    ({"scope": "phased", "internal_days": 31}, "internal_days", "0–30"),
    ({"timing": "sometimes", "period": ""}, "timing", "公开时限"),
    ({"period": ""}, "period", "定期公开的事项要选周期"),
    ({"timing": "ad_hoc"}, "period", "只有定期公开的事项才有周期"),
    ({"timing": "staged", "period": "", "stages": ["申请"]}, "stages", "至少要有 2 个阶段"),
    ({"timing": "staged", "period": "", "stages": ["申请", "申请"]}, "stages", "“申请”重复"),
    ({"stages": ["一", "二"]}, "stages", "只有逐段公开的事项才有阶段"),
    ({"deadline_days": 0}, "deadline_days", "期限天数：应为 1–90 天"),
    ({"deadline_days": 91}, "deadline_days", "1–90"),
    ({"forms": []}, "forms", "至少选一种"),
    ({"forms": ["screen", "radio"]}, "forms", "“radio”不认识"),
    ({"responsible_department": ""}, "responsible_department", "责任部门：请填写"),
    ({"responsible_person": ""}, "responsible_person", "责任人：请填写"),
])
def test_a_bad_item_is_refused_naming_the_field(change, field, words):
    problems = item_problems(good(**change))
    assert [name for name, _ in problems] == [field], problems
    assert words in problems[0][1]


def test_good_items_of_every_timing_pass():
    assert item_problems(good()) == []
    assert item_problems(good(timing="staged", period="", stages=["申请", "公示", "结果"])) == []
    assert item_problems(good(timing="ad_hoc", period="", scope="phased", internal_days=7, deadline_days=5)) == []
    assert item_problems(good(scope="internal", forms=["meeting"])) == []


# -- editing ---------------------------------------------------------------------------


@pytest.fixture
def place(session):
    catalogue.seed_catalogue(session)
    county = areas.create_area(session, "青山县", AreaKind.county)
    town = areas.create_area(session, "清河镇", AreaKind.township, county)
    other = areas.create_area(session, "白河镇", AreaKind.township, county)
    east = areas.create_area(session, "东山村", AreaKind.village, town)
    return {
        "town": town, "east": east,
        "county_admin": person(session, "county_admin", Role.admin, county),
        "town_admin": person(session, "town_admin", Role.admin, town),
        "other_admin": person(session, "other_admin", Role.admin, other),
        "village_admin": person(session, "village_admin", Role.admin, east),
        "town_editor": person(session, "town_editor", Role.editor, town),
        "supervisor": person(session, "supervisor", Role.supervisor, town),
    }


def test_only_county_and_township_admins_may_edit_the_catalogue(session, place):
    finances = catalogue.categories(session, AreaKind.village)[-1]
    for name in ("village_admin", "town_editor", "supervisor"):
        with pytest.raises(Forbidden, match="县级或乡镇管理员"):
            catalogue.create_item(session, place[name], finances.id, good(), NOW)
        with pytest.raises(Forbidden):
            catalogue.retire_item(session, place[name], village_item(session, "党费收缴情况").id, NOW)
        assert not catalogue.may_edit(place[name])
    # The catalogue is install-wide: any township's admin, or the county's, edits the one list.
    for n, name in enumerate(("town_admin", "other_admin", "county_admin")):
        made = catalogue.create_item(session, place[name], finances.id, good(title=f"新增事项{n}"), NOW)
        assert made.category is finances
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "catalogue.item_create")).all()
    assert [e.username for e in events] == ["town_admin", "other_admin", "county_admin"]
    assert events[0].area_path == place["town"].path and events[2].area_path.count("/") == 2


def test_items_are_created_changed_moved_and_audited(session, place):
    admin = place["town_admin"]
    finances = catalogue.categories(session, AreaKind.village)[-1]
    item = catalogue.create_item(session, admin, finances.id, good(), NOW)
    assert (item.timing, item.period, item.forms, item.position) == (Timing.regular, "yearly", "screen,board", len(finances.items) - 1)
    with pytest.raises(ValidationFailed, match="本目录已有") as taken:
        catalogue.create_item(session, admin, finances.id, good(title=" 党费收缴情况 "), NOW)
    assert taken.value.field == "title"
    # The same title may exist in another organisation type's catalogue.
    community = catalogue.categories(session, AreaKind.community)[0]
    assert catalogue.create_item(session, admin, community.id, good(), NOW).id != item.id

    with pytest.raises(ValidationFailed) as refused:
        catalogue.update_item(session, admin, item.id, good(timing="staged", period="", stages=["一"], deadline_days=0), NOW)
    assert refused.value.field == "stages" and len(refused.value.details["problems"]) == 2
    assert item.timing is Timing.regular  # nothing of the refused change stuck

    changed = catalogue.update_item(
        session, admin, item.id, good(scope="phased", internal_days=5, timing="staged", period="",
                                      stages=["分配方案", "表决", "结果"]), NOW,
        category_id=catalogue.categories(session, AreaKind.village)[0].id,
    )
    assert changed.phased and changed.stages == ["分配方案", "表决", "结果"] and changed.period == ""
    assert changed.category.name == "民主决策"
    with pytest.raises(ValidationFailed, match="同一组织类型"):
        catalogue.update_item(session, admin, item.id, good(), NOW, category_id=community.id)
    edit = session.scalars(select(AuditEvent).where(AuditEvent.action == "catalogue.item_edit")).one()
    assert set(edit.detail["changed"]) >= {"分类", "公开范围", "党内先行天数", "公开时限", "阶段"}
    assert edit.before_digest != edit.after_digest

    first, second = catalogue.categories(session, AreaKind.village)[1].items[:2]
    catalogue.move_item(session, admin, second.id, -1, NOW)
    session.expire_all()
    assert [i.id for i in catalogue.categories(session, AreaKind.village)[1].items[:2]] == [second.id, first.id]
    catalogue.move_item(session, admin, second.id, -1, NOW)  # already first: nothing happens
    assert session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "catalogue.item_move")) == 1


def test_an_item_with_disclosures_is_retired_never_deleted(session, place):
    admin, east = place["town_admin"], place["east"]
    dues = village_item(session, "党费收缴情况")
    session.add(DisclosureCase(area_id=east.id, catalogue_item_id=dues.id, title="2026年党费", opened_on=dt.date(2026, 11, 1),
                               opened_by_id=admin.id, created_at=NOW))
    session.flush()
    with pytest.raises(Conflict, match="只能停用"):
        catalogue.delete_item(session, admin, dues.id, NOW)
    catalogue.retire_item(session, admin, dues.id, NOW)
    assert dues.retired_at == NOW and dues not in catalogue.items_for(session, east)
    catalogue.restore_item(session, admin, dues.id, NOW)
    assert dues in catalogue.items_for(session, east)

    spare = village_item(session, "村级债权债务情况")
    category = spare.category
    catalogue.delete_item(session, admin, spare.id, NOW)
    assert session.get(CatalogueItem, spare.id) is None
    assert [i.position for i in category.items] == list(range(len(category.items)))
    actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["catalogue.item_retire", "catalogue.item_restore", "catalogue.item_delete"]
    with pytest.raises(NotFound):
        catalogue.retire_item(session, admin, spare.id, NOW)


def test_categories_are_added_renamed_moved_and_only_deleted_when_empty(session, place):
    admin = place["town_admin"]
    made = catalogue.create_category(session, admin, AreaKind.village, "  乡村振兴 ", NOW)
    assert made.name == "乡村振兴" and catalogue.categories(session, AreaKind.village)[-1] is made
    with pytest.raises(ValidationFailed, match="已存在"):
        catalogue.create_category(session, admin, AreaKind.village, "民主决策", NOW)
    catalogue.create_category(session, admin, AreaKind.community, "乡村振兴", NOW)  # another catalogue
    with pytest.raises(NotFound):
        catalogue.create_category(session, admin, AreaKind.county, "县里的", NOW)
    catalogue.rename_category(session, admin, made.id, "产业发展", NOW)
    catalogue.move_category(session, admin, made.id, -1, NOW)
    assert [c.name for c in catalogue.categories(session, AreaKind.village)][-2:] == ["产业发展", "财务与党费"]
    with pytest.raises(Conflict, match="不能删除"):
        catalogue.delete_category(session, admin, catalogue.categories(session, AreaKind.village)[0].id, NOW)
    catalogue.delete_category(session, admin, made.id, NOW)
    assert "产业发展" not in [c.name for c in catalogue.categories(session, AreaKind.village)]
    with pytest.raises(Forbidden):
        catalogue.create_category(session, place["village_admin"], AreaKind.village, "村里自己加", NOW)


# -- pages -----------------------------------------------------------------------------


@pytest.fixture
def seeded(app, world):
    """The starting catalogues instead of the world's stand-ins, and a village admin."""
    with app.app_context(), session_scope() as s:
        for item in s.scalars(select(CatalogueItem)):  # the world's stand-in catalogues
            s.delete(item)
        for category in s.scalars(select(CatalogueCategory)):
            s.delete(category)
        s.flush()
        catalogue.seed_catalogue(s)
        person(s, "village_admin", Role.admin, s.get(type(world.village_a), world.village_a.id))
    return world


def item_form(html: str, **fields) -> dict:
    data = {"csrf_token": csrf_from(html), "title": "村级光伏电站收益分配", "scope": "public", "internal_days": "",
            "timing": "regular", "period": "yearly", "stages": "", "deadline_days": "15", "forms": ["screen", "board"],
            "responsible_department": "村集体经济组织", "responsible_person": "村委会主任"}
    category = re.search(r'<option (?:selected )?value="(\d+)"', html)
    data["category_id"] = category.group(1) if category else ""
    data.update(fields)
    return data


def test_a_township_admin_adds_and_edits_an_item_with_errors_beside_the_fields(client, login, seeded, app):
    login("admin")
    page = client.get("/admin/catalogue/village").get_data(as_text=True)
    assert "“四议两公开”决策事项" in page and "党支部会提议 → 两委会商议" in page and "党内先行 5 天" in page
    assert "加目录项" in page and "村级财务收支明细" in page

    form = client.get("/admin/catalogue/village/items/new").get_data(as_text=True)
    bad = client.post("/admin/catalogue/village/items/new", data=item_form(
        form, timing="staged", period="", stages="只有一段", internal_days="3", deadline_days="120", forms=["screen"]))
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "逐段公开的事项至少要有 2 个阶段" in html
    assert "期限天数：应为 1–90 天" in html
    assert "只有“先党内后党外”的事项才有党内先行天数" in html
    not_a_number = client.post("/admin/catalogue/village/items/new", data=item_form(form, deadline_days="五天"))
    assert not_a_number.status_code == 422 and "请填写整数天数" in not_a_number.get_data(as_text=True)

    made = client.post("/admin/catalogue/village/items/new", data=item_form(
        form, scope="phased", internal_days="5", timing="staged", period="", stages="方案\n表决 → 结果"))
    assert made.status_code == 302 and "#item-" in made.headers["Location"]
    with app.app_context(), session_scope() as s:
        item = village_item(s, "村级光伏电站收益分配")
        assert (item.internal_days, item.stages, item.timing) == (5, ["方案", "表决", "结果"], Timing.staged)
        item_id = item.id
        assert s.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "catalogue.item_create")) == 1

    edit = client.get(f"/admin/catalogue/items/{item_id}/edit").get_data(as_text=True)
    assert "方案\n表决\n结果" in edit
    saved = client.post(f"/admin/catalogue/items/{item_id}/edit", data=item_form(
        edit, scope="public", internal_days="", timing="ad_hoc", period="", deadline_days="7"))
    assert saved.status_code == 302
    retired = client.post(f"/admin/catalogue/items/{item_id}/retire", data={"csrf_token": csrf_from(edit)})
    assert retired.status_code == 302
    listing = client.get("/admin/catalogue/village").get_data(as_text=True)
    assert f'id="item-{item_id}"' not in listing
    assert f'id="item-{item_id}"' in client.get("/admin/catalogue/village?retired=1").get_data(as_text=True)
    deleted = client.post(f"/admin/catalogue/items/{item_id}/delete", data={"csrf_token": csrf_from(edit)}, follow_redirects=True)
    assert "已删除“村级光伏电站收益分配”" in deleted.get_data(as_text=True)


def test_a_village_admin_and_an_editor_only_read_the_catalogue(seeded, app):
    with app.app_context(), session_scope() as s:
        dues_id = village_item(s, "党费收缴情况").id
    for username in ("village_admin", "editor_a"):
        client = app.test_client()
        signed = client.post("/login", data={"username": username, "password": "correct-horse",
                                             "csrf_token": csrf_from(client.get("/login").get_data(as_text=True))})
        assert signed.status_code == 302
        page = client.get("/admin/catalogue/village")
        assert page.status_code == 200 and "党费收缴情况" in page.get_data(as_text=True)
        assert "加目录项" not in page.get_data(as_text=True) and "导入 Excel" not in page.get_data(as_text=True)
        token = csrf_from(page.get_data(as_text=True))
        assert client.get("/admin/catalogue/village/items/new").status_code == 403
        assert client.post(f"/admin/catalogue/items/{dues_id}/retire", data={"csrf_token": token}).status_code == 403
        assert client.post("/admin/catalogue/village/categories", data={"csrf_token": token, "name": "x"}).status_code == 403
        assert client.get("/admin/catalogue/village/import").status_code == 403
        assert client.get("/admin/catalogue/village/export.xlsx").status_code == 200
    with app.app_context(), session_scope() as s:
        assert village_item(s, "党费收缴情况").retired_at is None
    assert client.get("/admin/catalogue/county").status_code == 404


def test_categories_through_the_page(client, login, seeded, app):
    login("admin")
    page = client.get("/admin/catalogue/township").get_data(as_text=True)
    token = csrf_from(page)
    assert client.post("/admin/catalogue/township/categories", data={"csrf_token": token, "name": "党委决策"},
                       follow_redirects=True).get_data(as_text=True).count("“党委决策”已存在") == 1
    client.post("/admin/catalogue/township/categories", data={"csrf_token": token, "name": "乡村振兴"})
    with app.app_context(), session_scope() as s:
        made = catalogue.categories(s, AreaKind.township)[-1]
        assert made.name == "乡村振兴"
        made_id = made.id
    client.post(f"/admin/catalogue/categories/{made_id}/up", data={"csrf_token": token})
    client.post(f"/admin/catalogue/categories/{made_id}/rename", data={"csrf_token": token, "name": "产业发展"})
    with app.app_context(), session_scope() as s:
        assert [c.name for c in catalogue.categories(s, AreaKind.township)][-2:] == ["产业发展", "财务与党费"]
    client.post(f"/admin/catalogue/categories/{made_id}/delete", data={"csrf_token": token})
    with app.app_context(), session_scope() as s:
        assert "产业发展" not in [c.name for c in catalogue.categories(s, AreaKind.township)]


def test_the_draft_form_offers_the_live_items_of_the_editors_kinds(client, login, seeded, app):
    with app.app_context(), session_scope() as s:
        village_item(s, "党员冬春训情况").retired_at = NOW
    login("editor_a")  # an editor of 甲村 only
    form = client.get("/admin/disclosures/new").get_data(as_text=True)
    assert "村级重大事项决策结果" in form and "党员冬春训情况" not in form
    assert "党委会议决定事项" not in form  # the township office's catalogue is not a village's


# -- API -------------------------------------------------------------------------------


def test_the_api_lists_a_kinds_catalogue(client, seeded, bearer, app):
    with app.app_context(), session_scope() as s:
        village_item(s, "党员冬春训情况").retired_at = NOW
    headers = bearer("editor_a")
    default = client.get("/api/v1/catalogue", headers=headers).get_json()
    assert default["org_kind"] == "village"
    items = {i["title"]: i for c in default["categories"] for i in c["items"]}
    assert "党员冬春训情况" not in items
    development = items["发展党员各阶段公示"]
    assert development["stages"][0] == "确定入党积极分子" and development["internal_days"] == 5
    assert items["党费收缴情况"]["period"] == "quarterly" and items["党费收缴情况"]["forms"] == ["screen", "board", "meeting"]
    township = client.get("/api/v1/catalogue?org_kind=township", headers=headers).get_json()
    assert township["categories"][0]["name"] == "党委决策"
    assert client.get("/api/v1/catalogue?org_kind=county", headers=headers).status_code in (400, 422)
    assert client.get("/api/v1/catalogue?kind=village", headers=headers).status_code == 400
    assert client.get("/api/v1/catalogue").status_code == 401
    spec = client.get("/api/v1/openapi.json").get_json()
    params = spec["paths"]["/catalogue"]["get"]["parameters"]
    assert [p["name"] for p in params] == ["org_kind"]


def test_moving_an_item_skips_retired_items_the_page_does_not_list(session, place):
    admin = place["town_admin"]
    category = catalogue.categories(session, AreaKind.village)[1]
    first, second, third = category.items[:3]
    catalogue.retire_item(session, admin, second.id, NOW)
    catalogue.move_item(session, admin, third.id, -1, NOW)  # up past the retired one: before the first
    session.expire_all()
    live = [i.id for i in catalogue.categories(session, AreaKind.village)[1].items if i.retired_at is None]
    assert live[:2] == [third.id, first.id]
    moves = session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "catalogue.item_move"))
    assert moves == 1
