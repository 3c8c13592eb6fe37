"""What the solvers share: the solution, and the instance turned into whole seconds.

Times are integer seconds since the Unix epoch. A request's candidate starts are the points of
its windows' grids (every `slot_minutes` from local midnight, in the offset of the window's start,
which is also the offset the start is written with) such that the visit ends inside the same
window and some single provider with the specialty — and, when needed, some single room and piece
of equipment of the kinds — is available for the whole visit. A start reachable from several
windows keeps the first of them (the first window is the preferred one).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from .instance import Instance, Request, Span

DAY = 86_400


@dataclass(frozen=True)
class Assignment:
    request: str
    start: datetime
    provider: str
    room: str | None
    equipment: str | None

    def to_json(self) -> dict[str, object]:
        return {
            "request": self.request,
            "start": self.start.isoformat(),
            "provider": self.provider,
            "room": self.room,
            "equipment": self.equipment,
        }


@dataclass(frozen=True)
class Solution:
    """`status`: "optimal" (proven), "feasible" (CP-SAT, not proven) or "greedy"."""

    status: str
    objective: int
    assignments: tuple[Assignment, ...]
    notes: tuple[str, ...] = ()
    """What the solver simplified (a thinned grid) or why it fell back; not part of the JSON."""

    def to_json(self) -> dict[str, object]:
        return {
            "status": self.status,
            "objective": self.objective,
            "assignments": [a.to_json() for a in self.assignments],
        }


class Coverage:
    """Does one of these intervals contain [start, end)? Logarithmic, for many intervals."""

    def __init__(self, intervals: Iterable[tuple[int, int]]) -> None:
        ordered = sorted(intervals)
        self.starts = [s for s, _ in ordered]
        self.reach: list[int] = []
        furthest = -(2**62)
        for _, end in ordered:
            furthest = max(furthest, end)
            self.reach.append(furthest)

    def covers(self, start: int, end: int) -> bool:
        index = bisect_right(self.starts, start) - 1
        return index >= 0 and self.reach[index] >= end


@dataclass
class Holder:
    """A provider, room or piece of equipment: its id and when it is available (merged)."""

    id: str
    available: list[tuple[int, int]]
    coverage: Coverage = field(init=False)

    def __post_init__(self) -> None:
        self.coverage = Coverage(self.available)


@dataclass(frozen=True)
class Candidate:
    start: int
    window: int
    zone: tzinfo


@dataclass
class Job:
    """One request, ready for the solvers: eligible holders are indexes into the problem's lists;
    `rooms` / `equipment` are None when the request needs none."""

    index: int
    request: Request
    duration: int
    weight: int
    candidates: list[Candidate]
    providers: list[int]
    rooms: list[int] | None
    equipment: list[int] | None


@dataclass
class Problem:
    instance: Instance
    step: int
    providers: list[Holder]
    rooms: list[Holder]
    equipment: list[Holder]
    jobs: list[Job]

    def assignment(
        self, job: Job, candidate: Candidate, provider: int, room: int | None, item: int | None
    ) -> Assignment:
        return Assignment(
            request=job.request.id,
            start=datetime.fromtimestamp(candidate.start, tz=candidate.zone),
            provider=self.providers[provider].id,
            room=None if room is None else self.rooms[room].id,
            equipment=None if item is None else self.equipment[item].id,
        )


def seconds(moment: datetime) -> int:
    return math.floor(moment.timestamp())


def merged(spans: Sequence[Span]) -> list[tuple[int, int]]:
    """Availability as disjoint sorted intervals (touching or overlapping ones joined)."""
    result: list[tuple[int, int]] = []
    for start, end in sorted((math.ceil(s.start.timestamp()), seconds(s.end)) for s in spans):
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(result[-1][1], end))
        elif end > start:
            result.append((start, end))
    return result


def grid_starts(window: Span, step: int, duration: int) -> list[int]:
    """The grid points of a window's own offset at which a visit fits inside the window."""
    offset = window.start.utcoffset()
    assert offset is not None
    shift = int(offset.total_seconds())
    first, last = math.ceil(window.start.timestamp()), seconds(window.end) - duration
    found: list[int] = []
    day = (first + shift) // DAY * DAY - shift  # the window's first local midnight, as an instant
    while day <= last:
        k = max(0, math.ceil((first - day) / step))
        point = day + k * step
        while point < day + DAY and point <= last:
            found.append(point)
            point += step
        day += DAY
    return found


def prepare(instance: Instance) -> Problem:
    step = instance.slot_minutes * 60
    providers = [Holder(p.id, merged(p.available)) for p in instance.providers]
    rooms = [Holder(r.id, merged(r.available)) for r in instance.rooms]
    items = [Holder(e.id, merged(e.available)) for e in instance.equipment]
    pools: dict[tuple[str, str], tuple[list[int], Coverage]] = {}

    def pool(kind: str, name: str) -> tuple[list[int], Coverage]:
        if (kind, name) not in pools:
            if kind == "specialty":
                members = [i for i, p in enumerate(instance.providers) if name in p.specialties]
                holders = providers
            else:
                source = instance.rooms if kind == "room" else instance.equipment
                members = [i for i, r in enumerate(source) if r.kind == name]
                holders = rooms if kind == "room" else items
            spans = [iv for i in members for iv in holders[i].available]
            pools[(kind, name)] = (members, Coverage(spans))
        return pools[(kind, name)]

    jobs = []
    for index, request in enumerate(instance.requests):
        duration = request.duration_minutes * 60
        needs = [pool("specialty", request.specialty)]
        if request.room_kind is not None:
            needs.append(pool("room", request.room_kind))
        if request.equipment_kind is not None:
            needs.append(pool("equipment", request.equipment_kind))
        chosen: dict[int, Candidate] = {}
        for number, window in enumerate(request.windows):
            for start in grid_starts(window, step, duration):
                if start not in chosen and all(c.covers(start, start + duration) for _, c in needs):
                    chosen[start] = Candidate(start, number, window.start.tzinfo or _never())
        candidates = sorted(chosen.values(), key=lambda c: c.start)
        starts = [c.start for c in candidates]

        def usable(members: list[int], holders: list[Holder]) -> list[int]:
            return _usable(members, holders, starts, duration)  # noqa: B023 (called at once)

        jobs.append(
            Job(
                index=index,
                request=request,
                duration=duration,
                weight=request.weight,
                candidates=candidates,
                providers=usable(needs[0][0], providers),
                rooms=None
                if request.room_kind is None
                else usable(pool("room", request.room_kind)[0], rooms),
                equipment=None
                if request.equipment_kind is None
                else usable(pool("equipment", request.equipment_kind)[0], items),
            )
        )
    return Problem(instance, step, providers, rooms, items, jobs)


def _usable(
    members: list[int], holders: list[Holder], starts: list[int], duration: int
) -> list[int]:
    """The members available for the whole visit at one of the starts at least."""
    return [i for i in members if _fits_any(holders[i].available, starts, duration)]


def _fits_any(available: list[tuple[int, int]], starts: list[int], duration: int) -> bool:
    """Is some candidate start inside one of these intervals with room for the visit?"""
    for begin, end in available:
        index = bisect_right(starts, begin - 1)
        if index < len(starts) and starts[index] + duration <= end:
            return True
    return False


def _never() -> tzinfo:
    raise AssertionError("instances only hold aware times")
