"""Which schedule entries play when: a pure function of rules, an instant and a time zone.

The rule: at any moment a screen plays the entries in effect with the highest priority;
entries with equal priority all play, one after the other (in entry-number order); when
no entry is in effect the area's default loop plays. Dates and times are read on the
township's local clock.

Example 1. A "白天" loop runs Monday to Friday 08:00–18:00 and an "晚间" loop every day
18:00–22:00, both at priority 10. On Tuesday at 07:59 neither is in effect, so the default
loop plays; at 08:00 exactly the 白天 loop starts (a boundary belongs to what comes after
it); at 18:00 the 晚间 loop takes over; from 22:00 the default loop plays again.

Example 2. Add a one-off notice for Tuesday 8 December 2026, 14:00–16:00, at priority 50.
That afternoon the 白天 loop stops at 14:00, the notice plays alone until 16:00, and then
白天 resumes. Had the notice had priority 10 too, both would play in turn from 14:00 to 16:00.

Clock changes (daylight saving time, in zones that have it): a rule is always checked
against what the local clock shows at that instant. A boundary the clock skips (02:30 on
a spring-forward night) takes effect when the clock jumps past it; a boundary the clock
shows twice (02:30 on a fall-back night) takes effect both times. So segments stay in
order and contiguous, and `plan_timeline` always agrees with `playing_at`.

`plan_timeline` does not step minute by minute: it finds the stretches of constant UTC
offset in the window, turns each rule's local days and dayparts into UTC intervals, and
sweeps over their ends once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_MINUTES = 1440
_TICK = dt.timedelta(microseconds=1)
# The UTC offset is sampled this often to find clock changes; no zone changes it twice
# within this span.
_PROBE = dt.timedelta(hours=2)
_WHOLE_DAY = ((0, DAY_MINUTES),)


class TimelineError(ValueError):
    """A rule or an argument is invalid; `field` and `code` are machine-readable."""

    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code


@dataclass(frozen=True)
class Daypart:
    """A window of local time within one day, [start_minute, end_minute) after midnight."""

    start_minute: int  # 0..1439
    end_minute: int  # 1..1440 (1440 = 24:00); start < end: a window never crosses midnight


@dataclass(frozen=True)
class Rule:
    """When one schedule entry is in effect, in the township's local time."""

    entry_id: int
    priority: int
    starts_on: dt.date  # first local day, inclusive
    ends_on: dt.date | None  # last local day, inclusive; None = open-ended
    weekdays: frozenset[int]  # 0 = Monday … 6 = Sunday; must be non-empty
    dayparts: tuple[Daypart, ...] = ()  # empty = the whole day; otherwise union of the windows
    not_before: dt.datetime | None = None  # aware instants clipping the rule: in effect
    not_after: dt.datetime | None = None  # only in [not_before, not_after)


@dataclass(frozen=True)
class Segment:
    """A stretch [start, end) during which the same entries play."""

    start: dt.datetime  # aware UTC
    end: dt.datetime  # aware UTC, > start
    entry_ids: tuple[int, ...]  # ascending; () = nothing scheduled, the default loop plays


@dataclass(frozen=True)
class Timeline:
    """What plays over a window; `next_change` is the first change after its start, if any."""

    segments: tuple[Segment, ...]
    next_change: dt.datetime | None


def validate_rule(rule: Rule) -> None:
    """Raise TimelineError for the first problem found in `rule`."""
    if not rule.weekdays:
        raise TimelineError("weekdays", "empty")
    if any(not 0 <= day <= 6 for day in rule.weekdays):
        raise TimelineError("weekdays", "out_of_range")
    if rule.ends_on is not None and rule.ends_on < rule.starts_on:
        raise TimelineError("ends_on", "before_start")
    for part in rule.dayparts:
        if part.end_minute <= part.start_minute:
            raise TimelineError("dayparts", "crosses_midnight")
        if part.start_minute < 0 or part.end_minute > DAY_MINUTES:
            raise TimelineError("dayparts", "out_of_range")
    ordered = sorted(rule.dayparts, key=lambda part: part.start_minute)
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.start_minute < before.end_minute:
            raise TimelineError("dayparts", "overlap")
    _require_aware(rule.not_before, "not_before")
    _require_aware(rule.not_after, "not_after")
    if rule.not_before is not None and rule.not_after is not None and rule.not_after <= rule.not_before:
        raise TimelineError("not_after", "before_start")


def playing_at(rules: Iterable[Rule], instant: dt.datetime, zone: str | ZoneInfo) -> tuple[int, ...]:
    """The entries that play at `instant` (aware), by checking each rule directly."""
    checked = _checked(rules)
    tz = _zone(zone)
    utc = _naive_utc(instant, "instant")
    local = instant.astimezone(tz)
    return _winners([rule for rule in checked if _in_effect(rule, local, utc)])


