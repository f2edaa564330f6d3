"""Personal-data masking of public output.

Rows are (input, expected). The *_FIXED lists are cases the previous masking module got
wrong (a number leaked, or something that is not a personal number was masked); the *_KEPT
lists it already got right and must keep getting right, mostly non-numbers that the new
bank-card and grouped-number rules must not swallow.
"""

from __future__ import annotations

import pytest

from server.domain.masking import mask_id_numbers, mask_markdown, mask_text

MASK_TEXT_FIXED = [
    # Mobiles with a country prefix: the prefix is kept, written +86.
    ("+8613812345678", "+86 138****5678"),
    ("8613812345678", "+86 138****5678"),
    ("008613812345678", "+86 138****5678"),
    ("0086 13812345678", "+86 138****5678"),
    ("+86-138-1234-5678", "+86 138****5678"),
    # Dots between the groups.
    ("138.1234.5678", "138****5678"),
    ("电话：138.1234.5678。", "电话：138****5678。"),
    # Full-width digits, plus and dash, as typed with a Chinese input method.
    ("１３８１２３４５６７８", "138****5678"),
    ("＋８６－１３８－１２３４－５６７８", "+86 138****5678"),
    ("联系人王五＋８６１３８１２３４５６７８", "联系人王五+86 138****5678"),
    # Resident IDs written in 6-8-4 groups, with X, full-width, and the old 15-digit form.
    ("330122 19560312 1234", "330***********1234"),
    ("330122-19560312-123X", "330***********123X"),
    ("330122.19560312.1234", "330***********1234"),
    ("33012219560312123x", "330***********123X"),
    ("３３０１２２１９４８０２１５００２Ｘ", "330***********002X"),
    ("３３０１２２　１９５６０３１２　１２３４", "330***********1234"),
    ("330122560312123", "330********2123"),
    ("330122 560312 123", "330********2123"),
    # Bank cards, 16-19 digits, run together or in groups of 4.
    ("6222021234567890", "6222********7890"),
    ("62220212345678901", "6222*********8901"),
    ("6222021234567890123", "6222***********0123"),
    ("6222 0212 3456 7890 123", "6222***********0123"),
    ("6222-0212-3456-7890", "6222********7890"),
    ("６２２２０２１２３４５６７８９０１２３", "6222***********0123"),
    # Precedence: 18 digits without a birth date are a card, not an ID; 19 digits are a
    # card even when 18 of them look like an ID.
    ("622202123456789012", "6222**********9012"),
    ("3301221956031212345", "3301***********2345"),
    ("1330122195603121234", "1330***********1234"),
    # A decimal part makes it an amount, not a phone.
    ("金额 13812345678.00 元", "金额 13812345678.00 元"),
    # Several numbers in Chinese text.
    (
        "张三，身份证330122195603121234，电话13812345678，卡号6222021234567890123。",
        "张三，身份证330***********1234，电话138****5678，卡号6222***********0123。",
    ),
    (
        "户主李四（330122-19560312-123X）手机 +86 139 6778 1234，补贴打入 6222 0212 3456 7890 123",
        "户主李四（330***********123X）手机 +86 139****1234，补贴打入 6222***********0123",
    ),
    ("两部电话：138.1234.5678、8613967781234", "两部电话：138****5678、+86 139****1234"),
]

MASK_TEXT_KEPT = [
    ("110101199003071234", "110***********1234"),
    ("33012219480215002X", "330***********002X"),
    ("13812345678", "138****5678"),
    ("138 1234 5678", "138****5678"),
    ("138-1234-5678", "138****5678"),
    ("电话 138-1234-5678。", "电话 138****5678。"),
    ("13812345678 13967781234", "138****5678 139****1234"),
    # Not personal numbers: left exactly as written.
    ("", ""),
    ("金额 12345678901.00", "金额 12345678901.00"),  # 11 digits not starting 13-19
    ("合计 12,345.67 元", "合计 12,345.67 元"),
    ("合计 1,234,567,890,123.45 元", "合计 1,234,567,890,123.45 元"),
    ("2026-11-20", "2026-11-20"),
    ("2026.11.20", "2026.11.20"),
    ("２０２６－１１－２０", "２０２６－１１－２０"),
    ("2026-11-20 13:45", "2026-11-20 13:45"),
    ("村委会电话 0571-8888 6666", "村委会电话 0571-8888 6666"),
    ("0571-88886666", "0571-88886666"),
    ("+86 571 8888 6666", "+86 571 8888 6666"),
    ("订单号 1234567890123456789012", "订单号 1234567890123456789012"),  # longer runs untouched
    ("12345678901234567890", "12345678901234567890"),  # 20 digits: not a card, not an ID
    ("330122195603121234567", "330122195603121234567"),  # 21 digits starting like an ID
    ("330100000012345", "330100000012345"),  # 15 digits without a birth date
    ("1381234567", "1381234567"),  # 10 digits
    ("123456", "123456"),
    ("第3组 共12户 38人", "第3组 共12户 38人"),
]


