"""Pages and API of the workflow: 待公开 on the dashboard, overdue per village, drafting for
a period, registering a case, withdrawal and correction; and a two-phase item switching
scope on the screens' timeline."""

from __future__ import annotations

import datetime as dt

import pytest

from server.clock import FixedClock
from server.domain import disclosures, manifests
from server.domain.disclosures import DraftInput
from server.extensions import session_scope
from server.models import CatalogueItem, Disclosure, DisclosureStatus, Scope, Timing
from tests.conftest import NOW, csrf_from


@pytest.fixture
def monthly(app, world):
    """A monthly item of the village catalogue, owed since October; the clock at NOW (20 Nov)."""
    app.extensions["sunwall.clock"] = FixedClock(NOW)
    with app.app_context(), session_scope() as s:
        item = CatalogueItem(
            category_id=world.item_public.category_id, title="村级财务收支", scope=Scope.public,
            timing=Timing.regular, period="monthly", deadline_days=10, position=9,
            created_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC), responsible_person="报账员",
        )
        s.add(item)
        s.flush()
        return item.id


def approved(app, world, item_id, **over):
    with app.app_context(), session_scope() as s:
        data = dict(area_id=world.village_a.id, catalogue_item_id=item_id, title="甲村十月财务收支",
                    valid_from=NOW, body="正文", period="2026-10")
        data.update(over)
        editor, reviewer = s.merge(world.editor), s.merge(world.reviewer)
        d = disclosures.create_draft(s, editor, DraftInput(**data), NOW)
        disclosures.submit(s, editor, d.id, NOW)
        disclosures.approve(s, reviewer, d.id, NOW)
        return d.id


def test_an_editor_sees_what_is_owed_and_drafts_it_from_the_link(client, world, login, monthly):
    login("editor_a")
    page = client.get("/admin/").get_data(as_text=True)
    assert "待公开" in page and "村级财务收支" in page
    assert "2026年10月" in page  # October's accounts, due 10 November: overdue on 20 November
    link = f"/admin/disclosures/new?area_id={world.village_a.id}&amp;catalogue_item_id={monthly}&amp;period=2026-10"
    assert link in page
    form = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert 'value="2026-10"' in form
    saved = client.post("/admin/disclosures/new", data={
        "csrf_token": csrf_from(form), "area_id": world.village_a.id, "catalogue_item_id": monthly,
        "kind": "notice", "title": "甲村十月财务收支", "body": "收支明细见下表。", "valid_from": "2026-11-20",
        "period": "2026-10", "case_id": "0", "stage": "0",
    })
    assert saved.status_code == 302
    detail = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "公开期次" in detail and "2026年10月" in detail


def test_a_wrong_period_is_named_on_the_form_and_nothing_is_saved(app, client, world, login, monthly):
    login("editor_a")
    form = client.get("/admin/disclosures/new").get_data(as_text=True)
    refused = client.post("/admin/disclosures/new", data={
        "csrf_token": csrf_from(form), "area_id": world.village_a.id, "catalogue_item_id": monthly,
        "kind": "notice", "title": "甲村财务", "body": "正文", "valid_from": "2026-11-20", "period": "十月",
    })
    assert refused.status_code == 422
    assert "2026-11" in refused.get_data(as_text=True)  # the form it wants
    with app.app_context(), session_scope() as s:
        assert s.query(Disclosure).count() == 0


def test_supervisors_see_overdue_items_per_village_in_the_page_and_the_api(client, world, login, bearer, app, monthly):
    approved(app, world, monthly)
    login("supervisor")
    page = client.get("/admin/obligations").get_data(as_text=True)
    assert "甲村" in page and "乙村" in page and "逾期未公开" in page
    assert client.get("/admin/obligations?state=late").status_code == 400
    body = client.get("/api/v1/obligations?state=overdue", headers=bearer("supervisor")).get_json()
    overdue = {(o["area"], o["period"]) for o in body["items"] if o["item"] == "村级财务收支"}
    assert overdue == {("乙村", "2026-10")}  # 甲村 met October; November is not due until 10 December
    tally = {t["area"]: t for t in body["tally"]}
    assert tally["乙村"]["overdue"] >= 1 and tally["甲村"]["met"] >= 1
    # A village editor's API answer holds their village only.
    mine = client.get("/api/v1/obligations", headers=bearer("editor_a")).get_json()
    assert {o["area"] for o in mine["items"]} == {"甲村"}


