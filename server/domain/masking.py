"""Personal-data masking for public output: ID card and mobile numbers."""

from __future__ import annotations

import re

# 18-digit resident ID (last may be X) not embedded in a longer digit run.
_ID_RE = re.compile(r"(?<!\d)(\d{3})\d{11}(\d{3}[\dXx])(?!\d)")
# Mainland mobile numbers, optionally written 138-1234-5678 or 138 1234 5678.
_PHONE_RE = re.compile(r"(?<!\d)(1[3-9]\d)[- ]?\d{4}[- ]?(\d{4})(?!\d)")


def mask_id_numbers(text: str) -> str:
    return _ID_RE.sub(lambda m: f"{m.group(1)}{'*' * 11}{m.group(2)}", text)


def mask_text(text: str) -> str:
    """ID and mobile numbers masked: for table cells and citizens' free text."""
    return _PHONE_RE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", mask_id_numbers(text))


def mask_markdown(source: str) -> str:
    """ID numbers masked everywhere; mobile numbers too inside table rows (lists of people).
    A contact number written in a notice's prose stays readable on purpose."""
    return "\n".join(
        mask_text(line) if line.lstrip().startswith("|") else mask_id_numbers(line)
        for line in source.split("\n")
    )