@pytest.mark.parametrize(("raw", "masked"), MASK_TEXT_FIXED + MASK_TEXT_KEPT)
def test_mask_text(raw, masked):
    assert mask_text(raw) == masked


MASK_ID_FIXED = [
    ("330122 19560312 1234", "330***********1234"),
    ("身份证号：330122-19560312-123X。", "身份证号：330***********123X。"),
    ("３３０１２２１９５６０３１２１２３４", "330***********1234"),
    ("330122560312123", "330********2123"),
]

MASK_ID_KEPT = [
    ("330122195603121234", "330***********1234"),
    # Only IDs: phones and cards are left to mask_text.
    ("13812345678", "13812345678"),
    ("6222021234567890123", "6222021234567890123"),
    ("2026-11-20", "2026-11-20"),
]


@pytest.mark.parametrize(("raw", "masked"), MASK_ID_FIXED + MASK_ID_KEPT)
def test_mask_id_numbers(raw, masked):
    assert mask_id_numbers(raw) == masked


MASK_MARKDOWN_FIXED = [
    # Bank cards are masked everywhere, prose included.
    ("补贴打入 6222 0212 3456 7890 123。", "补贴打入 6222***********0123。"),
    ("账号6222021234567890", "账号6222********7890"),
    ("身份证 330122-19560312-1234", "身份证 330***********1234"),
    # Table rows: every personal number, in any format.
    ("| 张三 | +8613812345678 |", "| 张三 | +86 138****5678 |"),
    ("| 李四 | 138.1234.5678 | 6222021234567890123 |", "| 李四 | 138****5678 | 6222***********0123 |"),
    ("| 王五 | 330122 19560312 1234 |", "| 王五 | 330***********1234 |"),
    (
        "咨询电话 13812345678，开户行卡号 6222021234567890123\n\n| 姓名 | 电话 |\n| --- | --- |\n| 张三 | １３９６７７８１２３４ |",
        "咨询电话 13812345678，开户行卡号 6222***********0123\n\n| 姓名 | 电话 |\n| --- | --- |\n| 张三 | 139****1234 |",
    ),
]

MASK_MARKDOWN_KEPT = [
    # A contact number in a notice's prose stays readable, whatever its format.
    ("咨询电话 13812345678", "咨询电话 13812345678"),
    ("咨询电话 138-1234-5678", "咨询电话 138-1234-5678"),
    ("村委会 0571-8888 6666", "村委会 0571-8888 6666"),
    ("身份证 330122195603121234", "身份证 330***********1234"),
    ("| 张三 | 13812345678 |", "| 张三 | 138****5678 |"),
    ("  | 张三 | 13812345678 |", "  | 张三 | 138****5678 |"),  # indented table row
    ("| 日期 | 金额 |\n| 2026-11-20 | 12,345.67 |", "| 日期 | 金额 |\n| 2026-11-20 | 12,345.67 |"),
]


@pytest.mark.parametrize(("source", "masked"), MASK_MARKDOWN_FIXED + MASK_MARKDOWN_KEPT)
def test_mask_markdown(source, masked):
    # Markdown output escapes the stars it writes (see the test below for why).
    assert mask_markdown(source) == masked.replace("*", "\\*")


def test_mask_markdown_escapes_only_its_own_stars():
    escaped_stars = "\\*" * 8
    assert mask_markdown("**注意**：卡号 6222021234567890") == f"**注意**：卡号 6222{escaped_stars}7890"


def test_notice_bodies_mask_ids_and_cards_everywhere_and_phones_in_tables():
    from server.domain.content import render_markdown

    html = render_markdown(
        "咨询电话 13812345678，身份证 110101199003071234，卡号 6222 0212 3456 7890 123\n\n"
        "| 姓名 | 身份证号 | 电话 |\n| --- | --- | --- |\n"
        "| 张三 | 330122195603121234 | 13967781234 |\n"
        "| 李四 | 33012219480215002X | 138-1234-5678 / 139 6778 1234 |"
    )
    assert "13812345678" in html  # a contact number in prose stays readable
    assert "110101199003071234" not in html and "110***********1234" in html
    assert "6222 0212 3456 7890 123" not in html and "6222***********0123" in html
    assert "330122195603121234" not in html and "13967781234" not in html
    assert "<td>330***********1234</td>" in html and "<td>139****1234</td>" in html
    # Several masked numbers on one line must not turn into bold or italic.
    assert "<td>138****5678 / 139****1234</td>" in html
    assert "<strong>" not in html and "<em>" not in html
