"""The catalogue as a spreadsheet: export, a row-by-row preview of an import, broken files
refused whole, and an all-or-nothing apply."""

from __future__ import annotations

import io
import re
import zipfile

import openpyxl
import pytest
from sqlalchemy import func, select

from server.domain import areas, catalogue, users
from server.domain import catalogue_sheets as sheets
from server.domain.errors import Forbidden, NotFound, ValidationFailed
from server.extensions import session_scope
from server.models import AreaKind, AuditEvent, CatalogueCategory, CatalogueItem, Role, Timing
from tests.conftest import NOW, csrf_from


@pytest.fixture
def admin(session):
    catalogue.seed_catalogue(session)
    town = areas.create_area(session, "清河镇", AreaKind.township)
    return users.create_user(session, username="town_admin", password="correct-horse", display_name="周",
                             grants=[(Role.admin, town)])


def workbook(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data))


def saved(book) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def edited(data: bytes, change) -> bytes:
    book = workbook(data)
    change(book["公开目录"])
    return saved(book)


def row_of(sheet, title: str) -> int:
    return next(cell.row for cell in sheet["B"] if cell.value == title)


def problems(plan) -> list[tuple[int, str, str]]:
    return [(p.row, p.column, p.message) for p in plan.problems]


# -- export and round trip -------------------------------------------------------------


@pytest.mark.parametrize("kind", list(sheets.catalogue.KIND_LABELS))
def test_export_then_import_changes_nothing(session, admin, kind):
    data = sheets.export_xlsx(session, kind)
    plan = sheets.preview(session, kind, "目录.xlsx", data, retire_missing=True)
    assert plan.problems == [] and not plan.changes_anything()
    assert plan.counts()["same"] == len(catalogue.live_items(session, kind)) and plan.missing == []


def test_the_export_has_one_row_per_item_with_chinese_headers(session, admin):
    sheet = workbook(sheets.export_xlsx(session, AreaKind.village))["公开目录"]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == ["分类", "事项", "公开范围", "党内先行天数", "公开时限", "周期", "阶段", "期限天数",
                             "公开形式", "责任部门", "责任人"]
    by_title = {r[1]: r for r in rows[1:]}
    assert len(by_title) == len(rows) - 1 == len(catalogue.live_items(session, AreaKind.village))
    assert by_title["发展党员各阶段公示"] == (
        "组织建设", "发展党员各阶段公示", "先党内后党外", 5, "逐段", None,
        "确定入党积极分子→确定发展对象→接收预备党员→预备党员转正", 5, "屏幕、公开栏、会议", "村党组织", "组织委员")
    assert by_title["党费收缴情况"][2:6] == ("社会公开", None, "定期", "每季度")
    assert by_title["党员大会决议事项"][2:6] == ("党内", None, "随时", None)


def test_text_that_looks_like_a_formula_is_exported_as_text_and_comes_back(session, admin):
    dues = next(i for i in catalogue.live_items(session, AreaKind.village) if i.title == "党费收缴情况")
    dues.responsible_person = "=HYPERLINK(\"http://example.com\")"
    data = sheets.export_xlsx(session, AreaKind.village)
    cell = workbook(data)["公开目录"].cell(row_of(workbook(data)["公开目录"], "党费收缴情况"), 11)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")
    assert not sheets.preview(session, AreaKind.village, "v.xlsx", data).changes_anything()


# -- a good file with changes ----------------------------------------------------------


