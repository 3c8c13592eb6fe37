"""The clinic the code works with: its providers, rooms, equipment and appointment types.

`Clinic` is the validated clinic file in memory (frozen dataclasses, built by
`scheduler.clinic_file`), with the look-ups every layer uses: the clinic's zone, its open hours,
a provider or type by key, the providers who offer a type, and the capacity kept for urgent
patients (`ReservedCapacity`; which times it holds: scheduler/availability/reserved.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers

# Weekday names as the clinic file writes them; index 0 = Monday, as in `ProviderConfig.hours`.
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class TimeRange:
    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class ProviderConfig:
    key: str
    name: str
    aliases: tuple[str, ...]
    specialties: frozenset[str]
    hours: dict[int, TimeRange]  # weekday (0 = Monday) -> working range
    breaks: tuple[TimeRange, ...]
    days_off: frozenset[date]
    # The name in other languages ("es" -> "Enfermera practicante ..."); `name` otherwise.
    names: dict[str, str] = field(default_factory=dict)

    def name_in(self, language: str) -> str:
        return self.names.get(language, self.name)


@dataclass(frozen=True)
class RoomConfig:
    key: str
    name: str
    kind: str


@dataclass(frozen=True)
class EquipmentConfig:
    key: str
    name: str


@dataclass(frozen=True)
class AppointmentTypeConfig:
    key: str
    name: str
    synonyms: tuple[str, ...]
    duration_minutes: int
    buffer_minutes: int
    specialty: str | None
    room_kind: str | None
    equipment: str | None
    min_notice_hours: float
    max_days_ahead: int
    # Minutes before the visit its reminders go out; None: REMINDER_OFFSETS.
    reminder_offsets: tuple[int, ...] | None = None
    # The name in other languages ("es" -> "Chequeo general"); `name` otherwise.
    names: dict[str, str] = field(default_factory=dict)

    def name_in(self, language: str) -> str:
        return self.names.get(language, self.name)


@dataclass(frozen=True)
class ReservedCapacity:
    """A `[[reserved]]` table: for each provider it covers (`provider`, or everyone who offers
    `appointment_type`) and each day they work, `same_day` times kept for urgent patients who
    book that day and `next_day` times for urgent patients who book the day before or that day;
    each becomes an ordinary time `release_hours` before it starts."""

    provider: str | None
    appointment_type: str | None
    same_day: int
    next_day: int
    release_hours: float

    def covers(self, provider: ProviderConfig, kind: AppointmentTypeConfig) -> bool:
        """Whether this rule keeps time of `provider`'s for visits of `kind`."""
        offers = kind.specialty is None or kind.specialty in provider.specialties
        return (
            offers
            and self.provider in (None, provider.key)
            and self.appointment_type in (None, kind.key)
        )


@dataclass(frozen=True)
class Clinic:
    name: str
    phone: str  # E.164
    timezone: str
    slot_step_minutes: int
    show_provider_in_reminders: bool
    providers: tuple[ProviderConfig, ...]
    rooms: tuple[RoomConfig, ...]
    equipment: tuple[EquipmentConfig, ...]
    appointment_types: tuple[AppointmentTypeConfig, ...]
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)
    address: str | None = None  # one line, told to patients who ask where the clinic is
    reserved: tuple[ReservedCapacity, ...] = ()  # the [[reserved]] tables, in file order

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def display_phone(self) -> str:
        return _national(self.phone)

    def open_hours(self) -> dict[int, TimeRange]:
        """Weekday (0 = Monday) -> from the first provider's start to the last one's end."""
        days: dict[int, TimeRange] = {}
        for provider in self.providers:
            for day, span in provider.hours.items():
                known = days.get(day)
                days[day] = (
                    span
                    if known is None
                    else TimeRange(min(known.start, span.start), max(known.end, span.end))
                )
        return dict(sorted(days.items()))

    def provider(self, key: str) -> ProviderConfig:
        return next(p for p in self.providers if p.key == key)

    def appointment_type(self, key: str) -> AppointmentTypeConfig:
        return next(t for t in self.appointment_types if t.key == key)

    def providers_for(self, type_key: str) -> tuple[ProviderConfig, ...]:
        kind = self.appointment_type(type_key)
        return tuple(
            p for p in self.providers if kind.specialty is None or kind.specialty in p.specialties
        )


@lru_cache(maxsize=16)
def _national(phone: str) -> str:
    """The clinic's number as people write it (parsed once: every reminder shows it)."""
    number = phonenumbers.parse(phone)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def describe(clinic: Clinic) -> dict[str, Any]:
    """A plain summary for operators (counts and keys, no hours)."""
    return {
        "name": clinic.name,
        "timezone": clinic.timezone,
        "providers": [p.key for p in clinic.providers],
        "rooms": [r.key for r in clinic.rooms],
        "equipment": [e.key for e in clinic.equipment],
        "appointment_types": [asdict(t)["key"] for t in clinic.appointment_types],
    }
