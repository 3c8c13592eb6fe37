"""/api/v1/providers, /api/v1/appointment-types and /api/v1/slots: the clinic and its open times.

Providers and appointment types are the clinic file's (ids are its keys); open times are the
scheduler's own search (`find_slots`), the one every channel offers from.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from . import render
from .appointments import appointment_type
from .calls import current, endpoint
from .problems import PREFIX
from .schemas import (
    AppointmentTypeListSchema,
    ProviderListSchema,
    SlotListSchema,
    SlotQuerySchema,
)
from .spec import problems

blp = Blueprint(
    "api_clinic", __name__, url_prefix=PREFIX, description="The clinic and its open times."
)


@blp.route("/providers", tags=["clinic"])
class Providers(MethodView):
    @endpoint
    @blp.response(200, ProviderListSchema)
    @problems(blp)
    def get(self):
        """List the providers

        With the appointment types each offers."""
        clinic = current().services.clinic
        offers = {
            provider.key: [
                t.key for t in clinic.appointment_types if _offers(clinic, t.key, provider.key)
            ]
            for provider in clinic.providers
        }
        return {
            "items": [
                {"id": p.key, "name": p.name, "appointment_types": offers[p.key]}
                for p in clinic.providers
            ]
        }


def _offers(clinic, type_key: str, provider_key: str) -> bool:
    return any(p.key == provider_key for p in clinic.providers_for(type_key))


@blp.route("/appointment-types", tags=["clinic"])
class AppointmentTypes(MethodView):
    @endpoint
    @blp.response(200, AppointmentTypeListSchema)
    @problems(blp)
    def get(self):
        """List the appointment types

        With how long each visit lasts and who offers it."""
        clinic = current().services.clinic
        return {
            "items": [
                {
                    "id": kind.key,
                    "name": kind.name,
                    "duration_minutes": kind.duration_minutes,
                    "providers": [p.key for p in clinic.providers_for(kind.key)],
                }
                for kind in clinic.appointment_types
            ]
        }


@blp.route("/slots", tags=["clinic"])
class Slots(MethodView):
    @endpoint
    @blp.arguments(SlotQuerySchema, location="query")
    @blp.response(200, SlotListSchema)
    @problems(blp, 404, 422)
    def get(self, query: dict[str, Any]):
        """Find open times

        For an appointment type, between two local dates (both included; default: from today
        to as far ahead as the type may be booked), earliest first, `limit` of them (default
        20, at most 200), each a different start time. Book one by its `start` (and
        `provider`). With `urgency=urgent`, the times kept for urgent patients too."""
        call = current()
        clinic = call.services.clinic
        appointment_type(clinic, query["type"])
        found = call.tools.find_slots(
            query["type"],
            start_date=query.get("from_"),
            end_date=query.get("to"),
            provider_key=query.get("provider"),
            limit=query["limit"],
            urgency=query["urgency"],
        )
        return {"items": [render.slot(slot, clinic.zone) for slot in found]}
