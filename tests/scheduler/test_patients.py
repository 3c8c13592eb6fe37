"""Finding a patient by phone or by a word of their name, although both are stored encrypted."""

from __future__ import annotations

from cryptography.fernet import Fernet
from sqlalchemy import func, select

from scheduler.crypto import Vault
from scheduler.models import Patient, PatientNameToken
from scheduler.patients import (
    find_or_create_patient,
    index_missing_names,
    name_words,
    search_patients,
    set_patient_name,
)


def _patient(db, vault, now, phone, name, scope=None):
    patient = find_or_create_patient(db, vault, phone, now=now, scope=scope)
    set_patient_name(vault, patient, name)
    db.flush()
    return patient


def test_name_words_are_lower_case_without_accents_each_once():
    assert name_words("José  María O'Neil-Ruiz josé") == [
        "jose",
        "maria",
        "o'neil-ruiz",
        "o'neil",
        "ruiz",
    ]
    assert name_words("A. B") == []


def test_a_patient_is_found_by_any_word_of_the_name_or_the_phone(sessions, vault, now):
    with sessions.begin() as db:
        ana = _patient(db, vault, now, "+12125550141", "Ana Ríos Test").id
        _patient(db, vault, now, "+12125550142", "Bruno Ríos Test")
        # A demo web-chat patient is never a search result.
        _patient(db, vault, now, "+12125550143", "Ana Webchat", scope="web")
    with sessions() as db:
        assert [p.id for p in search_patients(db, vault, "ana")] == [ana]
        assert [p.id for p in search_patients(db, vault, "RIOS ana")] == [ana]
        assert len(search_patients(db, vault, "rios")) == 2
        both = _patient(db, vault, now, "+12125550147", "Marisol Quintero-Vance").id
        assert [p.id for p in search_patients(db, vault, "quintero")] == [both]
        assert [p.id for p in search_patients(db, vault, "Quintero-Vance")] == [both]
        assert search_patients(db, vault, "ana bruno") == []
        assert [p.id for p in search_patients(db, vault, "(212) 555-0141")] == [ana]
        assert search_patients(db, vault, "212 555 0199") == []
        assert search_patients(db, vault, "") == []
        # Only keyed hashes are stored: no word of a name in the clear.
        stored = db.scalars(select(PatientNameToken.token_index)).all()
        assert stored and not {"ana", "rios", "bruno"} & set(stored)


def test_a_new_name_replaces_the_old_words(sessions, vault, now):
    with sessions.begin() as db:
        patient = _patient(db, vault, now, "+12125550144", "Carla Oldname")
    with sessions.begin() as db:
        set_patient_name(vault, db.get(Patient, patient.id), "Carla Newname")
    with sessions() as db:
        assert search_patients(db, vault, "oldname") == []
        assert len(search_patients(db, vault, "newname")) == 1


def test_names_from_before_the_index_are_indexed_once(sessions, vault, now):
    with sessions.begin() as db:
        patient = find_or_create_patient(db, vault, "+12125550145", now=now)
        patient.name_enc = vault.encrypt("Dora Before")  # as written before the index existed
    with sessions.begin() as db:
        assert index_missing_names(db, vault) == 1
        assert index_missing_names(db, vault) == 0
    with sessions() as db:
        assert len(search_patients(db, vault, "dora")) == 1


def test_search_matches_words_indexed_under_an_older_key(sessions, now):
    old = Fernet.generate_key().decode()
    with sessions.begin() as db:
        _patient(db, Vault([old]), now, "+12125550146", "Emil Rotated")
    rotated = Vault([Fernet.generate_key().decode(), old])
    with sessions() as db:
        assert len(search_patients(db, rotated, "emil")) == 1
        assert db.scalar(select(func.count()).select_from(PatientNameToken)) == 2
