"""`timeline`: which schedule entries play when, checked on worked examples and by property.

The worked examples are one village hall in Asia/Shanghai (UTC+8, no clock changes):
  1 白天  Monday–Friday 08:00–18:00, priority 10
  2 晚间  every day 18:00–22:00, priority 10
  3 周末  Saturday and Sunday all day, priority 20
  4 村民代表会议通知  Tuesday 2026-12-08 only, 14:00–16:00, priority 50
The property tests compare `plan_timeline` with `playing_at` and with `oracle`, a direct
reading of the rule written here, in zones with and without daylight saving time.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, replace
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.timeline import (
    Daypart,
    Rule,
    Segment,
    Timeline,
    TimelineError,
    plan_timeline,
    playing_at,
    validate_rule,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
TICK = dt.timedelta(microseconds=1)
EVERY_DAY = frozenset(range(7))
WORKDAYS = frozenset(range(5))
WEEKEND = frozenset({5, 6})
OPENED = dt.date(2026, 12, 1)
TUESDAY = dt.date(2026, 12, 8)

DAYTIME = Rule(1, 10, OPENED, None, WORKDAYS, (Daypart(8 * 60, 18 * 60),))  # 白天
EVENING = Rule(2, 10, OPENED, None, EVERY_DAY, (Daypart(18 * 60, 22 * 60),))  # 晚间
WEEKENDS = Rule(3, 20, OPENED, None, WEEKEND)  # 周末
MEETING = Rule(4, 50, TUESDAY, TUESDAY, EVERY_DAY, (Daypart(14 * 60, 16 * 60),))  # 村民代表会议通知
HALL = (DAYTIME, EVENING, WEEKENDS, MEETING)


def beijing(day: int, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> dt.datetime:
    """An instant on the Beijing clock in December 2026."""
    return dt.datetime(2026, 12, day, hour, minute, second, micro, tzinfo=SHANGHAI)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)


def spans(plan: Timeline) -> list[tuple[dt.datetime, dt.datetime, tuple[int, ...]]]:
    return [(s.start, s.end, s.entry_ids) for s in plan.segments]


# --------------------------------------------------------------------------- worked examples


def test_tuesday_evening_plays_the_evening_loop() -> None:
    assert playing_at(HALL, beijing(8, 19), "Asia/Shanghai") == (2,)


def test_before_eight_nothing_is_scheduled_so_the_default_loop_plays() -> None:
    assert playing_at(HALL, beijing(8, 7, 59), "Asia/Shanghai") == ()
    assert playing_at(HALL, beijing(8, 7, 59, 59, 999_999), "Asia/Shanghai") == ()


def test_an_edge_belongs_to_what_comes_after_it() -> None:
    assert playing_at(HALL, beijing(8, 8), "Asia/Shanghai") == (1,)
    assert playing_at(HALL, beijing(8, 17, 59, 59, 999_999), "Asia/Shanghai") == (1,)
    assert playing_at(HALL, beijing(8, 18), "Asia/Shanghai") == (2,)
    assert playing_at(HALL, beijing(8, 22), "Asia/Shanghai") == ()


def test_saturday_plays_the_weekend_loop_all_day_even_in_the_evening() -> None:
    saturday = beijing(12, 0)
    assert [playing_at(HALL, saturday + dt.timedelta(hours=h), SHANGHAI) for h in (0, 10, 19, 23)] == [(3,)] * 4
    plan = plan_timeline(HALL, saturday, SHANGHAI, dt.timedelta(days=2))
    assert spans(plan) == [(utc(2026, 12, 11, 16), utc(2026, 12, 13, 16), (3,))]
    assert plan.next_change is None


def test_the_one_off_notice_outranks_the_daytime_loop() -> None:
    assert playing_at(HALL, beijing(8, 13, 59), SHANGHAI) == (1,)
    assert playing_at(HALL, beijing(8, 14), SHANGHAI) == (4,)
    assert playing_at(HALL, beijing(8, 16), SHANGHAI) == (1,)
    assert playing_at(HALL, beijing(15, 14, 30), SHANGHAI) == (1,)  # a week later it is gone


def test_a_whole_tuesday() -> None:
    plan = plan_timeline(HALL, beijing(8, 7), "Asia/Shanghai", dt.timedelta(days=1))
    assert spans(plan) == [
        (utc(2026, 12, 7, 23), utc(2026, 12, 8, 0), ()),
        (utc(2026, 12, 8, 0), utc(2026, 12, 8, 6), (1,)),
        (utc(2026, 12, 8, 6), utc(2026, 12, 8, 8), (4,)),
        (utc(2026, 12, 8, 8), utc(2026, 12, 8, 10), (1,)),
        (utc(2026, 12, 8, 10), utc(2026, 12, 8, 14), (2,)),
        (utc(2026, 12, 8, 14), utc(2026, 12, 8, 23), ()),  # 22:00 to 07:00 the next morning
    ]
    assert plan.next_change == beijing(8, 8)
    assert all(s.start.tzinfo is dt.UTC and s.end.tzinfo is dt.UTC for s in plan.segments)


def test_equal_priorities_play_together_in_entry_order() -> None:
    party_affairs = Rule(0, 10, OPENED, None, WORKDAYS, (Daypart(17 * 60, 19 * 60),))  # 党务公开
    rules = (EVENING, party_affairs, DAYTIME)
    assert playing_at(rules, beijing(8, 17, 30), SHANGHAI) == (0, 1)
    assert playing_at(rules, beijing(8, 18, 30), SHANGHAI) == (0, 2)
    plan = plan_timeline(rules, beijing(8, 16), SHANGHAI, dt.timedelta(hours=4))
    assert [s.entry_ids for s in plan.segments] == [(1,), (0, 1), (0, 2), (2,)]


def test_a_lower_priority_never_plays_while_a_higher_one_is_in_effect() -> None:
    plan = plan_timeline(HALL, beijing(7, 0), SHANGHAI, dt.timedelta(days=14))
    for segment in plan.segments:
        assert not (1 in segment.entry_ids and 4 in segment.entry_ids)
        assert not ({1, 2} & set(segment.entry_ids) and 3 in segment.entry_ids)
    assert (4,) in [s.entry_ids for s in plan.segments]


def test_next_change() -> None:
    friday_evening = plan_timeline(HALL, beijing(11, 21), SHANGHAI, dt.timedelta(hours=4))
    assert friday_evening.next_change == beijing(11, 22)
    assert [s.entry_ids for s in friday_evening.segments] == [(2,), (), (3,)]
    # A change exactly at now + horizon is outside the window.
    assert plan_timeline(HALL, beijing(8, 7), SHANGHAI, dt.timedelta(hours=1)).next_change is None
    assert plan_timeline(HALL, beijing(8, 7), SHANGHAI, dt.timedelta(hours=1, microseconds=1)).next_change == beijing(8, 8)
    # A change exactly at now is not "next": now starts the first segment.
    assert plan_timeline(HALL, beijing(8, 8), SHANGHAI, dt.timedelta(hours=8)).next_change == beijing(8, 14)


def test_an_entry_whose_end_date_passed_plays_nothing() -> None:
    expired = Rule(6, 90, dt.date(2026, 11, 1), dt.date(2026, 12, 7), EVERY_DAY)
    assert playing_at([expired], beijing(7, 23, 59, 59, 999_999), SHANGHAI) == (6,)
    assert playing_at([expired], beijing(8, 0), SHANGHAI) == ()
    plan = plan_timeline([expired], beijing(8, 10), SHANGHAI, dt.timedelta(days=7))
    assert spans(plan) == [(beijing(8, 10), beijing(15, 10), ())]
    assert plan_timeline([expired, DAYTIME], beijing(8, 10), SHANGHAI, dt.timedelta(hours=1)).segments[0].entry_ids == (1,)


def test_not_before_and_not_after_clip_a_rule() -> None:
    # 紧急通知 (urgent notice): shown 10:30–11:15 on Tuesday, whatever the rule's days say.
    urgent = Rule(9, 90, OPENED, None, EVERY_DAY, not_before=beijing(8, 10, 30), not_after=utc(2026, 12, 8, 3, 15))
    rules = (*HALL, urgent)
    assert playing_at(rules, beijing(8, 10, 29, 59, 999_999), SHANGHAI) == (1,)
    assert playing_at(rules, beijing(8, 10, 30), SHANGHAI) == (9,)
    assert playing_at(rules, beijing(8, 11, 14, 59, 999_999), SHANGHAI) == (9,)
    assert playing_at(rules, beijing(8, 11, 15), SHANGHAI) == (1,)
    plan = plan_timeline(rules, beijing(8, 8), SHANGHAI, dt.timedelta(hours=4))
    assert spans(plan) == [
        (beijing(8, 8), beijing(8, 10, 30), (1,)),
        (beijing(8, 10, 30), beijing(8, 11, 15), (9,)),
        (beijing(8, 11, 15), beijing(8, 12), (1,)),
    ]


def test_a_clip_also_narrows_dayparts_and_days() -> None:
    # A posting period that starts mid-evening and ends on Thursday's evening.
    posting = replace(EVENING, not_before=beijing(8, 20), not_after=beijing(10, 19))
    plan = plan_timeline([posting], beijing(8, 0), SHANGHAI, dt.timedelta(days=4))
    assert [(s.start, s.end) for s in plan.segments if s.entry_ids] == [
        (beijing(8, 20), beijing(8, 22)),
        (beijing(9, 18), beijing(9, 22)),
        (beijing(10, 18), beijing(10, 19)),
    ]


def test_touching_dayparts_are_one_stretch() -> None:
    split = Rule(5, 10, OPENED, None, EVERY_DAY, (Daypart(12 * 60, 24 * 60), Daypart(0, 6 * 60)))
    plan = plan_timeline([split], beijing(8, 10), SHANGHAI, dt.timedelta(days=1))
    assert spans(plan) == [
        (beijing(8, 10), beijing(8, 12), ()),
        (beijing(8, 12), beijing(9, 6), (5,)),
        (beijing(9, 6), beijing(9, 10), ()),
    ]


def test_a_window_with_no_rules_is_one_default_segment() -> None:
    plan = plan_timeline([], beijing(8, 7, 13, 5, 17), SHANGHAI, dt.timedelta(minutes=5))
    assert spans(plan) == [(beijing(8, 7, 13, 5, 17), beijing(8, 7, 18, 5, 17), ())]
    assert plan.next_change is None
    assert isinstance(plan.segments[0], Segment)


# --------------------------------------------------------------------------- clock changes


def test_spring_forward_a_skipped_edge_takes_effect_when_the_clock_jumps() -> None:
    # Berlin, 2026-03-29: at 01:00 UTC the clock jumps from 02:00 to 03:00 local time.
    night = Rule(7, 10, dt.date(2026, 3, 1), None, EVERY_DAY, (Daypart(2 * 60 + 30, 4 * 60),))
    plan = plan_timeline([night], utc(2026, 3, 28, 20), "Europe/Berlin", dt.timedelta(hours=10))
    assert spans(plan) == [
        (utc(2026, 3, 28, 20), utc(2026, 3, 29, 1), ()),
        (utc(2026, 3, 29, 1), utc(2026, 3, 29, 2), (7,)),  # 03:00–04:00 CEST
        (utc(2026, 3, 29, 2), utc(2026, 3, 29, 6), ()),
    ]
    assert playing_at([night], utc(2026, 3, 29, 0, 59, 59), BERLIN) == ()  # 01:59:59 CET


def test_fall_back_an_edge_shown_twice_takes_effect_twice() -> None:
    # Berlin, 2026-10-25: at 01:00 UTC the clock goes back from 03:00 to 02:00 local time.
    night = Rule(7, 10, dt.date(2026, 10, 1), None, EVERY_DAY, (Daypart(2 * 60 + 30, 4 * 60),))
    plan = plan_timeline([night], utc(2026, 10, 24, 20), "Europe/Berlin", dt.timedelta(hours=10))
    assert spans(plan) == [
        (utc(2026, 10, 24, 20), utc(2026, 10, 25, 0, 30), ()),
        (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1), (7,)),  # 02:30–03:00 CEST
        (utc(2026, 10, 25, 1), utc(2026, 10, 25, 1, 30), ()),  # 02:00–02:30 CET
        (utc(2026, 10, 25, 1, 30), utc(2026, 10, 25, 3), (7,)),  # 02:30–04:00 CET
        (utc(2026, 10, 25, 3), utc(2026, 10, 25, 6), ()),
    ]


def test_local_days_last_23_and_25_hours_across_clock_changes() -> None:
    spring = Rule(1, 10, dt.date(2026, 3, 29), dt.date(2026, 3, 29), EVERY_DAY)
    autumn = Rule(2, 10, dt.date(2026, 10, 25), dt.date(2026, 10, 25), EVERY_DAY)
    for rule, now, hours in ((spring, utc(2026, 3, 28), 23), (autumn, utc(2026, 10, 24), 25)):
        played = [s for s in plan_timeline([rule], now, BERLIN, dt.timedelta(days=3)).segments if s.entry_ids]
        assert len(played) == 1 and played[0].end - played[0].start == dt.timedelta(hours=hours)


def test_now_given_in_the_fold_is_read_as_the_instant_it_names() -> None:
    first = dt.datetime(2026, 10, 25, 2, 15, tzinfo=BERLIN)  # 00:15 UTC
    second = first.replace(fold=1)  # 01:15 UTC
    night = Rule(7, 10, dt.date(2026, 10, 1), None, EVERY_DAY, (Daypart(2 * 60 + 30, 4 * 60),))
    assert plan_timeline([night], first, BERLIN, dt.timedelta(hours=1)).next_change == utc(2026, 10, 25, 0, 30)
    assert plan_timeline([night], second, BERLIN, dt.timedelta(hours=1)).next_change == utc(2026, 10, 25, 1, 30)


# --------------------------------------------------------------------------- errors


def _rule(**changes: object) -> Rule:
    return replace(DAYTIME, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rule", "field", "code"),
    [
        (_rule(weekdays=frozenset()), "weekdays", "empty"),
        (_rule(weekdays=frozenset({7})), "weekdays", "out_of_range"),
        (_rule(starts_on=TUESDAY, ends_on=dt.date(2026, 12, 7)), "ends_on", "before_start"),
        (_rule(dayparts=(Daypart(600, 600),)), "dayparts", "crosses_midnight"),
        (_rule(dayparts=(Daypart(22 * 60, 6 * 60),)), "dayparts", "crosses_midnight"),
        (_rule(dayparts=(Daypart(-10, 60),)), "dayparts", "out_of_range"),
        (_rule(dayparts=(Daypart(23 * 60, 25 * 60),)), "dayparts", "out_of_range"),
        (_rule(dayparts=(Daypart(480, 720), Daypart(700, 900))), "dayparts", "overlap"),
        (_rule(dayparts=(Daypart(700, 900), Daypart(480, 720))), "dayparts", "overlap"),
        (_rule(dayparts=(Daypart(480, 720), Daypart(480, 720))), "dayparts", "overlap"),
        (_rule(not_before=beijing(8, 12), not_after=beijing(8, 12)), "not_after", "before_start"),
        (_rule(not_before=beijing(8, 12), not_after=beijing(8, 11)), "not_after", "before_start"),
        (_rule(not_before=dt.datetime(2026, 12, 8, 12)), "not_before", "naive"),
        (_rule(not_after=dt.datetime(2026, 12, 8, 12)), "not_after", "naive"),
    ],
)
def test_invalid_rules(rule: Rule, field: str, code: str) -> None:
    for check in (
        lambda: validate_rule(rule),
        lambda: plan_timeline([DAYTIME, rule], beijing(8, 0), SHANGHAI, dt.timedelta(days=1)),
        lambda: playing_at([rule], beijing(8, 12), SHANGHAI),
    ):
        with pytest.raises(TimelineError) as caught:
            check()
        assert (caught.value.field, caught.value.code) == (field, code)
        assert isinstance(caught.value, ValueError)


def test_valid_rules_pass() -> None:
    for rule in (*HALL, _rule(dayparts=(Daypart(0, 480), Daypart(480, 1440))), _rule(ends_on=OPENED)):
        validate_rule(rule)


@pytest.mark.parametrize(
    ("call", "field", "code"),
    [
        (lambda: plan_timeline(HALL, dt.datetime(2026, 12, 8, 8), SHANGHAI, dt.timedelta(days=1)), "now", "naive"),
        (lambda: plan_timeline(HALL, beijing(8, 8), SHANGHAI, dt.timedelta(0)), "horizon", "not_positive"),
        (lambda: plan_timeline(HALL, beijing(8, 8), SHANGHAI, dt.timedelta(hours=-1)), "horizon", "not_positive"),
        (lambda: plan_timeline(HALL, beijing(8, 8), "Mars/Olympus", dt.timedelta(days=1)), "zone", "unknown"),
        (lambda: playing_at(HALL, dt.datetime(2026, 12, 8, 8), SHANGHAI), "instant", "naive"),
        (lambda: playing_at(HALL, beijing(8, 8), "Mars/Olympus"), "zone", "unknown"),
    ],
)
def test_invalid_arguments(call: object, field: str, code: str) -> None:
    with pytest.raises(TimelineError) as caught:
        call()  # type: ignore[operator]
    assert (caught.value.field, caught.value.code) == (field, code)


# --------------------------------------------------------------------------- speed


def test_a_week_of_twenty_rules_is_fast() -> None:
    rules = [
        Rule(
            n, n % 4, dt.date(2026, 3, 1), None, frozenset({n % 7, (n + 3) % 7, 5}),
            tuple(Daypart(m, m + 90) for m in (6 * 60 + n * 7, 12 * 60 + n * 5, 19 * 60 + n * 3)),
        )
        for n in range(20)
    ]
    for zone, now in ((SHANGHAI, beijing(8, 0)), (BERLIN, utc(2026, 3, 25, 12))):
        best = float("inf")
        for _ in range(5):
            began = time.perf_counter()
            plan = plan_timeline(rules, now, zone, dt.timedelta(days=7))
            best = min(best, time.perf_counter() - began)
        assert len(plan.segments) > 50
        assert best < 0.010


# --------------------------------------------------------------------------- properties

# Each zone with the days around which its cases are drawn: the 2026 clock-change days
# for Berlin and New York (so most windows cross one), the same days for Shanghai.
ZONE_BASES = {
    "Asia/Shanghai": (dt.date(2026, 3, 29), dt.date(2026, 10, 25)),
    "Europe/Berlin": (dt.date(2026, 3, 29), dt.date(2026, 10, 25)),
    "America/New_York": (dt.date(2026, 3, 8), dt.date(2026, 11, 1)),
}
# Midnight and the local hours the clocks skip or repeat, drawn often; any minute otherwise.
MINUTES = st.one_of(st.sampled_from((0, 60, 120, 150, 180, 1440)), st.integers(0, 1440))
AWARE = (dt.UTC, dt.timezone(dt.timedelta(hours=8)), BERLIN)


def oracle(rules: tuple[Rule, ...], instant: dt.datetime, zone: str) -> tuple[int, ...]:
    """What plays at `instant`, straight from the rule's wording."""
    local = instant.astimezone(ZoneInfo(zone))
    day = local.date()
    since_midnight = local.replace(tzinfo=None) - dt.datetime(day.year, day.month, day.day)
    moment = instant.astimezone(dt.UTC)
    live = []
    for rule in rules:
        if not rule.starts_on <= day <= (rule.ends_on or dt.date.max):
            continue
        if day.weekday() not in rule.weekdays:
            continue
        if rule.not_before is not None and moment < rule.not_before.astimezone(dt.UTC):
            continue
        if rule.not_after is not None and moment >= rule.not_after.astimezone(dt.UTC):
            continue
        windows = rule.dayparts or (Daypart(0, 1440),)
        if any(dt.timedelta(minutes=w.start_minute) <= since_midnight < dt.timedelta(minutes=w.end_minute) for w in windows):
            live.append(rule)
    if not live:
        return ()
    top = max(rule.priority for rule in live)
    return tuple(sorted(rule.entry_id for rule in live if rule.priority == top))


