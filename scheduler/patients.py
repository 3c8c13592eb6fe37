"""Patients: found by phone number through the blind index, personal fields encrypted."""
from __future__ import annotations

from datetime import datetime

import phonenumbers
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .crypto import Vault
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


_BY_PHONE = select(Patient).where(Patient.phone_index.in_(bindparam("indexes", expanding=True)))


def find_patient(session: Session, vault: Vault, phone: str) -> Patient | None:
    return session.scalars(_BY_PHONE, {"indexes": vault.indexes(phone)}).first()


def find_or_create_patient(session: Session, vault: Vault, phone: str, *,
                           now: datetime) -> Patient:
    """The patient with this E.164 number, created on first contact (safe under a race)."""
    patient = find_patient(session, vault, phone)
    if patient is not None:
        return patient
    try:
        with session.begin_nested():
            patient = Patient(phone_index=vault.index(phone), phone_enc=vault.encrypt(phone),
                              created_at=now)
            session.add(patient)
    except IntegrityError:
        patient = find_patient(session, vault, phone)
        if patient is None:
            raise
    return patient


def patient_name(vault: Vault, patient: Patient) -> str | None:
    return vault.decrypt(patient.name_enc)


def set_patient_name(vault: Vault, patient: Patient, name: str) -> None:
    patient.name_enc = vault.encrypt(name)
