"""The dashboard's visits, utilisation and waiting sections, from `scheduler.analytics.dashboard`'s
dictionary: visits by status and the no-show trend, utilisation per provider, room and
equipment, by day and by hour of the week (the heat map), the next free time per kind of visit
and the waitlist's urgent, soon and routine waits.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from .dashboard_parts import (
    BLUE,
    GREEN,
    GREY,
    KIND_COLOURS,
    KINDS,
    NONE,
    RED,
    SERIES,
    WEEKDAYS,
    Block,
    Cell,
    Chart,
    Section,
    Table,
    Tile,
    chart,
    count,
    hour_text,
    number,
    pct,
    percent,
    series,
    share,
    wait_text,
    wrapped,
)
from .shared import short_day, when_text


def appointments(figures: dict[str, Any]) -> Section:
    counts = figures["appointments"]
    lead = figures["lead_time_days"]
    statuses = [
        ("Booked", "booked", BLUE),
        ("Attended", "fulfilled", GREEN),
        ("No-show", "noshow", RED),
        ("Cancelled", "cancelled", GREY),
    ]
    status_chart = Chart(
        "statuses",
        "Visits by status",
        chart(
            "bar",
            [name for name, _, _ in statuses],
            [
                series(
                    "Visits", [counts[key] for _, key, _ in statuses], [c for _, _, c in statuses]
                )
            ],
            legend=False,
        ),
    )
    status_table = Table(
        "Visits starting in these dates, by status",
        ["Status", "Visits"],
        [(name, [Cell(count(counts[key]), f"appointments.{key}")]) for name, key, _ in statuses]
        + [
            ("Not marked a day after", [Cell(count(counts["unmarked"]), "appointments.unmarked")]),
            ("All", [Cell(count(counts["total"]), "appointments.total")]),
        ],
    )
    trend = figures["no_show_trend"]
    trend_chart = Chart(
        "no-show-trend",
        "No-show rate by week",
        chart(
            "line",
            [short_day(date.fromisoformat(w["week"])) for w in trend],
            [series("No-show rate", [pct(w["rate"]) for w in trend], RED, spanGaps=True)],
            percent=True,
            legend=False,
        ),
    )
    trend_table = Table(
        "No-shows by week (weeks start on Monday)",
        ["Week of", "Attended", "No-shows", "No-show rate"],
        [
            (
                short_day(date.fromisoformat(w["week"])),
                [
                    Cell(count(w["fulfilled"])),
                    Cell(count(w["noshow"])),
                    Cell(percent(w["rate"]), f"no_show_trend.{w['week']}.rate"),
                ],
            )
            for w in trend
        ],
    )
    return Section(
        "appointments",
        "Appointments",
        "Visits whose time starts in these dates, whenever they were booked.",
        tiles=[
            Tile("Visits", count(counts["total"]), "appointments.total"),
            Tile("No-show rate", percent(figures["no_show_rate"]), "no_show_rate"),
            Tile(
                "Late cancellations (under 24 h)",
                count(figures["late_cancellations"]),
                "late_cancellations",
            ),
            Tile("Booked ahead, median", number(lead["p50"], "days"), "lead_time_days.p50"),
            Tile(
                "Booked ahead, 90th percentile", number(lead["p90"], "days"), "lead_time_days.p90"
            ),
        ],
        blocks=[
            Block(
                "Visits by status",
                [status_chart],
                status_table,
                [("appointments", "Appointments (CSV)")],
                empty=counts["total"] == 0,
            ),
            Block(
                "No-show rate by week",
                [trend_chart],
                trend_table,
                [("no_show_trend", "No-show trend (CSV)")],
                empty=all(w["rate"] is None for w in trend),
            ),
        ],
    )


def utilisation(figures: dict[str, Any]) -> Section:
    holders = figures["utilisation"]
    booked_any = any(h["booked_minutes"] for h in holders)
    summary_chart = Chart(
        "utilisation",
        "Booked share of open time",
        chart(
            "bar",
            [wrapped(h["name"]) for h in holders],
            [
                series(
                    "Booked share of open time",
                    [pct(h["rate"]) for h in holders],
                    [KIND_COLOURS[h["kind"]] for h in holders],
                )
            ],
            percent=True,
            horizontal=True,
            legend=False,
        ),
    )
    summary_table = Table(
        "Booked and open minutes",
        ["Name", "Kind", "Booked (min)", "Open (min)", "Booked share"],
        [
            (
                h["name"],
                [
                    Cell(KINDS[h["kind"]]),
                    Cell(count(h["booked_minutes"]), _path(h, "booked_minutes")),
                    Cell(count(h["open_minutes"]), _path(h, "open_minutes")),
                    Cell(percent(h["rate"]), _path(h, "rate")),
                ],
            )
            for h in holders
        ],
    )
    providers = [h for h in holders if h["kind"] == "provider"]
    days = sorted({d["date"] for d in figures["utilisation_by_day"] if d["kind"] == "provider"})
    by_day = {
        (d["id"], d["date"]): share(d["booked_minutes"], d["open_minutes"])
        for d in figures["utilisation_by_day"]
        if d["kind"] == "provider"
    }
    labels = [short_day(date.fromisoformat(d)) for d in days]
    day_chart = Chart(
        "utilisation-by-day",
        "Each provider's booked share of open time, by day",
        chart(
            "line",
            labels,
            [
                series(p["name"], [pct(by_day.get((p["id"], d))) for d in days], colour)
                for p, colour in zip(providers, SERIES, strict=False)
            ],
            percent=True,
        ),
    )
    day_table = Table(
        "Each provider's booked share of open time, by day",
        ["Day", *(p["name"] for p in providers)],
        [
            (
                label,
                [
                    Cell(percent(by_day.get((p["id"], d))), f"utilisation_by_day.{p['id']}.{d}")
                    for p in providers
                ],
            )
            for d, label in zip(days, labels, strict=True)
        ],
        long=True,
    )
    return Section(
        "utilisation",
        "Utilisation",
        "Booked minutes of visits that hold their time (booked, attended, no-show) over the "
        "minutes open: a provider's working hours less breaks and days off; rooms and "
        "equipment while the clinic is open.",
        blocks=[
            Block(
                "Booked share of open time",
                [summary_chart],
                summary_table,
                [("utilisation", "Utilisation (CSV)")],
                empty=not booked_any,
                stacked=True,
            ),
            Block(
                "Each provider's booked share, by day",
                [day_chart],
                day_table,
                [("utilisation_by_day", "Utilisation by day (CSV)")],
                empty=not booked_any,
            ),
            heat_block(figures["heatmap"]),
        ],
    )


def _path(holder: dict[str, Any], name: str) -> str:
    return f"utilisation.{holder['kind']}.{holder['id']}.{name}"


def heat_band(rate: float | None) -> str:
    """The heat map's CSS class: heat-0 (under 10% booked) to heat-9 (90% or more)."""
    if rate is None:
        return "heat-closed"
    return f"heat-{min(9, max(0, int(rate * 10)))}"


