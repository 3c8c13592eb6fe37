"""What the dashboard page is made of (sections of tiles, charts and tables) and how its figures
read. Sections hold tiles (one figure each), charts (a Chart.js configuration the page's script
draws) and tables (the same numbers, readable without the script), each with the CSV section it
can be downloaded as.

Every cell and tile carries `figure`, the figure's path in the API's JSON (`no_show_rate`,
`utilisation.provider.okafor.rate`), as the page's `data-figure`: what the tests compare with
`GET /api/v1/analytics`. Rates are shown as percentages with one decimal, counts with thousands
separators, and "–" for a figure there was nothing to compute from.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.staff.urgency import minutes_text

NONE = "–"
BLUE, GREEN, RED, GREY, AMBER, TEAL = (
    "#1a4fc4",
    "#1e6b34",
    "#a4161a",
    "#6b7385",
    "#9a6a00",
    "#0f6f7a",
)
SERIES = (BLUE, AMBER, TEAL, RED, GREEN, GREY)
KIND_COLOURS = {"provider": BLUE, "room": TEAL, "equipment": AMBER}
KINDS = {"provider": "Provider", "room": "Room", "equipment": "Equipment"}
CHANNEL_NAMES = {
    "sms": "SMS",
    "web": "Web chat",
    "slack": "Slack",
    "portal": "Portal",
    "api": "API",
    "fhir": "FHIR",
}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


# --- how figures read --------------------------------------------------------------------------


def count(value: int | None) -> str:
    return NONE if value is None else f"{value:,}"


def percent(rate: float | None) -> str:
    return NONE if rate is None else f"{rate * 100:.1f}%"


def number(value: float | None, unit: str = "") -> str:
    """One decimal (none when it is .0), then the unit: "3.5 days", "850 ms", "2"."""
    if value is None:
        return NONE
    text = f"{value:,.1f}".removesuffix(".0")
    return f"{text} {unit}" if unit else text


def wait_text(minutes: int | None) -> str:
    """ "45 min", "3 h 10 min", "2 days 4 h"; "none free" for nothing within the horizon."""
    return "none free" if minutes is None else minutes_text(minutes)


def hour_text(hour: int) -> str:
    """ "9 AM", "12 PM"."""
    return f"{hour % 12 or 12} {'AM' if hour < 12 else 'PM'}"


def wrapped(name: str, width: int = 20) -> str | list[str]:
    """A chart's label on lines of about `width` characters (Chart.js draws a list as lines), so
    a long name is not cut off on a phone."""
    lines = textwrap.wrap(name, width) or [name]
    return lines[0] if len(lines) == 1 else lines


def share(booked: int, opened: int) -> float | None:
    return round(booked / opened, 4) if opened else None


def pct(rate: float | None) -> float | None:
    """A rate as the charts plot it: a percentage, one decimal."""
    return None if rate is None else round(rate * 100, 1)


# --- what the page is made of --------------------------------------------------------------------


@dataclass
class Cell:
    text: str
    figure: str | None = None
    css: str | None = None


@dataclass
class Table:
    caption: str
    head: list[str]
    rows: list[tuple[str, list[Cell]]]  # (the row's header, its cells)
    long: bool = False  # folded into a <details> (many rows)


@dataclass
class Chart:
    id: str
    label: str  # what it shows, for a screen reader (the table has the numbers)
    config: dict[str, Any]  # `chart`'s: what dashboard.js turns into Chart.js's configuration


@dataclass
class Block:
    title: str
    charts: list[Chart] = field(default_factory=list)
    table: Table | None = None
    csv: list[tuple[str, str]] = field(default_factory=list)  # (CSV section, its link's words)
    empty: bool = False  # no data yet: the charts are left out
    note: str | None = None
    heat: bool = False  # the table is the heat map
    stacked: bool = False  # the table under the chart, not beside it (a wide table)


@dataclass
class Tile:
    label: str
    text: str
    figure: str


@dataclass
class Section:
    id: str
    title: str
    intro: str
    tiles: list[Tile] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)


def chart(
    kind: str,
    labels: Sequence[str | list[str]],
    datasets: list[dict[str, Any]],
    *,
    percent: bool = False,
    horizontal: bool = False,
    stacked: bool = False,
    legend: bool = True,
) -> dict[str, Any]:
    """A chart as dashboard.js reads it: Chart.js's `type` and `data`, and how to draw it
    (values are percentages, bars run sideways, bars stack, a legend)."""
    return {
        "type": kind,
        "data": {"labels": list(labels), "datasets": datasets},
        "percent": percent,
        "horizontal": horizontal,
        "stacked": stacked,
        "legend": legend,
    }


def series(label: str, data: list[Any], colour: str | list[str], **extra: Any) -> dict[str, Any]:
    return {"label": label, "data": data, "backgroundColor": colour, "borderColor": colour, **extra}
