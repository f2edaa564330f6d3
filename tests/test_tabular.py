"""Tables from CSV and XLSX files: read as people see them, broken files refused by name,
and the editor's upload → preview → apply flow through the pages."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import openpyxl
import pytest

from server.domain import content, tabular
from server.domain.errors import ValidationFailed
from tests.conftest import csrf_from


def xlsx(fill) -> bytes:
    book = openpyxl.Workbook()
    fill(book.active)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def refused(name: str, data: bytes) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as err:
        tabular.read(name, data)
    assert err.value.field == "file"
    assert err.value.message.startswith(f"“{name}”：")
    return err.value


# -- reading ---------------------------------------------------------------------------


def test_xlsx_numbers_and_dates_come_out_as_people_wrote_them():
    def fill(ws):
        ws.append([None])  # a blank first row: the header is the first non-empty one
        ws.append(["姓名", "金额（元）", "占比", "日期", "户数", None, None])
        ws.append(["张三", 1234.5000000001, 0.85, dt.datetime(2026, 11, 3), 12.0, None])
        ws.append(["李四", 800, 0.125, dt.date(2026, 1, 2), 3])
        ws.append([])
        ws["B4"].number_format = "#,##0.00"
        ws["C3"].number_format = "0%"
        ws["C4"].number_format = "0.0%"

    table = tabular.read("名单.xlsx", xlsx(fill))
    assert table.columns == ["姓名", "金额（元）", "占比", "日期", "户数"]
    assert table.rows == [["张三", "1234.5", "85%", "2026-11-03", "12"],
                          ["李四", "800.00", "12.5%", "2026-01-02", "3"]]
    assert content.clean_table(table.as_dict())["align"] == ["left", "right", "right", "left", "right"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_in_every_encoding_excel_saves_with_any_delimiter(encoding, delimiter):
    text = delimiter.join(["户主", "救助事由", "金额"]) + "\r\n"
    text += delimiter.join(["孙福来", "因病致困", '"2,000"' if delimiter == "," else "2,000"]) + "\r\n\r\n"
    table = tabular.read("救助名单.csv", text.encode(encoding))
    assert table.columns == ["户主", "救助事由", "金额"]
    assert table.rows == [["孙福来", "因病致困", "2,000"]]


def test_a_short_row_is_padded_and_a_missing_header_named():
    table = tabular.read("t.csv", "姓名,,金额\n张三\n李四,x,5\n".encode())
    assert table.columns == ["姓名", "第 2 列", "金额"]
    assert table.rows == [["张三", "", ""], ["李四", "x", "5"]]


# -- refusing --------------------------------------------------------------------------


def test_formula_cells_are_named_and_values_asked_for():
    def fill(ws):
        ws.append(["项目", "金额"])
        ws.append(["路灯", 3260])
        ws.append(["合计", "=SUM(B2:B2)"])

    err = refused("财务.xlsx", xlsx(fill))
    assert "单元格 B3 是公式" in err.message and "粘贴" in err.message


def test_merged_cells_are_named_by_range():
    def fill(ws):
        ws.append(["组别", "姓名"])
        ws.append(["一组", "张三"])
        ws.append([None, "李四"])
        ws.merge_cells("A2:A3")

    assert "合并单元格 A2:A3" in refused("名单.xlsx", xlsx(fill)).message


def test_ten_thousand_rows_are_refused_after_reading_only_the_first_ones():
    def fill(ws):
        ws.append(["序号", "姓名"])
        for i in range(10_000):
            ws.append([i, f"村民{i}"])
        ws["B9000"] = "=A9000"  # far past the limit: reading stops before it

    err = refused("全村.xlsx", xlsx(fill))
    assert "10001 行" in err.message and f"最多 {content.MAX_ROWS} 行" in err.message
    assert "公式" not in str(err.details["problems"])


def test_too_many_columns_and_too_long_cells_are_refused():
    wide = ",".join(f"列{i}" for i in range(content.MAX_COLUMNS + 1)) + "\n" + ",".join("1" * (content.MAX_COLUMNS + 1)) + "\n"
    assert f"{content.MAX_COLUMNS + 1} 列" in refused("宽.csv", wide.encode()).message
    long = "姓名,备注\n张三," + "长" * (content.MAX_CELL + 1) + "\n"
    assert f"第 2 行第 2 列 有 {content.MAX_CELL + 1} 个字" in refused("长.csv", long.encode("gb18030")).message

    def fill(ws):
        ws.append(["姓名", "备注"])
        ws.append(["张三", "长" * (content.MAX_CELL + 1)])

    assert "单元格 B2" in refused("长.xlsx", xlsx(fill)).message


def _zip(**files: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(("name", "data", "said"), [
    ("照片.xlsx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "PNG 图片"),
    ("名单.csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "PNG 图片"),
    ("文档.xlsx", _zip(**{"word/document.xml": b"<w/>"}), "不是 XLSX"),
    ("坏.xlsx", xlsx(lambda ws: ws.append(["a"]))[:300], "不是 XLSX"),
    ("假.xlsx", "姓名,金额\n张三,5\n".encode(), "不是真正的 XLSX"),
    ("旧.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "旧版 Office"),
    ("二进制.csv", b"abc\x00def", "不是 CSV"),
    ("空.csv", b"", "空"),
    ("空行.csv", b"\r\n , \r\n", "空"),
    ("只有表头.csv", "姓名,金额\n".encode(), "没有数据行"),
    ("公式.csv", "项目,金额\n合计,=SUM(B1:B2)\n".encode(), "第 2 行第 2 列以“=”开头"),
    ("大.csv", b"a,b\n" + b"1,2\n" * 600_000, "文件太大"),
])
def test_files_that_cannot_be_a_table_are_refused_by_name(name, data, said):
    assert said in refused(name, data).message


# -- the pages: upload → preview → apply ----------------------------------------------


@pytest.fixture
def table_draft(app, world):
    from server.domain import disclosures, users
    from server.domain.disclosures import DraftInput
    from server.extensions import session_scope
    from server.models import DisclosureKind

    with app.app_context(), session_scope() as s:
        d = disclosures.create_draft(
            s, users.get_user(s, "editor"),
            DraftInput(area_id=world.village_a.id, catalogue_item_id=world.item_public.id, title="甲村救助名单",
                       valid_from=dt.datetime(2026, 11, 1, tzinfo=dt.UTC), kind=DisclosureKind.table,
                       body="公示期 7 天。", table={"columns": ["姓名"], "rows": [["待导入"]]}),
            dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        )
        return d.id


def test_upload_preview_choose_columns_and_apply(app, client, world, login, table_draft):
    login("editor")
    detail = client.get(f"/admin/disclosures/{table_draft}").get_data(as_text=True)
    assert f"/admin/disclosures/{table_draft}/table-import" in detail
    page = client.get(f"/admin/disclosures/{table_draft}/table-import").get_data(as_text=True)

    bad = client.post(f"/admin/disclosures/{table_draft}/table-import", content_type="multipart/form-data",
                      data={"csrf_token": csrf_from(page), "file": (io.BytesIO(b"\x89PNG\r\n\x1a\n0000"), "名单.xlsx")})
    assert bad.status_code == 422 and "“名单.xlsx”：不是表格文件，而是PNG 图片" in bad.get_data(as_text=True)

    csv_bytes = "姓名,身份证号,联系电话,金额\n孙福来,330122195603121234,13812345678,\"2,000\"\n周桂英,33012219480215002X,13967781234,800\n".encode("gb18030")
    uploaded = client.post(f"/admin/disclosures/{table_draft}/table-import", content_type="multipart/form-data",
                           data={"csrf_token": csrf_from(page), "file": (io.BytesIO(csv_bytes), "救助名单.csv")})
    assert uploaded.status_code == 302
    preview_url = uploaded.headers["Location"]
    preview = client.get(preview_url).get_data(as_text=True)
    ticked = sorted(int(v) for v in re.findall(r'name="mask" value="(\d+)" checked', preview))
    assert ticked == [1, 2]  # the ID and phone columns, not the names or the amounts
    assert "330122195603121234" not in preview and "330***********1234" in preview
    assert '<td class="num">2,000</td>' in preview
    assert "没有发现未打码" in preview

    # The editor unticks the phone column: the preview names what the scanner would refuse.
    again = client.post(preview_url, data={"csrf_token": csrf_from(preview), "chosen": "1", "mask": ["0", "1"]})
    html = again.get_data(as_text=True)
    assert "表格第 1 行“联系电话”列：手机号 138****5678" in html
    assert "表格第 2 行“联系电话”列：手机号 139****1234" in html
    assert "<td>孙**</td>" in html and 'value="2" checked' not in html

    apply_url = re.search(r'action="([^"]+/apply)"', html).group(1)
    done = client.post(apply_url, data={"csrf_token": csrf_from(html), "chosen": "1", "mask": ["1", "2"]},
                       follow_redirects=True)
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and "保存为新版本 v2" in text
    assert "138****5678" in text and "13812345678" not in text and "孙福来" in text

    from server.extensions import session_scope
    from server.models import Disclosure

    with app.app_context(), session_scope() as s:
        d = s.get(Disclosure, table_draft)
        assert len(d.versions) == 2
        v = d.latest_version
        assert (v.title, v.body_source) == ("甲村救助名单", "公示期 7 天。")
        assert v.table["masked"] == [1, 2] and v.table["align"] == ["left", "left", "left", "right"]
        assert v.table["rows"][1] == ["周桂英", "330***********002X", "139****1234", "800"]
    # the file was used once and is gone
    assert client.post(apply_url, data={"csrf_token": csrf_from(html), "chosen": "1"}).status_code == 404


def test_nothing_is_saved_until_apply_and_others_cannot_use_the_upload(app, client, world, login, table_draft):
    login("editor")
    page = client.get(f"/admin/disclosures/{table_draft}/table-import").get_data(as_text=True)
    uploaded = client.post(f"/admin/disclosures/{table_draft}/table-import", content_type="multipart/form-data",
                           data={"csrf_token": csrf_from(page), "file": (io.BytesIO("姓名\n张三\n".encode()), "a.csv")})
    preview_url = uploaded.headers["Location"]
    from server.extensions import session_scope
    from server.models import Disclosure

    with app.app_context(), session_scope() as s:
        assert len(s.get(Disclosure, table_draft).versions) == 1
    client.post("/logout", data={"csrf_token": csrf_from(page)})
    login("admin")
    assert client.get(preview_url).status_code == 404


def test_submitting_through_the_page_shows_every_place(app, client, world, login, table_draft):
    from server.domain import disclosures, users
    from server.domain.disclosures import DraftInput
    from server.extensions import session_scope
    from server.models import Disclosure, DisclosureKind

    with app.app_context(), session_scope() as s:
        d = s.get(Disclosure, table_draft)
        disclosures.update_draft(
            s, users.get_user(s, "editor"), d.id,
            DraftInput(area_id=d.area_id, catalogue_item_id=d.catalogue_item_id, title=d.title, valid_from=d.valid_from,
                       kind=DisclosureKind.table, body="咨询电话 13900001111",
                       table={"columns": ["姓名", "电话"], "rows": [["孙福来", "13812345678"]]}),
            dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        )
    login("editor")
    page = client.get(f"/admin/disclosures/{table_draft}").get_data(as_text=True)
    html = client.post(f"/admin/disclosures/{table_draft}/submit", data={"csrf_token": csrf_from(page)},
                       follow_redirects=True).get_data(as_text=True)
    assert "正文第 1 行：手机号 139****1111" in html and "表格第 1 行“电话”列：手机号 138****5678" in html
    assert "13900001111" not in html.split("<article")[0]  # the refusal itself never shows the whole number
    with app.app_context(), session_scope() as s:
        assert s.get(Disclosure, table_draft).status.value == "draft"


def test_a_sheet_whose_dimension_is_wrong_is_still_read_to_the_end():
    def fill(ws):
        ws.append(["户主", "金额"])
        ws.append(["张三", 1])
        ws.append(["李四", 2])

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx(fill))) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet"):
                data, n = re.subn(rb'<dimension ref="[^"]+"\s*/>', b'<dimension ref="A1"/>', data)
                assert n == 1
            zout.writestr(info, data)
    assert tabular.read("别的软件导出.xlsx", out.getvalue()).rows == [["张三", "1"], ["李四", "2"]]