def heat_block(cells: list[dict[str, Any]]) -> Block:
    found = {(c["weekday"], c["hour"]): c for c in cells}
    weekdays = sorted({c["weekday"] for c in cells if c["open_minutes"]})
    hours = sorted({c["hour"] for c in cells})
    rows = []
    for hour in range(hours[0], hours[-1] + 1) if hours else ():
        row = []
        for weekday in weekdays:
            cell = found.get((weekday, hour))
            rate = None if cell is None else cell["rate"]
            figure = f"heatmap.{weekday}.{hour}" if cell is not None else None
            row.append(Cell(percent(rate) if rate is not None else NONE, figure, heat_band(rate)))
        rows.append((hour_text(hour), row))
    return Block(
        "Hour of the week",
        table=Table(
            "Providers' booked share of open time by weekday and hour (darker: busier)",
            ["Hour", *(WEEKDAYS[w] for w in weekdays)],
            rows,
        ),
        csv=[("heatmap", "Hour of the week (CSV)")],
        empty=not any(c["booked_minutes"] for c in cells),
        heat=True,
        note="Pale hours are the emptiest: the times to offer first.",
    )


def waiting(figures: dict[str, Any]) -> Section:
    rows = []
    for kind in figures["next_available"]:
        start = kind["start"]
        when = NONE if start is None else when_text(datetime.fromisoformat(start))
        rows.append(
            (
                kind["name"],
                [
                    Cell(
                        wait_text(kind["wait_minutes"]),
                        f"next_available.{kind['appointment_type']}.wait_minutes",
                    ),
                    Cell(when),
                ],
            )
        )
    waits = figures["waiting"]
    return Section(
        "waiting",
        "Waiting",
        "How soon a new patient can be seen now, and how long waitlist requests booked in "
        "these dates waited.",
        blocks=[
            Block(
                "Next free time",
                table=Table(
                    "The first free time from now", ["Kind of visit", "Wait", "First free"], rows
                ),
                csv=[("next_available", "Next free time (CSV)")],
            ),
            Block(
                "Urgent, soon and routine waitlist requests",
                table=Table(
                    "From joining the waitlist to the booking",
                    ["Priority", "Booked", "Median wait", "90th percentile"],
                    [
                        (
                            name,
                            [
                                Cell(count(waits[key]["requests"]), f"waiting.{key}.requests"),
                                Cell(
                                    number(waits[key]["median_minutes"], "min"),
                                    f"waiting.{key}.median_minutes",
                                ),
                                Cell(number(waits[key]["p90_minutes"], "min")),
                            ],
                        )
                        for name, key in (
                            ("Urgent", "urgent"),
                            ("Soon", "soon"),
                            ("Routine", "routine"),
                        )
                    ],
                ),
                csv=[("waiting", "Waiting (CSV)")],
            ),
        ],
    )
