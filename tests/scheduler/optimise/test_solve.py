"""Solutions checked by the independent checker: optimal against brute force on tiny instances,
infeasible requests unserved, the time limit kept, greedy never above CP-SAT, and the CLI."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import pytest

from scheduler.optimise import parse, solve
from tests.scheduler.optimise.builders import instance, request, run_cli, span
from tests.scheduler.optimise.checker import assert_valid


def solved(data: dict, **options) -> dict:
    solution = solve(parse(data), **options).to_json()
    assert_valid(data, solution)
    return solution


def brute_force(data: dict) -> int:
    """The best served weight, by trying every start on the grid with every provider and room."""
    slot = timedelta(minutes=data["slot_minutes"])
    options = []
    for r in data["requests"]:
        mine = []
        length = timedelta(minutes=r["duration_minutes"])
        for w0, w1 in r["windows"]:
            start, end = datetime.fromisoformat(w0), datetime.fromisoformat(w1)
            midnight = start.replace(hour=0, minute=0)
            t = midnight + -((midnight - start) // slot) * slot
            while t + length <= end:
                for p in data["providers"]:
                    ok = r["specialty"] in p["specialties"] and any(
                        datetime.fromisoformat(a) <= t and t + length <= datetime.fromisoformat(b)
                        for a, b in p["available"]
                    )
                    rooms = (
                        [None]
                        if r["room_kind"] is None
                        else [
                            room["id"]
                            for room in data["rooms"]
                            if room["kind"] == r["room_kind"]
                            and any(
                                datetime.fromisoformat(a) <= t
                                and t + length <= datetime.fromisoformat(b)
                                for a, b in room["available"]
                            )
                        ]
                    )
                    if ok:
                        mine += [(t, t + length, p["id"], room) for room in rooms]
                t += slot
        options.append((r["weight"], mine))

    def best(index: int, taken: list) -> int:
        if index == len(options):
            return 0
        weight, mine = options[index]
        top = best(index + 1, taken)
        for start, end, provider, room in mine:
            if all(
                not (start < e and s < end and (provider == p or (room and room == q)))
                for s, e, p, q in taken
            ):
                top = max(top, weight + best(index + 1, [*taken, (start, end, provider, room)]))
        return top

    return best(0, [])


TINY = [
    instance(
        request("q1", 60, 1),
        request("q2", 60, 5, span("08:00", "10:00")),
        request("q3", 30, 10, span("09:00", "10:00")),
        request("q4", 90, 3, span("08:30", "11:00"), room_kind=None),
        request("q5", 45, 4, span("09:00", "11:00"), specialty="cardio", room_kind=None),
    ),
    instance(
        request("a", 60, 2, span("08:00", "09:30")),
        request("b", 45, 3, span("08:00", "10:00")),
        request("c", 60, 4, span("09:00", "11:00")),
        request("d", 30, 1, span("08:00", "11:00")),
    ),
    instance(  # the room is the bottleneck: everyone needs it, two providers
        request("a", 60, 5, span("08:00", "10:00")),
        request("b", 60, 5, span("08:00", "10:00")),
        request("c", 60, 5, span("09:00", "11:00")),
        request("d", 45, 2, span("09:00", "11:00")),
        slot=15,
    ),
]


@pytest.mark.parametrize("data", TINY, ids=["five", "four", "room-bound"])
def test_optimal_against_brute_force(data):
    solution = solved(data, time_limit=10)
    assert solution["status"] == "optimal"
    assert solution["objective"] == brute_force(data)
    greedy = solved(data, greedy_only=True)
    assert greedy["status"] == "greedy"
    assert greedy["objective"] <= solution["objective"]


def test_infeasible_request_is_unserved():
    data = instance(
        request("fits", 30, 1),
        request("window too short", 45, 10, span("08:00", "08:30")),
        request("nobody then", 30, 10, span("11:00", "12:00")),
        request("off grid only", 30, 10, span("08:05", "08:40")),
    )
    solution = solved(data, time_limit=5)
    assert [a["request"] for a in solution["assignments"]] == ["fits"]
    assert solution["objective"] == 1


def test_preferred_window_kept_when_free():
    data = instance(request("q", 30, 1, span("09:30", "10:30"), span("08:00", "09:00")))
    [only] = solved(data, time_limit=5)["assignments"]
    assert only["start"] == "2026-03-02T09:30:00-05:00"


def test_start_written_in_the_window_offset():
    data = instance(request("q", 30, 1, ["2026-03-02T13:00:00Z", "2026-03-02T14:00:00Z"]))
    [only] = solved(data, time_limit=5)["assignments"]
    assert only["start"] == "2026-03-02T13:00:00+00:00"


def test_time_limit_respected():
    """A congested instance CP-SAT cannot prove within the limit: it stops with what it found.

    The bound is loose (two cores shared with the other test worker); the benchmark measures the
    limit at scale. Even 30 s do not prove this instance optimal, so only the limit stops it.
    """
    from bench.bench_optimise import generate

    data = generate(25, 1000, seed=3)
    began = time.monotonic()
    solution = solved(data, time_limit=1.0)
    assert time.monotonic() - began < 1.0 + 6.0
    assert solution["status"] in ("feasible", "greedy")
    greedy = solved(data, greedy_only=True)
    assert solution["objective"] >= greedy["objective"] > 0


def test_cli_prints_a_valid_solution(tmp_path):
    data = TINY[0]
    result = run_cli(tmp_path, data, "--time-limit", "5")
    assert result.returncode == 0, result.stderr
    solution = json.loads(result.stdout)
    assert_valid(data, solution)
    assert solution["status"] == "optimal"
    result = run_cli(tmp_path, data, "--greedy")
    assert result.returncode == 0
    assert json.loads(result.stdout)["status"] == "greedy"
