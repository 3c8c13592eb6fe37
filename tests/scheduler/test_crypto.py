"""Encryption at rest: Fernet tokens, a key file made once with mode 0600, rotation-safe lookups."""

import os
import stat

import pytest
from cryptography.fernet import Fernet

from scheduler.crypto import KeyConfigError, Vault, load_or_create_key_file
from scheduler.patients import (
    InvalidPhoneNumber,
    find_or_create_patient,
    find_patient,
    normalize_phone,
)


def test_key_file_is_created_once_with_owner_only_mode(tmp_path):
    path = tmp_path / "secret.key"
    first = load_or_create_key_file(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_or_create_key_file(path) == first


def test_a_malformed_key_is_refused_with_the_variable_named():
    with pytest.raises(KeyConfigError, match="ENCRYPTION_KEYS"):
        Vault(["not-a-key"])


def test_old_tokens_stay_readable_after_a_new_key_is_added():
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = Vault([old_key]).encrypt("Jordan Testperson")
    assert Vault([new_key, old_key]).decrypt(token) == "Jordan Testperson"
    with pytest.raises(KeyConfigError):
        Vault([new_key]).decrypt(token)


def test_patients_are_found_by_phone_after_a_key_is_added(sessions, now):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with sessions.begin() as db:
        created = find_or_create_patient(db, Vault([old_key]), "+12125550123", now=now)
    with sessions() as db:
        found = find_patient(db, Vault([new_key, old_key]), "+12125550123")
    assert found is not None and found.id == created.id


@pytest.mark.parametrize("raw", ["(212) 555-0123", "212.555.0123", "+1 212 555 0123", "2125550123"])
def test_phone_numbers_are_normalized_to_e164(raw):
    assert normalize_phone(raw) == "+12125550123"


@pytest.mark.parametrize("raw", ["hello", "123", ""])
def test_non_numbers_are_refused(raw):
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone(raw)