def test_a_reviewer_withdraws_with_a_reason_and_an_editor_starts_a_correction(app, client, world, login, monthly):
    first = approved(app, world, monthly)
    second = approved(app, world, monthly, period="2026-11", title="甲村十一月财务收支")
    login("editor_a")
    page = client.get(f"/admin/disclosures/{first}").get_data(as_text=True)
    assert "起草更正" in page and "撤回原因" not in page  # editors correct, reviewers withdraw
    started = client.post(f"/admin/disclosures/{first}/correct", data={"csrf_token": csrf_from(page), "reason": "支出金额有误"})
    assert started.status_code == 302 and "/edit" in started.headers["Location"]
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/admin/").get_data(as_text=True))})
    login("reviewer")
    page = client.get(f"/admin/disclosures/{second}").get_data(as_text=True)
    empty = client.post(f"/admin/disclosures/{second}/withdraw", data={"csrf_token": csrf_from(page), "reason": ""})
    assert empty.status_code == 302
    with app.app_context(), session_scope() as s:
        assert s.get(Disclosure, second).status is DisclosureStatus.approved
    client.post(f"/admin/disclosures/{second}/withdraw", data={"csrf_token": csrf_from(page), "reason": "数据未经监委会审核"})
    with app.app_context(), session_scope() as s:
        gone = s.get(Disclosure, second)
        assert gone.status is DisclosureStatus.withdrawn and gone.withdraw_reason == "数据未经监委会审核"
        fix = s.query(Disclosure).filter_by(corrects_id=first).one()
        assert fix.correction_reason == "支出金额有误" and fix.status is DisclosureStatus.draft


def test_the_api_withdraws_and_corrects(client, world, bearer, app, monthly):
    first = approved(app, world, monthly)
    fix = client.post(f"/api/v1/disclosures/{first}/correct", json={"reason": "错别字"}, headers=bearer("editor"))
    assert fix.status_code == 201 and fix.get_json()["corrects_id"] == first
    assert client.post(f"/api/v1/disclosures/{first}/withdraw", json={"reason": "x" * 501}, headers=bearer("reviewer")).status_code == 422
    done = client.post(f"/api/v1/disclosures/{first}/withdraw", json={"reason": "整体撤下"}, headers=bearer("reviewer"))
    assert done.status_code == 200 and done.get_json()["status"] == "withdrawn"
    assert client.post(f"/api/v1/disclosures/{first}/withdraw", json={"reason": "再撤"}, headers=bearer("reviewer")).status_code == 409


def test_registering_a_case_makes_its_disclosure_owed(client, world, login, app):
    with app.app_context(), session_scope() as s:
        item = CatalogueItem(category_id=world.item_public.category_id, title="大额经费开支", scope=Scope.public,
                             timing=Timing.ad_hoc, deadline_days=5)
        s.add(item)
        s.flush()
        item_id = item.id
    app.extensions["sunwall.clock"] = FixedClock(NOW)
    login("editor_a")
    form = client.get("/admin/cases/new").get_data(as_text=True)
    bad = client.post("/admin/cases/new", data={"csrf_token": csrf_from(form), "area_id": world.village_a.id,
                                                "catalogue_item_id": item_id, "title": "", "opened_on": "2026-11-10"})
    assert bad.status_code == 422
    done = client.post("/admin/cases/new", data={"csrf_token": csrf_from(form), "area_id": world.village_a.id,
                                                 "catalogue_item_id": item_id, "title": "村道硬化工程支出",
                                                 "opened_on": "2026-11-10"})
    assert done.status_code == 302
    page = client.get("/admin/obligations?state=overdue").get_data(as_text=True)
    assert "村道硬化工程支出" in page and "2026-11-15" in page