def test_a_changed_file_previews_every_row_then_applies_all_of_it(session, admin):
    data = sheets.export_xlsx(session, AreaKind.village)

    def change(sheet):
        sheet.cell(row_of(sheet, "党费收缴情况"), 8).value = 15  # 期限天数
        sheet.cell(row_of(sheet, "党费收缴情况"), 11).value = "党支部书记"
        sheet.delete_rows(row_of(sheet, "村级债权债务情况"))
        sheet.cell(row_of(sheet, "村级财务收支明细"), 5).value = "每月"  # 定期 + 每月, written as one
        sheet.cell(row_of(sheet, "村级财务收支明细"), 6).value = None
        sheet.append(["乡村振兴", "村级光伏电站收益分配", "先党内、后党外", 3, "逐段", None, "分配方案->表决→结果", 7,
                      "屏幕、公开栏，会议", "村集体经济组织", "村委会主任"])

    data = edited(data, change)
    kept = sheets.preview(session, AreaKind.village, "v.xlsx", data)
    assert kept.problems == []
    assert kept.counts() == {"new": 1, "changed": 1, "restored": 0, "same": 60, "retired": 0, "categories": 1}
    changed = next(r for r in kept.rows if r.status == "changed")
    assert (changed.title, changed.changed) == ("党费收缴情况", ["期限天数", "责任人"])
    assert [m.title for m in kept.missing] == ["村级债权债务情况"] and kept.new_categories == ["乡村振兴"]

    counts = sheets.apply(session, admin, AreaKind.village, "v.xlsx", data, NOW)
    assert counts["new"] == 1 and counts["retired"] == 0
    dues = next(i for i in catalogue.live_items(session, AreaKind.village) if i.title == "党费收缴情况")
    assert (dues.deadline_days, dues.responsible_person) == (15, "党支部书记")
    solar = catalogue.live_items(session, AreaKind.village)[-1]
    assert (solar.title, solar.category.name, solar.internal_days, solar.stages, solar.forms) == (
        "村级光伏电站收益分配", "乡村振兴", 3, ["分配方案", "表决", "结果"], "screen,board,meeting")
    assert solar.timing is Timing.staged and solar.created_at == NOW
    assert "村级债权债务情况" in [i.title for i in catalogue.live_items(session, AreaKind.village)]  # not retired
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "catalogue.import")).one()
    assert event.detail["new"] == 1 and event.detail["org_kind"] == "village" and len(event.detail["file_sha256"]) == 64

    # Again with the box ticked: the item the file leaves out is retired, not deleted.
    retiring = sheets.preview(session, AreaKind.village, "v.xlsx", data, retire_missing=True)
    assert retiring.counts()["retired"] == 1 and retiring.counts()["new"] == 0
    sheets.apply(session, admin, AreaKind.village, "v.xlsx", data, NOW, retire_missing=True)
    debts = session.scalars(select(CatalogueItem).where(CatalogueItem.title == "村级债权债务情况")).one()
    assert debts.retired_at == NOW
    # And the export of today's catalogue imports back unchanged.
    again = sheets.preview(session, AreaKind.village, "v.xlsx", sheets.export_xlsx(session, AreaKind.village), True)
    assert not again.changes_anything()


def test_a_retired_item_named_in_the_file_is_restored_and_order_follows_the_file(session, admin):
    dues = next(i for i in catalogue.live_items(session, AreaKind.village) if i.title == "党费收缴情况")
    data = sheets.export_xlsx(session, AreaKind.village)
    catalogue.retire_item(session, admin, dues.id, NOW)

    def swap(sheet):
        first, second = row_of(sheet, "党费收缴情况"), row_of(sheet, "党费使用情况")
        for column in range(1, 12):
            a, b = sheet.cell(first, column), sheet.cell(second, column)
            a.value, b.value = b.value, a.value

    plan = sheets.preview(session, AreaKind.village, "v.xlsx", edited(data, swap))
    assert [r.status for r in plan.rows if r.title == "党费收缴情况"] == ["restored"] and plan.reordered
    sheets.apply(session, admin, AreaKind.village, "v.xlsx", edited(data, swap), NOW)
    finances = [i.title for i in catalogue.live_items(session, AreaKind.village) if i.category.name == "财务与党费"]
    assert finances[:2] == ["党费使用情况", "党费收缴情况"]


# -- bad rows --------------------------------------------------------------------------


def test_every_bad_cell_is_listed_with_row_column_and_reason_and_nothing_is_saved(session, admin):
    data = sheets.export_xlsx(session, AreaKind.village)

    def spoil(sheet):
        sheet.cell(2, 3).value = "大家"  # 公开范围
        sheet.cell(3, 4).value = 5  # 党内先行天数 on a public item
        sheet.cell(4, 6).value = None  # a regular item without 周期
        sheet.cell(2, 7).value = "只有一段"  # a staged item with one stage
        sheet.cell(5, 8).value = "十天"  # 期限天数
        sheet.cell(6, 8).value = 120
        sheet.cell(7, 9).value = "屏幕、广播"
        sheet.cell(8, 2).value = sheet.cell(9, 2).value  # duplicate 事项
        sheet.cell(10, 10).value = None  # 责任部门
    bad = edited(data, spoil)
    plan = sheets.preview(session, AreaKind.village, "v.xlsx", bad)
    found = problems(plan)
    assert (2, "公开范围", "公开范围：“大家”不认识，应为 党内、社会公开 或 先党内后党外。") in found
    assert any(r == 2 and c == "阶段" and "至少要有 2 个阶段" in m for r, c, m in found)
    assert any(r == 3 and c == "党内先行天数" and "先党内后党外" in m for r, c, m in found)
    assert any(r == 4 and c == "周期" and "要选周期" in m for r, c, m in found)
    assert (5, "期限天数", "期限天数：“十天”不是整数天数。") in found
    assert any(r == 6 and c == "期限天数" and "1–90" in m for r, c, m in found)
    assert any(r == 7 and c == "公开形式" and "“广播”不认识" in m for r, c, m in found)
    assert any(r == 9 and c == "事项" and "与第 8 行重复" in m for r, c, m in found)
    assert any(r == 10 and c == "责任部门" for r, c, m in found)
    assert [p.cell for p in plan.problems if p.row == 5] == ["H5"]
    assert plan.rows == []  # nothing to apply while anything is wrong

    before = session.scalar(select(func.count(CatalogueItem.id)))
    with pytest.raises(ValidationFailed, match="没有导入任何内容") as refused:
        sheets.apply(session, admin, AreaKind.village, "v.xlsx", bad, NOW)
    assert len(refused.value.details["problems"]) == len(plan.problems)
    assert session.scalar(select(func.count(CatalogueItem.id))) == before
    assert session.scalar(select(func.count(AuditEvent.id))) == 0


