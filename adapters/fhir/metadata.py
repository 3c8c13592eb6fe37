"""`GET metadata`: the CapabilityStatement (capability.py), the one call that needs no token."""

from __future__ import annotations

from flask import Response, current_app

from bot.services import services_of
from scheduler.fhir.search import SearchError

from .calls import base_url, blueprint, negotiate, read_args
from .capability import capability_statement
from .outcomes import FhirProblem, fhir_response, from_refusal, server_error


@blueprint.get("/metadata")
def metadata() -> Response:
    try:
        negotiate()
        read_args()
        return fhir_response(capability_statement(base_url(), services_of(current_app).clinic))
    except FhirProblem as problem:
        return problem.response()
    except SearchError as refusal:
        return from_refusal(refusal).response()
    except Exception as error:  # never a traceback
        return server_error(error).response()
