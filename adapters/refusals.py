"""Refused webhook requests: counted per source address and minute, not written one by one.

A forged request must cost the app almost nothing, or a flood of them becomes a way to slow the
real patients down (each used to write a hash-chained `security` event through SQLite's single
writer). So the webhooks (adapters/twilio_sms/, adapters/slack/) only count:

- `RefusalLedger.refused(source, endpoint, reason)`: one more refused request from `source` (the
  peer's address; behind proxies, set TRUSTED_PROXY_HOPS so it is the client's), in memory.
- `RefusalLedger.limited(source)`: whether `source` was refused more than `LIMIT` times this
  minute. Then the webhook answers 429 at once, before the signature check's cost (the request
  is counted as "rate_limited"). A real Twilio or Slack request is never refused, so it is never
  limited, unless the secret is wrong, and then every request fails anyway.
- Each process adds the counts of the minutes that have ended to `refusal_tallies` (one upsert per
  address, minute, endpoint and reason) from a background thread, every `FLUSH_SECONDS`.
- The maintenance job's `close_refusal_tallies` (jobs/maintenance.py) turns each address's
  ended minute into one `security` audit event carrying the counts, across all processes, and
  logs one line for it.

Counts held in memory when a process dies are lost; nothing else depends on them.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from flask import Flask
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from scheduler.models import RefusalTally

log = logging.getLogger("scheduler.refusals")

EXTENSION = "clinic_scheduler_refusals"
LIMIT = 30  # refusals per address and minute before the 429s
FLUSH_SECONDS = 15.0
MAX_SOURCES = 10_000  # addresses tracked in one minute; the rest count as "other"

_Key = tuple[str, datetime, str, str]  # source, minute, endpoint, reason


def minute_of(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def ledger_of(app: Flask) -> RefusalLedger:
    return app.extensions[EXTENSION]


class RefusalLedger:
    """One process's count of refused webhook requests (thread-safe)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        *,
        limit: int = LIMIT,
        flush_seconds: float | None = FLUSH_SECONDS,
    ):
        self.sessions, self.clock, self.limit = sessions, clock, limit
        self._flush_seconds = flush_seconds
        self._counts: Counter[_Key] = Counter()
        self._this_minute: Counter[str] = Counter()  # refusals per source, current minute
        self._minute: datetime | None = None
        self._lock = threading.Lock()
        self._flusher: threading.Thread | None = None
        self._stop = threading.Event()

    def limited(self, source: str) -> bool:
        """Whether `source` is over the limit this minute (then refuse it unheard, counted)."""
        with self._lock:
            self._roll(minute_of(self.clock()))
            over = self._this_minute[source] >= self.limit
        if over:
            self.refused(source, "any", "rate_limited")
        return over

    def refused(self, source: str, endpoint: str, reason: str) -> None:
        minute = minute_of(self.clock())
        with self._lock:
            self._roll(minute)
            if source not in self._this_minute and len(self._this_minute) >= MAX_SOURCES:
                source = "other"  # a spoofed-address flood must not grow memory without end
            self._this_minute[source] += 1
            self._counts[(source, minute, endpoint, reason)] += 1
            if self._flusher is None and self._flush_seconds:
                # Started on first use, so after gunicorn has forked the worker.
                self._flusher = threading.Thread(
                    target=self._flush_loop, daemon=True, name="refusal-flush"
                )
                self._flusher.start()

    def _roll(self, minute: datetime) -> None:
        if minute != self._minute:
            self._minute = minute
            self._this_minute.clear()

    def flush(self, *, everything: bool = False) -> int:
        """Add the counts of the minutes that have ended (`everything`: the current one too)
        to `refusal_tallies`; returns how many rows were written."""
        current = minute_of(self.clock())
        with self._lock:
            ready = {key: n for key, n in self._counts.items() if everything or key[1] < current}
            for key in ready:
                del self._counts[key]
        if not ready:
            return 0
        try:
            with self.sessions.begin() as db:
                upsert = _UPSERT[db.get_bind().dialect.name]
                db.execute(
                    upsert,
                    [
                        {"source": s, "minute": m, "endpoint": e, "reason": r, "count": n}
                        for (s, m, e, r), n in ready.items()
                    ],
                )
        except Exception:  # the database is down: keep the counts for the next try
            log.warning("refused-request counts not saved yet (%d rows); will retry", len(ready))
            with self._lock:
                self._counts.update(ready)
            return 0
        return len(ready)

    def _flush_loop(self) -> None:
        while not self._stop.wait(self._flush_seconds):
            self.flush()

    def close(self) -> None:
        """Stop the flusher and save what is counted (a clean shutdown, tests)."""
        self._stop.set()
        self.flush(everything=True)


def _upsert(dialect):
    statement = dialect.insert(RefusalTally.__table__)
    return statement.on_conflict_do_update(
        index_elements=["source", "minute", "endpoint", "reason"],
        set_={"count": RefusalTally.__table__.c.count + statement.excluded["count"]},
    )


_UPSERT = {"sqlite": _upsert(sqlite), "postgresql": _upsert(postgresql)}