def plan_timeline(
    rules: Iterable[Rule], now: dt.datetime, zone: str | ZoneInfo, horizon: dt.timedelta
) -> Timeline:
    """What plays from `now` (aware) for `horizon` (> 0), as merged UTC segments."""
    start = _naive_utc(now, "now")
    if horizon <= dt.timedelta(0):
        raise TimelineError("horizon", "not_positive")
    tz = _zone(zone)
    checked = _checked(rules)
    end = start + horizon
    pieces = _offset_pieces(tz, start, end)

    events: dict[dt.datetime, list[tuple[int, int]]] = {}
    for index, rule in enumerate(checked):
        for low, high in _intervals(rule, pieces):
            events.setdefault(low, []).append((index, 1))
            events.setdefault(high, []).append((index, -1))

    active: dict[int, int] = {}
    segments: list[Segment] = []
    current: tuple[int, ...] = ()
    since = start
    for moment in sorted(events):
        if moment >= end:
            break
        for index, delta in events[moment]:
            count = active.get(index, 0) + delta
            if count:
                active[index] = count
            else:
                del active[index]
        playing = _winners([checked[index] for index in active])
        if moment == start:
            current = playing
        elif playing != current:
            segments.append(Segment(_aware(since), _aware(moment), current))
            since, current = moment, playing
    segments.append(Segment(_aware(since), _aware(end), current))
    next_change = segments[0].end if len(segments) > 1 else None
    return Timeline(tuple(segments), next_change)


# --------------------------------------------------------------------------- helpers


def _checked(rules: Iterable[Rule]) -> tuple[Rule, ...]:
    checked = tuple(rules)
    for rule in checked:
        validate_rule(rule)
    return checked


def _zone(zone: str | ZoneInfo) -> ZoneInfo:
    if isinstance(zone, ZoneInfo):
        return zone
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TimelineError("zone", "unknown") from exc


def _require_aware(moment: dt.datetime | None, field: str) -> None:
    if moment is not None and (moment.tzinfo is None or moment.utcoffset() is None):
        raise TimelineError(field, "naive")


def _naive_utc(moment: dt.datetime, field: str) -> dt.datetime:
    """`moment` (which must be aware) as a naive UTC datetime, for fold-safe arithmetic."""
    _require_aware(moment, field)
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC)


def _offset(tz: ZoneInfo, utc: dt.datetime) -> dt.timedelta:
    offset = utc.replace(tzinfo=dt.UTC).astimezone(tz).utcoffset()
    assert offset is not None  # a ZoneInfo always gives one
    return offset


def _offset_pieces(
    tz: ZoneInfo, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime, dt.timedelta]]:
    """Split naive-UTC [start, end) where the zone's UTC offset changes: (from, to, offset)."""
    cuts: list[tuple[dt.datetime, dt.timedelta]] = [(start, _offset(tz, start))]
    left, left_offset = cuts[0]
    last = end - _TICK
    while left < last:
        right = min(left + _PROBE, last)
        right_offset = _offset(tz, right)
        if right_offset != left_offset:
            low, high = left, right  # offset(low) == left_offset != offset(high)
            while high - low > _TICK:
                middle = low + (high - low) // 2
                if _offset(tz, middle) == left_offset:
                    low = middle
                else:
                    high = middle
            cuts.append((high, _offset(tz, high)))
        left, left_offset = right, right_offset
    ends = [moment for moment, _ in cuts[1:]] + [end]
    return [(moment, until, offset) for (moment, offset), until in zip(cuts, ends, strict=True)]


def _intervals(
    rule: Rule, pieces: Sequence[tuple[dt.datetime, dt.datetime, dt.timedelta]]
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The naive-UTC intervals within the pieces during which `rule` is in effect."""
    clip_low = _naive_utc(rule.not_before, "not_before") if rule.not_before is not None else dt.datetime.min
    clip_high = _naive_utc(rule.not_after, "not_after") if rule.not_after is not None else dt.datetime.max
    windows = [(p.start_minute, p.end_minute) for p in rule.dayparts] or _WHOLE_DAY
    found: list[tuple[dt.datetime, dt.datetime]] = []
    for piece_start, piece_end, offset in pieces:
        low, high = max(piece_start, clip_low), min(piece_end, clip_high)
        if low >= high:
            continue
        day = max((low + offset).date(), rule.starts_on)
        last = (high - _TICK + offset).date()
        if rule.ends_on is not None:
            last = min(last, rule.ends_on)
        while day <= last:
            if day.weekday() in rule.weekdays:
                midnight = dt.datetime.combine(day, dt.time()) - offset  # in UTC, in this piece
                for first, stop in windows:
                    since = max(low, midnight + dt.timedelta(minutes=first))
                    until = min(high, midnight + dt.timedelta(minutes=stop))
                    if since < until:
                        found.append((since, until))
            day += dt.timedelta(days=1)
    return found


def _in_effect(rule: Rule, local: dt.datetime, utc: dt.datetime) -> bool:
    """Whether `rule` holds at the instant whose local time is `local` and naive UTC `utc`."""
    day = local.date()
    if day < rule.starts_on or (rule.ends_on is not None and day > rule.ends_on):
        return False
    if day.weekday() not in rule.weekdays:
        return False
    if rule.not_before is not None and utc < _naive_utc(rule.not_before, "not_before"):
        return False
    if rule.not_after is not None and utc >= _naive_utc(rule.not_after, "not_after"):
        return False
    minute = local.hour * 60 + local.minute
    windows = [(p.start_minute, p.end_minute) for p in rule.dayparts] or _WHOLE_DAY
    return any(first <= minute < stop for first, stop in windows)


def _winners(rules: Sequence[Rule]) -> tuple[int, ...]:
    """The entry ids of the highest-priority rules among `rules`, ascending."""
    if not rules:
        return ()
    top = max(rule.priority for rule in rules)
    return tuple(sorted({rule.entry_id for rule in rules if rule.priority == top}))
