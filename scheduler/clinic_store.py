"""The clinic in the database: installing a `Clinic`, and reading back the one installed.

Installing upserts providers, rooms, equipment and types by key; an entry gone from the file is
deactivated, not deleted (appointments still point at it). The validated file is kept as JSON in
the one `ClinicRecord` row, and `installed_clinic` validates it again on the way out.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from .clinic import Clinic
from .clinic_file import parse_clinic
from .models import AppointmentType, ClinicRecord, Provider, Resource, ResourceKind

# The tables `install_clinic` upserts by key.
_Keyed = TypeVar("_Keyed", Provider, Resource, AppointmentType)


def install_clinic(session: Session, clinic: Clinic) -> None:
    """Write the clinic into the database (inside the caller's transaction)."""
    record = session.get(ClinicRecord, 1)
    if record is None:
        record = ClinicRecord(id=1)
        session.add(record)
    record.name, record.timezone, record.config = clinic.name, clinic.timezone, clinic.raw

    def upsert(model: type[_Keyed], wanted: dict[str, dict[str, Any]]) -> None:
        existing = {row.key: row for row in session.scalars(select(model))}
        for key, values in wanted.items():
            row = existing.get(key) or model(key=key)
            for attr, value in values.items():
                setattr(row, attr, value)
            row.active = True
            session.add(row)
        for key, row in existing.items():
            if key not in wanted:
                row.active = False

    upsert(Provider, {p.key: {"name": p.name} for p in clinic.providers})
    upsert(
        Resource,
        {
            **{r.key: {"name": r.name, "kind": ResourceKind.ROOM} for r in clinic.rooms},
            **{e.key: {"name": e.name, "kind": ResourceKind.EQUIPMENT} for e in clinic.equipment},
        },
    )
    upsert(AppointmentType, {t.key: {"name": t.name} for t in clinic.appointment_types})
    session.flush()


def installed_clinic(session: Session) -> Clinic | None:
    """The clinic last installed in this database, or None when it is empty."""
    record = session.get(ClinicRecord, 1)
    return parse_clinic(record.config) if record else None
