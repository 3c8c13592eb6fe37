"""The analytics dashboard's figures, for a range of clinic-local dates and optional filters
(provider, appointment type, channel): the same dictionary for the portal's page and for
`GET /api/v1/analytics` (its keys: ../shared/INTERFACE.md, "Analytics keys"; their meaning:
docs/analytics.md).

Aggregates only: every figure is computed by the database (GROUP BY, CASE, window functions for
percentiles and first offers), the same SQL on SQLite and PostgreSQL; no rows are loaded into
Python. Open minutes come from the clinic file. Modules: period (the range and filters, checked),
visits (statuses, no-shows, lead time, channels, waiting), capacity (utilisation, heat map, next
free time), follow_up (reminders, waitlist), engine (conversations, the language engine).
May import the rest of scheduler/, never bot/ or the channels.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..clinic import Clinic
from . import capacity, engine, follow_up, visits
from .period import MAX_DAYS, AnalyticsRequestError, Filters, Period, parse_date

__all__ = [
    "MAX_DAYS",
    "AnalyticsRequestError",
    "Filters",
    "Period",
    "dashboard",
    "parse_date",
]


def dashboard(
    db: Session, clinic: Clinic, first: date, last: date, filters: Filters, *, now: datetime
) -> dict[str, Any]:
    """Every figure of the dashboard for first..last (inclusive). Raises AnalyticsRequestError
    for a reversed or over-long range or an unknown filter."""
    period = Period.checked(db, clinic, first, last, filters)
    if db.get_bind().dialect.name == "postgresql":
        # These statements run in tens of milliseconds; compiling them (JIT, on by default for
        # costly plans) took longer than running them.
        db.execute(text("SET LOCAL jit = off"))
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
    figures |= visits.appointments(db, period, now=now)
    figures |= capacity.utilisation(db, clinic, period)
    figures["next_available"] = capacity.next_available(db, clinic, period, now=now)
    figures["waiting"] = visits.waiting(db, period)
    figures["reminders"] = follow_up.reminders(db, period)
    figures["waitlist"] = follow_up.waitlist(db, period)
    figures["channels"] = visits.channels(db, period)
    figures["conversations"] = engine.conversations(db, period)
    figures["llm"] = engine.llm(db, period)
    return figures
