"""One call of the facade: format, body, transaction, token, refusals, errors.

`endpoint(action)` wraps every view but `metadata`: a `_format` or `Accept` other than JSON is a
406, a body over 64 KiB a 413; then, in one transaction of `services.sessions`, the bearer token
(adapters/api/auth.py's `authenticate` and `caller_of`, as /api/v1: a 401 rolls back; a 403 is
audited under the user and committed), then the view, with `current()` giving it the session, the
caller's scheduling tools (channel "fhir") and the clock's now. A refusal is an answer like any
other and commits with its audit event: the tools audit their own (a taken Slot); the facade's
(a bad search parameter, an invalid resource, an unknown id, a wrong content type) are audited
here with `SchedulingTools.record_refusal` under the action and a fixed reason word. Anything
unexpected rolls back and is a 500 OperationOutcome without detail.

`answer_routing_errors` (a `before_request` hook, for /fhir/r4 paths only) answers the router's
404 and 405 as OperationOutcomes; with a valid staff token in the request, the refusal is
audited too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from adapters.api.auth import STAFF, authenticate, bearer_token, caller_of
from adapters.api.calls import Call
from adapters.api.problems import ApiProblem
from bot.services import Services, services_of
from scheduler.accounts import token_user
from scheduler.errors import SchedulingError
from scheduler.fhir.incoming import InvalidResource
from scheduler.fhir.search import SearchError
from scheduler.models import StaffUser

from .capability import CONTROL
from .outcomes import FhirProblem, from_http, from_refusal, server_error

PREFIX = "/fhir/r4"
CHANNEL = "fhir"
MAX_BODY = 64 * 1024
FHIR_TYPES = ("application/fhir+json", "application/json")
PATCH_TYPES = FHIR_TYPES + ("application/json-patch+json", "application/merge-patch+json")
FORMATS = frozenset({"json", "application/json", "application/fhir+json"})
_CALL = "fhir_call"

blueprint = Blueprint("fhir_r4", __name__, url_prefix=PREFIX)


def current() -> Call:
    return g.get(_CALL)


def site_root() -> str:
    """PUBLIC_BASE_URL when set, else the app's root as this request reached it."""
    public = services_of(current_app).settings.public_base_url
    return (public or request.url_root).rstrip("/")


def base_url() -> str:
    """The facade's base URL (`.../fhir/r4`)."""
    return site_root() + PREFIX


def negotiate() -> None:
    """JSON only: `_format` (json, application/json, application/fhir+json) or `Accept`."""
    asked = request.args.get("_format")
    if asked is not None:
        if asked.split(";")[0].strip() not in FORMATS:
            raise FhirProblem(406, f"_format {asked!r}: this server answers JSON only")
        return
    accept = request.accept_mimetypes
    if accept and accept.best_match(FHIR_TYPES) is None:
        raise FhirProblem(406, "this server answers application/fhir+json only (Accept)")


def _limit_body() -> None:
    length = request.content_length
    if length is not None and length > MAX_BODY:
        raise FhirProblem(413, "the body is larger than 64 KiB", reason="too_large")
    request.max_content_length = MAX_BODY


def body_json(*, patch: bool = False) -> Any:
    """The request's JSON body, if its Content-Type is FHIR JSON (a 415 otherwise; FHIR 4.0
    only, when the type names a `fhirVersion`)."""
    mimetype = request.mimetype
    if mimetype not in (PATCH_TYPES if patch else FHIR_TYPES):
        allowed = ", ".join(PATCH_TYPES if patch else FHIR_TYPES)
        raise FhirProblem(
            415,
            f"Content-Type {mimetype or 'none'!r}: send {allowed}",
            reason="unsupported_media_type",
        )
    params = {k.lower(): v for k, v in request.mimetype_params.items()}
    version = params.get("fhirversion")
    if version is not None and version not in ("4.0", "4.0.1"):
        raise FhirProblem(
            415, f"fhirVersion {version!r}: this server speaks FHIR 4.0", reason="wrong_version"
        )
    try:
        return json.loads(request.get_data(cache=False) or b"null")
    except (ValueError, UnicodeDecodeError):
        raise FhirProblem(400, "the body is not JSON", reason="not_json") from None


