"""Patients: found by phone number through the blind index, personal fields encrypted."""

from __future__ import annotations

from datetime import datetime
from functools import cache

import phonenumbers
from sqlalchemy import Select, bindparam, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from .crypto import Vault, index_match
from .errors import SchedulingError
from .models import Patient


class InvalidPhoneNumber(SchedulingError):
    """The text is not a phone number we can reach."""


def normalize_phone(raw: str, default_region: str = "US") -> str:
    """E.164 form of a phone number as people type it ("(212) 555-0123" -> "+12125550123")."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber("that does not look like a phone number") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhoneNumber("that does not look like a phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def identity(phone: str, scope: str | None = None) -> str:
    """What a patient's blind index is of: the number, or for a demo channel's own patients
    (`scope`, e.g. "web") the scope and the number, so the two never meet."""
    return phone if scope is None else f"{scope}:{phone}"


@cache
def _by_phone(key_count: int) -> Select[Patient]:
    return select(Patient).where(index_match(Patient.phone_index, key_count))


def find_patient(
    session: Session, vault: Vault, phone: str, *, scope: str | None = None
) -> Patient | None:
    return session.scalars(
        _by_phone(vault.key_count), vault.index_params(identity(phone, scope))
    ).first()


_INSERT = {
    name: dialect.insert(Patient)
    .on_conflict_do_nothing(index_elements=["phone_index"])
    .returning(Patient)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}


def find_or_create_patient(
    session: Session, vault: Vault, phone: str, *, now: datetime, scope: str | None = None
) -> Patient:
    """The patient with this E.164 number (in `scope`), created on first contact (safe under
    a race)."""
    patient = find_patient(session, vault, phone, scope=scope)
    if patient is not None:
        return patient
    # One INSERT ... ON CONFLICT DO NOTHING RETURNING the new row as a Patient: a first contact
    # costs one statement instead of a savepoint, an ORM flush and its release, and a race with
    # the same number's other message (a conflict, nothing returned) reads the winner's row.
    insert = _INSERT[session.get_bind().dialect.name]
    patient = session.scalars(
        insert,
        {
            "phone_index": vault.index(identity(phone, scope)),
            "phone_enc": vault.encrypt(phone),
            "scope": scope,
            "created_at": now,
        },
    ).first()
    if patient is None:
        patient = find_patient(session, vault, phone, scope=scope)
        if patient is None:
            raise RuntimeError("patient insert conflicted, but no patient has this number")
    return patient


def patient_name(vault: Vault, patient: Patient) -> str | None:
    return vault.decrypt(patient.name_enc)


_SET_NAME = (
    update(Patient)
    .where(Patient.__table__.c.id == bindparam("patient_id"))
    .values(name_enc=bindparam("name_enc"))
)


def set_patient_name(vault: Vault, patient: Patient, name: str) -> None:
    name_enc = vault.encrypt(name)
    state = inspect(patient)
    session = state.session
    if session is None or not state.persistent or state.modified or session.in_nested_transaction():
        # New, already changed, or in a savepoint (whose rollback must expire it): the ORM's
        # flush writes it.
        patient.name_enc = name_enc
        return
    # A loaded, unchanged patient (a chat turn): one Core UPDATE on the session's connection
    # instead of an ORM flush of the whole unit of work; the loaded object is given the same
    # value as committed state, so it is neither stale nor written a second time.
    session.connection().execute(_SET_NAME, {"patient_id": patient.id, "name_enc": name_enc})
    set_committed_value(patient, "name_enc", name_enc)
