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
