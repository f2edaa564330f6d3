"""Printed boards for the paper 公开栏: the PDF, its QR code, its theme, who may print what.

The PDFs are opened with poppler (pdfinfo, pdftoppm, pdftotext: Debian's poppler-utils,
installed by `./dev test`) and the QR code is read back from the rendered page.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from PIL import Image
from sqlalchemy import select

from server.domain import areas, disclosures, qrlinks, themes, users
from server.extensions import session_scope
from server.models import AreaKind, Feedback, Role, User
from tests.browser import decode_qr
from tests.conftest import csrf_from
from tests.test_public import published  # noqa: F401 - fixture

START = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
POINTS = {"A4": (595.28, 841.89), "A3": (841.89, 1190.55)}  # portrait, in points (1/72 in)
BLUE = (0x0D, 0x47, 0xA1)  # the 政务蓝 palette's primary (the header band)


def _approved(app, world, title: str, area=None, **draft) -> int:
    with app.app_context(), session_scope() as s:
        editor = users.get_user(s, "editor")
        reviewer = users.get_user(s, "reviewer")
        data = disclosures.DraftInput(
            area_id=(area or world.village_a).id, catalogue_item_id=world.item_public.id, title=title,
            valid_from=START, **draft,
        )
        d = disclosures.create_draft(s, editor, data, START)
        disclosures.submit(s, editor, d.id, START)
        disclosures.approve(s, reviewer, d.id, START)
        return d.id


@pytest.fixture
def long_table(app, world) -> int:
    """An approved table of 60 rows: several sheets of paper."""
    from server.models import DisclosureKind

    rows = [[str(i), f"农户{i:02d}", "道路维修" if i % 2 else "低保补助", f"{i * 37}.00"] for i in range(1, 61)]
    return _approved(
        app, world, "甲村惠农补贴发放明细", kind=DisclosureKind.table,
        table={"columns": ["序号", "户主姓名", "项目", "金额（元）"], "rows": rows},
        body="以下为十月发放明细，如有异议请在公示期内提出。",
    )


@pytest.fixture
def blue_town(app, world) -> None:
    """The township's theme: the blue palette and its own header wording."""
    with app.app_context(), session_scope() as s:
        admin = users.get_user(s, "admin")
        town = s.get(type(world.town), world.town.id)
        themes.save(s, admin, town, themes.ThemeInput(palette="blue", header="测试镇党务村务公开"), START)


def _pdf_info(pdf: bytes, tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "board.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}


def _page_size(info: dict[str, str]) -> tuple[float, float]:
    width, height = re.match(r"([\d.]+) x ([\d.]+) pts", info["Page size"]).groups()
    return float(width), float(height)


def _png(pdf: bytes, tmp_path: Path, page: int = 1, dpi: int = 100) -> bytes:
    path = tmp_path / "board.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftoppm", "-f", str(page), "-l", str(page), "-r", str(dpi), "-png", str(path)],
        capture_output=True, check=True,
    ).stdout


def _text(pdf: bytes, tmp_path: Path, page: int) -> str:
    path = tmp_path / "board.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(path), "-"],
        capture_output=True, text=True, check=True,
    ).stdout


def _print(client, headers, disclosure_id: int, size: str | None = "A4"):
    query = "" if size is None else f"?size={size}"
    return client.get(f"/api/v1/disclosures/{disclosure_id}/print{query}", headers=headers)


@pytest.mark.parametrize("size", ["A4", "A3"])
def test_a_board_prints_on_its_paper_size_with_a_qr_code_the_phone_page_opens(
    app, client, world, bearer, published, size, tmp_path  # noqa: F811
):
    resp = _print(client, bearer("editor_a"), published[0], size)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "application/pdf" and resp.data.startswith(b"%PDF-")
    filename = f"甲村十月财务公开（{size}）.pdf"
    assert f"filename*=UTF-8''{quote(filename, safe='')}" in resp.headers["Content-Disposition"]
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert "no-store" in resp.headers["Cache-Control"]

    info = _pdf_info(resp.data, tmp_path)
    assert info["Pages"] == "1"
    width, height = _page_size(info)
    assert (width, height) == pytest.approx(POINTS[size], abs=0.5)
    png = _png(resp.data, tmp_path, dpi=72)
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == pytest.approx((round(width), round(height)), abs=1)
    text = _text(resp.data, tmp_path, 1)
    assert "甲村十月财务公开" in text and "扫码查看全文、提意见" in text and "2026年11月1日起" in text

    # The code holds the item's phone page, signed for paper (no screen), and opens it.
    [link] = decode_qr(_png(resp.data, tmp_path, dpi=100))
    secret = app.config["SECRET_KEY"].encode()
    expected = qrlinks.make_url(app.config["PUBLIC_URL"], secret, qrlinks.QrTarget("d", published[0], qrlinks.PAPER))
    assert link == expected
    page = client.get(urlsplit(link).path)
    assert page.status_code == 200 and "甲村十月财务公开" in page.get_data(as_text=True)


