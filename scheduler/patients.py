"""Patients: found by phone number through the blind index, personal fields encrypted.

Staff find a patient by phone or by any word of their name: each word of a name is kept as its
own keyed hash (`PatientNameToken`), written with the name, so a search never decrypts a table.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from functools import cache

import phonenumbers
from sqlalchemy import Select, bindparam, delete, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from .crypto import Vault, index_match
from .errors import SchedulingError
from .models import Patient, PatientNameToken


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
    if session is not None:
        if patient.id is None:
            session.flush()
        # A first name has no old words to delete: one INSERT in the turn that gives it.
        index_name(session, vault, patient.id, name, replace=patient.name_enc is not None)
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


_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
MAX_SEARCH = 50


def name_words(text: str) -> list[str]:
    """The searchable words of a name: lower case, accents dropped ("José" is "jose"), two
    letters or more, each once; a hyphenated name also by each of its parts."""
    plain = "".join(
        c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c)
    )
    words = []
    for word in (w.replace("’", "'") for w in _WORD.findall(plain)):
        # "quintero-vance" is found by "quintero" and by "vance" too (double surnames).
        words += [word, *word.split("-")] if "-" in word else [word]
    return list(dict.fromkeys(w for w in words if len(w) >= 2))


def index_name(
    session: Session, vault: Vault, patient_id: int, name: str | None, *, replace: bool = True
) -> None:
    """Replace a patient's name index with the words of `name` (None: no name any more); with
    `replace=False` (they had no name) only add. On the session's connection: Core statements
    that do not flush the unit of work (a chat turn's patient is written by its own UPDATE)."""
    connection = session.connection()
    if replace:
        connection.execute(
            delete(PatientNameToken).where(PatientNameToken.patient_id == patient_id)
        )
    words = name_words(name or "")
    if words:
        connection.execute(
            PatientNameToken.__table__.insert(),
            [{"patient_id": patient_id, "token_index": vault.index("name:" + w)} for w in words],
        )


def index_missing_names(session: Session, vault: Vault) -> int:
    """Index the names of patients who have a name but no index (those named before the index
    existed); returns how many."""
    missing = session.scalars(
        select(Patient).where(
            Patient.name_enc.is_not(None),
            ~select(PatientNameToken.patient_id)
            .where(PatientNameToken.patient_id == Patient.id)
            .exists(),
        )
    ).all()
    for patient in missing:
        index_name(session, vault, patient.id, vault.decrypt(patient.name_enc))
    return len(missing)


def search_patients(
    session: Session, vault: Vault, query: str, *, default_region: str = "US"
) -> list[Patient]:
    """Real (not demo-channel) patients whose phone is `query`, or whose name holds every word
    of it; at most `MAX_SEARCH`, by id."""
    query = query.strip()
    if sum(c.isdigit() for c in query) >= 7:
        try:
            patient = find_patient(session, vault, normalize_phone(query, default_region))
        except InvalidPhoneNumber:
            return []
        return [patient] if patient is not None else []
    words = name_words(query)
    if not words:
        return []
    ids: set[int] | None = None
    for word in words:
        found = set(
            session.scalars(
                select(PatientNameToken.patient_id).where(
                    PatientNameToken.token_index.in_(vault.indexes("name:" + word))
                )
            )
        )
        ids = found if ids is None else ids & found
        if not ids:
            return []
    return _real(session, sorted(ids or ())[:MAX_SEARCH])


def _real(session: Session, ids: Iterable[int]) -> list[Patient]:
    return list(
        session.scalars(
            select(Patient)
            .where(Patient.id.in_(list(ids)), Patient.scope.is_(None))
            .order_by(Patient.id)
        )
    )
