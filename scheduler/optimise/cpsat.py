"""The CP-SAT model (OR-Tools `ortools.sat.python.cp_model`).

Per request (job): a start variable whose domain is the job's candidate grid starts (model.py) and
a `served` literal; per eligible provider (room, piece of equipment) an optional fixed-size interval
at that start, present when that holder is chosen, exactly one per needed kind when served. Each
holder has one `AddNoOverlap` over its optional intervals and fixed intervals covering the times it
is unavailable, so a chosen holder is free and available for the whole visit.

The objective is lexicographic, by scaling: served weight first (a coefficient larger than all
lower terms together), then the number of requests served in their first window (the preferred
one, by the format's convention), then earliness — each start's distance from the request's
earliest candidate — which packs visits towards the start of the availability and so leaves fewer
idle gaps between them. Time is counted in the largest unit that divides every start, duration and
availability boundary (usually the slot), which keeps the coefficients small.

Scale: if the candidates number more than `MAX_STARTS` in all, each job keeps every k-th of them
(a k times coarser grid, still on the slot grid) plus its greedy start, and a note says so. The
solver gets the weight-first greedy solution as a hint, `num_workers = 2` and what is left of the
time limit after building the model.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from ortools.sat.python import cp_model

from .greedy import Placement
from .model import Candidate, Holder, Job, Problem

MAX_STARTS = 200_000
"""Candidate starts, over all jobs, beyond which the grid is thinned."""

WORKERS = 2


@dataclass(frozen=True)
class Result:
    placements: list[Placement] | None
    """None when CP-SAT found no solution in time."""
    optimal: bool
    notes: tuple[str, ...]


@dataclass
class _Choice:
    """A job's alternatives for one kind of holder: (holder index, presence literal)."""

    options: list[tuple[int, cp_model.IntVar]]

    def chosen(self, solver: cp_model.CpSolver) -> int:
        return next(index for index, literal in self.options if solver.boolean_value(literal))


@dataclass
class _Variables:
    job: Job
    start: cp_model.IntVar
    served: cp_model.IntVar
    by_start: dict[int, Candidate]
    kinds: tuple[_Choice, _Choice | None, _Choice | None]
    preferred: cp_model.IntVar | None
    """A literal of its own when the job has preferred and other starts; else None."""


