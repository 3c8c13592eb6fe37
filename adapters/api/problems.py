"""Errors under /api/v1 as RFC 9457 problem details (`application/problem+json`), and only there.

Every API view runs inside `calls.endpoint`, which turns whatever it raises into a problem: an
`ApiProblem`, a scheduler refusal (`from_refusal`), an HTTP error (webargs' 422, a 413 while
reading the body: `from_http`), or anything unexpected (`server_error`: a 500 problem; the log
gets the exception's type only, never a request's data). Errors raised before any view, by the
router (an unknown path under /api/v1: 404; a method the path does not take: 405), are answered
by `answer_routing_errors`, a `before_request` hook that looks at `/api/v1` paths only. No
app-wide error handler is registered: every other route of the app keeps its own error pages.

How a scheduler refusal maps (docs/api.md, "Errors"):

    NotFound                     404   no such appointment, patient, provider or type
    NotAllowed                   403
    SlotUnavailable              409   the time is taken; `alternatives` lists open times near it
    OutsideBookingWindow         422   never bookable: in the past, inside the minimum notice,
                                       beyond the horizon, outside the provider's hours;
                                       `alternatives` too
    InvalidPhoneNumber           422   `errors.phone`
    already cancelled, started,  409   the appointment's state forbids the change
    closed, not started (a
    SchedulingError)
    any other SchedulingError    422
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import RequestRedirect

from scheduler.availability import Slot
from scheduler.db import unavailable
from scheduler.errors import (
    NotAllowed,
    NotFound,
    OutsideBookingWindow,
    SchedulingError,
    SlotUnavailable,
)
from scheduler.patients import InvalidPhoneNumber

from . import render
from .schemas import SlotSchema

log = logging.getLogger("scheduler.api")

PREFIX = "/api/v1"
PROBLEM = "application/problem+json"
TYPES = "urn:medical-ai-scheduler:problem:"
# SchedulingError codes that mean "not in this appointment's state" (scheduler/booking.py).
STATE_CODES = frozenset({"already_cancelled", "started", "closed", "not_started", "other_type"})
_SLOTS = SlotSchema(many=True)


class ApiProblem(Exception):
    """A problem to answer: `kind` names its type (a URN under `TYPES`; None: about:blank)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        title: str | None = None,
        code: str | None = None,
        errors: Mapping[str, list[str]] | None = None,
        alternatives: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(detail)
        self.status, self.detail, self.kind = status, detail, kind
        self.title = title or HTTPStatus(status).phrase
        self.code, self.errors, self.alternatives = code, errors, alternatives
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": TYPES + self.kind if self.kind else "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.code is not None:
            body["code"] = self.code
        if self.errors is not None:
            body["errors"] = dict(self.errors)
        if self.alternatives is not None:
            body["alternatives"] = _SLOTS.dump(self.alternatives)
        return body

    def response(self) -> Response:
        headers = {"Cache-Control": "no-store", **self.headers}
        return Response(
            json.dumps(self.body()), status=self.status, headers=headers, mimetype=PROBLEM
        )


def invalid(field: str, message: str) -> ApiProblem:
    """A 422 for one field of the request."""
    return ApiProblem(422, f"{field}: {message}", kind="invalid", errors={field: [message]})


def unauthorized(detail: str, *, wrong: bool) -> ApiProblem:
    challenge = 'Bearer realm="api"' + (', error="invalid_token"' if wrong else "")
    return ApiProblem(401, detail, headers={"WWW-Authenticate": challenge})


def _slots(alternatives: Iterable[Slot], zone: ZoneInfo) -> list[dict[str, Any]]:
    return [render.slot(s, zone) for s in alternatives]


def from_refusal(error: SchedulingError, zone: ZoneInfo) -> ApiProblem:
    """The problem for a scheduler refusal (the module's table)."""
    detail, code = str(error) or error.code, error.code
    if isinstance(error, NotFound):
        return ApiProblem(404, detail, kind="not-found", code=code)
    if isinstance(error, NotAllowed):
        return ApiProblem(403, detail, kind="not-allowed", code=code)
    if isinstance(error, SlotUnavailable):
        return ApiProblem(
            409,
            detail,
            kind="slot-unavailable",
            title="That time is not open",
            code=code,
            alternatives=_slots(error.alternatives, zone),
        )
    if isinstance(error, OutsideBookingWindow):
        return ApiProblem(
            422,
            detail,
            kind="outside-booking-window",
            title="That time cannot be booked",
            code=code,
            errors={"start": [detail]},
            alternatives=_slots(error.alternatives, zone),
        )
    if isinstance(error, InvalidPhoneNumber):
        return ApiProblem(422, detail, kind="invalid", code=code, errors={"phone": [detail]})
    if code in STATE_CODES:
        return ApiProblem(409, detail, kind="conflict", code=code)
    return ApiProblem(422, detail, kind="refused", code=code)


def _flatten(messages: Any) -> dict[str, list[str]]:
    """webargs' `{location: {field: [message]}}` as `{field: [message]}` ("a.b" when nested;
    "body" for the body as a whole)."""
    flat: dict[str, list[str]] = {}

    def walk(name: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                part = "body" if key == "_schema" else str(key)
                walk(f"{name}.{part}" if name else part, inner)
        elif isinstance(value, list) and not all(isinstance(v, str) for v in value):
            for index, inner in enumerate(value):
                walk(f"{name}.{index}" if name else str(index), inner)
        else:
            texts = value if isinstance(value, list) else [str(value)]
            flat.setdefault(name or "body", []).extend(texts)

    if isinstance(messages, Mapping):
        for location, errors in messages.items():
            walk("" if isinstance(errors, Mapping) else _location(location), errors)
    else:
        walk("body", messages)
    return flat


def _location(location: Any) -> str:
    return "body" if location in ("json", "json_or_form", "form") else str(location)


def from_http(error: HTTPException) -> ApiProblem:
    """An HTTP error (the router's, webargs', werkzeug's) as a problem."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    messages = data.get("messages")
    if messages is not None:
        errors = _flatten(messages)
        detail = "; ".join(f"{name}: {' '.join(texts)}" for name, texts in errors.items())
        return ApiProblem(status, detail or "invalid request", kind="invalid", errors=errors)
    detail = {
        404: "there is nothing at this path",
        405: "this path does not take that method",
        413: "the body is larger than the API takes",
    }.get(status, error.description or HTTPStatus(status).phrase)
    return ApiProblem(status, detail, headers=headers)


def server_error(error: BaseException) -> ApiProblem:
    # The type only: a message or a traceback could hold a patient's data.
    log.error("api request failed: %s", type(error).__name__)
    if unavailable(error):  # the database out of reach for now: worth a retry
        return ApiProblem(
            503,
            "the database is unavailable for a moment; try again (with the same Idempotency-Key)",
            headers={"Retry-After": "5"},
        )
    return ApiProblem(500, "the request could not be completed; nothing was changed")


def is_api_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def answer_routing_errors() -> Response | None:
    """`before_request`: the router's 404 and 405 under /api/v1 as problems (elsewhere: None,
    so the app's own pages answer)."""
    error = request.routing_exception
    if error is None or isinstance(error, RequestRedirect) or not is_api_path(request.path):
        return None
    if not isinstance(error, HTTPException):
        return server_error(error).response()
    return from_http(error).response()
