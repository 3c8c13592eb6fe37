"""The bodies of `GET /api/v1/analytics`: its query (dates read by the analytics' own
`parse_date`, so the API and the portal's dashboard say the same about a bad one) and the
figures `scheduler.analytics.dashboard` answers, as marshmallow schemas the OpenAPI document is
generated from (docs/analytics.md says what each figure means).

Rates are fractions (0.25 is a quarter) rounded to four places, null when there was nothing to
divide by; medians and percentiles are null when there was nothing to measure.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from scheduler.analytics import AnalyticsRequestError, parse_date
from scheduler.analytics.period import CHANNELS

from .schemas import key


class AnalyticsDate(fields.Date):
    """A clinic-local date `YYYY-MM-DD`, with the analytics' message when it is not one."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            return parse_date(value, self.data_key or attr or "date")
        except AnalyticsRequestError as error:
            raise ValidationError(str(error)) from None


def _date(name: str, description: str) -> AnalyticsDate:
    return AnalyticsDate(
        required=True,
        data_key=name,
        error_messages={"required": f"'{name}' is required, as a date like 2026-03-01"},
        metadata={"description": description},
    )


class AnalyticsQuerySchema(Schema):
    from_ = _date("from", "first clinic-local date (inclusive)")
    to = _date("to", "last clinic-local date (inclusive); at most two years after `from`")
    provider = key("only this provider's visits and bookings (a provider's id)")
    appointment_type = key("only this appointment type's (an appointment type's id)")
    channel = fields.String(
        validate=validate.OneOf(CHANNELS, error="must be one of {choices}"),
        metadata={"description": "only what was booked (or said) on this channel"},
    )


# --- the answer ----------------------------------------------------------------------------------


def _about(description: str | None) -> dict[str, str]:
    return {"description": description} if description else {}


def _int(description: str | None = None) -> fields.Integer:
    return fields.Integer(required=True, metadata=_about(description))


def _number(description: str | None = None) -> fields.Float:
    return fields.Float(required=True, allow_none=True, metadata=_about(description))


def _rate(description: str) -> fields.Float:
    return _number(f"{description}: a fraction, null when there is nothing to divide by")


def _day(description: str) -> fields.String:
    return fields.String(required=True, metadata={"format": "date", "description": description})


def _list(schema: type[Schema], description: str) -> fields.List:
    return fields.List(fields.Nested(schema), required=True, metadata={"description": description})


def _nested(schema: type[Schema], description: str) -> fields.Nested:
    return fields.Nested(schema, required=True, metadata={"description": description})


class AnalyticsFiltersSchema(Schema):
    provider = fields.String(required=True, allow_none=True)
    appointment_type = fields.String(required=True, allow_none=True)
    channel = fields.String(required=True, allow_none=True)


class AnalyticsStatusCountsSchema(Schema):
    booked = _int("booked or arrived, not marked yet")
    cancelled = _int()
    fulfilled = _int("attended")
    noshow = _int()
    unmarked = _int("of the booked, those a day past their end and still not marked")
    total = _int()


class AnalyticsWeekSchema(Schema):
    week = _day("the Monday the week starts")
    fulfilled = _int()
    noshow = _int()
    rate = _rate("no-shows over visits marked")


class AnalyticsPercentilesSchema(Schema):
    p50 = _number("median")
    p90 = _number("90th percentile")


class AnalyticsUtilisationSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["provider", "room", "equipment"]))
    id = fields.String(required=True, metadata={"description": "the provider's or resource's id"})
    name = fields.String(required=True)
    booked_minutes = _int()
    open_minutes = _int()
    rate = _rate("booked over open minutes")


class AnalyticsUtilisationDaySchema(Schema):
    date = _day("a clinic-local date")
    kind = fields.String(required=True)
    id = fields.String(required=True)
    booked_minutes = _int()
    open_minutes = _int()


class AnalyticsHeatCellSchema(Schema):
    weekday = fields.Integer(
        required=True, validate=validate.Range(0, 6), metadata={"description": "0 is Monday"}
    )
    hour = fields.Integer(required=True, validate=validate.Range(0, 23))
    booked_minutes = _int()
    open_minutes = _int()
    rate = _rate("the providers' booked over open minutes in that hour")


class AnalyticsNextAvailableSchema(Schema):
    appointment_type = fields.String(required=True)
    name = fields.String(required=True)
    start = fields.String(
        required=True,
        allow_none=True,
        metadata={"format": "date-time", "description": "null: nothing free within the horizon"},
    )
    wait_minutes = fields.Integer(required=True, allow_none=True)