def test_type_is_large_enough_to_read_on_a_wall_and_larger_on_a3(app, client, world, bearer, published, tmp_path):  # noqa: F811
    """The body's characters are at least 14 pt high on A4 and about √2 times that on A3."""

    def body_glyph_height(size: str) -> float:
        path = tmp_path / f"{size}.pdf"
        path.write_bytes(_print(client, bearer("editor"), published[0], size).data)
        html = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
        heights = [
            float(y1) - float(y0)
            for y0, y1, word in re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]+)</word>', html)
            if "内容" in word
        ]
        assert heights, "the body text is on the page"
        return heights[0]

    a4, a3 = body_glyph_height("A4"), body_glyph_height("A3")
    assert a4 >= 14
    assert a3 == pytest.approx(a4 * 2**0.5, rel=0.05)


def test_a_long_table_repeats_the_title_and_its_header_row_on_every_sheet(app, client, world, bearer, long_table, tmp_path):
    resp = _print(client, bearer("editor"), long_table, "A4")
    assert resp.status_code == 200
    pages = int(_pdf_info(resp.data, tmp_path)["Pages"])
    assert pages >= 3
    for page in range(1, pages + 1):
        text = _text(resp.data, tmp_path, page)
        assert "甲村惠农补贴发放明细" in text, f"title missing on sheet {page}"
        assert re.search(r"序号\s+户主姓名\s+项目\s+金额（元）", text), f"header row missing on sheet {page}"
        assert "扫码查看全文、提意见" in text and re.search(rf"第\s*{page}\s*页\s*/\s*共\s*{pages}\s*页", text)
    every_row = "".join(_text(resp.data, tmp_path, p) for p in range(1, pages + 1))
    assert all(f"农户{i:02d}" in every_row for i in range(1, 61))
    # Each sheet's code reads back (each may be pinned up on its own).
    assert decode_qr(_png(resp.data, tmp_path, page=pages)) == decode_qr(_png(resp.data, tmp_path, page=1))


