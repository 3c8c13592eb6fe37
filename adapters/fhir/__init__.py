"""The FHIR R4 (4.0.1) facade at /fhir/r4 (docs/fhir.md, "The FHIR facade: /fhir/r4"; the
contract is INTERFACE.md's "FHIR R4"): the clinic's schedule as an EHR reads and books it.

    __init__.py       init_app: the blueprint and its routing errors on the app
    calls.py          one call: format, body, transaction, token, refusals audited, errors
    outcomes.py       OperationOutcomes and the HTTP status of each error
    bundles.py        searchset Bundles and their keyset paging (`_count`, `next` links)
    capability.py     what is served, said once; the CapabilityStatement made from it
    metadata.py       GET metadata
    clinic.py         Practitioner, Location, HealthcareService, Schedule
    slots.py          Slot, computed from the real availability
    appointments.py   Appointment: read, search, book a Slot, cancel
    patients.py       Patient: read, search by phone

The resources are built in scheduler/fhir/ (resources.py, slots.py) and what comes in is read
there (search.py, incoming.py); this package parses, calls and renders. Changes go through
`bot.tools.SchedulingTools`, like every channel's. The tokens are /api/v1's (adapters/api/auth.py).
What it may import: `bot`, `scheduler`, Flask and adapters/api's token check and cursors.
"""

from __future__ import annotations

from flask import Flask

from bot.services import Services

from . import appointments, clinic, metadata, patients, slots  # noqa: F401  (their routes)
from .calls import answer_routing_errors, blueprint


def init_app(app: Flask, services: Services) -> None:
    """Mount /fhir/r4 on `app` (the services are read per request)."""
    app.register_blueprint(blueprint)
    app.before_request(answer_routing_errors)
