"""The OpenAPI document: flask-smorest's `Api` on the app, generated from the schemas.

`ClinicApi` is flask-smorest's `Api` with three changes: it registers no error handler (the one
it would register is app-wide: every route of the app, the Twilio and Slack webhooks, the web
chat and the portal included, would answer JSON errors; problems.py answers /api/v1 alone), its
documented error responses are `application/problem+json` with `ProblemSchema`, and operations
are tagged by resource rather than by blueprint name. Every operation needs the bearer token
(`security` at the top of the document); openapi.json and the docs page are not in it.
"""

from __future__ import annotations

import http
from collections.abc import Callable
from typing import Any

from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response

from .problems import PROBLEM
from .schemas import ProblemSchema

TITLE = "Medical-AI-Scheduler API"
VERSION = "1"
SECURITY = "bearerAuth"
LOCATION = {"Location": {"description": "the URL of what was made", "schema": {"type": "string"}}}


class ClinicApi(Api):
    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        """None: problems.py answers errors under /api/v1 only (see the module docstring)."""

    def _register_responses(self) -> None:
        """Each status code's response (registered lazily: only those used appear), as a
        problem."""
        for status in http.HTTPStatus:
            if status < 400:
                continue
            response: dict[str, Any] = {"description": status.phrase, "schema": ProblemSchema}
            prepare_response(response, self.spec, PROBLEM)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "a problem (RFC 9457)", "schema": ProblemSchema}
        prepare_response(default, self.spec, PROBLEM)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, default, lazy=True)

    def register_blueprint(self, blp, *, parameters=None, **options) -> None:
        """Register `blp` and its operations; their tags are the routes' own (`tags=`)."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        blp.register_views_in_doc(self, self._app, self.spec, name=name, parameters=parameters)


def make_api(app) -> ClinicApi:
    api = ClinicApi(
        app,
        config_prefix="API_V1",
        spec_kwargs={
            "title": TITLE,
            "version": VERSION,
            "openapi_version": "3.0.3",
            "info": {
                "description": "Book, move and cancel appointments, find open times, manage "
                "patients and the waitlist. Every call needs `Authorization: Bearer <token>` "
                "(`flask --app app tokens create --username NAME`); errors are RFC 9457 "
                "problems. See docs/api.md."
            },
            "security": [{SECURITY: []}],
        },
    )
    api.spec.components.security_scheme(
        SECURITY,
        {
            "type": "http",
            "scheme": "bearer",
            "description": "an API token (`mas_...`) of a staff user; it carries their role",
        },
    )
    return api


def problems(blp: Blueprint, *codes: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Document that an operation may answer these problems (besides 401, 403 and 500)."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        for code in sorted({401, 403, 500, *codes}, reverse=True):
            view = blp.alt_response(code, response=http.HTTPStatus(code).name)(view)
        return view

    return decorator
