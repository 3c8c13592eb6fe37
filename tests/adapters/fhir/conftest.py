"""The real app, on SQLite and on PostgreSQL (conftest's `database_url`), with the test clock
(Wednesday 2026-03-04 09:00 in New York), API users of each kind and a patient; and the same
app over real HTTP for a FHIR client library."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from app import create_app
from tests.adapters.api.support import add_patient, api_settings, bearer, make_user
from tests.adapters.fhir.support import FhirClient, LiveServer


@pytest.fixture
def app(tmp_path, database_url, clock):
    app = create_app(
        {"SETTINGS": api_settings(tmp_path, database_url), "CLOCK": clock, "TESTING": True}
    )
    yield app
    app.extensions["clinic_scheduler"].engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def users(services):
    """Headers of each kind of caller: staff ("frontdesk"), an admin, a revoked token, a made-up
    one, none, and a user of a role that may not use the facade ("auditor")."""
    return SimpleNamespace(
        staff=bearer(make_user(services, "frontdesk", "staff")),
        admin=bearer(make_user(services, "manager", "admin")),
        revoked=bearer(make_user(services, "leaver", "staff", revoked=True)),
        wrong=bearer("mas_" + "x" * 43),
        anonymous={},
        other_role=bearer(make_user(services, "visitor", "auditor")),
    )


@pytest.fixture
def fhir(client, users):
    """The facade as the front desk's token sees it, every answer checked as FHIR."""
    return FhirClient(client, users.staff)


@pytest.fixture
def patient_id(services):
    return add_patient(services)


@pytest.fixture
def live(app):
    server = LiveServer(app)
    yield server
    server.close()
    assert server.checker.problems == []
