"""Every error under /fhir/r4 as a FHIR OperationOutcome, with the HTTP status FHIR gives it.

400  invalid         an unknown or malformed search parameter (`date=tomorrow`), a bad body
401  login           no token, or one unknown or revoked (with `WWW-Authenticate: Bearer`)
403  forbidden       a role that may not use the facade
404  not-found       no such resource (or an unknown path under /fhir/r4)
405  not-supported   a method the path does not take (with `Allow`)
406  not-supported   a `_format` or `Accept` other than JSON
409  conflict        the Slot is not free any more; the appointment's state forbids the change
413  too-costly      a body over 64 KiB
415  not-supported   a body that is not FHIR JSON (`Content-Type`)
422  invalid         a resource the facade cannot act on (wrong type, elements of another FHIR
                     version, a missing or unknown reference, a status it cannot set)
500  exception       anything unexpected: no detail, never a traceback (the log gets the
                     exception's type only)
503  transient       the database out of reach for a moment (with `Retry-After`)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from flask import Response
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from scheduler.db import unavailable
from scheduler.errors import (
    NotAllowed,
    NotFound,
    OutsideBookingWindow,
    SchedulingError,
    SlotUnavailable,
)
from scheduler.fhir.incoming import InvalidResource
from scheduler.fhir.search import SearchError

log = logging.getLogger("scheduler.fhir")

FHIR_JSON = "application/fhir+json"
ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "invalid",
    500: "exception",
    503: "transient",
}
# SchedulingError codes that mean "not in this appointment's state" (scheduler/booking.py).
STATE_CODES = frozenset({"already_cancelled", "started", "closed", "not_started", "other_type"})


def fhir_response(
    resource: Mapping[str, Any], status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    answer = Response(json.dumps(resource), status=status, mimetype=FHIR_JSON)
    answer.headers.update(headers or {})
    answer.headers["Cache-Control"] = "no-store"  # answers may name patients
    return answer


class FhirProblem(Exception):
    """An error to answer as an OperationOutcome; `reason` is the fixed word the refusal is
    audited with."""

    def __init__(
        self,
        status: int,
        diagnostics: str,
        *,
        reason: str = "refused",
        issue: str | None = None,
        expression: str | None = None,
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(diagnostics)
        self.status, self.diagnostics, self.reason = status, diagnostics, reason
        self.issue = issue or ISSUE_CODES.get(status, "processing")
        self.expression, self.headers = expression, dict(headers or {})

    def outcome(self) -> dict[str, Any]:
        issue: dict[str, Any] = {
            "severity": "error",
            "code": self.issue,
            "diagnostics": self.diagnostics,
        }
        if self.expression:
            issue["expression"] = [self.expression]
        return {"resourceType": "OperationOutcome", "issue": [issue]}

    def response(self) -> Response:
        return fhir_response(self.outcome(), self.status, self.headers)


def from_refusal(error: SchedulingError) -> FhirProblem:
    """A scheduler refusal (the tools', the search grammar's, an incoming resource's)."""
    detail = str(error) or error.code
    if isinstance(error, SearchError):
        return FhirProblem(400, detail, reason=error.code, expression=error.parameter)
    if isinstance(error, InvalidResource):
        return FhirProblem(422, detail, reason=error.code, expression=error.expression)
    if isinstance(error, NotFound):
        return FhirProblem(404, detail, reason=error.code)
    if isinstance(error, NotAllowed):
        return FhirProblem(403, detail, reason=error.code)
    if isinstance(error, SlotUnavailable | OutsideBookingWindow):
        return FhirProblem(409, f"the Slot is not free: {detail}", reason=error.code)
    if error.code in STATE_CODES:
        return FhirProblem(409, detail, reason=error.code)
    return FhirProblem(422, detail, reason=error.code, issue="business-rule")


def from_http(error: HTTPException) -> FhirProblem:
    """An HTTP error (the router's, werkzeug's while reading a body) as an OperationOutcome."""
    status = error.code or 500
    headers = {}
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    detail = {
        404: "there is nothing at this path (GET metadata says what is served)",
        405: "this path does not take that method (GET metadata says what is served)",
        413: "the body is larger than 64 KiB",
    }.get(status, error.description or "the request could not be read")
    reason = {404: "unknown_path", 405: "method_not_allowed", 413: "too_large"}.get(status, "http")
    return FhirProblem(status, detail, reason=reason, headers=headers)


def server_error(error: BaseException) -> FhirProblem:
    # The type only: a message or a traceback could hold a patient's data.
    log.error("fhir request failed: %s", type(error).__name__)
    if unavailable(error):
        return FhirProblem(
            503,
            "the database is unavailable for a moment; try again",
            headers={"Retry-After": "5"},
        )
    return FhirProblem(500, "the request could not be completed; nothing was changed")
