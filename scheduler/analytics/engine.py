"""Whether the assistant helps and is healthy, from `engine_turns` (one row per patient turn,
written in the turn's transaction): conversations that ended in a booking, turns per booking,
hand-offs to staff; turns served by Bedrock and by the local engine, fallbacks, errors, latency
p50/p95 and tokens, in all and per day. The channel filter applies; provider and type do not (a
turn has neither).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ..models import EngineTurn
from .period import Period, percentiles
from .visits import rate


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _turns(period: Period) -> list[Any]:
    conditions = [period.within(EngineTurn.at)]
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
            func.coalesce(func.sum(each.c.booked), 0),
            func.coalesce(func.sum(case((each.c.booked == 1, each.c.turns), else_=0)), 0),
            func.coalesce(func.sum(each.c.handoff), 0),
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
    bedrock = EngineTurn.engine == "bedrock"
    turns, on_bedrock, fallbacks, errors, input_tokens, output_tokens = db.execute(
        select(
            func.count(),
            _count(bedrock),
            _count(EngineTurn.fallback.is_(True)),
            _count(EngineTurn.error.is_not(None)),
            func.coalesce(func.sum(EngineTurn.input_tokens), 0),
            func.coalesce(func.sum(EngineTurn.output_tokens), 0),
        ).where(*_turns(period))
    ).one()
    latency = select(EngineTurn.latency_ms.label("value")).where(*_turns(period))
    p50, p95, _ = db.execute(percentiles(latency, 50, 95)).one()
    by_engine = {
        part: {"turns": int(n), "latency_ms_p50": _ms(e50), "latency_ms_p95": _ms(e95)}
        for e50, e95, n, part in db.execute(
            percentiles(latency.add_columns(EngineTurn.engine.label("part")), 50, 95)
        )
    }
    day = period.local_day(EngineTurn.at)
    by_day = [
        {
            "date": period.day_of(number).isoformat(),
            "bedrock": int(b),
            "local": int(n) - int(b),
            "input_tokens": int(i),
            "output_tokens": int(o),
        }
        for number, n, b, i, o in db.execute(
            select(
                day,
                func.count(),
                _count(bedrock),
                func.coalesce(func.sum(EngineTurn.input_tokens), 0),
                func.coalesce(func.sum(EngineTurn.output_tokens), 0),
            )
            .where(*_turns(period))
            .group_by(day)
            .order_by(day)
        )
    ]
    return {
        "turns": int(turns),
        "bedrock_turns": int(on_bedrock),
        "local_turns": int(turns) - int(on_bedrock),
        "fallbacks": int(fallbacks),
        "errors": int(errors),
        "latency_ms_p50": _ms(p50),
        "latency_ms_p95": _ms(p95),
        "input_tokens": int(input_tokens),
        "output_tokens": int(output_tokens),
        "by_engine": by_engine,
        "by_day": by_day,
    }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)
