"""Bulk import: reading XLSX/CSV, every bad row named, broken files refused, all or nothing."""

from __future__ import annotations

import io
import re
import stat

import openpyxl
import pytest
from sqlalchemy import func, select

from server.domain import imports, users
from server.domain.errors import NotFound, ValidationFailed
from server.domain.imports import Existing, KnownArea
from server.extensions import session_scope
from server.models import Area, AreaKind, AuditEvent, Role, Site, User
from tests.conftest import NOW, csrf_from

AREA_HEAD = ["名称", "类型", "上级", "代码"]
SITE_HEAD = ["名称", "所属区域", "地址", "联系人", "联系电话"]
USER_HEAD = ["用户名", "姓名", "初始密码", "角色", "区域"]


def xlsx(areas=(), sites=(), people=(), tweak=None) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, head, rows in (("区域", AREA_HEAD, areas), ("场所", SITE_HEAD, sites), ("用户", USER_HEAD, people)):
        sheet = book.create_sheet(title)
        sheet.append(head)
        for row in rows:
            sheet.append(list(row))
    if tweak:
        tweak(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def existing(admin_paths=("/1/",)) -> Existing:
    """清河镇 (/1/) with 东山村 under it, and 白河镇 (/9/) outside the admin's subtree."""
    return Existing(
        areas=[
            KnownArea(1, "清河镇", AreaKind.township, "3301", None, "/1/", False),
            KnownArea(2, "东山村", AreaKind.village, None, 1, "/1/2/", False),
            KnownArea(3, "旧村", AreaKind.village, None, 1, "/1/3/", True),
            KnownArea(9, "白河镇", AreaKind.township, None, None, "/9/", False),
        ],
        usernames={"admin", "taken"},
        sites={(2, "东山村党群服务中心")},
        admin_paths=list(admin_paths),
    )


def plan_of(data: bytes, name: str = "t.xlsx", known: Existing | None = None) -> imports.Plan:
    return imports.check(imports.read_upload(name, data), known or existing())


def problems(plan: imports.Plan) -> list[tuple[str, int, str]]:
    return [(p.sheet, p.row, p.message) for p in plan.problems]


def test_a_good_workbook_becomes_a_plan():
    plan = plan_of(xlsx(
        areas=[("西岭村", "村", "清河镇", "330122101202"), ("镇农业办", "部门", "3301", None),
               ("#示例行", "村", "清河镇", None), (None, None, None, None)],
        sites=[("西岭村党群服务中心", "西岭村", "西岭村村委会", "王会计", 13800001111)],
        people=[("xiling_editor", "李秀兰", "Xiling-2026", "经办人、审核人", "西岭村")],
    ))
    assert plan.problems == []
    assert plan.counts() == {"areas": 2, "sites": 1, "users": 1}
    assert plan.areas[0].parent == ("db", 1) and plan.areas[0].code == "330122101202"
    assert plan.sites[0].area == ("row", 2) and plan.sites[0].fields["contact_phone"] == "13800001111"
    assert [r.value for r in plan.users[0].roles] == ["editor", "reviewer"]
    assert "Xiling-2026" not in repr(plan.users[0])


def test_every_bad_row_is_listed_with_sheet_row_and_reason():
    plan = plan_of(xlsx(
        areas=[
            ("南湾村", "村庄", "清河镇", None),        # 2: bad kind
            ("北坡村", "村", "不存在镇", None),        # 3: missing parent
            ("白河一村", "村", "白河镇", None),        # 4: parent outside the subtree
            ("东山村", "村", "清河镇", None),          # 5: duplicate of an existing area
            ("桃园村", "村", "清河镇", None),          # 6: fine
            ("桃园村", "村", "清河镇", None),          # 7: duplicate of row 6
            ("新镇", "乡镇", "东山村", None),          # 8: a township inside a village
            ("柳树村", "村", "石桥片区", None),        # 9: parent defined later
            ("石桥片区", "乡镇", "清河镇", None),      # 10: a township inside a township
            ("再生村", "村", "旧村", None),            # 11: retired parent
        ],
        sites=[("大厅", "东山村", "", "", "not a phone")],
        people=[
            ("taken", "", "Strong-pass-1", "经办人", "东山村"),   # 2: username exists
            ("li", "", "Strong-pass-1", "经办人", "东山村"),      # 3: username too short
            ("zhao", "", "12345678", "经办人", "东山村"),         # 4: weak password
            ("qian", "", "Strong-pass-1", "村长", "东山村"),      # 5: unknown role
            ("sun", "", "Strong-pass-1", "审核人", "东山村"),     # 6: fine
            ("sun", "", "Strong-pass-1", "审核人", "东山村"),     # 7: duplicate of row 6
        ],
    ))
    found = problems(plan)
    by_row = {(sheet, row): message for sheet, row, message in found}
    assert "类型“村庄”不认识" in by_row[("区域", 2)]
    assert "上级“不存在镇”不存在" in by_row[("区域", 3)]
    assert "不在你的管辖范围内" in by_row[("区域", 4)]
    assert "已有名为“东山村”的区域" in by_row[("区域", 5)]
    assert ("区域", 6) not in by_row
    assert "与第 6 行重复" in by_row[("区域", 7)]
    assert "下面不能建" in by_row[("区域", 8)]
    assert "在第 10 行，请把它移到本行前面" in by_row[("区域", 9)]
    assert "下面不能建" in by_row[("区域", 10)]
    assert "“旧村”已停用" in by_row[("区域", 11)]
    assert "联系电话" in by_row[("场所", 2)]
    assert "已存在" in by_row[("用户", 2)]
    assert "不合格" in by_row[("用户", 3)]
    assert "初始密码太弱" in by_row[("用户", 4)]
    assert "角色“村长”不认识" in by_row[("用户", 5)]
    assert ("用户", 6) not in by_row
    assert "与第 6 行重复" in by_row[("用户", 7)]
    assert [s for s, _, _ in found] == sorted((s for s, _, _ in found), key=["区域", "场所", "用户"].index)


def test_ambiguous_names_ask_for_the_code():
    known = existing()
    known.areas.append(KnownArea(4, "东山村", AreaKind.village, "3301-2", 1, "/1/4/", False))
    plan = plan_of(xlsx(sites=[("大厅", "东山村"), ("二号厅", "3301-2")]), known=known)
    assert "请在所属区域一栏改填它的代码" in problems(plan)[0][2] and problems(plan)[0][1] == 2
    assert plan.sites[0].area == ("db", 4)


def test_formula_cells_are_refused_with_their_address():
    def formula(book):
        book["区域"]["A2"] = "=CONCAT(\"西\",\"岭村\")"

    plan = plan_of(xlsx(areas=[("x", "村", "清河镇", None)], tweak=formula))
    assert problems(plan) == [("区域", 2, "单元格 A2 是公式，请复制后“粘贴为数值”再导入。")]


def test_merged_cells_are_refused():
    def merge(book):
        book["场所"].merge_cells("A2:B2")

    plan = plan_of(xlsx(sites=[("大厅", "东山村")], tweak=merge))
    assert problems(plan) == [("场所", 2, "有合并单元格 A2:B2，请取消合并后再导入。")]
    assert plan.sites == []


def test_ten_thousand_rows_are_too_many():
    rows = [(f"{n}号村", "村", "清河镇", None) for n in range(10_000)]
    plan = plan_of(xlsx(areas=rows))
    assert len(plan.problems) == 1 and "行数太多" in plan.problems[0].message
    assert plan.areas == []


def test_files_that_are_not_what_they_claim_are_refused():
    text_as_xlsx = plan_of("名称,类型\n东山村,村\n".encode(), "areas.xlsx")
    assert "不是真正的 XLSX" in text_as_xlsx.problems[0].message
    broken_zip = plan_of(b"PK\x03\x04" + b"\x00" * 200, "areas.xlsx")
    assert "不是有效的 XLSX" in broken_zip.problems[0].message
    other = plan_of(b"%PDF-1.7", "areas.pdf")
    assert "只能导入 .xlsx 或 .csv" in other.problems[0].message
    big = plan_of(b"a" * (imports.MAX_BYTES + 1), "big.csv")
    assert "文件太大" in big.problems[0].message
    binary = plan_of(b"\x00\x01\x02name", "x.csv")
    assert "编码" in binary.problems[0].message
    no_sheets = plan_of(xlsx(tweak=lambda b: [setattr(s, "title", f"Sheet{i}") for i, s in enumerate(b.worksheets)]))
    assert "找不到“区域”“场所”“用户”工作表" in no_sheets.problems[0].message


CSV_TEXT = "名称,类型,上级,代码\r\n西岭村,村,清河镇,\r\n南湾村,村,清河镇,330122101203\r\n"


@pytest.mark.parametrize("encoded", [
    CSV_TEXT.encode("utf-8"), CSV_TEXT.encode("utf-8-sig"), CSV_TEXT.encode("gb18030"),
], ids=["utf8", "utf8-bom", "gb18030"])
def test_csv_in_utf8_with_or_without_bom_and_gb18030(encoded):
    plan = plan_of(encoded, "区域.csv")
    assert plan.problems == []
    assert [(a.name, a.code) for a in plan.areas] == [("西岭村", None), ("南湾村", "330122101203")]


def test_csv_in_an_unknown_encoding_or_with_formulas_is_refused():
    latin = plan_of("名称,类型,上级\ncafé,村,清河镇\n".encode().replace("é".encode(), b"\xe9"), "a.csv")
    assert "无法识别文件编码" in latin.problems[0].message
    formula = plan_of("名称,类型,上级\n=1+1,村,清河镇\n".encode(), "a.csv")
    assert problems(formula) == [("区域", 2, "第 1 列是公式（以 = 开头），请改成数值后再导入。")]
    unknown = plan_of("姓名,电话\n张三,1\n".encode(), "a.csv")
    assert "无法识别表头" in unknown.problems[0].message


def test_the_templates_read_back_as_empty_imports():
    book = openpyxl.load_workbook(io.BytesIO(imports.template_xlsx()))
    assert book.sheetnames == ["区域", "场所", "用户"]
    assert [c.value for c in book["用户"][1]] == USER_HEAD
    assert book["区域"]["A2"].value.startswith("#")
    empty = imports.read_upload("t.xlsx", imports.template_xlsx())
    assert empty.count() == 0 and "没有要导入的行" in empty.problems[0].message
    csv_bytes = imports.template_csv("sites")
    assert csv_bytes.startswith(b"\xef\xbb\xbf") and "所属区域" in csv_bytes.decode("utf-8-sig")


# -- applying ------------------------------------------------------------------------


def test_apply_is_all_or_nothing_and_audited(session, make_world, now):
    w = make_world(session)
    good = xlsx(
        areas=[("丙村", "村", "测试镇", None), ("丁村", "村", "测试镇", None)],
        sites=[("丙村大厅", "丙村"), ("丁村大厅", "丁村")],
        people=[("bing_editor", "丙村经办", "Bingcun-2026", "经办人", "丙村")],
    )
    broken = xlsx(areas=[("丙村", "村", "测试镇", None), ("戊村", "村庄", "测试镇", None)])
    with pytest.raises(ValidationFailed) as refused:
        imports.apply(session, w.admin, "t.xlsx", broken, now)
    assert refused.value.details["problems"][0]["row"] == 3
    assert session.scalar(select(func.count(Area.id)).where(Area.name == "丙村")) == 0
    counts = imports.apply(session, w.admin, "t.xlsx", good, now)
    assert counts == {"areas": 2, "sites": 2, "users": 1}
    bing = session.scalars(select(Area).where(Area.name == "丙村")).one()
    assert bing.path == f"{w.town.path}{bing.id}/"
    assert session.scalars(select(Site).where(Site.name == "丙村大厅")).one().area_id == bing.id
    clerk = users.get_user(session, "bing_editor")
    assert clerk.must_change_password and clerk.grants[0].area_id == bing.id
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "import.apply")).one()
    assert event.detail["areas"] == 2 and event.detail["users"] == 1 and event.area_path == w.town.path
    assert "Bingcun-2026" not in str(event.detail)
    # Applying the same file again re-checks it against what now exists, and refuses.
    with pytest.raises(ValidationFailed):
        imports.apply(session, w.admin, "t.xlsx", good, now)


