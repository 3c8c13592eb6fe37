"""The time grid: the start instants a type can have with a provider on a local date, from the
clinic file alone (weekly hours, breaks, days off, the slot step), cached per `Clinic`, right across
daylight-saving changes, and the times on it kept for urgent patients (reserved.py). Also `Slot`,
the time the search offers and booking takes.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..clinic import AppointmentTypeConfig, Clinic, ProviderConfig
from ..models import CELL_MINUTES, Appointment
from .reserved import Reservations

CELL_SECONDS = CELL_MINUTES * 60
PARTS_OF_DAY = {
    "morning": (0, 12 * 60),
    "afternoon": (12 * 60, 17 * 60),
    "evening": (17 * 60, 24 * 60),
}
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@dataclass(frozen=True)
class Slot:
    """A bookable time: who, where, and when (aware UTC). `end` is the visit's end, no buffer."""

    type_key: str
    provider_key: str
    start: datetime
    end: datetime
    room_key: str | None
    equipment_key: str | None

    def local_start(self, zone: ZoneInfo) -> datetime:
        return self.start.astimezone(zone)

    @classmethod
    def of(cls, appointment: Appointment) -> Slot:
        """The time an appointment holds, as a slot (what a cancellation frees)."""
        return cls(
            appointment.appointment_type.key,
            appointment.provider.key,
            appointment.start_at,
            appointment.end_at,
            appointment.room.key if appointment.room is not None else None,
            appointment.equipment.key if appointment.equipment is not None else None,
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-able, for conversation state and stored offers."""
        return {
            "type": self.type_key,
            "provider": self.provider_key,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "room": self.room_key,
            "equipment": self.equipment_key,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Slot:
        return cls(
            data["type"],
            data["provider"],
            datetime.fromisoformat(data["start"]),
            datetime.fromisoformat(data["end"]),
            data.get("room"),
            data.get("equipment"),
        )


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def _wall(day: date, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day) + timedelta(minutes=minute)


def _instants(day: date, minute: int, zone: ZoneInfo) -> list[int]:
    """The UTC epochs at which the wall clock reads `minute` on `day`: none, one, or two."""
    naive = _wall(day, minute)
    found: list[int] = []
    for fold in (0, 1):
        epoch = int(naive.replace(tzinfo=zone, fold=fold).timestamp())
        # A wall time in the spring-forward gap does not come back from UTC unchanged.
        if datetime.fromtimestamp(epoch, zone).replace(tzinfo=None) == naive and epoch not in found:
            found.append(epoch)
    return found


def _boundary(day: date, minute: int, zone: ZoneInfo, *, latest: bool) -> int:
    """A range boundary as UTC: the earliest reading of a repeated wall time for a start, the
    latest for an end (so a fall-back day's range holds its extra real hour)."""
    instants = _instants(day, minute, zone)
    if not instants:  # inside the gap: read it with the offset in force before the change
        return int(_wall(day, minute).replace(tzinfo=zone).timestamp())
    return max(instants) if latest else min(instants)


class _Plan:
    """Everything derived from one `Clinic` object: lookups and the candidate starts per day."""

    def __init__(self, clinic: Clinic):
        self.zone = clinic.zone
        self.step = clinic.slot_step_minutes
        self.types = {t.key: t for t in clinic.appointment_types}
        self.providers = {p.key: p for p in clinic.providers}
        self.eligible = {
            t.key: tuple(p.key for p in clinic.providers_for(t.key))
            for t in clinic.appointment_types
        }
        self.rooms_by_kind: dict[str, tuple[str, ...]] = {}
        for room in clinic.rooms:
            self.rooms_by_kind[room.kind] = self.rooms_by_kind.get(room.kind, ()) + (room.key,)
        # How long before a window an appointment can have started and still reach into it: a
        # visit lies inside one working range (an hour longer on a fall-back day) and holds its
        # buffer after. This lower bound on start_at turns the busy query into an index range
        # instead of a scan of all the past. (Should an old appointment ever be longer, the
        # search could offer a time that booking then refuses: Occupancy stays the guard.)
        longest = max(
            [t.duration_minutes for t in clinic.appointment_types]
            + [
                _minutes(r.end) - _minutes(r.start)
                for p in clinic.providers
                for r in p.hours.values()
            ]
        )
        self.longest_hold = (
            longest + 60 + max(t.buffer_minutes for t in clinic.appointment_types)
        ) * 60
        self._offsets: dict[date, int | None] = {}
        self._weekly: dict[tuple[str, str, int], tuple[int, ...]] = {}
        self._provider_days: dict[tuple[str, str, date], tuple[tuple[int, int], ...]] = {}
        self._days: dict[tuple[str, tuple[str, ...], date], _Day] = {}
        # The times kept for urgent patients, on this same grid (reserved.py).
        self.reservations = Reservations(clinic, self.provider_day)

    def fixed_offset(self, day: date) -> int | None:
        """The UTC offset (seconds) in force all day, or None on a day the clocks change."""
        if day not in self._offsets:
            # Both readings of both midnights: a change at midnight itself counts too.
            offsets = {
                _wall(d, 0).replace(tzinfo=self.zone, fold=fold).utcoffset()
                for d in (day, day + timedelta(days=1))
                for fold in (0, 1)
            }
            # (A ZoneInfo gives every aware datetime an offset: the None check is for the type.)
            offset = offsets.pop() if len(offsets) == 1 else None
            self._offsets[day] = int(offset.total_seconds()) if offset is not None else None
        return self._offsets[day]

    def weekly(
        self, kind: AppointmentTypeConfig, provider: ProviderConfig, weekday: int
    ) -> tuple[int, ...]:
        """Start minutes (local wall time) of an ordinary day; no DST change involved."""
        key = (kind.key, provider.key, weekday)
        if key not in self._weekly:
            hours = provider.hours.get(weekday)
            starts: list[int] = []
            if hours is not None:
                first, last = _minutes(hours.start), _minutes(hours.end)
                breaks = [(_minutes(b.start), _minutes(b.end)) for b in provider.breaks]
                for minute in range(first, last, self.step):
                    end = minute + kind.duration_minutes
                    if end <= last and not any(
                        minute < b_end and b_start < end for b_start, b_end in breaks
                    ):
                        starts.append(minute)
            self._weekly[key] = tuple(starts)
        return self._weekly[key]

    def provider_day(
        self, kind: AppointmentTypeConfig, provider: ProviderConfig, day: date
    ) -> tuple[tuple[int, int], ...]:
        """(UTC epoch, local wall minute) of every candidate start, in time order."""
        key = (kind.key, provider.key, day)
        found = self._provider_days.get(key)
        if found is not None:
            return found
        if day in provider.days_off or day.weekday() not in provider.hours:
            found = ()
        elif (offset := self.fixed_offset(day)) is not None:
            midnight = (day.toordinal() - _EPOCH_ORDINAL) * 86400 - offset
            found = tuple(
                (midnight + m * 60, m) for m in self.weekly(kind, provider, day.weekday())
            )
        else:
            found = self._changeover_day(kind, provider, day)
        if len(self._provider_days) > 200_000:  # a long-lived process walks forward in time
            self._provider_days.clear()
        self._provider_days[key] = found
        return found

    def _changeover_day(
        self, kind: AppointmentTypeConfig, provider: ProviderConfig, day: date
    ) -> tuple[tuple[int, int], ...]:
        """Candidates on a day the clocks change: judged in real (UTC) time, so a visit lasts its
        real duration and a range spanning the change is as long as it really is."""
        hours = provider.hours[day.weekday()]
        zone, duration = self.zone, kind.duration_minutes * 60
        first, last = _minutes(hours.start), _minutes(hours.end)
        opens = _boundary(day, first, zone, latest=False)
        closes = _boundary(day, last, zone, latest=True)
        breaks = [
            (
                _boundary(day, _minutes(b.start), zone, latest=False),
                _boundary(day, _minutes(b.end), zone, latest=True),
            )
            for b in provider.breaks
        ]
        found: dict[int, int] = {}
        for minute in range(first, last, self.step):
            for epoch in _instants(day, minute, zone):
                end = epoch + duration
                if (
                    opens <= epoch
                    and end <= closes
                    and not any(epoch < b_end and b_start < end for b_start, b_end in breaks)
                ):
                    found[epoch] = minute
        return tuple(sorted(found.items()))

    def day(self, kind: AppointmentTypeConfig, provider_keys: tuple[str, ...], day: date) -> _Day:
        """The distinct candidate starts of a day over several providers, in time order."""
        key = (kind.key, provider_keys, day)
        found = self._days.get(key)
        if found is None:
            merged: dict[int, tuple[int, list[str]]] = {}
            for provider_key in provider_keys:
                for epoch, minute in self.provider_day(kind, self.providers[provider_key], day):
                    merged.setdefault(epoch, (minute, []))[1].append(provider_key)
            starts = tuple(sorted(merged))
            found = _Day(
                starts,
                tuple(merged[s][0] for s in starts),
                tuple(tuple(merged[s][1]) for s in starts),
            )
            if len(self._days) > 50_000:
                self._days.clear()
            self._days[key] = found
        return found


@dataclass(frozen=True)
class _Day:
    # Tuples, not lists: a plan caches thousands of days for the life of the process, and
    # Python's collector stops walking a tuple of numbers and strings (it untracks it), where it
    # walks every item of every list in each full collection (tens of milliseconds).
    starts: tuple[int, ...]  # UTC epoch seconds, ascending
    minutes: tuple[int, ...]  # local wall minute of day of each start
    providers: tuple[tuple[str, ...], ...]  # who could start then, in clinic order


_PLANS: dict[int, _Plan] = {}


def _plan(clinic: Clinic) -> _Plan:
    """The cached plan of this clinic object; dropped when the object is garbage collected."""
    plan = _PLANS.get(id(clinic))
    if plan is None:
        plan = _Plan(clinic)
        _PLANS[id(clinic)] = plan
        weakref.finalize(clinic, _PLANS.pop, id(clinic), None)
    return plan
