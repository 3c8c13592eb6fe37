"""/api/v1/analytics: the dashboard's figures as JSON, the very dictionary the portal's dashboard
page shows (`scheduler.analytics.dashboard`), for clinic-local dates and optional filters.

Filters name providers and appointment types by their API ids, which are the clinic file's keys
(as in /providers and /appointment-types), so they go to `Filters` as they are. What the
analytics refuse (a reversed or over-long range, dates outside the years the API takes, an
unknown provider or type) is a 422 problem whose `detail` is the analytics' own message.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from scheduler.analytics import AnalyticsRequestError, Filters, dashboard

from .analytics_schemas import AnalyticsQuerySchema, AnalyticsSchema
from .calls import current, endpoint
from .problems import PREFIX, ApiProblem
from .spec import problems

TAG = "analytics"

blp = Blueprint(
    "api_analytics", __name__, url_prefix=PREFIX, description="The dashboard's figures."
)


@blp.route("/analytics", tags=[TAG])
class Analytics(MethodView):
    @endpoint
    @blp.arguments(AnalyticsQuerySchema, location="query")
    @blp.response(200, AnalyticsSchema)
    @problems(blp, 422)
    def get(self, query: dict[str, Any]):
        """The dashboard's figures

        For the clinic-local dates `from` to `to` (both included, at most two years), narrowed
        by a provider, an appointment type and a channel if given: visits by status, the
        no-show rate and trend, lead times, utilisation per provider, room and equipment (in
        all, by day, by hour of the week), the next free time per type, waitlist waits,
        reminders, waitlist offers, bookings by channel, conversations and the language
        engine. Aggregates only: no patient is named. See docs/analytics.md."""
        call = current()
        filters = Filters(
            provider=query.get("provider"),
            appointment_type=query.get("appointment_type"),
            channel=query.get("channel"),
        )
        try:
            return dashboard(
                call.services.readers,
                call.services.clinic,
                query["from_"],
                query["to"],
                filters,
                now=call.now,
            )
        except AnalyticsRequestError as refused:
            raise ApiProblem(422, str(refused), kind="invalid") from None
