"""The analytics dashboard: `/portal/dashboard` and its CSV downloads `/portal/dashboard.csv`, for
signed-in staff and admins (docs/analytics.md).

The figures are `scheduler.analytics.dashboard`'s, the very dictionary `GET /api/v1/analytics`
answers, for a range of clinic-local dates (default: the 28 days to today) and optional provider,
appointment type and channel filters, all read from the query string (a GET form, so a view can
be bookmarked and shared). A date that cannot be read, a reversed or over-long range or an
unknown filter is said on the page above the form (never a 500); a section with nothing to show
says "No data yet" instead of drawing an empty chart.

The page works without JavaScript: every chart's numbers are in a table beside or below it.
With it, `static/dashboard.js` draws the charts with Chart.js (`static/vendor/`, served by the
app: the CSP allows scripts from 'self' only) from the JSON blocks the template writes, which
are data, never run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import Response, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from scheduler import analytics
from scheduler.analytics import AnalyticsRequestError, Filters
from scheduler.analytics.period import CHANNELS

from . import dashboard_contact, dashboard_visits
from .auth import signed_in
from .dashboard_csv import SECTIONS, as_csv
from .dashboard_parts import CHANNEL_NAMES, Section
from .shared import blueprint, clinic, day_text, error_page, now, services, today

DEFAULT_DAYS = 28
FIELDS = ("from", "to", "provider", "appointment_type", "channel")


@dataclass(frozen=True)
class Asked:
    """What the query string asks for: the dates and filters, and the raw values (for the form
    and the links, so a bad value is shown as typed)."""

    first: date | None
    last: date | None
    filters: Filters
    values: dict[str, str]

    def args(self) -> dict[str, Any]:
        """The query arguments of this view (for the CSV links)."""
        return {name: value for name, value in self.values.items() if value}


def read(args: MultiDict[str, str]) -> tuple[Asked, str | None]:
    """The dates and filters asked for, and what is wrong with them (None: nothing). A date left
    out or blank is the default range's; a filter left blank is all."""
    values = {name: (args.get(name) or "").strip()[:100] for name in FIELDS}
    problem = None
    days: dict[str, date | None] = {}
    default = {"from": today() - timedelta(days=DEFAULT_DAYS - 1), "to": today()}
    for name in ("from", "to"):
        if not values[name]:
            days[name] = default[name]
            values[name] = default[name].isoformat()
            continue
        try:
            days[name] = analytics.parse_date(values[name], name)
        except AnalyticsRequestError as error:
            days[name], problem = None, problem or str(error)
    filters = Filters(
        provider=values["provider"] or None,
        appointment_type=values["appointment_type"] or None,
        channel=values["channel"] or None,
    )
    return Asked(days["from"], days["to"], filters, values), problem


def figures_for(asked: Asked, problem: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """The figures asked for, or what is wrong with the request (`problem`, if reading it
    found one already, or the analytics' refusal of the range or a filter)."""
    if problem is not None or asked.first is None or asked.last is None:
        return None, problem
    try:
        figures = analytics.dashboard(
            services().readers, clinic(), asked.first, asked.last, asked.filters, now=now()
        )
    except AnalyticsRequestError as refused:
        return None, str(refused)
    return figures, None


def sections(figures: dict[str, Any]) -> list[Section]:
    return [
        dashboard_visits.appointments(figures),
        dashboard_visits.utilisation(figures),
        dashboard_visits.waiting(figures),
        dashboard_contact.reminders(figures),
        dashboard_contact.waitlist(figures),
        dashboard_contact.channels(figures),
        dashboard_contact.engine(figures),
    ]


def nothing_yet(figures: dict[str, Any]) -> bool:
    """Nothing booked, visited, sent, offered or said in the dates (a new clinic, or filters
    that match nothing)."""
    return (
        figures["appointments"]["total"] == 0
        and not figures["channels"]
        and not any(v for v in figures["reminders"].values() if isinstance(v, int))
        and figures["waitlist"]["offers"] == 0
        and figures["llm"]["turns"] == 0
    )


def _choices() -> dict[str, list[tuple[str, str]]]:
    found = clinic()
    return {
        "provider": [(p.key, p.name) for p in found.providers],
        "appointment_type": [(t.key, t.name) for t in found.appointment_types],
        "channel": [(c, CHANNEL_NAMES.get(c, c)) for c in CHANNELS],
    }


@blueprint.get("/dashboard")
@signed_in()
def dashboard() -> ResponseReturnValue:
    """The dashboard for the dates and filters asked (the 28 days to today by default)."""
    asked, problem = read(request.args)
    figures, problem = figures_for(asked, problem)
    # A problem is answered with the page and its message, as the schedule pages answer a date
    # they cannot read: the form is right there to put it right.
    return render_template(
        "portal/dashboard.html",
        asked=asked,
        problem=problem,
        choices=_choices(),
        figures=figures,
        sections=sections(figures) if figures is not None else [],
        empty=figures is not None and nothing_yet(figures),
        csv_url=lambda section: url_for("portal.dashboard_csv", section=section, **asked.args()),
        span=_span(asked) if figures is not None else "",
        timezone=clinic().timezone,
    )


def _span(asked: Asked) -> str:
    assert asked.first is not None and asked.last is not None
    days = (asked.last - asked.first).days + 1
    return f"{day_text(asked.first)} to {day_text(asked.last)} ({days} day{'s' * (days != 1)})"


@blueprint.get("/dashboard.csv")
@signed_in()
def dashboard_csv() -> ResponseReturnValue:
    """One section of the figures as a CSV file (`section`, and the page's dates and filters)."""
    section = request.args.get("section", "")
    if section not in SECTIONS:
        return error_page(
            404, "There is no such part of the dashboard to download. Use the dashboard's links."
        )
    asked, problem = read(request.args)
    figures, problem = figures_for(asked, problem)
    if figures is None:
        return error_page(400, f"The figures could not be made: {problem}")
    filename = f"dashboard-{section}-{asked.values['from']}-to-{asked.values['to']}.csv"
    return Response(
        as_csv(section, figures),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
