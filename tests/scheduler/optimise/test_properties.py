"""Hypothesis: small random instances always give valid solutions, CP-SAT never below greedy."""

from __future__ import annotations

from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.optimise import parse, solve
from tests.scheduler.optimise.checker import assert_valid

HOURS = [f"{h:02d}:{m:02d}" for h in range(8, 13) for m in (0, 30)]


def _at(hhmm: str, day: int, offset: str) -> str:
    return f"2026-03-0{2 + day}T{hhmm}:00{offset}"


@st.composite
def spans(draw, offset: str):
    day = draw(st.integers(0, 1))
    a = draw(st.integers(0, len(HOURS) - 2))
    b = draw(st.integers(a + 1, len(HOURS) - 1))
    return [_at(HOURS[a], day, offset), _at(HOURS[b], day, offset)]


@st.composite
def instances(draw):
    offset = draw(st.sampled_from(["-05:00", "+01:00", "Z"]))
    providers = [
        {
            "id": f"p{i}",
            "specialties": draw(st.lists(st.sampled_from(["gp", "cardio"]), min_size=1)),
            "available": draw(st.lists(spans(offset), min_size=1, max_size=3)),
        }
        for i in range(draw(st.integers(1, 3)))
    ]
    rooms = [
        {
            "id": f"r{i}",
            "kind": "exam",
            # one long span, so that every drawn duration fits in some room's availability
            "available": [
                [_at("08:00", 0, offset), _at("12:00", 0, offset)],
                *draw(st.lists(spans(offset), max_size=2)),
            ],
        }
        for i in range(draw(st.integers(1, 2)))
    ]
    longest = min(
        max(
            (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds() // 60
            for a, b in p["available"]
        )
        for p in providers
    )
    specialties = sorted({s for p in providers for s in p["specialties"]})
    requests = [
        {
            "id": f"q{i}",
            "duration_minutes": draw(st.sampled_from([15, 30, 45, 60])) if longest >= 60 else 15,
            "specialty": draw(st.sampled_from(specialties)),
            "room_kind": draw(st.sampled_from(["exam", None])),
            "equipment_kind": None,
            "weight": draw(st.sampled_from([1, 5, 10])),
            "windows": draw(st.lists(spans(offset), min_size=1, max_size=2)),
        }
        for i in range(draw(st.integers(0, 6)))
    ]
    return {
        "slot_minutes": draw(st.sampled_from([15, 20, 30])),
        "providers": providers,
        "rooms": rooms,
        "equipment": [],
        "requests": requests,
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_random_instances(data):
    model = parse(data)
    best = solve(model, time_limit=2).to_json()
    greedy = solve(model, greedy_only=True).to_json()
    assert_valid(data, best)
    assert_valid(data, greedy)
    assert greedy["objective"] <= best["objective"]
