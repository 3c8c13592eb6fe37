"""The dashboard's sections on reaching patients, from `scheduler.analytics.dashboard`'s
dictionary: reminders (sent, delivered, failed, the answers C, R and X, no-shows of reminded and
not-reminded visits), the waitlist's offers, bookings by channel and the conversations, and the
language engine (turns on Bedrock and local by day, fallbacks, errors, latency, tokens).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from .dashboard_parts import (
    AMBER,
    BLUE,
    CHANNEL_NAMES,
    GREEN,
    GREY,
    RED,
    TEAL,
    Block,
    Cell,
    Chart,
    Section,
    Table,
    Tile,
    chart,
    count,
    number,
    percent,
    series,
)
from .shared import short_day

ENGINES = {"bedrock": "Bedrock (the model)", "local": "Local dialogue"}


def reminders(figures: dict[str, Any]) -> Section:
    sent = figures["reminders"]
    bars = [
        ("Sent", "sent", BLUE),
        ("Delivered", "delivered", GREEN),
        ("Failed", "failed", RED),
        ("Confirmed (C)", "confirmed", TEAL),
        ("Asked to move (R)", "rescheduled_by_reply", AMBER),
        ("Cancelled (X)", "cancelled_by_reply", GREY),
    ]
    return Section(
        "reminders",
        "Reminders",
        "Reminders due in these dates, delivery reports that came in these dates, and what "
        "patients of these dates' visits answered.",
        tiles=[
            Tile(
                "No-show rate, reminded",
                percent(sent["no_show_rate_reminded"]),
                "reminders.no_show_rate_reminded",
            ),
            Tile(
                "No-show rate, not reminded",
                percent(sent["no_show_rate_not_reminded"]),
                "reminders.no_show_rate_not_reminded",
            ),
        ],
        blocks=[
            Block(
                "Reminders sent and answered",
                [
                    Chart(
                        "reminders",
                        "Reminders sent, delivered and failed, and the answers",
                        chart(
                            "bar",
                            [name for name, _, _ in bars],
                            [
                                series(
                                    "Reminders",
                                    [sent[key] for _, key, _ in bars],
                                    [colour for _, _, colour in bars],
                                )
                            ],
                            horizontal=True,
                            legend=False,
                        ),
                    )
                ],
                Table(
                    "Reminders and answers",
                    ["Reminders", "Number"],
                    [(name, [Cell(count(sent[key]), f"reminders.{key}")]) for name, key, _ in bars],
                ),
                [("reminders", "Reminders (CSV)")],
                empty=not any(sent[key] for _, key, _ in bars),
            )
        ],
    )


def waitlist(figures: dict[str, Any]) -> Section:
    offers = figures["waitlist"]
    return Section(
        "waitlist",
        "Waitlist",
        "Freed times offered to waiting patients in these dates, and how many were taken.",
        tiles=[
            Tile("Offers sent", count(offers["offers"]), "waitlist.offers"),
            Tile("Freed times offered", count(offers["freed_times"]), "waitlist.freed_times"),
            Tile("Filled", count(offers["filled"]), "waitlist.filled"),
            Tile("Fill rate", percent(offers["fill_rate"]), "waitlist.fill_rate"),
            Tile(
                "Time to fill, median",
                number(offers["median_minutes_to_fill"], "min"),
                "waitlist.median_minutes_to_fill",
            ),
            Tile(
                "Minutes won back", count(offers["minutes_won_back"]), "waitlist.minutes_won_back"
            ),
        ],
        blocks=[Block("", csv=[("waitlist", "Waitlist (CSV)")])],
    )


def channels(figures: dict[str, Any]) -> Section:
    booked = figures["channels"]
    talks = figures["conversations"]
    names = [CHANNEL_NAMES.get(key, key) for key in booked]
    return Section(
        "channels",
        "Channels and conversations",
        "Bookings made in these dates (whenever the visit is), by where they were made; "
        "patients' conversations with the assistant (one person, one channel, one day).",
        tiles=[
            Tile("Conversations", count(talks["total"]), "conversations.total"),
            Tile(
                "Ended in a booking",
                count(talks["ended_in_booking"]),
                "conversations.ended_in_booking",
            ),
            Tile("Booking rate", percent(talks["booking_rate"]), "conversations.booking_rate"),
            Tile(
                "Turns per booking",
                number(talks["turns_per_booking"], ""),
                "conversations.turns_per_booking",
            ),
            Tile("Handed to staff", count(talks["handoffs"]), "conversations.handoffs"),
        ],
        blocks=[
            Block(
                "Bookings by channel",
                [
                    Chart(
                        "channels",
                        "Bookings by channel",
                        chart(
                            "bar",
                            names,
                            [series("Bookings", list(booked.values()), BLUE)],
                            legend=False,
                        ),
                    )
                ],
                Table(
                    "Bookings made in these dates, by channel",
                    ["Channel", "Bookings"],
                    [
                        (name, [Cell(count(n), f"channels.{key}")])
                        for name, (key, n) in zip(names, booked.items(), strict=True)
                    ],
                ),
                [("channels", "Channels (CSV)"), ("conversations", "Conversations (CSV)")],
                empty=not booked,
            )
        ],
    )


def engine(figures: dict[str, Any]) -> Section:
    llm = figures["llm"]
    days = llm["by_day"]
    labels = [short_day(date.fromisoformat(d["date"])) for d in days]
    turns_chart = Chart(
        "engine-turns",
        "Patient turns per day, answered by Bedrock and by the local dialogue",
        chart(
            "bar",
            labels,
            [
                series("Bedrock", [d["bedrock"] for d in days], BLUE),
                series("Local", [d["local"] for d in days], AMBER),
            ],
            stacked=True,
        ),
    )
    tokens_chart = Chart(
        "engine-tokens",
        "The model's tokens per day, in and out",
        chart(
            "line",
            labels,
            [
                series("Input tokens", [d["input_tokens"] for d in days], TEAL),
                series("Output tokens", [d["output_tokens"] for d in days], RED),
            ],
        ),
    )
    day_table = Table(
        "Turns and tokens by day",
        ["Day", "Bedrock turns", "Local turns", "Input tokens", "Output tokens"],
        [
            (
                label,
                [
                    Cell(count(d["bedrock"]), f"llm.by_day.{d['date']}.bedrock"),
                    Cell(count(d["local"]), f"llm.by_day.{d['date']}.local"),
                    Cell(count(d["input_tokens"])),
                    Cell(count(d["output_tokens"])),
                ],
            )
            for d, label in zip(days, labels, strict=True)
        ],
        long=len(days) > 7,
    )
    engines = Table(
        "Latency by engine",
        ["Engine", "Turns", "Median", "95th percentile"],
        [
            (
                ENGINES.get(name, name),
                [
                    Cell(count(e["turns"]), f"llm.by_engine.{name}.turns"),
                    Cell(number(e["latency_ms_p50"], "ms")),
                    Cell(number(e["latency_ms_p95"], "ms")),
                ],
            )
            for name, e in sorted(llm["by_engine"].items())
        ],
    )
    return Section(
        "engine",
        "The language engine",
        "Patients' turns in these dates: which engine answered, how often the local dialogue "
        "stood in for the model, how long a turn took and the model's tokens.",
        tiles=[
            Tile("Turns", count(llm["turns"]), "llm.turns"),
            Tile("On Bedrock", count(llm["bedrock_turns"]), "llm.bedrock_turns"),
            Tile("Local", count(llm["local_turns"]), "llm.local_turns"),
            Tile("Fallbacks", count(llm["fallbacks"]), "llm.fallbacks"),
            Tile("Errors", count(llm["errors"]), "llm.errors"),
            Tile("Latency, median", number(llm["latency_ms_p50"], "ms"), "llm.latency_ms_p50"),
            Tile("Latency, 95th pct.", number(llm["latency_ms_p95"], "ms"), "llm.latency_ms_p95"),
            Tile("Input tokens", count(llm["input_tokens"]), "llm.input_tokens"),
            Tile("Output tokens", count(llm["output_tokens"]), "llm.output_tokens"),
        ],
        blocks=[
            Block(
                "Turns and tokens per day",
                [turns_chart, tokens_chart],
                day_table,
                [("llm", "Language engine (CSV)"), ("llm_by_day", "By day (CSV)")],
                empty=not days,
                stacked=True,
            ),
            Block(
                "By engine",
                table=engines,
                csv=[("llm_by_engine", "By engine (CSV)")],
                empty=not llm["by_engine"],
            ),
        ],
    )