@st.composite
def instants(draw: st.DrawFn, base: dt.date, before: int, after: int) -> dt.datetime:
    """An aware instant from `before` days before `base` to `after` days after it."""
    offset = dt.timedelta(
        minutes=draw(st.integers(-before * 1440, after * 1440)),
        microseconds=draw(st.one_of(st.just(0), st.integers(0, 59_999_999))),
    )
    moment = dt.datetime(base.year, base.month, base.day, tzinfo=dt.UTC) + offset
    return moment.astimezone(draw(st.sampled_from(AWARE)))


@st.composite
def dayparts(draw: st.DrawFn) -> tuple[Daypart, ...]:
    """0–3 windows that never overlap (and sometimes touch)."""
    points = sorted(draw(st.sets(MINUTES, max_size=6)))
    if draw(st.booleans()):
        pairs = list(pairwise(points))[:3]
    else:
        pairs = list(zip(points[0::2], points[1::2], strict=False))
    return tuple(Daypart(start, end) for start, end in pairs)


@st.composite
def rules(draw: st.DrawFn, base: dt.date, entry_id: int) -> Rule:
    starts_on = base + dt.timedelta(days=draw(st.integers(-21, 7)))
    length = draw(st.one_of(st.none(), st.integers(0, 21)))
    clip = draw(st.sampled_from(("none", "before", "after", "both")))
    not_before = draw(instants(base, 14, 14)) if clip in ("before", "both") else None
    not_after = draw(instants(base, 14, 14)) if clip == "after" else None
    if clip == "both":
        assert not_before is not None
        not_after = not_before + dt.timedelta(minutes=draw(st.integers(1, 4 * 1440)))
    return Rule(
        entry_id=entry_id,
        priority=draw(st.integers(0, 3)),
        starts_on=starts_on,
        ends_on=None if length is None else starts_on + dt.timedelta(days=length),
        weekdays=frozenset(draw(st.sets(st.integers(0, 6), min_size=1))),
        dayparts=draw(dayparts()),
        not_before=not_before,
        not_after=not_after,
    )


