"""The proof that a township sets itself up without the demo.

From an empty data directory: `sunwall init`, sign in as that admin, import a township of
12 villages with a hall each (a broken file first: every bad row named, nothing applied),
create an editor and a reviewer for one village, the editor publishes a notice, the
reviewer approves it, and a screen of that village finds it in its manifest.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from server.cli import main
from server.clock import FixedClock
from server.domain import catalogue
from server.extensions import session_scope
from server.models import Area, Device, Site, User
from tests.conftest import NOW, csrf_from

VILLAGES = ["东山村", "西岭村", "南湾村", "北坡村", "桃园村", "柳树村",
            "石桥村", "青龙村", "杏花村", "白水村", "红旗村", "清河社区"]
ADMIN_PASSWORD = "Qinghe-Admin-2026"


def township_xlsx(area_rows: list[tuple], site_rows: list[tuple]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, head, rows in (("区域", ["名称", "类型", "上级", "代码"], area_rows),
                              ("场所", ["名称", "所属区域", "地址", "联系人", "联系电话"], site_rows),
                              ("用户", ["用户名", "姓名", "初始密码", "角色", "区域"], [])):
        sheet = book.create_sheet(title)
        sheet.append(head)
        for row in rows:
            sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def good_rows() -> tuple[list[tuple], list[tuple]]:
    areas = [(name, "社区" if name.endswith("社区") else "村", "清河镇", f"3301221012{n:02d}")
             for n, name in enumerate(VILLAGES, start=1)]
    sites = [(f"{name}党群服务中心", name, f"清河镇{name}", "", "") for name in VILLAGES]
    return areas, sites


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("SUNWALL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SUNWALL_DATABASE_URL", raising=False)
    monkeypatch.setenv("SUNWALL_ADMIN_USERNAME", "qinghe_admin")
    monkeypatch.setenv("SUNWALL_ADMIN_PASSWORD", ADMIN_PASSWORD)
    monkeypatch.setenv("SUNWALL_ADMIN_NAME", "周建国")
    monkeypatch.setenv("SUNWALL_ROOT_AREA", "清河镇")
    monkeypatch.setenv("SUNWALL_ROOT_KIND", "township")

    def run(*args: str):
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    return run


@pytest.fixture
def fresh_app(tmp_path, cli):
    from server.app import create_app

    assert not list(tmp_path.iterdir())  # an empty data directory
    output = cli("init")
    assert "created admin qinghe_admin of 清河镇" in output and "catalogue" in output
    assert "nothing changed" in cli("init")
    app = create_app({
        "TESTING": True, "DATA_DIR": tmp_path, "PUBLIC_URL": "http://sunwall.test",
        "ASYNC_MODE": "threading", "CLOCK": FixedClock(NOW),
    })
    yield app
    app.extensions["sunwall.db"].engine.dispose()


def sign_in(client, username: str, password: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    resp = client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_from(page)})
    assert resp.status_code == 302, resp.get_data(as_text=True)


def upload(client, data: bytes) -> tuple[int, str]:
    page = client.get("/admin/imports").get_data(as_text=True)
    resp = client.post("/admin/imports", data={"csrf_token": csrf_from(page), "file": (io.BytesIO(data), "清河镇.xlsx")},
                       content_type="multipart/form-data")
    return resp.status_code, resp.get_data(as_text=True)


def counts(app) -> tuple[int, int]:
    with app.app_context(), session_scope() as s:
        return s.scalar(select(func.count(Area.id))), s.scalar(select(func.count(Site.id)))


def test_a_township_sets_itself_up_and_its_screen_shows_an_approved_notice(fresh_app, cli):
    app, client = fresh_app, fresh_app.test_client()
    sign_in(client, "qinghe_admin", ADMIN_PASSWORD)
    assert "批量导入" in client.get("/admin/").get_data(as_text=True)

    # A broken file: every bad row is listed with its sheet and row number; nothing is applied.
    areas, sites = good_rows()
    broken_areas = list(areas)
    broken_areas[3] = ("北坡村", "村庄", "清河镇", None)          # row 5: unknown kind
    broken_areas[7] = ("青龙村", "村", "青河镇", None)            # row 9: no such parent
    broken_areas.append(("东山村", "村", "清河镇", None))         # row 14: duplicate of row 2
    broken_sites = [*sites, ("无名大厅", "不存在村", "", "", "")]  # row 14: no such area
    status, html = upload(client, township_xlsx(broken_areas, broken_sites))
    assert status == 422 and "没有导入任何内容" in html
    listed = re.findall(r"<tr><td>(区域|场所|用户)</td><td>(\d+)</td><td>([^<]+)</td></tr>", html)
    assert [(sheet, int(row)) for sheet, row, _ in listed] == [
        ("区域", 5), ("区域", 9), ("区域", 14), ("场所", 5), ("场所", 9), ("场所", 14)]
    assert "类型“村庄”不认识" in listed[0][2] and "“青河镇”不存在" in listed[1][2] and "与第 2 行重复" in listed[2][2]
    assert "“北坡村”（区域表第 5 行）有错误" in listed[3][2] and "“不存在村”不存在" in listed[5][2]
    assert "/apply" not in html
    assert counts(app) == (1, 0)

    # The good file: preview, then apply all of it at once.
    status, html = upload(client, township_xlsx(*good_rows()))
    assert status == 200 and "将新建 12 个区域、12 个场所、0 个用户" in html
    apply_url = re.search(r'action="(/admin/imports/[^"]+/apply)"', html).group(1)
    done = client.post(apply_url, data={"csrf_token": csrf_from(html)}, follow_redirects=True).get_data(as_text=True)
    assert "已导入：12 个区域、12 个场所、0 个用户" in done
    assert counts(app) == (13, 12)
    tree = client.get("/admin/areas").get_data(as_text=True)
    assert tree.index("东山村") < tree.index("西岭村") < tree.index("清河社区")  # by code, as imported

    with app.app_context(), session_scope() as s:
        east = s.scalars(select(Area).where(Area.name == "东山村")).one()
        hall = s.scalars(select(Site).where(Site.area_id == east.id)).one()
        item = next(i for i in catalogue.items_for(s, east) if i.title == "主题党日活动安排")
        east_id, hall_id, item_id = east.id, hall.id, item.id

    # An editor and a reviewer for 东山村, through the admin pages.
    for username, name, role in (("dongshan_editor", "李秀兰", "editor"), ("dongshan_reviewer", "王志强", "reviewer")):
        form = client.get("/admin/users/new").get_data(as_text=True)
        made = client.post("/admin/users/new", data={
            "csrf_token": csrf_from(form), "username": username, "display_name": name,
            "password": f"{role.title()}-Dongshan-1", "role": role, "area_id": east_id,
        })
        assert made.status_code == 302, made.get_data(as_text=True)

    # A screen in 东山村's hall, and its browser key, through the screens pages.
    form = client.get("/admin/screens/new").get_data(as_text=True)
    assert client.post("/admin/screens/new", data={
        "csrf_token": csrf_from(form), "site_id": hall_id, "name": "大厅信息屏", "kind": "signage",
        "orientation": "landscape",
    }).status_code == 302
    with app.app_context(), session_scope() as s:
        device_id = s.scalars(select(Device.id).where(Device.site_id == hall_id)).one()
    keyed = client.post(f"/admin/screens/{device_id}/player-key", data={"csrf_token": csrf_from(form), "confirm": "y"})
    key = re.search(r"/player/(pk_[A-Za-z0-9_-]+)", keyed.get_data(as_text=True)).group(1)

    # The editor drafts and submits; the reviewer approves (API tokens from the CLI).
    editor = {"Authorization": "Bearer " + cli("user", "token", "dongshan_editor").strip()}
    reviewer = {"Authorization": "Bearer " + cli("user", "token", "dongshan_reviewer").strip()}
    draft = client.post("/api/v1/disclosures", headers=editor, json={
        "area_id": east_id, "catalogue_item_id": item_id, "title": "东山村12月主题党日活动安排", "period": "2026-12",
        "body": "## 时间地点\n\n12月1日上午9:00，村党群服务中心二楼。",
        "valid_from": (NOW - dt.timedelta(hours=1)).isoformat(),
    })
    assert draft.status_code == 201, draft.get_json()
    did = draft.get_json()["id"]
    assert client.post(f"/api/v1/disclosures/{did}/submit", headers=editor).status_code == 200
    own = client.post(f"/api/v1/disclosures/{did}/approve", headers=editor, json={})
    assert own.status_code in (403, 404)  # the editor holds no reviewer role, and never on their own item
    approved = client.post(f"/api/v1/disclosures/{did}/approve", headers=reviewer,
                           json={"content_hash": draft.get_json()["content_hash"]})
    assert approved.status_code == 200, approved.get_json()

    # The village's screen gets it in its manifest.
    manifest = client.get("/api/v1/device/manifest", headers={"Authorization": f"Bearer {key}"})
    assert manifest.status_code == 200
    body = manifest.get_json()
    assert body["site"]["name"] == "东山村党群服务中心"
    assert "东山村12月主题党日活动安排" in [b["title"] for b in body["boards"]]

    with app.app_context(), session_scope() as s:
        assert s.scalar(select(func.count(User.id))) == 3
