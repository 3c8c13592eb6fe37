"""Searches for several appointment types at once, by the search's own rules (search.py's
`_Search`, day by day, the grid's candidates, reserved capacity kept out), with the busy time of
everyone and everything those types need read together, not once per type and block of days:

- `free_slots_by_type`: every free start of one provider, for each of several types, over a
  window of days (what the FHIR facade's Slots are made of, scheduler/fhir/slots.py): one query.
- `first_free_by_type`: the first free time of each type from now (the dashboard's next free
  time per type, scheduler/analytics/capacity.py): one query per block of days for all types.

Each gives what `find_slots` gives type by type (tests/scheduler/fhir/test_slots.py,
tests/scheduler/test_availability.py), at several times less cost, since each `find_slots` call
reads the rooms' calendars again. Routine level only: the reserved times are busy to them.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from ..clinic import Clinic
from ..errors import NotFound
from .busy import Directory, _busy, _BusyMap, read_directory
from .grid import CELL_SECONDS, Slot, _Day, _plan
from .search import _LONGEST_BLOCK, _ROWS_PER_READ, _request, _Search


def _provider_free(
    candidates: _Day, begin: int, busy: _BusyMap, provider: tuple[str, int], hold: int
) -> _Day:
    """The day's candidates from `begin` at which the provider is free: a busy provider's
    calendar rules most of them out before the search looks for a free room (its slot check
    looks at the rooms first, then at the provider)."""
    keep = [
        i
        for i in range(begin, len(candidates.starts))
        if busy.free(
            provider,
            candidates.starts[i] // CELL_SECONDS,
            -(-(candidates.starts[i] + hold) // CELL_SECONDS),
        )
    ]
    return _Day(
        tuple(candidates.starts[i] for i in keep),
        tuple(candidates.minutes[i] for i in keep),
        tuple(candidates.providers[i] for i in keep),
    )


def free_slots_by_type(
    session: Session,
    clinic: Clinic,
    provider_key: str,
    type_keys: list[str],
    *,
    now: datetime,
    start_date: date,
    end_date: date,
    directory: Directory | None = None,  # the caller's, when it has read it already
) -> dict[str, list[Slot]]:
    """Each type's free slots with `provider_key` on the clinic-local days `start_date` to
    `end_date` (both included), earliest first. Raises `NotFound` as `find_slots` does (an
    unknown provider or type, or one the provider does not offer)."""
    plan = _plan(clinic)
    found: dict[str, list[Slot]] = {key: [] for key in type_keys}
    searches: list[tuple[_Search, list[tuple[_Day, int]]]] = []
    rooms: set[int] = set()
    equipment: set[int] = set()
    dates: set[date] = set()
    lo = hi = None
    provider_id = None
    directory = directory or read_directory(session)
    for key in type_keys:
        request = _request(session, plan, key, provider_key, now, directory)
        if not request.bookable:
            continue
        provider_id = request.provider_ids[provider_key]
        search = _Search(session, plan, request, 1_000_000, None, None)
        days: list[tuple[_Day, int]] = []
        day = max(start_date, request.today)
        while day <= min(end_date, request.horizon):
            candidates = plan.day(request.kind, request.provider_keys, day)
            begin = bisect_left(candidates.starts, request.earliest)
            if begin < len(candidates.starts):
                days.append((candidates, begin))
                dates.add(day)
                first, last = candidates.starts[begin], candidates.starts[-1] + search.hold
                lo = first if lo is None else min(lo, first)
                hi = last if hi is None else max(hi, last)
            day += timedelta(days=1)
        if days:
            searches.append((search, days))
            rooms.update(search.room_ids)
            equipment.update(search.equipment_ids)
    if not searches or lo is None or hi is None or provider_id is None:
        return found
    busy = _busy(
        session, lo, hi, [provider_id], sorted(rooms), sorted(equipment), plan.longest_hold
    )
    if plan.reservations.active:
        searches[0][0].keep_out_reserved(busy, sorted(dates), {provider_key})
    provider = ("p", provider_id)
    for search, days in searches:
        for candidates, begin in days:
            search.search_day(
                _provider_free(candidates, begin, busy, provider, search.hold), 0, busy
            )
        found[search.request.kind.key] = search.preferred + search.fill
    return found


def first_free_by_type(
    session: Session,
    clinic: Clinic,
    type_keys: list[str],
    *,
    now: datetime,
    provider_key: str | None = None,
) -> dict[str, Slot | None]:
    """Each type's first free slot from `now` to its horizon (with `provider_key`'s only), as
    `find_slots(..., limit=1)` finds it; None when nothing is free. A type `find_slots` would
    refuse (`NotFound`: inactive, or not offered by the provider) is left out. The days are
    walked in blocks as `find_slots` walks them, one busy-time query per block for every type
    still searching."""
    plan = _plan(clinic)
    directory = read_directory(session)
    found: dict[str, Slot | None] = {}
    searches: list[_Search] = []
    for key in type_keys:
        try:
            request = _request(session, plan, key, provider_key, now, directory)
        except NotFound:
            continue
        found[key] = None
        if request.bookable:
            searches.append(_Search(session, plan, request, 1, None, None))
    if not searches:
        return found
    day, block = searches[0].request.today, 1
    while searches:
        end = day + timedelta(days=block)
        work: list[tuple[_Search, list[tuple[_Day, int]], list[date], set[str]]] = []
        providers: set[int] = set()
        rooms: set[int] = set()
        equipment: set[int] = set()
        lo = hi = None
        for search in searches:
            request = search.request
            days: list[tuple[_Day, int]] = []
            dates: list[date] = []
            wanted: set[str] = set()
            on = day
            while on < end and on <= request.horizon:
                candidates = plan.day(request.kind, request.provider_keys, on)
                begin = bisect_left(candidates.starts, request.earliest)
                if search.worth_searching(candidates, begin):
                    days.append((candidates, begin))
                    dates.append(on)
                    wanted.update(search.providers_wanted(candidates, begin))
                    first, last = candidates.starts[begin], candidates.starts[-1] + search.hold
                    lo = first if lo is None else min(lo, first)
                    hi = last if hi is None else max(hi, last)
                on += timedelta(days=1)
            work.append((search, days, dates, wanted))
            if days:
                providers.update(request.provider_ids[key] for key in wanted)
                rooms.update(search.room_ids)
                equipment.update(search.equipment_ids)
        grow = min(block * 2, _LONGEST_BLOCK)
        if lo is not None and hi is not None:
            busy = _busy(
                session,
                lo,
                hi,
                sorted(providers),
                sorted(rooms),
                sorted(equipment),
                plan.longest_hold,
            )
            for search, days, dates, wanted in work:
                if days and plan.reservations.active:
                    search.keep_out_reserved(busy, dates, wanted)
                for candidates, begin in days:
                    if search.done():
                        break
                    search.search_day(candidates, begin, busy)
            grow = max(1, min(grow, int(_ROWS_PER_READ / max(busy.rows / block, 1))))
        for search in searches:
            if search.done():
                found[search.request.kind.key] = search.preferred[0]
        searches = [s for s in searches if not s.done() and end <= s.request.horizon]
        day, block = end, grow
    return found
