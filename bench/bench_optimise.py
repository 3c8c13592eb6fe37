"""Benchmark: batch assignment (`scheduler.optimise`, issue 18) on generated congested instances.

Four sizes over 5 working days: 3 providers and 75 requests, 10/300, 25/1000, 50/2000. Providers
have two or three free blocks a day (what is left around their booked visits), four specialties,
exam and procedure rooms and a few ultrasound scanners; demand is well above capacity. Requests
arrive in random order with urgency weights (urgent 10, soon 5, routine 1): urgent ones want today
or tomorrow, soon ones this week, routine ones a preferred day range and then any day.

Baselines, measured in the same run on the same instances: first-come-first-served greedy (input
order) and weight-first greedy (weight per minute, the solver's fallback and hint). Reported: served
weight of each and the ratios CP-SAT/FCFS (goal: at least 1.25 on average) and CP-SAT/weight-first
(goal: never below 1), requests served by urgency, mean wait from the batch's start by urgency,
idle minutes (gaps between a provider's visits inside one free block), and solve time against the
10 s limit (goal: the largest within it).

    .venv/bin/python bench/bench_optimise.py [--time-limit 10] [--seed 18] [--sizes 3:75,10:300]
    .venv/bin/python bench/bench_optimise.py --smoke   # 2 providers, 12 requests, 1 s
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import itertools

from scheduler.optimise import Assignment, Instance, parse, solve
from scheduler.optimise.greedy import first_come, weight_first
from scheduler.optimise.model import prepare

ZONE = timezone(timedelta(hours=-5))
MONDAY = datetime(2026, 3, 2, tzinfo=ZONE)
DAYS = 5
SIZES = [(3, 75), (10, 300), (25, 1000), (50, 2000)]
URGENCY = {"urgent": 10, "soon": 5, "routine": 1}
SPECIALTIES = ["gp", "cardio", "derm", "peds"]


def at(day: int, minutes: int) -> str:
    return (MONDAY + timedelta(days=day, minutes=minutes)).isoformat()


def free_blocks(rng: random.Random) -> list[list[str]]:
    """Two or three free blocks a day between 08:00 and 17:00, on the quarter hour."""
    blocks = []
    for day in range(DAYS):
        cursor = 8 * 60 + 15 * rng.randrange(0, 5)
        for _ in range(rng.choice([2, 3])):
            length = 15 * rng.randrange(4, 9)  # 1 to 2 hours
            if cursor + length > 17 * 60:
                break
            blocks.append([at(day, cursor), at(day, cursor + length)])
            cursor += length + 15 * rng.randrange(2, 8)
    return blocks


def generate(providers: int, requests: int, seed: int) -> dict[str, object]:
    rng = random.Random(seed * 100_003 + providers)
    people = []
    for index in range(providers):
        specialties = [SPECIALTIES[index % len(SPECIALTIES)]]
        if rng.random() < 0.3:
            specialties.append("gp")
        people.append({"id": f"p{index}", "specialties": sorted(set(specialties))})
        people[-1]["available"] = free_blocks(rng)
    whole_week = [[at(0, 8 * 60), at(DAYS - 1, 17 * 60)]]
    rooms = [
        {"id": f"exam{i}", "kind": "exam", "available": whole_week}
        for i in range(max(1, providers * 2 // 3))
    ] + [
        {"id": f"proc{i}", "kind": "procedure", "available": whole_week}
        for i in range(max(1, providers // 5))
    ]
    scanners = [
        {"id": f"us{i}", "kind": "ultrasound", "available": whole_week}
        for i in range(max(1, providers // 8))
    ]
    offered = sorted({s for person in people for s in person["specialties"]})
    batch = []
    for index in range(requests):
        urgency = rng.choices(list(URGENCY), weights=[2, 3, 5])[0]
        specialty = rng.choice([*offered, "gp"])
        if urgency == "urgent":
            windows = [[at(0, 8 * 60), at(0, 17 * 60)], [at(1, 8 * 60), at(1, 17 * 60)]]
        elif urgency == "soon":
            windows = [[at(0, 8 * 60), at(DAYS - 1, 17 * 60)]]
        else:
            first = rng.randrange(DAYS)
            last = min(DAYS - 1, first + rng.randrange(2))
            windows = [[at(first, 8 * 60), at(last, 17 * 60)], *whole_week]
        kind = rng.random()
        batch.append(
            {
                "id": f"q{index}",
                "duration_minutes": rng.choice([30, 45, 60, 60, 90]),
                "specialty": specialty,
                "room_kind": "exam" if kind < 0.7 else "procedure" if kind < 0.85 else None,
                "equipment_kind": "ultrasound"
                if specialty == "cardio" and rng.random() < 0.5
                else None,
                "weight": URGENCY[urgency],
                "windows": windows,
            }
        )
    return {
        "slot_minutes": 15,
        "providers": people,
        "rooms": rooms,
        "equipment": scanners,
        "requests": batch,
    }


def idle_minutes(instance: Instance, assignments: list[Assignment]) -> float:
    """Gaps between consecutive visits of one provider inside one of its free blocks."""
    durations = {r.id: r.duration for r in instance.requests}
    blocks = {p.id: p.available for p in instance.providers}
    visits: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for a in assignments:
        visits[a.provider].append((a.start, a.start + durations[a.request]))
    idle = 0.0
    for provider, items in visits.items():
        items.sort()
        for (_, end), (start, _) in itertools.pairwise(items):
            if any(b.start <= end and start <= b.end for b in blocks[provider]):
                idle += (start - end).total_seconds() / 60
    return idle


def by_urgency(instance: Instance, assignments: list[Assignment]) -> dict[str, str]:
    """Served of requested, and the mean wait in hours from Monday 08:00, per urgency."""
    weight = {r.id: r.weight for r in instance.requests}
    names = {w: n for n, w in URGENCY.items()}
    asked: dict[str, int] = defaultdict(int)
    for r in instance.requests:
        asked[names[r.weight]] += 1
    waits: dict[str, list[float]] = defaultdict(list)
    origin = MONDAY + timedelta(hours=8)
    for a in assignments:
        waits[names[weight[a.request]]].append((a.start - origin).total_seconds() / 3600)
    return {
        name: f"{len(waits[name])}/{asked[name]} served, wait "
        + (f"{statistics.mean(waits[name]):5.1f} h" if waits[name] else "   - h")
        for name in URGENCY
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--sizes", default=",".join(f"{p}:{r}" for p, r in SIZES))
    parser.add_argument("--smoke", action="store_true", help="one tiny instance, a 1 s limit")
    arguments = parser.parse_args(argv)
    if arguments.smoke:
        arguments.sizes, arguments.time_limit = "2:12", 1.0
    sizes = [tuple(int(n) for n in size.split(":")) for size in arguments.sizes.split(",")]
    ratios_fcfs, ratios_wf = [], []
    print(f"time limit {arguments.time_limit:g} s, seed {arguments.seed}, 5 days, slot 15 min")
    for providers, requests in sizes:
        instance = parse(generate(providers, requests, arguments.seed))
        problem = prepare(instance)
        capacity = sum(b.minutes for p in instance.providers for b in p.available)
        demand = sum(r.duration_minutes for r in instance.requests)
        began = time.perf_counter()
        fcfs = first_come(problem)
        fcfs_time = time.perf_counter() - began
        began = time.perf_counter()
        first = weight_first(problem)
        first_time = time.perf_counter() - began
        began = time.perf_counter()
        solution = solve(instance, time_limit=arguments.time_limit)
        solve_time = time.perf_counter() - began
        weights = {
            "FCFS": sum(p.job.weight for p in fcfs),
            "weight-first": sum(p.job.weight for p in first),
            "CP-SAT": solution.objective,
        }
        ratios_fcfs.append(weights["CP-SAT"] / weights["FCFS"])
        ratios_wf.append(weights["CP-SAT"] / weights["weight-first"])
        print(
            f"\n{providers} providers, {requests} requests: demand {demand / capacity:.2f}x"
            f" capacity; status {solution.status}, solve {solve_time:.2f} s"
            f" (limit {arguments.time_limit:g} s), FCFS {fcfs_time:.2f} s,"
            f" weight-first {first_time:.2f} s"
        )
        for note in solution.notes:
            print(f"  note: {note}")
        print(
            f"  served weight: CP-SAT {weights['CP-SAT']}, FCFS {weights['FCFS']},"
            f" weight-first {weights['weight-first']};"
            f" CP-SAT/FCFS {ratios_fcfs[-1]:.3f}, CP-SAT/weight-first {ratios_wf[-1]:.3f}"
        )
        runs = {
            "FCFS": [
                problem.assignment(p.job, p.candidate, p.provider, p.room, p.equipment)
                for p in fcfs
            ],
            "weight-first": [
                problem.assignment(p.job, p.candidate, p.provider, p.room, p.equipment)
                for p in first
            ],
            "CP-SAT": list(solution.assignments),
        }
        for name, assignments in runs.items():
            urgency = by_urgency(instance, assignments)
            print(
                f"  {name:>12}: idle {idle_minutes(instance, assignments):6.0f} min; "
                + "; ".join(f"{k} {v}" for k, v in urgency.items())
            )
    print(
        f"\naverage CP-SAT/FCFS {statistics.mean(ratios_fcfs):.3f} (goal >= 1.25);"
        f" lowest CP-SAT/weight-first {min(ratios_wf):.3f} (goal >= 1)"
    )


if __name__ == "__main__":
    main()
