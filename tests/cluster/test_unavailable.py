"""The database out of reach, wherever a request meets it: a 503 to retry, never a 500 page."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from adapters.api.problems import server_error
from tests.test_app import make_app

GONE = OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))


@pytest.mark.parametrize(
    "error",
    [GONE, InterfaceError("SELECT 1", {}, Exception("connection already closed")), PoolTimeout()],
)
def test_a_page_meeting_an_unavailable_database_is_a_503_to_retry(tmp_path, error):
    app = make_app(tmp_path)

    @app.get("/needs-the-database")
    def needs_the_database():
        raise error

    answer = app.test_client().get("/needs-the-database")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert answer.mimetype == "text/plain" and "try again" in answer.get_data(as_text=True)


def test_the_api_answers_a_503_problem_for_it_and_a_500_for_a_bug():
    unavailable = server_error(GONE)
    assert unavailable.status == 503 and unavailable.headers == {"Retry-After": "5"}
    assert server_error(ProgrammingError("SELECT", {}, Exception("syntax"))).status == 500
    assert server_error(KeyError("bug")).status == 500
