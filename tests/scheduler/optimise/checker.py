"""An independent validity checker for batch assignment solutions, written from the rules of
`../shared/INTERFACE.md` ("Batch assignment instances") on the raw JSON: it imports nothing from
`scheduler.optimise`, so a bug in the solver's model cannot hide the same bug here.

`problems(instance, solution)` lists every broken rule (empty when the solution is valid).
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

STATUSES = {"optimal", "feasible", "greedy"}


def _time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() is not None, f"{text} has no offset"
    return moment


def _spans(pairs: list[list[str]]) -> list[tuple[datetime, datetime]]:
    return [(_time(a), _time(b)) for a, b in pairs]


def _covered(spans: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> bool:
    """Is [start, end) inside the union of the spans (touching spans join)?"""
    cursor = start
    for a, b in sorted(spans):
        if a <= cursor < b:
            cursor = b
        if cursor >= end:
            return True
    return cursor >= end


def _on_grid(start: datetime, slot_minutes: int) -> bool:
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = start - midnight  # both in the start's own offset
    return elapsed % timedelta(minutes=slot_minutes) == timedelta(0)


def problems(instance: dict[str, Any], solution: dict[str, Any]) -> list[str]:
    found: list[str] = []
    if set(solution) != {"status", "objective", "assignments"}:
        found.append(f"solution keys {sorted(solution)}")
    if solution.get("status") not in STATUSES:
        found.append(f"status {solution.get('status')!r}")
    slot = instance["slot_minutes"]
    requests = {r["id"]: r for r in instance["requests"]}
    providers = {p["id"]: p for p in instance["providers"]}
    rooms = {r["id"]: r for r in instance.get("rooms", [])}
    equipment = {e["id"]: e for e in instance.get("equipment", [])}
    busy: dict[tuple[str, str], list[tuple[datetime, datetime, str]]] = {}
    seen: set[str] = set()
    total = 0
    for a in solution["assignments"]:
        if set(a) != {"request", "start", "provider", "room", "equipment"}:
            found.append(f"assignment keys {sorted(a)}")
            continue
        rid = a["request"]
        if rid not in requests:
            found.append(f"{rid}: no such request")
            continue
        if rid in seen:
            found.append(f"{rid}: served twice")
        seen.add(rid)
        request = requests[rid]
        total += request["weight"]
        start = _time(a["start"])
        end = start + timedelta(minutes=request["duration_minutes"])
        if not _on_grid(start, slot):
            found.append(f"{rid}: start {a['start']} is off the {slot}-minute grid")
        if not any(w0 <= start and end <= w1 for w0, w1 in _spans(request["windows"])):
            found.append(f"{rid}: {a['start']} is not inside one window")
        provider = providers.get(a["provider"])
        if provider is None:
            found.append(f"{rid}: no provider {a['provider']!r}")
        else:
            if request["specialty"] not in provider["specialties"]:
                found.append(f"{rid}: {a['provider']} lacks {request['specialty']}")
            if not _covered(_spans(provider["available"]), start, end):
                found.append(f"{rid}: {a['provider']} is not available for the visit")
            busy.setdefault(("provider", a["provider"]), []).append((start, end, rid))
        for field, kind_field, pool in (
            ("room", "room_kind", rooms),
            ("equipment", "equipment_kind", equipment),
        ):
            kind, chosen = request.get(kind_field), a[field]
            if kind is None:
                if chosen is not None:
                    found.append(f"{rid}: needs no {field} but has {chosen!r}")
                continue
            holder = pool.get(chosen) if chosen is not None else None
            if holder is None:
                found.append(f"{rid}: needs a {kind} {field}, has {chosen!r}")
                continue
            if holder["kind"] != kind:
                found.append(f"{rid}: {chosen} is a {holder['kind']}, not a {kind}")
            if not _covered(_spans(holder["available"]), start, end):
                found.append(f"{rid}: {chosen} is not available for the visit")
            busy.setdefault((field, chosen), []).append((start, end, rid))
    for (kind, holder), visits in busy.items():
        visits.sort()
        for (_, end, first), (start, _, second) in itertools.pairwise(visits):
            if start < end:
                found.append(f"{kind} {holder}: {first} and {second} overlap")
    if solution["objective"] != total:
        found.append(f"objective {solution['objective']} is not the served weight {total}")
    return found


def assert_valid(instance: dict[str, Any], solution: dict[str, Any]) -> None:
    broken = problems(instance, solution)
    assert not broken, "\n".join(broken)