def search_args(allowed: Iterable[str]) -> MultiDict[str, str]:
    """The query's parameters, if each is one the search takes (a 400 naming it otherwise)."""
    known = frozenset(allowed) | frozenset(CONTROL)
    args = request.args
    for name in args:
        if name not in known:
            takes = ", ".join(sorted(known))
            raise SearchError(name, f"not a search parameter here (this search takes {takes})")
        if name not in ("start", "date") and len(args.getlist(name)) > 1:
            raise SearchError(name, "given twice: give several values in one, by commas")
    return args


def read_args() -> None:
    """A read takes `_format` only."""
    search_args(())
    if request.args.get("_count") is not None or request.args.get("_cursor") is not None:
        raise SearchError("_count", "a read takes no paging parameters")


def _refused(services: Services, db: Session, user: StaffUser, now: datetime, reason: str) -> None:
    """Audit a refusal before a Caller exists (a role the facade does not serve)."""
    services.audit.record(
        db,
        "request_refused",
        at=now,
        channel=CHANNEL,
        actor=f"{user.role}:{user.name}",
        detail={"action": f"fhir_{request.method.lower()}", "reason": reason},
    )


def endpoint(action: str) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Wrap a view; `action` is the word its refusals are audited under ("book", "search")."""

    def wrap(view: Callable[..., Response]) -> Callable[..., Response]:
        @wraps(view)
        def wrapper(**kwargs: Any) -> Response:
            try:
                negotiate()
                _limit_body()
                return _answer(services_of(current_app), action, view, kwargs)
            except FhirProblem as problem:
                return problem.response()
            except HTTPException as error:
                return from_http(error).response()
            except Exception as error:  # the facade's last word: never a traceback
                return server_error(error).response()

        return wrapper

    return wrap


def _answer(
    services: Services, action: str, view: Callable[..., Response], kwargs: dict[str, Any]
) -> Response:
    with services.sessions.begin() as db:
        now = services.clock()
        try:
            user = authenticate(db, now)
            caller = replace(caller_of(user), channel=CHANNEL)
        except ApiProblem as problem:
            if problem.status != 403:
                raise FhirProblem(problem.status, problem.detail, headers=problem.headers) from None
            found = token_user(db, bearer_token() or "", now)
            if found is not None:
                _refused(services, db, found[0], now, "forbidden_role")
            return FhirProblem(403, "your role may not use the FHIR facade").response()
        call = Call(services, db, user, caller, now)
        setattr(g, _CALL, call)
        try:
            return view(**kwargs)
        except FhirProblem as problem:
            call.tools.record_refusal(action, problem.reason)
            return problem.response()
        except (SearchError, InvalidResource) as refusal:
            call.tools.record_refusal(action, refusal.code)
            return from_refusal(refusal).response()
        except SchedulingError as refusal:  # the tools audited it
            return from_refusal(refusal).response()


def is_fhir_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def answer_routing_errors() -> Response | None:
    """`before_request`: the router's 404 and 405 under /fhir/r4 as OperationOutcomes."""
    error = request.routing_exception
    if error is None or isinstance(error, RequestRedirect) or not is_fhir_path(request.path):
        return None
    if not isinstance(error, HTTPException):
        return server_error(error).response()
    problem = from_http(error)
    token = bearer_token()
    if token is not None:
        try:
            services = services_of(current_app)
            with services.sessions.begin() as db:
                now = services.clock()
                found = token_user(db, token, now)
                if found is not None and found[0].role in STAFF:
                    _refused(services, db, found[0], now, problem.reason)
        except Exception as failure:  # the refusal is answered all the same
            server_error(failure)
    return problem.response()
