"""The REST API under /api/v1 (docs/api.md; the contract is INTERFACE.md's "Staff portal and REST
API"): appointments, open times, the clinic, patients and the waitlist, for other systems.

    __init__.py       init_app: the API on the app
    spec.py           flask-smorest's Api (the OpenAPI document from the schemas), scoped
    schemas.py        the request and response bodies (marshmallow)
    render.py         rows and slots as those bodies
    calls.py          one call: body size, transaction, token, idempotency, errors
    auth.py           the bearer token, the role, the caller of the scheduling tools
    idempotency.py    `Idempotency-Key` on POST
    problems.py       RFC 9457 problems, under /api/v1 only
    paging.py         keyset cursors
    appointments.py   /appointments: list, book, read, move, cancel
    clinic.py         /providers, /appointment-types, /slots
    patients.py       /patients
    waitlist.py       /waitlist
    analytics.py      /analytics, the dashboard's figures (analytics_schemas.py: its bodies)
    docs.py           /openapi.json and the Swagger UI page at /docs, served by the app itself

Schedule changes go through `bot.tools.SchedulingTools`, like every channel's: audited under the
token's user, reminders planned, freed times offered to the waitlist. What it may import: `bot`,
`scheduler`, Flask, flask-smorest and marshmallow; never `jobs` or `app`.
"""

from __future__ import annotations

from flask import Flask

from bot.services import Services

from . import analytics, appointments, calls, clinic, docs, patients, waitlist
from .problems import answer_routing_errors
from .render import Keys
from .spec import make_api

EXTENSION = "api_v1"


def init_app(app: Flask, services: Services) -> None:
    """Mount /api/v1 and its document on `app` (the services are read per request)."""
    api = make_api(app)
    for module in (appointments, clinic, patients, waitlist, analytics):
        api.register_blueprint(module.blp)
    for tag, description in (
        ("appointments", "Book, move, cancel and list appointments."),
        ("clinic", "Providers, appointment types and open times."),
        ("patients", "Patients (staff and admins)."),
        ("waitlist", "Who waits for an earlier time."),
        ("analytics", "The dashboard's figures (aggregates, no patient named)."),
    ):
        api.spec.tag({"name": tag, "description": description})
    app.register_blueprint(docs.blueprint(api))
    app.before_request(answer_routing_errors)
    app.extensions[EXTENSION] = api
    app.extensions[calls.KEYS] = Keys()