def test_an_internal_first_item_reaches_public_screens_on_time_from_the_same_manifest(session, make_world):
    """One approval, two phases: the internal screen shows it at once; the public screen's
    manifest already holds it, starting when the public phase does (played offline too)."""
    w = make_world(session)
    staged = CatalogueItem(category=w.item_public.category, title="发展党员各阶段公示", scope=Scope.public,
                           timing=Timing.staged, stages=["确定入党积极分子", "确定发展对象"], internal_days=5)
    session.add(staged)
    session.flush()
    d = disclosures.create_draft(session, w.editor, DraftInput(
        area_id=w.village_a.id, catalogue_item_id=staged.id, title="刘某某确定为入党积极分子公示",
        valid_from=NOW, valid_to=NOW + dt.timedelta(days=30), body="经支部委员会研究……", stage=0,
        case_title="发展党员：刘某某", case_opened_on=NOW.date()), NOW)
    disclosures.submit(session, w.editor, d.id, NOW)
    disclosures.approve(session, w.reviewer, d.id, NOW)
    settings = manifests.Settings("http://s.test", b"k" * 32, "Asia/Shanghai")

    def board(device, at):
        plan = manifests.plan_manifest(session, device, at, settings)
        found = [b for b in plan.render(at)["boards"] if b["title"] == "刘某某确定为入党积极分子公示"]
        return (found[0], plan.pages[found[0]["content"]]) if found else (None, "")

    inside, html = board(w.screen_a_internal, NOW)
    assert inside["from"] == NOW.isoformat() and "2026年11月25日起向社会公开" in html
    outside, html = board(w.screen_a, NOW)
    assert outside["from"] == (NOW + dt.timedelta(days=5)).isoformat()  # in the manifest, waiting
    assert "先党内" not in html and "发展党员：刘某某 · 确定入党积极分子" in html


def test_a_table_edited_as_text_keeps_its_masked_columns(app, client, world, login):
    from server.models import DisclosureKind

    with app.app_context(), session_scope() as s:
        d = disclosures.create_draft(s, s.merge(world.editor), DraftInput(
            area_id=world.village_a.id, catalogue_item_id=world.item_public.id, title="救助名单",
            valid_from=NOW, kind=DisclosureKind.table,
            table={"columns": ["姓名", "电话"], "rows": [["孙福来", "13812345678"]], "masked": [1]}), NOW)
        d_id = d.id
    login("editor")
    form = client.get(f"/admin/disclosures/{d_id}/edit").get_data(as_text=True)
    assert "138****5678" in form
    saved = client.post(f"/admin/disclosures/{d_id}/edit", data={
        "csrf_token": csrf_from(form), "area_id": world.village_a.id, "catalogue_item_id": world.item_public.id,
        "kind": "table", "title": "救助名单", "valid_from": "2026-11-20",
        "table": "姓名,电话\n孙福来,138****5678\n周桂英,13967781234",
    })
    assert saved.status_code == 302
    with app.app_context(), session_scope() as s:
        table = s.get(Disclosure, d_id).latest_version.table
        assert table["masked"] == [1] and table["rows"][1] == ["周桂英", "139****1234"]


def test_an_editor_records_a_stages_day_on_the_obligations_page(app, client, world, login):
    app.extensions["sunwall.clock"] = FixedClock(NOW)
    with app.app_context(), session_scope() as s:
        staged = CatalogueItem(category_id=world.item_public.category_id, title="发展党员各阶段公示", scope=Scope.public,
                               timing=Timing.staged, stages=["确定入党积极分子", "确定发展对象"], deadline_days=5)
        s.add(staged)
        s.flush()
        editor, reviewer = s.merge(world.editor), s.merge(world.reviewer)
        d = disclosures.create_draft(s, editor, DraftInput(
            area_id=world.village_a.id, catalogue_item_id=staged.id, title="积极分子公示", valid_from=NOW, body="正文",
            stage=0, case_title="发展党员：刘某", case_opened_on=NOW.date()), NOW)
        disclosures.submit(s, editor, d.id, NOW)
        disclosures.approve(s, reviewer, d.id, NOW)
        case_id = d.case_id
    login("editor_a")
    page = client.get("/admin/obligations").get_data(as_text=True)
    assert f"/admin/cases/{case_id}/stages/1" in page and "这个阶段的发生日期" in page
    bad = client.post(f"/admin/cases/{case_id}/stages/1", data={"csrf_token": csrf_from(page), "day": "2099-01-01"})
    assert bad.status_code == 302
    assert "晚于今天" in client.get(bad.headers["Location"]).get_data(as_text=True)
    done = client.post(f"/admin/cases/{case_id}/stages/1", data={"csrf_token": csrf_from(page), "day": "2026-11-20"})
    after = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "已登记发生日期" in after and "2026-11-25" in after  # due five days after
