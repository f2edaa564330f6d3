"""Time as a dependency: the app holds one clock, edges read `now()` from it once per
request or event and hand that instant to the domain. Tests install a `FixedClock`."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Protocol

from flask import current_app


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FixedClock:
    """A clock that moves only when told to (tests, demos of a future date)."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def set(self, when: dt.datetime) -> None:
        with self._lock:
            self._now = when

    def advance(self, delta: dt.timedelta) -> None:
        with self._lock:
            self._now += delta


def now() -> dt.datetime:
    """The current instant by the app's clock (config CLOCK, default the system clock)."""
    clock: Clock = current_app.extensions["sunwall.clock"]
    return clock.now()
