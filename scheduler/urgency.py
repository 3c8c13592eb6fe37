"""How soon a patient must be seen: the four urgency levels (issue 18).

    emergency  never booked or waitlisted: the emergency reply instead (bot/understanding/triage.py)
    urgent     the same or the next day; may take the reserved same-day and next-day capacity
    soon       within a week
    routine    whenever suits

Triage sets a level from what the patient says; staff can always set another, audited with who
and why. The waitlist ranks by level, then by time waiting; the optimiser weighs a request by it.
"""

from __future__ import annotations

from datetime import date, timedelta

from .errors import SchedulingError

LEVELS = ("emergency", "urgent", "soon", "routine")
RANK = {level: rank for rank, level in enumerate(LEVELS)}
# The levels a request can wait with (an emergency is never a request).
BOOKABLE = ("urgent", "soon", "routine")
# Served weight in the optimiser: one urgent patient counts for more than several routine ones.
WEIGHT = {"urgent": 10, "soon": 5, "routine": 1}
_WITHIN_DAYS = {"urgent": 1, "soon": 7}


def check(level: str) -> str:
    """The level, or a SchedulingError naming the ones there are."""
    if level not in BOOKABLE:
        raise SchedulingError(f"urgency must be one of {', '.join(BOOKABLE)}, not {level[:20]!r}")
    return level


def latest_day(level: str, today: date) -> date | None:
    """The last clinic-local day the level should be seen by (None: no limit)."""
    within = _WITHIN_DAYS.get(check(level))
    return None if within is None else today + timedelta(days=within)


def higher(*levels: str | None) -> str | None:
    """The most urgent of the levels given (None ignored; None when there is none)."""
    known = [level for level in levels if level in RANK]
    return min(known, key=RANK.__getitem__) if known else None
