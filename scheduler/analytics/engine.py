"""Whether the assistant helps and is healthy, from `engine_turns` (one row per patient turn,
written in the turn's transaction): conversations that ended in a booking, turns per booking,
hand-offs to staff; turns served by Bedrock and by the local engine, fallbacks, errors, latency
p50/p95 and tokens, in all and per day. The channel filter applies; provider and type do not (a
turn has neither).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from ..models import EngineTurn
from ..sqlfuncs import count_if, sum_of
from .period import Period
from .ranks import percentiles
from .visits import rate


def _turns(period: Period) -> list[ColumnElement[bool]]:
    # By the stored local date (the range's dates are local too): answered from the index on
    # (day, engine, channel, ...) alone, no time zone arithmetic per row (migration 0016).
    conditions: list[ColumnElement[bool]] = [EngineTurn.day.between(period.first, period.last)]
    if period.filters.channel is not None:
        conditions.append(EngineTurn.channel == period.filters.channel)
    return conditions


def conversations(db: Session, period: Period) -> dict[str, Any]:
    """A conversation is one person's turns on one channel on one day (`EngineTurn.conversation`)."""
    each = (
        select(
            func.count().label("turns"),
            func.max(case((EngineTurn.outcome == "booked", 1), else_=0)).label("booked"),
            func.max(case((EngineTurn.outcome == "handoff", 1), else_=0)).label("handoff"),
        )
        .where(*_turns(period))
        .group_by(EngineTurn.conversation)
        .subquery()
    )
    total, booked, booking_turns, handoffs = db.execute(
        select(
            func.count(),
            sum_of(each.c.booked),
            sum_of(case((each.c.booked == 1, each.c.turns), else_=0)),
            sum_of(each.c.handoff),
        )
    ).one()
    return {
        "total": int(total),
        "ended_in_booking": int(booked),
        "booking_rate": rate(int(booked), int(total)),
        "turns_per_booking": None if not booked else round(int(booking_turns) / int(booked), 2),
        "handoffs": int(handoffs),
    }


def llm(db: Session, period: Period) -> dict[str, Any]:
    """The language engine per day and engine (turns, fallbacks, errors, tokens) in one
    statement, the totals their sums; latency p50 and p95 in all and per engine in one more."""
    rows = db.execute(
        select(
            EngineTurn.day,
            EngineTurn.engine,
            func.count(),
            count_if(EngineTurn.fallback.is_(True)),
            count_if(EngineTurn.error.is_not(None)),
            sum_of(EngineTurn.input_tokens),
            sum_of(EngineTurn.output_tokens),
        )
        .where(*_turns(period))
        .group_by(EngineTurn.day, EngineTurn.engine)
        .order_by(EngineTurn.day)
    ).all()
    turns: dict[str, int] = defaultdict(int)
    days: dict[date, dict[str, int]] = {}
    for on, engine, n, _, _, into, out in rows:
        turns[engine] += int(n)
        each = days.setdefault(on, {"bedrock": 0, "local": 0, "input": 0, "output": 0})
        each["bedrock" if engine == "bedrock" else "local"] += int(n)
        each["input"] += int(into)
        each["output"] += int(out)
    latency = select(EngineTurn.latency_ms.label("value"), EngineTurn.engine.label("part")).where(
        *_turns(period)
    )
    ranked = percentiles(db, latency, 50, 95, overall=True, counts=dict(turns))
    _, (p50, p95) = ranked.pop(None, (0, [None, None]))
    total = sum(turns.values())
    return {
        "turns": total,
        "bedrock_turns": turns["bedrock"],
        "local_turns": total - turns["bedrock"],
        "fallbacks": sum(int(row[3]) for row in rows),
        "errors": sum(int(row[4]) for row in rows),
        "latency_ms_p50": _ms(p50),
        "latency_ms_p95": _ms(p95),
        "input_tokens": sum(each["input"] for each in days.values()),
        "output_tokens": sum(each["output"] for each in days.values()),
        "by_engine": {
            engine: {"turns": n, "latency_ms_p50": _ms(e50), "latency_ms_p95": _ms(e95)}
            for engine, (n, (e50, e95)) in sorted(ranked.items())
        },
        "by_day": [
            {
                "date": on.isoformat(),
                "bedrock": each["bedrock"],
                "local": each["local"],
                "input_tokens": each["input"],
                "output_tokens": each["output"],
            }
            for on, each in days.items()
        ],
    }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)
