"""The greedy passes: one request at a time, each at its earliest feasible grid start with the first
eligible provider, room and piece of equipment free then, never moved afterwards.

    weight_first   highest weight per minute first (ties: input order) — the fallback, and the
                   hint CP-SAT starts from
    first_come     input order — the first-come-first-served baseline
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from .model import Candidate, Holder, Job, Problem


@dataclass(frozen=True)
class Placement:
    """A job placed: the candidate start and the chosen holders (indexes into the problem)."""

    job: Job
    candidate: Candidate
    provider: int
    room: int | None
    equipment: int | None


class Calendar:
    """The visits already placed on one holder: sorted, disjoint [start, end) intervals."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def free(self, start: int, end: int) -> bool:
        index = bisect_right(self.starts, start)
        if index > 0 and self.ends[index - 1] > start:
            return False
        return index == len(self.starts) or self.starts[index] >= end

    def book(self, start: int, end: int) -> None:
        index = bisect_right(self.starts, start)
        self.starts.insert(index, start)
        self.ends.insert(index, end)


def weight_first_order(problem: Problem) -> list[Job]:
    return sorted(problem.jobs, key=lambda j: (-j.weight / j.duration, j.index))


def weight_first(problem: Problem) -> list[Placement]:
    return place(problem, weight_first_order(problem))


def first_come(problem: Problem) -> list[Placement]:
    return place(problem, problem.jobs)


def place(problem: Problem, order: Sequence[Job]) -> list[Placement]:
    """Each job in turn at its earliest start where holders of every needed kind are free."""
    calendars = (
        [Calendar() for _ in problem.providers],
        [Calendar() for _ in problem.rooms],
        [Calendar() for _ in problem.equipment],
    )
    placed: list[Placement] = []
    for job in order:
        found = _earliest(problem, job, calendars)
        if found is None:
            continue
        placed.append(found)
        end = found.candidate.start + job.duration
        for calendar, chosen in zip(
            calendars, (found.provider, found.room, found.equipment), strict=True
        ):
            if chosen is not None:
                calendar[chosen].book(found.candidate.start, end)
    return placed


def _earliest(
    problem: Problem, job: Job, calendars: tuple[list[Calendar], list[Calendar], list[Calendar]]
) -> Placement | None:
    providers, rooms, items = calendars
    for candidate in job.candidates:
        start, end = candidate.start, candidate.start + job.duration
        provider = _first(job.providers, problem.providers, providers, start, end)
        if provider is None:
            continue
        room = item = None
        if job.rooms is not None:
            room = _first(job.rooms, problem.rooms, rooms, start, end)
            if room is None:
                continue
        if job.equipment is not None:
            item = _first(job.equipment, problem.equipment, items, start, end)
            if item is None:
                continue
        return Placement(job, candidate, provider, room, item)
    return None


def _first(
    eligible: list[int], holders: list[Holder], calendars: list[Calendar], start: int, end: int
) -> int | None:
    for index in eligible:
        if holders[index].coverage.covers(start, end) and calendars[index].free(start, end):
            return index
    return None


def served_weight(placements: Sequence[Placement]) -> int:
    return sum(p.job.weight for p in placements)
