"""Every free start of one provider, for each of several appointment types, over a window of
days: the search's own rules (search.py's `_Search`, day by day, the grid's candidates, reserved
capacity kept out), with the busy time of the provider and of every room and piece of equipment
those types need read in one query, not once per type and block of days.

What the FHIR facade's Slots are made of (scheduler/fhir/slots.py): `find_slots` for each type
gives the same starts (tests/scheduler/fhir check it), at several times the cost, since each call
reads the rooms' calendars again. Routine level only: the reserved times are busy to it.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from ..clinic import Clinic
from .busy import _busy, _BusyMap, _directory
from .grid import CELL_SECONDS, Slot, _Day, _plan
from .search import _request, _Search


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
    directory = _directory(session)
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