def test_the_header_band_is_in_the_areas_theme_with_its_wording(app, client, world, bearer, published, blue_town, tmp_path):  # noqa: F811
    resp = _print(client, bearer("editor"), published[0], "A4")
    assert resp.status_code == 200
    assert "测试镇党务村务公开" in _text(resp.data, tmp_path, 1)
    dpi = 72
    with Image.open(io.BytesIO(_png(resp.data, tmp_path, dpi=dpi))) as image:
        # Inside the band's padding, clear of its words: 16 mm from the top and left edges.
        at = round(16 / 25.4 * dpi)
        assert image.convert("RGB").getpixel((at, at)) == pytest.approx(BLUE, abs=2)
        # The body's paper is the theme's too (#f7f9fc), not the default red theme's.
        assert image.convert("RGB").getpixel((image.width // 2, image.height // 2)) == pytest.approx((0xF7, 0xF9, 0xFC), abs=2)


def test_an_internal_item_prints_marked_and_its_code_never_shows_it(app, client, world, bearer, published, tmp_path):  # noqa: F811
    resp = _print(client, bearer("editor"), published[1], "A4")
    assert resp.status_code == 200
    text = _text(resp.data, tmp_path, 1)
    assert "党内公开" in text and "预备党员转正公示" in text and "扫码提意见建议" in text
    [link] = decode_qr(_png(resp.data, tmp_path))
    page = client.get(urlsplit(link).path).get_data(as_text=True)
    assert "预备党员转正公示" not in page and "正文" not in page
    assert "党内公开事项" in page


def test_feedback_from_a_printed_board_has_no_screen_and_a_forged_code_is_refused(app, client, world, published):  # noqa: F811
    secret = app.config["SECRET_KEY"].encode()
    token = qrlinks.make_token(secret, qrlinks.QrTarget("d", published[0], qrlinks.PAPER))
    assert qrlinks.parse_token(secret, token) == qrlinks.QrTarget("d", published[0], 0)
    path = f"/q/{token}"
    page = client.get(path)
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "kind": "question", "body": "公开栏上的金额怎么算的？", "anonymous": "y"}
    assert client.post(path, data=data).status_code == 302
    with app.app_context(), session_scope() as s:
        saved = s.scalars(select(Feedback)).one()
        assert saved.device_id is None and saved.disclosure_id == published[0]

    body, mac = token.rsplit(".", 1)
    forged = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    assert client.get(f"/q/{body}.{forged}").status_code == 404
    # Paper is only for items: an echo-wall code naming device 0 is no screen at all.
    echo = qrlinks.make_token(secret, qrlinks.QrTarget("e", world.village_a.id, qrlinks.PAPER))
    assert client.get(f"/q/{echo}").status_code == 404
    # Another item's number under this item's signature is refused too.
    other = body.replace(f"d{published[0]}.", f"d{published[1]}.")
    assert client.get(f"/q/{other}.{mac}").status_code == 404


def test_only_approved_items_in_the_users_areas_print(app, client, world, bearer, published, tmp_path):  # noqa: F811
    with app.app_context(), session_scope() as s:
        other_town = areas.create_area(s, "邻镇", AreaKind.township)
        users.create_user(s, username="neighbour", password="correct-horse", display_name="邻镇经办人",
                          grants=[(Role.editor, other_town)])
        editor = s.scalars(select(User).where(User.username == "editor")).one()
        draft = disclosures.create_draft(s, editor, disclosures.DraftInput(
            area_id=world.village_a.id, catalogue_item_id=world.item_public.id, title="还在起草的通知",
            valid_from=START, body="草稿"), START)
        draft_id = draft.id
    # Another township's user: as if it did not exist.
    resp = _print(client, bearer("neighbour"), published[0], "A4")
    assert resp.status_code == 404 and resp.get_json()["code"] == "not_found"
    # A village's editor cannot print the other village's items either.
    theirs = _approved(app, world, "乙村通知", body="乙村的事", area=world.village_b)
    assert _print(client, bearer("editor_a"), theirs, "A4").status_code == 404
    # Not approved: refused, saying why.
    resp = _print(client, bearer("editor"), draft_id, "A4")
    assert resp.status_code == 409 and resp.get_json()["details"]["field"] == "status"
    assert "审核通过" in resp.get_json()["message"]
    # No token: 401.
    assert _print(client, {}, published[0], "A4").status_code == 401


def test_an_ended_posting_period_is_not_printed(app, client, world, bearer, tmp_path):
    from server.clock import FixedClock

    ended = _approved(app, world, "十月停水通知", body="停水", valid_to=START + dt.timedelta(days=10))
    app.extensions["sunwall.clock"] = FixedClock(START + dt.timedelta(days=20))
    resp = _print(client, bearer("editor"), ended, "A4")
    assert resp.status_code == 409 and resp.get_json()["details"]["field"] == "valid_to"


def test_a_bad_size_is_refused_naming_the_parameter(app, client, world, bearer, published):  # noqa: F811
    resp = _print(client, bearer("editor"), published[0], "A5")
    err = resp.get_json()
    assert resp.status_code == 400 and err["details"]["field"] == "size"
    assert "size" in err["message"] and "A4" in err["message"] and "A3" in err["message"]
    assert err["details"]["allowed"] == ["A4", "A3"]
    # Without a size: A4.
    resp = _print(client, bearer("editor"), published[0], None)
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    doc = client.get("/api/v1/openapi.json").get_json()
    params = doc["paths"]["/disclosures/{disclosure_id}/print"]["get"]["parameters"]
    assert {"name": "size", "in": "query", "required": False}.items() <= next(p for p in params if p["name"] == "size").items()


def test_the_admin_page_offers_a4_and_a3_and_serves_the_pdf(app, client, world, login, published, tmp_path):  # noqa: F811
    login("editor_a")
    page = client.get(f"/admin/disclosures/{published[0]}").get_data(as_text=True)
    assert "打印纸质公开栏" in page and "打印 A4" in page and "打印 A3" in page
    a3 = f"/admin/disclosures/{published[0]}/print/A3"
    assert f'href="{a3}"' in page
    resp = client.get(a3)
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("inline;") and 'filename="disclosure-' in disposition
    assert f"filename*=UTF-8''{quote('甲村十月财务公开（A3）.pdf', safe='')}" in disposition
    assert _page_size(_pdf_info(resp.data, tmp_path)) == pytest.approx(POINTS["A3"], abs=0.5)
    bad = client.get(f"/admin/disclosures/{published[0]}/print/A5")
    assert bad.status_code == 422 and "A4 或 A3" in bad.get_data(as_text=True)


def test_the_admin_page_offers_no_printing_before_approval_and_refuses_other_townships(app, client, world, login, published):  # noqa: F811
    with app.app_context(), session_scope() as s:
        other_town = areas.create_area(s, "邻镇", AreaKind.township)
        users.create_user(s, username="neighbour", password="correct-horse", display_name="邻镇经办人",
                          grants=[(Role.editor, other_town)])
        editor = users.get_user(s, "editor")
        draft_id = disclosures.create_draft(s, editor, disclosures.DraftInput(
            area_id=world.village_a.id, catalogue_item_id=world.item_public.id, title="还在起草的通知",
            valid_from=START, body="草稿"), START).id
    login("neighbour")
    assert client.get(f"/admin/disclosures/{published[0]}/print/A4").status_code == 404
    assert client.get(f"/admin/disclosures/{published[0]}/print/A3").status_code == 404

    editor = app.test_client()
    sign_in = editor.get("/login").get_data(as_text=True)
    editor.post("/login", data={"username": "editor", "password": "correct-horse", "csrf_token": csrf_from(sign_in)})
    page = editor.get(f"/admin/disclosures/{draft_id}").get_data(as_text=True)
    assert "还在起草的通知" in page and "打印 A4" not in page
    refused = editor.get(f"/admin/disclosures/{draft_id}/print/A4")
    assert refused.status_code == 409 and "审核通过" in refused.get_data(as_text=True)