def test_headers_must_be_the_known_ones(session, admin):
    book = openpyxl.Workbook()
    book.active.append(["分类", "事项", "公开范围", "备注", "公开时限", "期限天数", "公开形式", "事项"])
    book.active.append(["民主决策", "村务公开", "社会公开", "", "随时", 5, "屏幕", "村委会"])
    found = problems(sheets.preview(session, AreaKind.village, "x.xlsx", saved(book)))
    assert (1, "备注", "表头“备注”不认识。表头应为：分类、事项、公开范围、党内先行天数、公开时限、周期、阶段、期限天数、公开形式、责任部门、责任人。") in found
    assert (1, "事项", "表头“事项”出现了两次。") in found
    assert (1, "", "第一行（表头）缺少“责任部门”列。") in found


# -- broken files ----------------------------------------------------------------------


def only_problem(session, filename: str, data: bytes) -> str:
    plan = sheets.preview(session, AreaKind.village, filename, data)
    assert len(plan.problems) >= 1 and plan.rows == []
    return plan.problems[0].message


def test_files_that_are_not_workbooks_are_refused(session, admin):
    assert "改了扩展名" in only_problem(session, "目录.xlsx", "分类,事项\n民主决策,测试\n".encode())
    assert "旧版 .xls" in only_problem(session, "目录.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    assert "只能导入 .xlsx" in only_problem(session, "目录.pdf", b"%PDF-1.7")
    assert "不是有效的 XLSX" in only_problem(session, "目录.xlsx", b"PK\x03\x04" + b"broken" * 50)
    other_zip = io.BytesIO()
    with zipfile.ZipFile(other_zip, "w") as z:
        z.writestr("word/document.xml", "<w/>")
    assert "不是有效的 XLSX" in only_problem(session, "目录.xlsx", other_zip.getvalue())
    # A real workbook cut short: the zip's directory is gone.
    good = sheets.export_xlsx(session, AreaKind.village)
    assert "不是有效的 XLSX" in only_problem(session, "目录.xlsx", good[: len(good) // 2])
    assert "文件太大" in only_problem(session, "目录.xlsx", good + b"\0" * sheets.MAX_BYTES)


def test_formulas_and_merged_cells_are_refused_naming_the_cell(session, admin):
    data = sheets.export_xlsx(session, AreaKind.village)

    def formula(sheet):
        sheet["H5"] = "=1+4"
    assert problems(sheets.preview(session, AreaKind.village, "v.xlsx", edited(data, formula))) == [
        (5, "", "单元格 H5 是公式，请复制后“粘贴为数值”再导入。")]

    def merge(sheet):
        sheet.merge_cells("A2:A10")
    assert problems(sheets.preview(session, AreaKind.village, "v.xlsx", edited(data, merge))) == [
        (2, "", "有合并单元格 A2:A10，请取消合并后再导入。")]


def test_more_than_a_thousand_rows_is_refused(session, admin):
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("公开目录")
    sheet.append(sheets.HEADERS)
    for n in range(20_000):
        sheet.append(["民主决策", f"事项{n}", "社会公开", None, "随时", None, None, 5, "屏幕", "村委会", "主任"])
    message = only_problem(session, "big.xlsx", saved(book))
    assert message == "行数太多：超过 1000 行。公开目录一次最多导入 1000 个事项。"


def test_only_county_or_township_admins_may_import(session, admin):
    east = areas.create_area(session, "东山村", AreaKind.village, admin.grants[0].area)
    village_admin = users.create_user(session, username="village_admin", password="correct-horse",
                                      display_name="村", grants=[(Role.admin, east)])
    data = sheets.export_xlsx(session, AreaKind.village)
    with pytest.raises(Forbidden):
        sheets.apply(session, village_admin, AreaKind.village, "v.xlsx", data, NOW)
    with pytest.raises(NotFound):
        sheets.apply(session, admin, AreaKind.county, "v.xlsx", data, NOW)


# -- through the pages -----------------------------------------------------------------


@pytest.fixture
def seeded(app, world):
    with app.app_context(), session_scope() as s:
        for item in s.scalars(select(CatalogueItem)):
            s.delete(item)
        for category in s.scalars(select(CatalogueCategory)):
            s.delete(category)
        s.flush()
        catalogue.seed_catalogue(s)
        users.create_user(s, username="village_admin", password="correct-horse", display_name="村管理员",
                          grants=[(Role.admin, s.get(type(world.village_a), world.village_a.id))])
    return world


def upload(client, data: bytes, retire: bool = False, name: str = "目录.xlsx"):
    page = client.get("/admin/catalogue/community/import").get_data(as_text=True)
    form = {"csrf_token": csrf_from(page), "file": (io.BytesIO(data), name)}
    if retire:
        form["retire_missing"] = "y"
    response = client.post("/admin/catalogue/community/import", data=form, content_type="multipart/form-data")
    return response.status_code, response.get_data(as_text=True)


def test_an_admin_exports_edits_previews_and_applies_through_the_pages(client, login, seeded, app):
    login("admin")
    exported = client.get("/admin/catalogue/community/export.xlsx")
    assert exported.status_code == 200 and exported.mimetype.endswith("spreadsheetml.sheet")
    status, html = upload(client, exported.data)
    assert status == 200 and "文件与现有目录完全一致" in html and "确认导入" not in html

    def change(sheet):
        sheet.cell(row_of(sheet, "居民公约"), 8).value = 10
        sheet.delete_rows(row_of(sheet, "网格员与楼栋长名单"))
    status, html = upload(client, edited(exported.data, change), retire=True)
    assert status == 200 and "修改 1 项" in html and "停用 1 项" in html
    assert "文件中没有、将停用的目录项" in html and "网格员与楼栋长名单" in html
    apply_url = re.search(r'action="(/admin/catalogue/community/import/[^"]+/apply)"', html).group(1)

    # Only the uploader may apply the stashed file.
    other = app.test_client()
    other.post("/login", data={"username": "editor", "password": "correct-horse",
                               "csrf_token": csrf_from(other.get("/login").get_data(as_text=True))})
    assert other.post(apply_url, data={"csrf_token": csrf_from(other.get("/admin/catalogue").get_data(as_text=True)),
                                       "retire_missing": "1"}).status_code == 403

    done = client.post(apply_url, data={"csrf_token": csrf_from(html), "retire_missing": "1"}, follow_redirects=True)
    assert "已导入公开目录：新增 0 项，修改 1 项，恢复 0 项，停用 1 项" in done.get_data(as_text=True)
    with app.app_context(), session_scope() as s:
        titles = {i.title: i for i in catalogue.live_items(s, AreaKind.community)}
        assert titles["居民公约"].deadline_days == 10 and "网格员与楼栋长名单" not in titles
    assert client.post(apply_url, data={"csrf_token": csrf_from(html)}).status_code == 404  # used up


def test_a_bad_upload_shows_every_problem_and_a_village_admin_cannot_import(client, login, seeded, app):
    login("admin")
    data = client.get("/admin/catalogue/community/export.xlsx").data

    def spoil(sheet):
        sheet["E3"] = "偶尔"
        sheet.merge_cells("J4:K4")
    status, html = upload(client, edited(data, spoil))
    assert status == 422 and "有合并单元格 J4:K4" in html and "没有导入任何内容" in html
    status, html = upload(client, b"not a workbook")
    assert status == 422 and "改了扩展名" in html
    status, html = upload(client, edited(data, lambda sheet: sheet.__setitem__("E3", "偶尔")))
    assert status == 422 and "公开时限：“偶尔”不认识" in html and "E3" in html

    village = app.test_client()
    village.post("/login", data={"username": "village_admin", "password": "correct-horse",
                                 "csrf_token": csrf_from(village.get("/login").get_data(as_text=True))})
    assert village.get("/admin/catalogue/community/import").status_code == 403
