"""Pre-publish scanner: unmasked ID, bank card and mobile numbers stop a submission, each
place named with the number half-hidden; numbers an admin allowed pass; masked columns."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from server.domain import content, disclosures, masking, numbers, scanner
from server.domain.disclosures import DraftInput
from server.domain.errors import Forbidden, NotFound, ValidationFailed
from server.models import (
    AllowedNumber,
    Attachment,
    AttachmentKind,
    AuditEvent,
    DisclosureKind,
    DisclosureStatus,
)

ID = "330122195603121234"
CARD = "6222020200112233445"
MOBILE = "13812345678"


def draft(w, **over) -> DraftInput:
    data = dict(
        area_id=w.village_a.id, catalogue_item_id=w.item_public.id, title="甲村困难群众救助名单",
        valid_from=dt.datetime(2026, 11, 1, tzinfo=dt.UTC), body="公示期 7 天。",
    )
    data.update(over)
    return DraftInput(**data)


def table_draft(w, rows, masked=None, columns=("姓名", "身份证号", "联系电话")) -> DraftInput:
    table = {"columns": list(columns), "rows": rows, **({"masked": masked} if masked is not None else {})}
    return draft(w, kind=DisclosureKind.table, table=table)


def refused(session, w, disclosure) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as err:
        disclosures.submit(session, w.editor, disclosure.id, dt.datetime(2026, 11, 2, tzinfo=dt.UTC))
    return err.value


# -- one definition of a number --------------------------------------------------------


def test_find_reports_kind_place_digits_and_the_masked_form():
    text = f"身份证 {ID}，卡号 6222 0202 0011 2233，电话 +86 138-1234-5678。"
    found = masking.find(text)
    assert [(f.kind, f.digits, f.masked) for f in found] == [
        ("id", ID, "330***********1234"),
        ("card", "6222020200112233", "6222********2233"),
        ("mobile", MOBILE, "+86 138****5678"),
    ]
    assert text[found[1].start:found[1].end] == "6222 0202 0011 2233"
    # the masks replace exactly what find reports, so the two can never disagree
    assert masking.mask_text(text) == "身份证 330***********1234，卡号 6222********2233，电话 +86 138****5678。"
    assert masking.find("金额 12,345.67 元，座机 0571-8888 6666，日期 2026-11-01") == []


# -- the scanner names every place ------------------------------------------------------


def test_title_body_table_and_attachment_text_are_each_named(session, make_world, now):
    w = make_world(session)
    pdf = Attachment(sha256="a" * 64, kind=AttachmentKind.pdf, mime="application/pdf", size=10,
                     filename="名单.pdf", text=f"第一页没有号码\f第二页：户主卡号 {CARD}",
                     created_by_id=w.editor.id)  # the editor's own upload
    session.add(pdf)
    session.flush()
    d = disclosures.create_draft(
        session, w.editor,
        draft(w, title=f"孙福来（{MOBILE}）救助公示", kind=DisclosureKind.table,
              body=f"说明\n\n联系人身份证 {ID}",
              table={"columns": ["姓名", "身份证号"], "rows": [["周桂英", "已打码"], ["孙福来", ID]]},
              attachments=[pdf.sha256]),
        now,
    )
    places = [p["message"] for p in refused(session, w, d).details["places"]]
    assert places == [
        "标题：手机号 138****5678",
        "正文第 3 行：身份证号 330***********1234",
        "表格第 2 行“身份证号”列：身份证号 330***********1234",
        "附件“名单.pdf”第 2 页：银行卡号 6222***********3445",
    ]


def test_the_refusal_never_echoes_a_whole_number_and_leaves_the_draft_as_it_was(session, make_world, now):
    w = make_world(session)
    d = disclosures.create_draft(session, w.editor, table_draft(w, [["孙福来", ID, MOBILE]]), now)
    before = (d.status, len(d.versions), d.latest_version.content_hash)
    err = refused(session, w, d)
    assert "表格第 1 行“身份证号”列" in err.message and "表格第 1 行“联系电话”列" in err.message
    assert ID not in str(err.message) + str(err.details) and MOBILE not in str(err.message) + str(err.details)
    assert "330***********1234" in err.message and "138****5678" in err.message
    session.refresh(d)
    assert (d.status, len(d.versions), d.latest_version.content_hash) == before
    assert d.status is DisclosureStatus.draft
    assert session.scalars(select(AuditEvent).where(AuditEvent.action == "disclosure.submit")).all() == []


def test_masked_columns_are_masked_when_saved_and_then_pass(session, make_world, now):
    w = make_world(session)
    d = disclosures.create_draft(
        session, w.editor,
        table_draft(w, [["孙福来", ID, MOBILE], ["周桂英", "33012219480215002X", ""]], masked=[0, 1, 2]),
        now,
    )
    table = d.latest_version.table
    assert table["rows"] == [["孙**", "330***********1234", "138****5678"], ["周**", "330***********002X", ""]]
    assert table["masked"] == [0, 1, 2]
    disclosures.submit(session, w.editor, d.id, now)
    assert d.status is DisclosureStatus.submitted


def test_an_unmasked_column_is_refused_even_when_another_is_masked(session, make_world, now):
    w = make_world(session)
    d = disclosures.create_draft(session, w.editor, table_draft(w, [["孙福来", ID, MOBILE]], masked=[1]), now)
    places = [p["where"] for p in refused(session, w, d).details["places"]]
    assert places == ["表格第 1 行“联系电话”列"]


def test_allowed_numbers_pass_in_the_area_and_below_but_not_elsewhere(session, make_world, now):
    w = make_world(session)
    numbers.allow(session, w.admin, w.town.id, "138-1234-5678", "镇便民服务中心值班手机", now)
    body = f"咨询电话：{MOBILE}；也可拨打 +86 138 1234 5678。"
    d = disclosures.create_draft(session, w.editor, draft(w, body=body), now)
    disclosures.submit(session, w.editor, d.id, now)  # allowed at the township: passes in 甲村
    assert d.status is DisclosureStatus.submitted
    other = disclosures.create_draft(session, w.editor, draft(w, body="值班手机 13900001111"), now)
    assert [p["where"] for p in refused(session, w, other).details["places"]] == ["正文第 1 行"]


def test_a_number_allowed_for_one_village_does_not_pass_in_its_neighbour(session, make_world, now):
    w = make_world(session)
    numbers.allow(session, w.admin, w.village_b.id, MOBILE, "乙村值班电话", now)
    d = disclosures.create_draft(session, w.editor, draft(w, body=f"电话 {MOBILE}"), now)
    assert refused(session, w, d).details["places"][0]["shown"] == "138****5678"


def test_render_time_masking_stays_as_a_second_line(session, make_world, now):
    w = make_world(session)
    d = disclosures.create_draft(session, w.editor, draft(w, body=f"身份证 {ID}"), now)
    assert ID not in d.latest_version.body_html and "330***********1234" in d.latest_version.body_html


# -- tables: masking and alignment -------------------------------------------------------


def test_masked_cells_keep_their_first_character_and_saving_again_changes_nothing():
    assert content.mask_cell("张三丰") == "张**"
    assert content.mask_cell("清河镇东山村3组") == "清*******"
    assert content.mask_cell(f"孙福来 {MOBILE}") == "孙福来 138****5678"
    assert content.mask_cell("") == ""
    once = content.clean_table({"columns": ["户主", "电话"], "rows": [["张三丰", MOBILE]], "masked": [0, 1]})
    assert content.clean_table(once) == once


def test_number_columns_are_right_aligned():
    table = content.clean_table({
        "columns": ["姓名", "金额（元）", "占比", "变化", "日期", "备注", "电话"],
        "rows": [["张三", "1,234.50", "85%", "-12", "2026-11-01", "12", "13812345678"],
                 ["李四", "800", "3.5%", "", "2026-11-02", "另见附件", "13900001111"]],
    })
    assert table["align"] == ["left", "right", "right", "right", "left", "left", "left"]
    assert table["masked"] == []


def test_bad_masked_columns_are_refused():
    with pytest.raises(ValidationFailed) as err:
        content.clean_table({"columns": ["a"], "rows": [], "masked": [3]})
    assert err.value.field == "table.masked"


def test_old_tables_without_masked_or_align_still_render(session, make_world, now):
    from server.domain import printing
    from server.domain.manifests import disclosure_board
    from signage_layouts.printing import render_print_board

    w = make_world(session)
    d = disclosures.create_draft(
        session, w.editor, table_draft(w, [["张*", "800"]], columns=("姓名", "金额")), now
    )
    version = d.latest_version
    html = disclosure_board(d, version, "http://x/q", "Asia/Shanghai")["html"]
    assert '<th class="num">金额</th>' in html and '<td class="num">800</td>' in html and "<td>张*</td>" in html
    data = printing._board_data(d, version, "Asia/Shanghai", now)
    paper = render_print_board(data, "A4", {}, "http://x/q")
    assert '<td class="num">800</td>' in paper and "<td>张*</td>" in paper
    version.table = {"columns": ["姓名", "金额"], "rows": [["张*", "800"]]}  # saved before this change
    html = disclosure_board(d, version, "http://x/q", "Asia/Shanghai")["html"]
    assert "<td>800</td>" in html and "<td>张*</td>" in html


# -- allowed numbers: validation, scope, audit, page ------------------------------------


@pytest.mark.parametrize(("typed", "problem"), [
    ("", "请填写号码"), ("1234", "5–20 位"), ("1" * 21, "5–20 位"), ("138abc45678", "只能有数字"),
])
def test_allowed_numbers_are_validated(session, make_world, now, typed, problem):
    w = make_world(session)
    with pytest.raises(ValidationFailed, match=problem):
        numbers.allow(session, w.admin, w.town.id, typed, "值班电话", now)


def test_allowed_numbers_are_audited_and_kept_to_the_admins_subtree(session, make_world, now):
    w = make_world(session)
    row = numbers.allow(session, w.admin, w.village_a.id, "０５７１－８８８８ １２３４", "村委会值班电话", now)
    assert row.digits == "057188881234"
    with pytest.raises(ValidationFailed, match="已在列表中"):
        numbers.allow(session, w.admin, w.village_a.id, "0571 8888 1234", "重复", now)
    with pytest.raises(Forbidden):
        numbers.allow(session, w.editor, w.village_a.id, "12388", "纪委举报电话", now)
    numbers.remove(session, w.admin, w.village_a.id, row.id, now)
    assert session.scalars(select(AllowedNumber)).all() == []
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("allowed_number.%"))).all()
    assert sorted(actions) == ["allowed_number.add", "allowed_number.remove"]
    with pytest.raises(NotFound):
        numbers.remove(session, w.admin, w.village_a.id, row.id, now)


def test_the_numbers_page_adds_lists_and_removes(app, client, world, login):
    from tests.conftest import csrf_from

    login("admin")
    url = f"/admin/areas/{world.village_a.id}/numbers"
    page = client.get(url).get_data(as_text=True)
    bad = client.post(url, data={"csrf_token": csrf_from(page), "digits": "12-34", "label": "太短"})
    assert bad.status_code == 422 and "5–20 位" in bad.get_data(as_text=True)
    done = client.post(url, data={"csrf_token": csrf_from(page), "digits": "138 1234 5678", "label": "村委会值班手机"},
                       follow_redirects=True)
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and "13812345678" in html and "村委会值班手机" in html
    remove = next(part.split('"')[0] for part in html.split('action="') if "/remove" in part.split('"')[0])
    gone = client.post(remove, data={"csrf_token": csrf_from(html)}, follow_redirects=True).get_data(as_text=True)
    assert "还没有号码" in gone
    login("editor_a")
    assert client.get(url).status_code in (403, 404)


def test_a_long_list_names_the_first_places_and_counts_the_rest():
    rows = [[f"村民{i}", f"1381234{i:04d}"] for i in range(25)]
    places = scanner.table_places({"columns": ["姓名", "电话"], "rows": rows}, allowed=set())
    err = scanner.refusal(places)
    assert len(err.details["places"]) == 25 and "另有 5 处" in err.message
    assert "表格第 20 行“电话”列" in err.message and "表格第 21 行" not in err.message
