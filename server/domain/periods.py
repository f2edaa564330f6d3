"""Disclosure periods of regular catalogue items: a month ("2026-11"), a quarter
("2026-Q4") or a year ("2026"). Pure functions over dates; labels for people are made in
signage_layouts.dates (`period_label`)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from server.domain.errors import ValidationFailed
from server.models import Period

_FORMS = {
    Period.monthly: (re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"), "2026-11"),
    Period.quarterly: (re.compile(r"^(\d{4})-Q([1-4])$"), "2026-Q4"),
    Period.yearly: (re.compile(r"^(\d{4})$"), "2026"),
}


@dataclass(frozen=True, order=True)
class Span:
    """One period: its code and its first and last day."""

    start: dt.date
    end: dt.date
    code: str


def _span(kind: Period, year: int, index: int) -> Span:
    """The `index`-th period (1-based month or quarter; ignored for years) of `year`."""
    if kind is Period.monthly:
        start = dt.date(year, index, 1)
        after = dt.date(year + (index == 12), index % 12 + 1, 1)
        return Span(start, after - dt.timedelta(days=1), f"{year}-{index:02d}")
    if kind is Period.quarterly:
        start = dt.date(year, 3 * index - 2, 1)
        after = dt.date(year + (index == 4), (3 * index) % 12 + 1, 1)
        return Span(start, after - dt.timedelta(days=1), f"{year}-Q{index}")
    return Span(dt.date(year, 1, 1), dt.date(year, 12, 31), f"{year}")


def parse(kind: Period, code: str, field: str = "period") -> Span:
    pattern, example = _FORMS[kind]
    m = pattern.match((code or "").strip())
    if m is None:
        raise ValidationFailed(f"公开期次的格式应为 {example}。", field=field)
    year = int(m.group(1))
    if not 2000 <= year <= 2100:
        raise ValidationFailed("公开期次的年份不对。", field=field)
    return _span(kind, year, int(m.group(2)) if kind is not Period.yearly else 1)


def containing(kind: Period, day: dt.date) -> Span:
    index = {Period.monthly: day.month, Period.quarterly: (day.month - 1) // 3 + 1}.get(kind, 1)
    return _span(kind, day.year, index)


def following(span: Span, kind: Period) -> Span:
    return containing(kind, span.end + dt.timedelta(days=1))


def between(kind: Period, first: dt.date, last: dt.date) -> list[Span]:
    """Every period that has started between `first` and `last` (both days included)."""
    spans, span = [], containing(kind, first)
    while span.start <= last:
        spans.append(span)
        span = following(span, kind)
    return spans
