"""A clock the test holds and moves: pass it where the app takes `clock` (`CLOCK` in create_app)."""

from __future__ import annotations

from datetime import datetime, timedelta


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
