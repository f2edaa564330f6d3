"""What a board says when it is read aloud: the script, written for the ear.

`script(kind, data)` turns the data a board is rendered from into plain sentences in the
order a person reads the board: category, title, unit and period, then the body, a
table row by row, the echo wall's questions and answers. `speakable` rewrites what a
speech engine would read wrongly: years digit by digit (二〇二六年), other numbers as
numbers (一万二千三百四十五点六), phone and account numbers digit by digit, a masked
number as its visible digits with how many are hidden (`138****5678` → 一三八，隐去四位，
五六七八), a masked name as 某, percentages, times of day. Pure functions: the engine and
the audio files are `server.voice`.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from signage_layouts import dates

DIGITS = "〇一二三四五六七八九"
_SMALL_UNITS = ("", "十", "百", "千")
_BIG_UNITS = ("", "万", "亿", "万亿")


def digits(text: str) -> str:
    """Digit by digit, as a phone number is read: 一三八."""
    return "".join(DIGITS[int(c)] if c.isdigit() else c for c in text)


def _four(n: int) -> str:
    """0 < n < 10000 as Chinese, with the zeros Chinese reads (一千零五)."""
    out, zero = "", False
    for power in (3, 2, 1, 0):
        d = n // 10**power % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += DIGITS[d] + _SMALL_UNITS[power]
    return out


def number(n: int) -> str:
    """An integer as it is said: 12345 → 一万二千三百四十五, 10 → 十, 100005 → 十万零五."""
    if n < 0:
        return "负" + number(-n)
    if n == 0:
        return "零"
    groups = []
    while n:
        groups.append(n % 10000)
        n //= 10000
    if len(groups) > len(_BIG_UNITS):
        return digits(str(sum(g * 10000**i for i, g in enumerate(groups))))
    out, zero = "", False
    for i in range(len(groups) - 1, -1, -1):
        g = groups[i]
        if g == 0:
            zero = bool(out)
            continue
        if out and (zero or g < 1000):
            out += "零"
        out += _four(g) + _BIG_UNITS[i]
        zero = False
    return out[1:] if out.startswith("一十") else out


def decimal(text: str) -> str:
    """'12345.60' → 一万二千三百四十五点六零 (a written amount keeps its decimals)."""
    whole, _, fraction = text.replace(",", "").partition(".")
    said = number(int(whole)) if whole else "零"
    return said + ("点" + digits(fraction) if fraction else "")


_MASKED = re.compile(r"([0-9A-Za-z]*)(\*{2,})([0-9A-Za-z]*)")
_MASKED_NAME = re.compile(r"([\u4e00-\u9fff])(\*{1,3})(?![0-9A-Za-z*])")
_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
_YEAR_MONTH = re.compile(r"(\d{4})年(\d{1,2})月")
_YEAR = re.compile(r"(\d{4})年")
_MONTH_DAY = re.compile(r"(\d{1,2})月(\d{1,2})[日号]")
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_TIME = re.compile(r"(?<![\d:])(\d{1,2})[:：](\d{2})(?![\d:])")
_PERCENT = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*[%％]")
_LONG_DIGITS = re.compile(r"\d{7,}")
_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")


def _date(y: str, m: str, d: str | None = None) -> str:
    said = digits(y) + "年" + number(int(m)) + "月"
    return said + (number(int(d)) + "日" if d is not None else "")


def _masked(match: re.Match[str]) -> str:
    before, stars, after = match.groups()
    parts = [digits(before)] if before else []
    parts.append(f"隐去{number(len(stars))}位")
    if after:
        parts.append(digits(after))
    return "，".join(parts) + "，"


def _time(match: re.Match[str]) -> str:
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 24 or minute > 59:
        return match.group(0)
    return number(hour) + "点" + (number(minute) + "分" if minute else "整")


def speakable(text: str) -> str:
    """`text` rewritten so that an engine reads numbers, dates and masks as a person would."""
    text = _MASKED_NAME.sub(lambda m: m.group(1) + "某" * len(m.group(2)), text)
    text = _MASKED.sub(_masked, text)
    text = _ISO_DATE.sub(lambda m: _date(*m.groups()), text)
    text = _DATE.sub(lambda m: _date(*m.groups()), text)
    text = _YEAR_MONTH.sub(lambda m: _date(*m.groups()), text)
    text = _YEAR.sub(lambda m: digits(m.group(1)) + "年", text)
    text = _MONTH_DAY.sub(lambda m: number(int(m.group(1))) + "月" + number(int(m.group(2))) + "日", text)
    text = _TIME.sub(_time, text)
    text = _PERCENT.sub(lambda m: "百分之" + decimal(m.group(1)), text)
    text = _LONG_DIGITS.sub(lambda m: digits(m.group(0)), text)
    text = _NUMBER.sub(lambda m: decimal(m.group(0)), text)
    text = text.replace("*", "")
    text = re.sub(r"[ \t\u3000]+", " ", text)
    text = re.sub(r"\s*\n\s*", "\n", text)
    return text.strip()


# --------------------------------------------------------------------------- scripts

_BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "tr", "br", "div", "table", "ul", "ol"}


class _Text(HTMLParser):
    """Sanitised board HTML as sentences: a block's end ends a sentence."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append("，")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n")


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html or "")
    parser.close()
    return _sentences(["".join(parser.parts)])


def _sentences(parts: list[str]) -> str:
    """One sentence per line, each ended with a full stop when it has none."""
    lines = []
    for part in parts:
        for line in str(part).splitlines():
            line = line.strip(" ，,\t\u3000")
            if line:
                lines.append(line if line[-1] in "。！？；：!?;:" else line + "。")
    return "\n".join(lines)


def script(kind: str, data: dict[str, Any]) -> str:
    """What the board of `kind` rendered from `data` says, ready for the engine."""
    zone = data.get("timezone", "Asia/Shanghai")
    if kind == "urgent":
        period = f"{dates.cn_datetime(data['starts_at'], zone)}发布，至{dates.cn_datetime(data['ends_at'], zone)}止"
        parts = ["紧急通知", data["title"], *str(data.get("body", "")).splitlines(), data.get("area", ""), period]
        return speakable(_sentences(parts))
    if kind == "echo_wall":
        parts = [data["title"]]
        for e in data.get("entries", []):
            parts += [f"{e['kind']}。村民问：{e['question']}", f"答复：{e['answer']}"]
        if not data.get("entries"):
            parts.append("还没有公开的答复。有意见、建议或问题，请扫屏幕上的二维码告诉我们")
        return speakable(_sentences(parts))
    parts = [data.get("category", ""), data["title"], data.get("area", "")]
    parts.append(dates.cn_period(data.get("valid_from"), data.get("valid_to"), zone))
    text = _sentences(parts)
    if data.get("body_html"):
        text += "\n" + html_text(data["body_html"])
    table = data.get("table")
    if kind == "table" and table:
        columns = [str(c) for c in table.get("columns", [])]
        rows = []
        for i, row in enumerate(table.get("rows", []), start=1):
            cells = [f"{c} {v}" for c, v in zip(columns, row, strict=False) if str(v).strip()]
            rows.append(f"第{i}行：" + "，".join(cells))
        text += "\n" + _sentences(rows)
    return speakable(text)
