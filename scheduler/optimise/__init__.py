"""Batch assignment: pending requests to start times, providers, rooms and equipment (issue 18).

    instance.py   the JSON of `../shared/INTERFACE.md` ("Batch assignment instances") read and
                  validated into dataclasses; `InstanceError` names the bad field
    model.py      the solution, and the instance in whole seconds with each request's candidate
                  grid starts and eligible holders
    greedy.py     weight-per-minute first (the fallback and hint) and first-come-first-served
    cpsat.py      the OR-Tools CP-SAT model: served weight, then preferred windows, then early
                  starts (fewer idle gaps)
    __main__.py   `python -m scheduler.optimise INSTANCE.json [--time-limit S] [--greedy]`

`solve` returns the better of CP-SAT and the weight-first greedy pass by served weight (CP-SAT on a
tie): status "optimal" when CP-SAT proved its solution optimal, "feasible" when it ran out of time,
"greedy" when it found nothing better than the greedy pass or was not asked (`greedy_only`).
"""

from __future__ import annotations

import time

from .greedy import Placement, served_weight, weight_first
from .instance import Instance, InstanceError, load, loads, parse
from .model import Assignment, Problem, Solution, prepare

__all__ = [
    "Assignment",
    "Instance",
    "InstanceError",
    "Solution",
    "load",
    "loads",
    "parse",
    "solve",
]


def solve(instance: Instance, time_limit: float = 10.0, greedy_only: bool = False) -> Solution:
    """The best assignment found within about `time_limit` seconds (wall clock, all included)."""
    began = time.monotonic()
    problem = prepare(instance)
    greedy = weight_first(problem)
    fallback = _solution(problem, "greedy", greedy)
    if greedy_only or not problem.jobs:
        return fallback
    from .cpsat import solve_cpsat  # OR-Tools loads in a fraction of a second; only when needed

    remaining = time_limit - (time.monotonic() - began)
    result = solve_cpsat(problem, greedy, deadline=began + time_limit, budget=remaining)
    if result.placements is None or served_weight(result.placements) < fallback.objective:
        return Solution("greedy", fallback.objective, fallback.assignments, result.notes)
    status = "optimal" if result.optimal else "feasible"
    found = _solution(problem, status, result.placements)
    return Solution(found.status, found.objective, found.assignments, result.notes)


def _solution(problem: Problem, status: str, placements: list[Placement]) -> Solution:
    ordered = sorted(placements, key=lambda p: p.job.index)
    return Solution(
        status,
        served_weight(ordered),
        tuple(
            problem.assignment(p.job, p.candidate, p.provider, p.room, p.equipment) for p in ordered
        ),
    )
