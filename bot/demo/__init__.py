"""A plausible past for a demo clinic, so that a newcomer's analytics dashboard is not empty
(`flask --app app demo history`, adapters/cli/demo.py).

It is a small simulation, replayed in time order with the clock set to each moment: every
booking, move, cancellation, confirmation, attendance mark and waitlist step goes through
`SchedulingTools` with the caller of its channel (a patient on "sms" or "web", staff on
"portal", "slack" or "api"), so the occupancy key, the reminder planning, the waitlist offers and
the audit trail all work as they did "then". What the jobs would have done is done the jobs' way
on the same rows (reminders and offers sent, offers expired and passed on). The analytics rows
of the patients' turns (`engine_turns`) are metrics, not bookings, and are written directly.

The patients are invented (fictional 555-0100 to 555-0199 numbers, invented names); nothing here
is real. One transaction per day of the simulated clock; a seeded `random.Random`, so the same
seed, days and database give the same history.

    rates.py      the numbers: channels, shares of open time, cancellation, answer, no-show rates
    run.py        one run's state: the clock's event queue, the people, the callers, the summary
    patients.py   the invented patients (SMS, and the web chat's own)
    plan.py       who asks for what and when, within what the providers, rooms and equipment hold
    bookings.py   booking, cancelling and moving through the tools
    follow_up.py  reminders sent and answered (C, R, X), attendance marked
    waitlist.py   joins, offers of freed times, YES and NO, expiry, the desk's tidy-up
    turns.py      the engine_turns rows: local and Bedrock, fallbacks, latency, tokens
    history.py    `DemoHistory`, the replay, one transaction a day; the counts reported
"""

from __future__ import annotations

from .history import DemoHistory, appointment_count, last_appointment_id, tally
from .rates import DEFAULT_SEED, MAX_DAYS
from .run import Summary

__all__ = [
    "DEFAULT_SEED",
    "MAX_DAYS",
    "DemoHistory",
    "Summary",
    "appointment_count",
    "last_appointment_id",
    "tally",
]