def solve_cpsat(
    problem: Problem, hint: list[Placement], *, deadline: float, budget: float
) -> Result:
    notes: list[str] = []
    hinted = {p.job.index: p for p in hint}
    jobs = [job for job in problem.jobs if _placeable(job)]
    if not jobs:
        return Result([], True, ("no request has a feasible start",))
    total = sum(len(job.candidates) for job in jobs)
    every = max(1, math.ceil(total / MAX_STARTS))
    if every > 1:
        notes.append(
            f"{total} candidate starts: CP-SAT kept every {every}th start of each request"
            f" (a {every * problem.instance.slot_minutes}-minute grid) plus the greedy start"
        )
    kept = {
        job.index: _thinned(job, every, hinted.get(job.index)) for job in jobs
    }  # sorted by start
    origin = min(c.start for cands in kept.values() for c in cands)
    horizon = max(c.start + job.duration for job in jobs for c in kept[job.index][-1:])
    unit = _unit(problem, jobs, kept, origin, horizon)

    model = cp_model.CpModel()
    intervals: tuple[dict[int, list[cp_model.IntervalVar]], ...] = ({}, {}, {})
    holders = (problem.providers, problem.rooms, problem.equipment)
    variables: list[_Variables] = []
    weight_terms, preferred_terms, early_terms = [], [], []
    spread = 0
    for job in jobs:
        cands = kept[job.index]
        values = [(c.start - origin) // unit for c in cands]
        size = job.duration // unit
        start = model.new_int_var_from_domain(cp_model.Domain.from_values(values), f"s{job.index}")
        served = model.new_bool_var(f"x{job.index}")
        kinds: list[_Choice | None] = []
        for kind, eligible in enumerate((job.providers, job.rooms, job.equipment)):
            if eligible is None:
                kinds.append(None)
                continue
            options = []
            for holder in eligible:
                literal = served if len(eligible) == 1 else model.new_bool_var("")
                interval = model.new_optional_fixed_size_interval_var(start, size, literal, "")
                intervals[kind].setdefault(holder, []).append(interval)
                options.append((holder, literal))
            if len(eligible) > 1:
                model.add(sum(literal for _, literal in options) == served)
            kinds.append(_Choice(options))
        first = [v for v, c in zip(values, cands, strict=True) if c.window == 0]
        preferred = None
        if first and len(first) < len(values):
            preferred = model.new_bool_var("")
            model.add(preferred <= served)
            model.add_linear_expression_in_domain(
                start, cp_model.Domain.from_values(first)
            ).only_enforce_if(preferred)
            preferred_terms.append(preferred)
        elif first:
            preferred_terms.append(served)
        early_terms.append((start, values[0]))
        spread += values[-1] - values[0]
        weight_terms.append((job.weight, served))
        provider_choice = kinds[0]
        assert provider_choice is not None
        variables.append(
            _Variables(
                job,
                start,
                served,
                dict(zip(values, cands, strict=True)),
                (provider_choice, kinds[1], kinds[2]),
                preferred,
            )
        )
    for kind, by_holder in enumerate(intervals):
        for holder, items in by_holder.items():
            blocked = _unavailable(holders[kind][holder], origin, horizon, unit)
            model.add_no_overlap(
                items + [model.new_fixed_size_interval_var(s, e - s, "") for s, e in blocked]
            )
    # served weight >> preferred windows >> earliness: each coefficient exceeds all below it
    preferred_scale = spread + 1
    weight_scale = preferred_scale * (len(preferred_terms) + 1)
    model.maximize(
        weight_scale * sum(w * x for w, x in weight_terms)
        + preferred_scale * sum(preferred_terms)
        - sum(s - low for s, low in early_terms)
    )
    _hint(model, variables, hinted, origin, unit)

    # leave time to read the solution back and write it (about 0.1 s per 1,000 requests)
    left = min(budget, deadline - time.monotonic()) - 0.05 - len(jobs) / 10_000
    if left <= 0.05:
        notes.append("no time left for CP-SAT after building its model")
        return Result(None, False, tuple(notes))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = left
    solver.parameters.num_workers = WORKERS
    # probing in presolve alone can take the whole limit on 20,000 optional intervals
    solver.parameters.cp_model_probing_level = 0
    # dual reductions in presolve may cut the hinted greedy solution off; keep it reachable
    solver.parameters.keep_all_feasible_solutions_in_presolve = True
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        notes.append(f"CP-SAT found no solution ({solver.status_name(status)})")
        return Result(None, False, tuple(notes))
    placements = []
    for item in variables:
        if not solver.boolean_value(item.served):
            continue
        provider, room, equipment = item.kinds
        placements.append(
            Placement(
                item.job,
                item.by_start[solver.value(item.start)],
                provider.chosen(solver),
                None if room is None else room.chosen(solver),
                None if equipment is None else equipment.chosen(solver),
            )
        )
    # the status says whether the *thinned* model was solved to optimality
    optimal = status == cp_model.OPTIMAL and every == 1
    return Result(placements, optimal, tuple(notes))


def _placeable(job: Job) -> bool:
    return bool(job.candidates and job.providers) and all(
        needed is None or needed for needed in (job.rooms, job.equipment)
    )


def _thinned(job: Job, every: int, hinted: Placement | None) -> list[Candidate]:
    if every == 1:
        return job.candidates
    kept = job.candidates[::every]
    if hinted is not None and hinted.candidate not in kept:
        kept = sorted([*kept, hinted.candidate], key=lambda c: c.start)
    return kept


def _unit(
    problem: Problem,
    jobs: list[Job],
    kept: dict[int, list[Candidate]],
    origin: int,
    horizon: int,
) -> int:
    """The largest number of seconds dividing every time the model holds, relative to `origin`."""
    unit = 0
    for job in jobs:
        unit = math.gcd(unit, job.duration)
        for candidate in kept[job.index]:
            unit = math.gcd(unit, candidate.start - origin)
    for group in (problem.providers, problem.rooms, problem.equipment):
        for holder in group:
            for start, end in holder.available:
                for point in (start, end):
                    if origin < point < horizon:
                        unit = math.gcd(unit, point - origin)
    return max(unit, 1)


def _unavailable(holder: Holder, origin: int, horizon: int, unit: int) -> list[tuple[int, int]]:
    """The times in [origin, horizon) the holder is not available, in units from `origin`."""
    gaps, cursor = [], origin
    for start, end in holder.available:
        if start > cursor:
            gaps.append((cursor, min(start, horizon)))
        cursor = max(cursor, end)
        if cursor >= horizon:
            break
    if cursor < horizon:
        gaps.append((cursor, horizon))
    return [((s - origin) // unit, (e - origin) // unit) for s, e in gaps if e > s]


def _hint(
    model: cp_model.CpModel,
    variables: list[_Variables],
    hinted: dict[int, Placement],
    origin: int,
    unit: int,
) -> None:
    """The greedy solution, every variable given (a complete hint is repaired fastest)."""
    for item in variables:
        placed = hinted.get(item.job.index)
        start = (placed.candidate.start - origin) // unit if placed else min(item.by_start)
        model.add_hint(item.start, start)
        model.add_hint(item.served, placed is not None)
        if item.preferred is not None:
            model.add_hint(item.preferred, placed is not None and item.by_start[start].window == 0)
        chosen = (placed.provider, placed.room, placed.equipment) if placed else (None, None, None)
        for choice, holder in zip(item.kinds, chosen, strict=True):
            if choice is None or len(choice.options) == 1:
                continue
            for index, literal in choice.options:
                model.add_hint(literal, index == holder)