def test_import_stays_inside_the_admins_subtree(session, make_world, now):
    w = make_world(session)
    village_admin = users.create_user(session, username="a_admin", password="correct-horse", display_name="",
                                      grants=[(Role.admin, w.village_a)])
    data = xlsx(sites=[("乙村二号厅", "乙村")], people=[("yi_clerk", "", "Yicun-2026!", "管理员", "测试镇")])
    with pytest.raises(ValidationFailed) as refused:
        imports.apply(session, village_admin, "t.xlsx", data, now)
    messages = [p["message"] for p in refused.value.details["problems"]]
    assert all("不在你的管辖范围内" in m for m in messages) and len(messages) == 2
    with pytest.raises(NotFound):
        imports.apply(session, w.editor, "t.xlsx", data, now)


def test_stash_is_private_to_the_uploader_and_expires(tmp_path):
    stash_id = imports.stash(tmp_path, 7, "镇.xlsx", b"data", NOW)
    assert stat.S_IMODE((tmp_path / f"{stash_id}.bin").stat().st_mode) == 0o600
    assert imports.unstash(tmp_path, stash_id, 7, NOW) == ("镇.xlsx", b"data")
    with pytest.raises(NotFound):
        imports.unstash(tmp_path, stash_id, 8, NOW)
    with pytest.raises(NotFound):
        imports.unstash(tmp_path, "../../etc/passwd", 7, NOW)
    with pytest.raises(NotFound):
        imports.unstash(tmp_path, stash_id, 7, NOW + imports.STASH_TTL * 2)
    imports.stash(tmp_path, 7, "later.xlsx", b"x", NOW + imports.STASH_TTL * 2)
    assert not (tmp_path / f"{stash_id}.bin").exists()  # swept on the way