@dataclass(frozen=True)
class Scenario:
    rules: tuple[Rule, ...]
    now: dt.datetime
    zone: str
    horizon: dt.timedelta


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    zone = draw(st.sampled_from(sorted(ZONE_BASES)))
    base = draw(st.sampled_from(ZONE_BASES[zone]))
    ids = draw(st.lists(st.integers(1, 40), unique=True, max_size=6))
    return Scenario(
        rules=tuple(draw(rules(base, entry_id)) for entry_id in ids),
        now=draw(instants(base, 7, 2)),
        zone=zone,
        horizon=dt.timedelta(seconds=draw(st.integers(3600, 8 * 86400))),
    )


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_segments_cover_the_window_exactly_and_are_merged(case: Scenario) -> None:
    plan = plan_timeline(case.rules, case.now, case.zone, case.horizon)
    start = case.now.astimezone(dt.UTC)
    end = start + case.horizon
    segments = plan.segments
    assert segments[0].start == start and segments[-1].end == end
    for segment in segments:
        assert segment.start < segment.end
        assert segment.start.tzinfo is dt.UTC and segment.end.tzinfo is dt.UTC
        assert list(segment.entry_ids) == sorted(set(segment.entry_ids))
    for before, after in pairwise(segments):
        assert before.end == after.start
        assert before.entry_ids != after.entry_ids
    assert plan.next_change == (segments[0].end if segments[0].end < end else None)


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_segments_agree_with_playing_at_and_the_oracle(case: Scenario) -> None:
    plan = plan_timeline(case.rules, case.now, case.zone, case.horizon)
    for index, segment in enumerate(plan.segments):
        middle = segment.start + (segment.end - segment.start) / 2
        for instant in (segment.start, middle, segment.end - TICK):
            assert playing_at(case.rules, instant, case.zone) == segment.entry_ids, instant
            assert oracle(case.rules, instant, case.zone) == segment.entry_ids, instant
        if index:  # every boundary is a real change
            assert oracle(case.rules, segment.start - TICK, case.zone) != oracle(case.rules, segment.start, case.zone)


@settings(max_examples=200, deadline=None)
@given(scenarios(), st.data())
def test_any_instant_in_the_window_matches_the_oracle(case: Scenario, data: st.DataObject) -> None:
    plan = plan_timeline(case.rules, case.now, case.zone, case.horizon)
    micros = data.draw(st.integers(0, case.horizon // TICK - 1), label="microseconds after now")
    instant = plan.segments[0].start + micros * TICK
    (segment,) = [s for s in plan.segments if s.start <= instant < s.end]
    assert segment.entry_ids == oracle(case.rules, instant, case.zone) == playing_at(case.rules, instant, case.zone)