class AnalyticsWaitSchema(Schema):
    requests = _int("waitlist requests booked in the dates")
    median_minutes = _number("minutes from joining the waitlist to the booking, median")
    p90_minutes = _number("the same, 90th percentile")


class AnalyticsWaitingSchema(Schema):
    urgent = _nested(AnalyticsWaitSchema, "urgent requests")
    soon = _nested(AnalyticsWaitSchema, "requests to be seen within a week")
    routine = _nested(AnalyticsWaitSchema, "routine requests")


class AnalyticsRemindersSchema(Schema):
    sent = _int("reminders sent, by due date")
    delivered = _int("delivery reports, by when they came")
    failed = _int()
    confirmed = _int("visits whose patient answered C")
    rescheduled_by_reply = _int("answered R")
    cancelled_by_reply = _int("answered X")
    no_show_rate_reminded = _rate("no-shows of reminded visits")
    no_show_rate_not_reminded = _rate("no-shows of visits never reminded")


class AnalyticsWaitlistSchema(Schema):
    offers = _int("offers made")
    freed_times = _int("freed times offered")
    filled = _int("freed times taken by a YES")
    fill_rate = _rate("filled over freed times")
    median_minutes_to_fill = _number("from the first offer of a time to the YES that took it")
    minutes_won_back = _int("visit minutes booked through the waitlist")


class AnalyticsConversationsSchema(Schema):
    total = _int("one person's turns on one channel on one day")
    ended_in_booking = _int()
    booking_rate = _rate("ended in a booking over all")
    turns_per_booking = _number("turns of the conversations that ended in a booking, on average")
    handoffs = _int("conversations handed to staff")


class AnalyticsEngineSchema(Schema):
    turns = _int()
    latency_ms_p50 = _number()
    latency_ms_p95 = _number()


class AnalyticsEngineDaySchema(Schema):
    date = _day("a clinic-local date")
    bedrock = _int("turns answered by the model on Bedrock")
    local = _int("turns answered by the local dialogue")
    input_tokens = _int()
    output_tokens = _int()


class AnalyticsLlmSchema(Schema):
    turns = _int("patient turns")
    bedrock_turns = _int()
    local_turns = _int()
    fallbacks = _int("turns the local dialogue answered for a failing or cooling model")
    errors = _int("turns whose model call failed")
    latency_ms_p50 = _number()
    latency_ms_p95 = _number()
    input_tokens = _int()
    output_tokens = _int()
    by_engine = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(AnalyticsEngineSchema),
        required=True,
        metadata={"description": "per engine (bedrock, local)"},
    )
    by_day = _list(AnalyticsEngineDaySchema, "per clinic-local day with turns")


class AnalyticsSchema(Schema):
    from_ = fields.String(
        required=True, data_key="from", attribute="from", metadata={"format": "date"}
    )
    to = _day("the last date (inclusive)")
    timezone = fields.String(required=True, metadata={"description": "the clinic's zone"})
    filters = _nested(AnalyticsFiltersSchema, "the filters applied (null: all)")
    appointments = _nested(AnalyticsStatusCountsSchema, "visits starting in the dates, by status")
    no_show_rate = _rate("no-shows over visits marked (attended or no-show)")
    late_cancellations = _int("cancelled less than 24 hours before the visit")
    no_show_trend = _list(AnalyticsWeekSchema, "per week")
    lead_time_days = _nested(AnalyticsPercentilesSchema, "days from booking to visit")
    utilisation = _list(AnalyticsUtilisationSchema, "per provider, room and equipment")
    utilisation_by_day = _list(AnalyticsUtilisationDaySchema, "per holder and day")
    heatmap = _list(AnalyticsHeatCellSchema, "per weekday and clock hour, the providers")
    next_available = _list(AnalyticsNextAvailableSchema, "per appointment type, from now")
    waiting = _nested(AnalyticsWaitingSchema, "waitlist requests booked, by urgency")
    reminders = _nested(AnalyticsRemindersSchema, "reminders and what patients answered")
    waitlist = _nested(AnalyticsWaitlistSchema, "offers of freed times")
    channels = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        required=True,
        metadata={"description": "bookings made in the dates, by channel"},
    )
    conversations = _nested(AnalyticsConversationsSchema, "patients' conversations")
    llm = _nested(AnalyticsLlmSchema, "the language engine")