def test_upload_preview_and_apply_through_the_pages(app, client, world, login):
    login("admin")
    page = client.get("/admin/imports").get_data(as_text=True)
    assert "下载 Excel 模板" in page
    template = client.get("/admin/imports/template.xlsx")
    assert template.status_code == 200 and template.data.startswith(b"PK")
    assert client.get("/admin/imports/template-users.csv").data.startswith(b"\xef\xbb\xbf")
    data = xlsx(areas=[("丙村", "村", "测试镇", None)], sites=[("丙村大厅", "丙村")])
    preview = client.post("/admin/imports", data={"csrf_token": csrf_from(page), "file": (io.BytesIO(data), "镇.xlsx")},
                          content_type="multipart/form-data")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "将新建 1 个区域、1 个场所、0 个用户" in html
    apply_url = re.search(r'action="(/admin/imports/[^"]+/apply)"', html).group(1)
    with app.app_context(), session_scope() as s:
        assert s.scalar(select(func.count(Area.id)).where(Area.name == "丙村")) == 0  # nothing before apply
        assert s.scalar(select(func.count(User.id))) == 6
    done = client.post(apply_url, data={"csrf_token": csrf_from(html)}, follow_redirects=True)
    assert "已导入：1 个区域、1 个场所、0 个用户" in done.get_data(as_text=True)
    again = client.post(apply_url, data={"csrf_token": csrf_from(html)})
    assert again.status_code == 404  # the stash is gone once applied
    with app.app_context(), session_scope() as s:
        assert s.scalar(select(func.count(Area.id)).where(Area.name == "丙村")) == 1


def test_another_admin_cannot_apply_someone_elses_upload(app, client, world, login):
    with app.app_context(), session_scope() as s:
        users.create_user(s, username="admin2", password="correct-horse", display_name="",
                          grants=[(Role.admin, s.get(Area, world.town.id))])
    login("admin")
    page = client.get("/admin/imports").get_data(as_text=True)
    data = xlsx(areas=[("丙村", "村", "测试镇", None)])
    html = client.post("/admin/imports", data={"csrf_token": csrf_from(page), "file": (io.BytesIO(data), "t.xlsx")},
                       content_type="multipart/form-data").get_data(as_text=True)
    apply_url = re.search(r'action="(/admin/imports/[^"]+/apply)"', html).group(1)
    client.post("/logout", data={"csrf_token": csrf_from(html)})
    login("admin2")
    page = client.get("/admin/imports").get_data(as_text=True)
    assert client.post(apply_url, data={"csrf_token": csrf_from(page)}).status_code == 404
    with app.app_context(), session_scope() as s:
        assert s.scalar(select(func.count(Area.id)).where(Area.name == "丙村")) == 0
