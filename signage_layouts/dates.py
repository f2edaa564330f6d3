"""Every date a person reads, in the township's zone, written in one place.

Timestamps are stored in UTC; a hall screen, a phone page or an admin page shows them in
the township's zone (config TIMEZONE / SUNWALL_TIMEZONE). Cutting the first ten
characters off a UTC timestamp showed an item starting at local midnight a day early,
so nothing else formats a date: the server's template filters, the board templates and
the admin forms all call these functions. Both the server and a screen agent may import
this module (it needs only the standard library).

Posting periods end *exclusively*: an item shown up to and including 20 December ends at
local midnight of 21 December. `last_day` turns such an end back into the day people
expect to read.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Shanghai"

Moment = dt.datetime | str


@cache
def zone_info(zone: str) -> ZoneInfo:
    return ZoneInfo(zone)


def to_local(value: Moment, zone: str) -> dt.datetime:
    """An instant (aware datetime or ISO 8601 text; naive means UTC) in the township's zone."""
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(zone_info(zone))


def local_day(value: Moment | dt.date, zone: str) -> dt.date:
    """The township's day of an instant; a day (a due date, an event's day) is already one."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    return to_local(value, zone).date()


def day_start(day: dt.date, zone: str) -> dt.datetime:
    """Local midnight at the start of `day`, as a UTC instant (what the database stores)."""
    return dt.datetime.combine(day, dt.time(0, 0), zone_info(zone)).astimezone(dt.UTC)


def day_end(day: dt.date, zone: str) -> dt.datetime:
    """The exclusive end of `day`: local midnight of the next day, as a UTC instant."""
    return day_start(day + dt.timedelta(days=1), zone)


def last_day(end: Moment, zone: str) -> dt.date:
    """The last day shown for an exclusive end: the day before when it is local midnight."""
    local = to_local(end, zone)
    return local.date() - dt.timedelta(days=1) if local.time() == dt.time(0, 0) else local.date()


def _cn(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def cn_date(value: Moment | None, zone: str) -> str:
    """Screens and phone pages: 2026年11月20日."""
    return _cn(local_day(value, zone)) if value else ""


def cn_datetime(value: Moment | None, zone: str) -> str:
    """Phone pages, when the hour matters (a ticket's times): 2026年11月20日 14:30."""
    if not value:
        return ""
    local = to_local(value, zone)
    return f"{_cn(local.date())} {local.hour:02d}:{local.minute:02d}"


def cn_period(start: Moment | None, end: Moment | None, zone: str) -> str:
    """A posting period: 2026年11月20日 至 2026年12月20日; 2026年11月20日起 when open-ended."""
    if not start:
        return ""
    if not end:
        return f"{cn_date(start, zone)}起"
    return f"{cn_date(start, zone)} 至 {_cn(last_day(end, zone))}"


_QUARTERS = "一二三四"


def period_label(code: str) -> str:
    """A disclosure period (server.domain.periods) as people say it: 2026年11月,
    2026年第四季度, 2026年度; anything else as written."""
    parts = code.split("-")
    if len(parts) == 2 and parts[1].startswith("Q") and parts[1][1:] in ("1", "2", "3", "4"):
        return f"{parts[0]}年第{_QUARTERS[int(parts[1][1:]) - 1]}季度"
    if len(parts) == 2 and parts[1].isdigit():
        return f"{parts[0]}年{int(parts[1])}月"
    if code.isdigit() and len(code) == 4:
        return f"{code}年度"
    return code


def admin_date(value: Moment | dt.date | None, zone: str) -> str:
    """Admin tables: 2026-11-20."""
    return local_day(value, zone).isoformat() if value else ""


def admin_period(start: Moment | None, end: Moment | None, zone: str) -> tuple[str, str | None]:
    """A posting period's first and last day as admin tables write them (2026-11-20,
    2026-12-19): the words around them are the caller's language."""
    if not start:
        return "", None
    return admin_date(start, zone), (last_day(end, zone).isoformat() if end else None)


def admin_datetime(value: Moment | None, zone: str) -> str:
    """Admin tables: 2026-11-20 14:30."""
    if not value:
        return ""
    local = to_local(value, zone)
    return f"{local.date().isoformat()} {local.hour:02d}:{local.minute:02d}"


def admin_moment(value: Moment | None, now: Moment, zone: str) -> str:
    """Admin live pages: 10:02 for today, 2026-11-19 10:02 for another day."""
    if not value:
        return ""
    full = admin_datetime(value, zone)
    return full[11:] if local_day(value, zone) == local_day(now, zone) else full


WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


def cn_day_weekday(value: Moment | dt.date | None, zone: str) -> str:
    """Schedules, a day in a week: 12月8日（星期二）. A date is taken as a local day."""
    if value is None or value == "":
        return ""
    day = value if isinstance(value, dt.date) and not isinstance(value, dt.datetime) else local_day(value, zone)
    return f"{day.month}月{day.day}日（{WEEKDAYS[day.weekday()]}）"


def cn_day_weekday_time(value: Moment | None, zone: str) -> str:
    """Schedules, a moment in a week: 12月8日（星期二）19:00."""
    if not value:
        return ""
    local = to_local(value, zone)
    return f"{cn_day_weekday(local.date(), zone)}{local.hour:02d}:{local.minute:02d}"


def clock(minutes: int) -> str:
    """Minutes after local midnight as a wall-clock time: 1110 → 18:30, 1440 → 24:00 (an end)."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
