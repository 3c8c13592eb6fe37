"""The dates a dashboard covers and the filters it applies, checked once for both the page and the
API: a range of clinic-local dates (inclusive, at most two years), an optional provider,
appointment type and channel, and what each becomes in SQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from ..clinic import Clinic
from ..errors import ClinicSchedulerError
from ..models import Appointment, AppointmentType, Provider
from ..sqlfuncs import DAY_SECONDS, local_epoch

MAX_DAYS = 731  # two years, a leap day included
# The years a date may name (as the API's dates): the local-time SQL reaches a day beyond each
# end of the range, which date.min and date.max do not have.
FIRST_YEAR, LAST_YEAR = 2000, 2199
CHANNELS = ("sms", "web", "slack", "portal", "api", "fhir")


class AnalyticsRequestError(ClinicSchedulerError, ValueError):
    """The dates or filters asked for cannot be answered; the message says why, for the person
    who asked (a problem detail in the API, a notice on the page)."""


@dataclass(frozen=True)
class Filters:
    provider: str | None = None  # a provider's key
    appointment_type: str | None = None  # an appointment type's key
    channel: str | None = None  # how it was booked / where the conversation was


def parse_date(value: str | None, name: str) -> date:
    if not value:
        raise AnalyticsRequestError(f"'{name}' is required, as a date like 2026-03-01")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise AnalyticsRequestError(
            f"'{name}' must be a date like 2026-03-01, not {value[:40]!r}"
        ) from None


@dataclass(frozen=True)
class Period:
    """Clinic-local dates first..last (inclusive) and the filters, with their SQL."""

    first: date
    last: date
    zone: ZoneInfo
    filters: Filters
    # Database ids of the filtered provider and type (None: not filtered).
    provider_id: int | None = None
    type_id: int | None = None

    @classmethod
    def checked(
        cls, db: Session, clinic: Clinic, first: date, last: date, filters: Filters
    ) -> Period:
        """The period asked for, or AnalyticsRequestError saying what is wrong with it."""
        if last < first:
            raise AnalyticsRequestError("'to' is before 'from': give the earlier date first")
        if first.year < FIRST_YEAR or last.year > LAST_YEAR:
            raise AnalyticsRequestError(
                f"the dates must be in the years {FIRST_YEAR} to {LAST_YEAR}"
            )
        if (last - first).days + 1 > MAX_DAYS:
            raise AnalyticsRequestError("the range is over two years: ask for a shorter one")
        provider_id = type_id = None
        if filters.provider is not None:
            provider_id = db.scalar(select(Provider.id).where(Provider.key == filters.provider))
            if provider_id is None:
                raise AnalyticsRequestError(f"no provider {filters.provider[:40]!r}")
        if filters.appointment_type is not None:
            type_id = db.scalar(
                select(AppointmentType.id).where(AppointmentType.key == filters.appointment_type)
            )
            if type_id is None:
                raise AnalyticsRequestError(
                    f"no appointment type {filters.appointment_type[:40]!r}"
                )
        if filters.channel is not None and filters.channel not in CHANNELS:
            raise AnalyticsRequestError(
                f"channel must be one of {', '.join(CHANNELS)}, not {filters.channel[:40]!r}"
            )
        return cls(first, last, clinic.zone, filters, provider_id, type_id)

    # --- instants ----------------------------------------------------------------------------

    @property
    def start(self) -> datetime:
        """The first instant of the range, UTC."""
        return datetime.combine(self.first, time(), self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The instant after the range, UTC."""
        return datetime.combine(self.last + timedelta(days=1), time(), self.zone).astimezone(UTC)

    @property
    def days(self) -> Iterator[date]:
        day = self.first
        while day <= self.last:
            yield day
            day += timedelta(days=1)

    def within(self, column: Any) -> ColumnElement[bool]:
        return and_(column >= self.start, column < self.end)

    def local(self, column: Any) -> ColumnElement[int]:
        """The column (an instant within the range, or a little outside) as local epoch seconds."""
        return local_epoch(
            column, self.zone, self.first - timedelta(days=1), self.last + timedelta(days=1)
        )

    def local_day(self, column: Any) -> ColumnElement[int]:
        """Days since 1970-01-01 of the column's local date (see `day_of`)."""
        return self.local(column) // DAY_SECONDS

    @staticmethod
    def day_of(number: int) -> date:
        return date(1970, 1, 1) + timedelta(days=int(number))

    # --- filters -----------------------------------------------------------------------------

    def appointment_filters(self) -> list[ColumnElement[bool]]:
        """What the filters ask of an appointment."""
        conditions: list[ColumnElement[bool]] = []
        if self.provider_id is not None:
            conditions.append(Appointment.provider_id == self.provider_id)
        if self.type_id is not None:
            conditions.append(Appointment.type_id == self.type_id)
        if self.filters.channel is not None:
            conditions.append(Appointment.booked_via == self.filters.channel)
        return conditions

    def visits(self) -> list[ColumnElement[bool]]:
        """Appointments whose visit starts in the range, filtered."""
        return [self.within(Appointment.start_at), *self.appointment_filters()]
