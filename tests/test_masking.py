"""Personal-data masking of public output."""

from __future__ import annotations

import pytest

from server.domain.masking import mask_text


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("110101199003071234", "110***********1234"),
        ("33012219480215002X", "330***********002X"),
        ("13812345678", "138****5678"),
        ("电话 138-1234-5678。", "电话 138****5678。"),
        ("金额 12345678901.00", "金额 12345678901.00"),  # 11 digits not starting 13-19
        ("订单号 1234567890123456789012", "订单号 1234567890123456789012"),  # longer runs untouched
        ("", ""),
    ],
)
def test_mask_text(raw, masked):
    assert mask_text(raw) == masked


def test_notice_bodies_mask_ids_everywhere_and_phones_in_tables():
    from server.domain.content import render_markdown

    html = render_markdown(
        "咨询电话 13812345678，身份证 110101199003071234\n\n"
        "| 姓名 | 身份证号 | 电话 |\n| --- | --- | --- |\n| 张三 | 330122195603121234 | 13967781234 |"
    )
    assert "13812345678" in html  # a contact number in prose stays readable
    assert "110101199003071234" not in html and "110***********1234" in html
    assert "330122195603121234" not in html and "13967781234" not in html
    assert "<td>330***********1234</td>" in html and "<td>139****1234</td>" in html
