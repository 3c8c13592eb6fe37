"""The REST API's test app and callers (tests/adapters/api/conftest.py: the real app on SQLite and
PostgreSQL with the test clock, Wednesday 2026-03-04 09:00 in New York, users of each kind and a
patient), the facade as the front desk's token sees it, and the same app over real HTTP for a
FHIR client library."""

from __future__ import annotations

import pytest

from tests.adapters.api.conftest import app, client, patient_id, users  # noqa: F401  (fixtures)
from tests.adapters.fhir.support import FhirClient, LiveServer


@pytest.fixture
def fhir(client, users):  # noqa: F811  (the fixtures imported above)
    """The facade as the front desk's token sees it, every answer checked as FHIR."""
    return FhirClient(client, users.staff)


@pytest.fixture
def live(app):  # noqa: F811
    server = LiveServer(app)
    yield server
    server.close()
    assert server.checker.problems == []
