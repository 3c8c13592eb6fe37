"""Exporting the schedule as FHIR R4: a Bundle (type `collection`) of the Appointments that start
between two clinic-local dates, both included, each built by `appointment_resource`
(scheduler/fhir/resources.py), in order of start then id."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.clinic import Clinic
from scheduler.fhir.resources import appointment_resource
from scheduler.models import Appointment

PAGE = 500


def local_midnight(day: date, clinic: Clinic) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=clinic.zone)


def appointments_between(
    db: Session, clinic: Clinic, first: date, last: date
) -> Iterator[Appointment]:
    """The appointments starting on `first`..`last` (clinic-local days), a page at a time."""
    start, end = local_midnight(first, clinic), local_midnight(last + timedelta(days=1), clinic)
    after: tuple[datetime, int] | None = None
    while True:
        query = (
            select(Appointment)
            .where(Appointment.start_at >= start, Appointment.start_at < end)
            .order_by(Appointment.start_at, Appointment.id)
            .limit(PAGE)
        )
        if after is not None:
            query = query.where(
                (Appointment.start_at > after[0])
                | ((Appointment.start_at == after[0]) & (Appointment.id > after[1]))
            )
        rows = db.scalars(query).all()
        yield from rows
        if len(rows) < PAGE:
            return
        after = (rows[-1].start_at, rows[-1].id)


def full_url(base_url: str | None, resource: dict[str, Any]) -> str:
    """An entry's fullUrl: the resource's address under the FHIR base when known, else a URN
    that names it as stably (Bundle entries in one bundle must not share one)."""
    if base_url:
        return f"{base_url.rstrip('/')}/{resource['resourceType']}/{resource['id']}"
    return f"urn:clinic-scheduler:{resource['resourceType']}/{resource['id']}"


def export_bundle(
    db: Session,
    clinic: Clinic,
    first: date,
    last: date,
    *,
    base_url: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The Bundle (type collection) of the Appointments starting `first`..`last`."""
    entries = [
        {"fullUrl": full_url(base_url, resource), "resource": resource}
        for resource in (
            appointment_resource(db, clinic, appointment)
            for appointment in appointments_between(db, clinic, first, last)
        )
    ]
    stamp = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": stamp.isoformat(),
        "entry": entries,
    }
