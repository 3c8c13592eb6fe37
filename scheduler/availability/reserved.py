"""Capacity kept for urgent patients (the clinic file's `[[reserved]]` rules, issue 18): which
times are reserved, for whom they are open, and when they become ordinary times.

Which times. For each provider a rule covers and each day they work, the rule's reference type
(its appointment type; for a provider rule, the longest visit with buffer the provider offers,
so that any of their visits fits) tiles the working day: its first start on the grid, then the
first start on the grid after that visit and its buffer, and so on, around breaks. The rule
keeps `same_day + next_day` of those tiles, spread evenly (the middle tile of each of as many
equal stretches of the day), and each kept tile holds the provider's time for the reference
visit and its buffer. Rules are taken in file order, and a later rule's tiles avoid the time an
earlier one keeps. The choice depends on the clinic file and the date alone, never on what is
booked: the times are the same at every search, so a routine patient never sees one that an
urgent booking later takes, and an urgent booking lands on one of them.

Which kept time is of which kind: the next-day ones come first in each stretch of the day (a
patient who books the day before can be seen in the morning), the same-day ones after them
(for patients who call that morning), in proportion, as evenly as the counts allow.

Who may take them. Until it is released (`release_hours` before it starts), a reserved time is
open only to an urgent search or booking: a next-day time from the day before its day, a
same-day time on its day. To everyone else (and to an urgent patient out of those days) it is
busy: no visit of any type that would overlap it is offered or booked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from ..clinic import AppointmentTypeConfig, Clinic, ProviderConfig, ReservedCapacity
from ..models import CELL_MINUTES

URGENT = "urgent"  # the level that may take reserved capacity (scheduler/urgency.py)

# (UTC epoch, local wall minute) of each candidate start of a type with a provider on a day.
ProviderDay = Callable[[AppointmentTypeConfig, ProviderConfig, date], tuple[tuple[int, int], ...]]


@dataclass(frozen=True)
class Reserved:
    """One reserved time of a provider's: [start, end) in epoch seconds (the reference visit
    and its buffer), the local wall minute it starts at, and when it is released."""

    day: date
    start: int
    end: int
    minute: int
    release: int
    same_day: bool
    types: frozenset[str]  # the appointment types urgent patients are offered it for

    @property
    def cells(self) -> range:
        """The `Occupancy` cells it keeps."""
        return range(self.start // (CELL_MINUTES * 60), -(-self.end // (CELL_MINUTES * 60)))

    def keeps_out(self, level: str, now: int, today: date) -> bool:
        """Whether a search or booking at `level` must leave this time alone at `now`."""
        return now < self.release and not self.open_to(level, today)

    def open_to(self, level: str, today: date) -> bool:
        """Whether `level` may take it while it is reserved (on `today`, clinic-local)."""
        if level != URGENT:
            return False
        return today == self.day if self.same_day else self.day - timedelta(days=1) <= today


class Reservations:
    """The reserved times of one `Clinic` object, cached per provider and day."""

    def __init__(self, clinic: Clinic, provider_day: ProviderDay):
        self.provider_day = provider_day
        self.active = bool(clinic.reserved)
        self._rules: dict[
            str, list[tuple[ReservedCapacity, AppointmentTypeConfig, frozenset[str]]]
        ] = {}
        for rule in clinic.reserved:
            for provider in clinic.providers:
                kinds = [t for t in clinic.appointment_types if rule.covers(provider, t)]
                if kinds:
                    longest = max(kinds, key=lambda t: t.duration_minutes + t.buffer_minutes)
                    self._rules.setdefault(provider.key, []).append(
                        (rule, longest, frozenset(t.key for t in kinds))
                    )
        self._providers = {p.key: p for p in clinic.providers}
        self._days: dict[tuple[str, date], tuple[Reserved, ...]] = {}

    def of(self, provider_key: str, day: date) -> tuple[Reserved, ...]:
        """The provider's reserved times on a local date, in time order."""
        if not self.active:
            return ()
        key = (provider_key, day)
        found = self._days.get(key)
        if found is None:
            found = self._choose(provider_key, day)
            if len(self._days) > 50_000:  # a long-lived process walks forward in time
                self._days.clear()
            self._days[key] = found
        return found

    def keeping_out(
        self, provider_key: str, day: date, level: str, now: int, today: date
    ) -> list[Reserved]:
        """The provider's reserved times on `day` that a search or booking at `level` must
        leave alone at `now`."""
        return [r for r in self.of(provider_key, day) if r.keeps_out(level, now, today)]

    def _choose(self, provider_key: str, day: date) -> tuple[Reserved, ...]:
        provider = self._providers[provider_key]
        kept: list[Reserved] = []
        for rule, kind, types in self._rules.get(provider_key, ()):
            hold = (kind.duration_minutes + kind.buffer_minutes) * 60
            tiles: list[tuple[int, int]] = []
            edge = None
            for start, minute in self.provider_day(kind, provider, day):
                if (edge is None or start >= edge) and not any(
                    start < r.end and r.start < start + hold for r in kept
                ):
                    tiles.append((start, minute))
                    edge = start + hold
            wanted = rule.same_day + rule.next_day
            count = min(wanted, len(tiles))
            chosen = [tiles[(2 * j + 1) * len(tiles) // (2 * count)] for j in range(count)]
            next_days = rule.next_day * count // wanted if count < wanted else rule.next_day
            for j, (start, minute) in enumerate(chosen):
                # Bresenham's spread: position j is a next-day time when the running share
                # of next-day times (rounded up) grows there.
                next_day = -(-(j + 1) * next_days // count) > -(-j * next_days // count)
                release = start - int(rule.release_hours * 3600)
                kept.append(
                    Reserved(day, start, start + hold, minute, release, not next_day, types)
                )
        return tuple(sorted(kept, key=lambda r: r.start))
