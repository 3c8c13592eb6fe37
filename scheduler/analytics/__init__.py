"""The analytics dashboard's figures, for a range of clinic-local dates and optional filters
(provider, appointment type, channel): the same dictionary for the portal's page and for
`GET /api/v1/analytics` (its keys: ../shared/INTERFACE.md, "Analytics keys"; their meaning:
docs/analytics.md).

Aggregates only: every figure is computed by the database (GROUP BY, CASE, window functions for
percentiles and first offers), the same SQL on SQLite and PostgreSQL; no rows are loaded into
Python. Open minutes come from the clinic file. Modules: period (the range and filters, checked),
visits (statuses, no-shows, lead time, channels, waiting), capacity (utilisation, heat map, next
free time), follow_up (reminders, waitlist), engine (conversations, the language engine);
`SECTIONS` names their parts, which `dashboard` reads at once in read-only sessions.
May import the rest of scheduler/, never bot/ or the channels.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from ..clinic import Clinic
from . import capacity, engine, follow_up, visits
from .period import MAX_DAYS, AnalyticsRequestError, Filters, Period, parse_date

__all__ = [
    "MAX_DAYS",
    "SECTIONS",
    "AnalyticsRequestError",
    "Filters",
    "Period",
    "dashboard",
    "parse_date",
    "read",
]

# The sections read at once, each in its own session: the database does most of the work (the
# drivers let go of the GIL while it does), so three overlap well on two cores. The pool is the
# process's, shared by every dashboard request: at most this many of its connections read
# figures at any time, however many people open the page.
READERS = 3

Section = Callable[[Session, Clinic, Period, datetime], dict[str, Any]]

# The dashboard's parts by name, the slowest first (BENCHMARKS.md, "The analytics dashboard"), so
# that the short ones fill in beside the long ones; each gives its keys of the figures.
SECTIONS: dict[str, Section] = {
    "engine.llm": lambda db, clinic, p, now: {"llm": engine.llm(db, p)},
    "visits.appointments": lambda db, clinic, p, now: visits.appointments(db, p, now=now),
    "capacity.utilisation": lambda db, clinic, p, now: capacity.utilisation(db, clinic, p),
    "follow_up.reminders": lambda db, clinic, p, now: {"reminders": follow_up.reminders(db, p)},
    "engine.conversations": lambda db, clinic, p, now: {
        "conversations": engine.conversations(db, p)
    },
    "follow_up.waitlist": lambda db, clinic, p, now: {"waitlist": follow_up.waitlist(db, p)},
    "capacity.next_available": lambda db, clinic, p, now: {
        "next_available": capacity.next_available(db, clinic, p, now=now)
    },
    "visits.waiting": lambda db, clinic, p, now: {"waiting": visits.waiting(db, p)},
    "visits.channels": lambda db, clinic, p, now: {"channels": visits.channels(db, p)},
}


@functools.cache
def _readers() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(READERS, thread_name_prefix="analytics")


def read(
    readers: sessionmaker[Session], name: str, clinic: Clinic, period: Period, now: datetime
) -> dict[str, Any]:
    """The figures of one section (`SECTIONS`), in a session of its own."""
    with readers() as db:
        if db.get_bind().dialect.name == "postgresql":
            # These statements run in tens of milliseconds; compiling them (JIT, on by default
            # for costly plans) took longer than running them.
            db.execute(text("SET LOCAL jit = off"))
        return SECTIONS[name](db, clinic, period, now)


def dashboard(
    readers: sessionmaker[Session],
    clinic: Clinic,
    first: date,
    last: date,
    filters: Filters,
    *,
    now: datetime,
) -> dict[str, Any]:
    """Every figure of the dashboard for first..last (inclusive). Raises AnalyticsRequestError
    for a reversed or over-long range or an unknown filter.

    `readers` makes the sessions it reads in, read-only ones (`scheduler.db.reader_factory`):
    they hold up no writer. Each section reads its own snapshot, all taken within milliseconds;
    a change committed meanwhile may show in one section and not yet in another, as between
    two loads of the page."""
    with readers() as db:
        period = Period.checked(db, clinic, first, last, filters)
    figures: dict[str, Any] = {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "timezone": clinic.timezone,
        "filters": {
            "provider": filters.provider,
            "appointment_type": filters.appointment_type,
            "channel": filters.channel,
        },
    }
    parts = [_readers().submit(read, readers, name, clinic, period, now) for name in SECTIONS]
    for part in parts:
        figures |= part.result()
    return figures
