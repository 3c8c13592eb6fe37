"""The dashboard's figures as CSV, one section at a time (`/portal/dashboard.csv?section=...`):
the same numbers as `GET /api/v1/analytics` (rates as fractions, minutes and counts as they
are), a header row of the JSON's own keys, then one row per item. Aggregates only: no patient is
named anywhere in the figures.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from typing import Any

Rows = list[list[Any]]


def _listed(columns: str, key: str, *path: str) -> Callable[[dict[str, Any]], Rows]:
    """A list of dicts (figures[key], or deeper along `path`): the `columns` (the JSON's keys,
    space-separated: the header row even when there are no items), then one row per item."""
    names = columns.split()

    def rows(figures: dict[str, Any]) -> Rows:
        items = figures[key]
        for part in path:
            items = items[part]
        return [names, *([item[c] for c in names] for item in items)]

    return rows


def _figures(*parts: tuple[str, str]) -> Callable[[dict[str, Any]], Rows]:
    """Named figures, one row each: (`prefix`, key) picks figures[key] when it is a number, or
    each of its numbers (not lists or dicts) as `prefix.name`."""

    def rows(figures: dict[str, Any]) -> Rows:
        found: Rows = [["figure", "value"]]
        for prefix, key in parts:
            value = figures[key]
            if isinstance(value, dict):
                found.extend(
                    [f"{prefix}.{name}" if prefix else name, inner]
                    for name, inner in value.items()
                    if not isinstance(inner, dict | list)
                )
            else:
                found.append([key, value])
        return found

    return rows


def _keyed(columns: str, key: str, *path: str) -> Callable[[dict[str, Any]], Rows]:
    """A dict of dicts (figures[key], or deeper): the first of `columns` is the outer key, the
    others the inner dicts' keys."""
    name, *inner = columns.split()

    def rows(figures: dict[str, Any]) -> Rows:
        items = figures[key]
        for part in path:
            items = items[part]
        return [[name, *inner], *([k, *(v[c] for c in inner)] for k, v in items.items())]

    return rows


def _channels(figures: dict[str, Any]) -> Rows:
    return [["channel", "bookings"], *([k, v] for k, v in figures["channels"].items())]


SECTIONS: dict[str, Callable[[dict[str, Any]], Rows]] = {
    "appointments": _figures(
        ("", "appointments"),
        ("", "no_show_rate"),
        ("", "late_cancellations"),
        ("lead_time_days", "lead_time_days"),
    ),
    "no_show_trend": _listed("week fulfilled noshow rate", "no_show_trend"),
    "utilisation": _listed("kind id name booked_minutes open_minutes rate", "utilisation"),
    "utilisation_by_day": _listed("date kind id booked_minutes open_minutes", "utilisation_by_day"),
    "heatmap": _listed("weekday hour booked_minutes open_minutes rate", "heatmap"),
    "next_available": _listed("appointment_type name start wait_minutes", "next_available"),
    "waiting": _keyed("priority requests median_minutes p90_minutes", "waiting"),
    "reminders": _figures(("", "reminders")),
    "waitlist": _figures(("", "waitlist")),
    "channels": _channels,
    "conversations": _figures(("", "conversations")),
    "llm": _figures(("", "llm")),
    "llm_by_day": _listed("date bedrock local input_tokens output_tokens", "llm", "by_day"),
    "llm_by_engine": _keyed("engine turns latency_ms_p50 latency_ms_p95", "llm", "by_engine"),
}


def _cell(value: Any) -> Any:
    """A value as a spreadsheet must not read it as a formula (a name starting with = + - @)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def as_csv(section: str, figures: dict[str, Any]) -> str:
    """The section's rows as CSV text (`section` one of SECTIONS)."""
    body = io.StringIO()
    writer = csv.writer(body, lineterminator="\r\n")
    rows: Iterable[list[Any]] = SECTIONS[section](figures)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return body.getvalue()
