"""Personal-data masking for public output: ID card, bank card and mobile numbers.

Masked forms (separators inside a number are dropped, full-width digits come out as ASCII):

- resident ID, 18 digits: ``330***********1234`` (first 3, last 4; a final x is written X)
- old resident ID, 15 digits: ``330********1234``
- bank card, 16-19 digits: ``6222***********0123`` (first 4, last 4)
- mainland mobile: ``138****5678``; with a country prefix (+86, 0086, 86): ``+86 138****5678``

A number counts only as a whole: a digit or a decimal point (``12.5``) right next to it
means it is part of something longer (an amount, a 20-digit serial, ...), which stays as is.
Dates, amounts with thousands separators and landlines never have the shape of any of the
numbers above, so they are left alone. A space or dash does not bind: a longer number written
in groups (1234 5678 9012 3456 7890) gets its first groups masked as a card, which errs
on the side of hiding too much.

mask_markdown writes its stars escaped (``\\*``) so the Markdown renderer shows them as stars.

`find` is the one definition of these numbers: it reports each with its kind, place and
digits; the masks replace exactly what it reports, and the pre-publish scanner
(server.domain.scanner) refuses exactly that, so what is masked and what is refused agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# Full-width forms typed with a Chinese input method, mapped one character to one, so a
# position in the folded text is the same position in the original.
_FOLD = str.maketrans(
    "０１２３４５６７８９＋－．\u3000Ｘｘ",
    "0123456789+-. Xx",
)

# Not glued to a digit or to a decimal part on either side. re.ASCII keeps \d to 0-9.
_START = r"(?<!\d)(?<!\d\.)"
_END = r"(?!\.?\d)"

# Resident ID: 6-digit region, birth date, 3-digit sequence and a check character (18), or
# the old 15-digit form with a 2-digit year and no check character. People write the groups
# 6-8-4 (or 6-6-3) apart with a space, dash or dot; the same separator is used throughout.
_ID_RE = re.compile(
    _START
    + r"[1-9]\d{5}(?P<sep>[ .-]?)"
    + r"(?:(?P<birth>\d{8})(?P=sep)\d{3}[\dXx]|(?P<birth15>\d{6})(?P=sep)\d{3})"
    + _END,
    re.ASCII,
)
# A plausible birth date YYYYMMDD. A bare run of digits without one is not taken for an ID
# (an 18-digit one is then a bank card; a 15-digit one is some other reference number).
_BIRTH_RE = re.compile(r"(?:18|19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])", re.ASCII)

# Bank card: 16-19 digits, run together or in groups of 4 with spaces or dashes (the last
# group of a 17-19 digit card has 1-3 digits). Applied after IDs, so 18 digits that are an
# ID never get here.
_CARD_RE = re.compile(
    _START + r"\d{4}(?P<sep>[ -]?)\d{4}(?P=sep)\d{4}(?P=sep)\d{4}(?:(?P=sep)\d{1,3})?" + _END,
    re.ASCII,
)

# Mainland mobile: 1[3-9] and 9 more digits, optionally grouped 3-4-4 (any mix of space,
# dash, dot: the 1[3-9] start is distinctive enough), optionally after a country prefix.
# Landlines (0571-8888 6666) start with 0 and never match.
_MOBILE_RE = re.compile(
    _START
    + r"(?P<country>(?:\+|00)?86[ -]?)?"
    + r"(?P<number>1[3-9]\d[ .-]?\d{4}[ .-]?\d{4})"
    + _END,
    re.ASCII,
)


KINDS = ("id", "card", "mobile")
KIND_LABELS = {"id": "身份证号", "card": "银行卡号", "mobile": "手机号"}


@dataclass(frozen=True)
class Found:
    """One personal number in a text: what it is, where (positions in the text as written)
    and its digits (a mobile's without the country prefix). `masked` is how the masks show
    it, which is also the only form in which a number may be echoed back to anyone."""

    kind: str  # "id" | "card" | "mobile"
    start: int
    end: int
    digits: str
    masked: str


def _digits(number: str) -> str:
    return re.sub(r"[ .-]", "", number).upper()


def _hide(digits: str, head: int, tail: int) -> str:
    return digits[:head] + "*" * (len(digits) - head - tail) + digits[-tail:]


def _id_found(m: re.Match[str]) -> tuple[str, str] | None:
    number = _digits(m.group())
    birth = m["birth"] or f"19{m['birth15']}"
    # Written in groups or ending in X, it is an ID whatever the date says (a typo in the
    # date must not leak the number); a bare run of digits needs a birth date to be one.
    if m["sep"] or number.endswith("X") or _BIRTH_RE.fullmatch(birth):
        return number, _hide(number, 3, 4)
    return None


def _card_found(m: re.Match[str]) -> tuple[str, str]:
    number = _digits(m.group())
    return number, _hide(number, 4, 4)


def _mobile_found(m: re.Match[str]) -> tuple[str, str]:
    number = _digits(m["number"])
    return number, ("+86 " if m["country"] else "") + _hide(number, 3, 4)


_PASSES: tuple[tuple[str, re.Pattern[str], Callable[[re.Match[str]], tuple[str, str] | None]], ...] = (
    # IDs first: an 18-digit ID is an ID, not a card; then cards, then mobiles.
    ("id", _ID_RE, _id_found),
    ("card", _CARD_RE, _card_found),
    ("mobile", _MOBILE_RE, _mobile_found),
)


def find(text: str, *, mobiles: bool = True) -> list[Found]:
    """Every ID, bank card and (unless `mobiles` is false) mobile number in `text`, in order.

    The one definition of what a personal number is: the masks below replace exactly
    these spans, and the pre-publish scanner refuses exactly these, so they never disagree.
    A number found by an earlier pass is blanked before the next one looks (stars with a
    digit at each end, as its masked form reads), so no digit belongs to two numbers."""
    folded = text.translate(_FOLD)
    found: list[Found] = []
    for kind, pattern, judge in _PASSES:
        if kind == "mobile" and not mobiles:
            break
        parts: list[str] = []
        done = 0
        for m in pattern.finditer(folded):
            judged = judge(m)
            if judged is not None:
                found.append(Found(kind, m.start(), m.end(), *judged))
                parts += [folded[done : m.start()], "0" + "*" * (m.end() - m.start() - 2) + "0"]
                done = m.end()
        folded = "".join(parts) + folded[done:]
    return sorted(found, key=lambda f: f.start)


def _mask(text: str, *, mobiles: bool, star: str = "*", kinds: tuple[str, ...] = KINDS) -> str:
    """Each number `find` sees replaced by its masked form; the text between is kept exactly."""
    parts: list[str] = []
    done = 0
    for f in find(text, mobiles=mobiles):
        if f.kind in kinds:
            parts += [text[done : f.start], f.masked.replace("*", star)]
            done = f.end
    parts.append(text[done:])
    return "".join(parts)


def mask_id_numbers(text: str) -> str:
    """Resident ID numbers (18 and old 15 digits) masked; nothing else."""
    return _mask(text, mobiles=False, kinds=("id",))


def mask_text(text: str) -> str:
    """ID, bank card and mobile numbers masked: for table cells and citizens' free text."""
    return _mask(text, mobiles=True)


def mask_markdown(source: str) -> str:
    """ID and bank card numbers masked everywhere; mobile numbers too inside table rows
    (lists of people). A contact number written in a notice's prose stays readable on
    purpose.

    The result is Markdown: the stars come out escaped (``138\\*\\*\\*\\*5678``), or two
    masked numbers on one line would render as bold/italic around the text between them."""
    return "\n".join(
        _mask(line, mobiles=line.lstrip().startswith("|"), star=r"\*")
        for line in source.split("\n")
    )
