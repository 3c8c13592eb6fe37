"""One API call: its body's size checked, one transaction, the caller, the answer, its errors.

`endpoint` wraps every view (outside flask-smorest's argument parsing, so a token is checked
before the body is): the body over `MAX_BODY` is a 413 before anything reads it; then, in one
transaction of `services.sessions`, the bearer token (a 401 or 403 rolls everything back), the
`Idempotency-Key` of a POST (idempotency.py), the view itself with `current()` giving it the
session, the user, the clock's now and the scheduling tools bound to the user. A refusal (a
`SchedulingError` of the tools, or an `ApiProblem` a view raises) is an answer like any other:
the transaction commits, with the refusal's audit event and the stored idempotent answer. An
invalid request (webargs' 422 or 400, a 413 found while reading) rolls back, and so does
anything unexpected, which becomes a 500 problem (problems.py); nothing escapes as a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, wraps
from typing import Any

from flask import Response, current_app, g, request
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from bot.services import Services, services_of
from bot.tools import Caller, SchedulingTools
from scheduler.errors import SchedulingError
from scheduler.models import StaffUser

from . import idempotency
from .auth import authenticate, caller_of
from .problems import ApiProblem, from_http, from_refusal, server_error
from .render import Keys

MAX_BODY = 64 * 1024
KEYS = "api_v1_keys"
_CALL = "api_call"


@dataclass
class Call:
    """What a view works with, for this request only (the FHIR facade's views too)."""

    services: Services
    db: Session
    user: StaffUser
    caller: Caller
    now: datetime

    @property
    def keys(self) -> Keys:
        """This app's keys by row id (render.Keys: one per app, so per database)."""
        return current_app.extensions[KEYS]

    @cached_property
    def tools(self) -> SchedulingTools:
        """The scheduling tools bound to the caller, one set for the call."""
        services = self.services
        return SchedulingTools(
            self.db,
            services.clinic,
            services.audit,
            self.caller,
            self.now,
            policy=services.settings.reminder_policy(),
        )

    def record_shown(self, kind: str, patient_id: int) -> None:
        """Audit what the caller did with a patient's record ("patient_looked_up" for a search
        hit, "patient_contact_shown" for a read, "patient_added")."""
        self.services.audit.record(
            self.db,
            kind,
            at=self.now,
            channel=self.caller.channel,
            actor=self.caller.actor,
            patient_id=patient_id,
        )


def current() -> Call:
    return g.get(_CALL)


def _limit_body() -> None:
    """A 413 for a body over MAX_BODY: by its Content-Length now, or (a stream without one) as
    soon as reading it passes the limit."""
    length = request.content_length
    if length is not None and length > MAX_BODY:
        raise ApiProblem(413, f"the body is larger than {MAX_BODY // 1024} KiB")
    request.max_content_length = MAX_BODY


def endpoint(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            _limit_body()
            answer = _answer(services_of(current_app), view, args, kwargs)
        except ApiProblem as problem:
            answer = problem.response()
        except HTTPException as error:
            answer = from_http(error).response()
        except Exception as error:  # the API's last word: a 500 problem, never a traceback
            answer = server_error(error).response()
        answer.headers["Cache-Control"] = "no-store"  # answers may name patients
        return answer

    return wrapper


def _answer(services: Services, view: Callable[..., Any], args: tuple, kwargs: dict) -> Response:
    with services.sessions.begin() as db:
        now = services.clock()
        user = authenticate(db, now)
        call = Call(services, db, user, caller_of(user), now)
        key = idempotency.requested_key() if request.method == "POST" else None
        if key is not None:
            replay = idempotency.claim(db, services.vault, user, key, now)
            if replay is not None:
                return replay
        setattr(g, _CALL, call)
        try:
            answer = current_app.make_response(view(*args, **kwargs))
        except ApiProblem as problem:
            answer = problem.response()
        except SchedulingError as refusal:
            answer = from_refusal(refusal, services.clinic.zone).response()
        if key is not None:
            idempotency.store(db, services.vault, user, key, answer)
        return answer
