"""Property-based fuzzing of the whole API from its own OpenAPI document (schemathesis), against
the real app as WSGI, with a staff token: valid and invalid requests of every operation, never a
server error, and every answer, successes and problems alike, as the document says.

Bounded (`max_examples` per operation) to stay well under a minute; derandomized (the same
examples each run, for CI) and with Hypothesis's example database off (nothing written into the
tree).
"""

from __future__ import annotations

from datetime import date, time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, configuration, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.adapters.api.support import OTHER_PHONE, add_patient, bearer, book_earlier, make_user

MAX_EXAMPLES = 25


@pytest.fixture
def token(services, patient_id):
    """A staff token, and rows for the fuzzer's ids to find: patients 1 and 2, appointments (one
    that has started, one ahead) and a waitlist entry."""
    add_patient(services, OTHER_PHONE, "Robin Examplename")
    book_earlier(services, patient_id, date(2026, 3, 4), time(8, 0))  # started: PATCH may mark it
    return make_user(services, "fuzzer", "staff")


@pytest.fixture
def api_schema(app, token, client):
    headers = bearer(token)
    slot = client.get("/api/v1/slots?type=checkup", headers=headers).get_json()["items"][0]
    client.post(
        "/api/v1/appointments",
        json={"patient": 1, "appointment_type": "checkup", "start": slot["start"]},
        headers=headers,
    )
    client.post(
        "/api/v1/waitlist", json={"patient": 2, "appointment_type": "checkup"}, headers=headers
    )
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.fixture
def hypothesis_home(tmp_path):
    """Hypothesis keeps a cache of constants besides its example database: in tmp_path, not
    in the tree."""
    configuration.set_hypothesis_home_dir(tmp_path / "hypothesis")
    yield
    configuration.set_hypothesis_home_dir(None)


def test_no_server_errors_and_every_answer_as_documented(api_schema, token, hypothesis_home):
    """Each operation, with valid and with invalid requests. (One test running every
    operation's Hypothesis test: schemathesis's own pytest parametrization does not run under
    pytest 9.)"""
    headers = bearer(token)
    checks = [not_a_server_error, response_schema_conformance]
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 17
    failures = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=MAX_EXAMPLES,
                database=None,
                derandomize=True,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate],
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def fuzz(case):
                case.call_and_validate(headers=headers, checks=checks)

            try:
                fuzz()
            except (Exception, BaseExceptionGroup) as error:  # each failure, then one report
                failures.append(f"{operation.label} ({mode}): {error}")
    assert not failures, "\n\n".join(failures)
