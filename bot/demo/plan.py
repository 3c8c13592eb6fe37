"""Who will try to book what, and when they ask; the waitlist's joins, the chats that book
nothing, and the desk's evening tidy-up of the waitlist.

Demand fits the clinic. Each working provider is asked for a share of their open time, drawn
visit by visit across the providers of the day; a visit is planned only where its provider, its
kind of room (the clinic's rooms of that kind together) and its equipment still have time that
hour (`_Budget`), else at another hour of the provider's day, else not at all. Without this the
shared rooms are asked for more than they hold on the days everyone works (the demo clinic's two
exam rooms serve three providers and the scans), and a day's late askers find no time for
anyone, although the providers' calendars look half empty. Time is counted as the grid holds it:
visit and buffer, rounded up to the slot step.

A booking is asked for before its visit (sick visits the same day or soon, scans well ahead),
at a moment the type's minimum notice allows, during the desk's hours or a patient's waking ones.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from scheduler.analytics.capacity import working_hours, working_spans
from scheduler.clinic import AppointmentTypeConfig, ProviderConfig

from .rates import (
    CHANNELS,
    LEAD_DAYS,
    LEAD_SCALE,
    PATIENT_CHANNELS,
    PATIENT_HOURS,
    ROOM_FILL,
    STAFF_HOURS,
    TYPE_WEIGHTS,
    UNMET_SICK_VISITS,
    UTILISATION,
    WEEKDAY_SHIFT,
)
from .run import Intent, Run, minutes, weighted

Holder = tuple[str, str]  # ("provider" | "room" | "equipment", key)


def plan(run: Run) -> None:
    """Queue every booking, join, chat and tidy-up of the history, day by day: the bookings of
    upcoming visits too, those asked for before today (`Run.push` drops the others)."""
    rng = run.rng
    run.quiet = _quiet_hours(run)
    day = run.first_day
    while day <= run.last_planned:
        for intent in _day_intents(run, day):
            _schedule_booking(run, intent)
        if day <= run.last_day and _open(run, day):
            run.last_visit_day = day
            for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
                run.push(run.daytime(day), "join")
            for _ in range(rng.randint(1, 4)):
                run.push(run.daytime(day), "chat")
            run.push(run.at(day, time(20, 50)), "housekeeping", day=day)
        day += timedelta(days=1)
    # The waitlist was in use before the first visit day too.
    for back in range(1, 15):
        before = run.first_day - timedelta(days=back)
        if _open(run, before) and rng.random() < 0.6:
            run.push(run.daytime(before), "join")


def _works(provider: ProviderConfig, day: date) -> bool:
    return day.weekday() in provider.hours and day not in provider.days_off


def _open(run: Run, day: date) -> bool:
    return any(_works(p, day) for p in run.clinic.providers)


def _quiet_hours(run: Run) -> dict[int, tuple[int, int]]:
    """Two afternoons a week that are hardly ever booked (weekday -> local minutes), so the
    heat map shows empty hours: two hours from 15:00 one day, from 16:30 on another."""
    weekdays = sorted({w for p in run.clinic.providers for w in p.hours if w < 5})
    if len(weekdays) < 2:
        return {}
    first, second = run.rng.sample(weekdays, 2)
    return {first: (15 * 60, 17 * 60), second: (16 * 60 + 30, 19 * 60)}


def _hour_weight(hour: int, quiet: tuple[int, int] | None) -> float:
    if quiet is not None and quiet[0] <= hour * 60 < quiet[1]:
        return 0.0
    if hour < 12:
        return 1.15
    if hour < 15:
        return 1.0
    return 0.8


class _Budget:
    """What is left of one day, in minutes per clock hour, for each provider working it, each
    kind of room (its rooms together) and each piece of equipment."""

    def __init__(self, run: Run, providers: list[ProviderConfig], day: date):
        self.step = run.clinic.slot_step_minutes
        self.left: dict[Holder, list[float]] = {}
        for provider in providers:
            open_hours = working_hours(provider, day)
            self.left[("provider", provider.key)] = [float(open_hours.get(h, 0)) for h in range(24)]
        rooms = Counter(room.kind for room in run.clinic.rooms)
        for kind, count in rooms.items():
            self.left[("room", kind)] = [60.0 * count * ROOM_FILL] * 24
        for piece in run.clinic.equipment:
            self.left[("equipment", piece.key)] = [60.0 * ROOM_FILL] * 24

    def held(self, kind: AppointmentTypeConfig) -> int:
        """Minutes the grid holds for a visit of the kind: visit and buffer, to the next step."""
        return math.ceil((kind.duration_minutes + kind.buffer_minutes) / self.step) * self.step

    def take(self, kind: AppointmentTypeConfig, provider: str, start: int) -> bool:
        """Count a visit from local minute `start` against its holders, if it fits them all."""
        holders: list[Holder] = [("provider", provider)]
        if kind.room_kind is not None:
            holders.append(("room", kind.room_kind))
        if kind.equipment is not None:
            holders.append(("equipment", kind.equipment))
        end = start + self.held(kind)
        spans = [
            (hour, min(end, hour * 60 + 60) - max(start, hour * 60))
            for hour in range(start // 60, min(24, (end + 59) // 60))
        ]
        for holder in holders:
            hours = self.left.get(holder)
            if hours is None or any(hours[hour] < used for hour, used in spans):
                return False
        for holder in holders:
            for hour, used in spans:
                self.left[holder][hour] -= used
        return True


def _starts(
    run: Run, kind: AppointmentTypeConfig, provider: ProviderConfig, day: date
) -> dict[int, list[int]]:
    """The local start minutes the grid offers the kind with the provider, by clock hour."""
    span = provider.hours[day.weekday()]
    first, last = minutes(span.start), minutes(span.end)
    breaks = [(minutes(b.start), minutes(b.end)) for b in provider.breaks]
    found: dict[int, list[int]] = {}
    for minute in range(first, last, run.clinic.slot_step_minutes):
        end = minute + kind.duration_minutes
        if end <= last and not any(minute < b_end and b_start < end for b_start, b_end in breaks):
            found.setdefault(minute // 60, []).append(minute)
    return found


def _types(run: Run, provider: ProviderConfig) -> list[AppointmentTypeConfig]:
    return [
        t
        for t in run.clinic.appointment_types
        if t.specialty is None or t.specialty in provider.specialties
    ]


def _day_intents(run: Run, day: date) -> Iterator[Intent]:
    """The day's visits, drawn one at a time from the providers who still want time, each
    where its provider, room and equipment have time left (`_Budget`)."""
    rng = run.rng
    providers = [p for p in run.clinic.providers if _works(p, day) and _types(run, p)]
    if not providers:
        return
    budget = _Budget(run, providers, day)
    quiet = run.quiet.get(day.weekday())
    wanted: dict[str, float] = {}
    choices = {}
    for provider in providers:
        open_minutes = sum(end - start for start, end in working_spans(provider, day))
        usual = UTILISATION.get(provider.key, rng.uniform(0.6, 0.85))
        share = usual + WEEKDAY_SHIFT[day.weekday()] + rng.gauss(0, 0.06)
        wanted[provider.key] = min(1.0, max(0.4, share)) * open_minutes
        types = _types(run, provider)
        starts = {t.key: _starts(run, t, provider, day) for t in types}
        choices[provider.key] = (types, [TYPE_WEIGHTS.get(t.key, 1.0) for t in types], starts)
    misses: Counter[str] = Counter()
    planned = 0
    while True:
        keys = [k for k, v in wanted.items() if v > 0 and misses[k] < 20]
        if not keys:
            break
        key = rng.choices(keys, [wanted[k] for k in keys])[0]
        types, weights, starts = choices[key]
        kind = rng.choices(types, weights)[0]
        start = _draw_start(run, starts[kind.key], quiet, budget, kind, key)
        if start is None:
            misses[key] += 1
            continue
        wanted[key] -= budget.held(kind)
        planned += 1
        yield Intent(day, key, kind.key, time(start // 60, start % 60), weighted(rng, CHANNELS))
    yield from _unmet(run, day, providers, round(planned * UNMET_SICK_VISITS), quiet)


def _draw_start(
    run: Run,
    starts: dict[int, list[int]],
    quiet: tuple[int, int] | None,
    budget: _Budget,
    kind: AppointmentTypeConfig,
    provider: str,
) -> int | None:
    """A start minute of the hour people ask for most, else of another hour: where it fits."""
    hours = [h for h in starts if _hour_weight(h, quiet) > 0]
    weights = [_hour_weight(h, quiet) for h in hours]
    for _ in range(4):
        if not hours:
            return None
        hour = run.rng.choices(hours, weights)[0]
        start = run.rng.choice(starts[hour])
        if budget.take(kind, provider, start):
            return start
    return None


def _unmet(
    run: Run, day: date, providers: list[ProviderConfig], count: int, quiet: tuple[int, int] | None
) -> Iterator[Intent]:
    """Sick visits asked for the same day beyond what the day has left."""
    rng = run.rng
    for _ in range(count):
        provider = rng.choice(providers)
        if not any(t.key == "sick-visit" for t in _types(run, provider)):
            continue
        kind = run.clinic.appointment_type("sick-visit")
        hours = _starts(run, kind, provider, day)
        usable = [h for h in hours if _hour_weight(h, quiet) > 0]
        if usable:
            start = rng.choice(hours[rng.choice(usable)])
            channel = weighted(rng, CHANNELS)
            yield Intent(day, provider.key, kind.key, time(start // 60, start % 60), channel)


def _lead_days(run: Run, kind: AppointmentTypeConfig, provider: str) -> int:
    """How long before the visit it is booked: sick visits soon, scans well ahead, the
    popular providers further ahead than the others."""
    rng = run.rng
    if kind.key == "sick-visit":
        lead = rng.choice((0, 0, 0, 0, 0, 1, 1, 1, 2, 3))
    elif kind.min_notice_hours >= 24:
        lead = 2 + int(rng.expovariate(1 / 11))
    elif kind.key == "vaccination":
        lead = int(rng.triangular(0, 14, 2))
    else:
        lead = 0 if rng.random() < 0.05 else 1 + int(rng.expovariate(1 / 9))
    if kind.key != "sick-visit":
        lead = round(lead * LEAD_SCALE.get(provider, 1.0))
    return min(lead, LEAD_DAYS, kind.max_days_ahead)


def _schedule_booking(run: Run, intent: Intent) -> None:
    """Queue the moment the visit is asked for: `lead` days before, in the asker's hours, and
    early enough for the type's minimum notice (else a day earlier), within its horizon."""
    kind = run.clinic.appointment_type(intent.type_key)
    lead = _lead_days(run, kind, intent.provider)
    first, last = STAFF_HOURS if intent.channel not in PATIENT_CHANNELS else PATIENT_HOURS
    latest = run.at(intent.day, intent.around) - timedelta(hours=kind.min_notice_hours, minutes=20)
    while lead <= kind.max_days_ahead:
        day = intent.day - timedelta(days=lead)
        earliest, until = run.at(day, first), min(run.at(day, last), latest)
        if until > earliest:
            moment: datetime = earliest + (until - earliest) * run.rng.random()
            run.push(moment.replace(microsecond=0), "book", i=intent)
            return
        lead += 1
