"""The search (`find_slots`, and `alternatives` to a refused slot): what the grid offers and the
busy time leaves free, walked day by day, preferred times first and others filling in.

Reserved capacity (reserved.py) is busy time to a search that may not take it; an urgent search
is offered the reserved times open to it first, earliest first, then the ordinary ones.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy.orm import Session

from ..clinic import AppointmentTypeConfig, Clinic
from ..errors import NotFound
from ..urgency import check as check_urgency
from .busy import Directory, _busy, _BusyMap, _epoch_of, _utc, read_directory
from .grid import CELL_SECONDS, PARTS_OF_DAY, Slot, _Day, _minutes, _Plan, _plan


@dataclass(frozen=True)
class _Request:
    """A validated search: who may take the type, with what, from when to when."""

    kind: AppointmentTypeConfig
    type_id: int
    provider_keys: tuple[str, ...]
    provider_ids: dict[str, int]
    rooms: tuple[tuple[str, int], ...]  # (key, id) of active rooms of the kind, or ()
    equipment: tuple[str, int] | None
    bookable: bool  # False when a needed room or equipment is gone
    earliest: int  # epoch: now + minimum notice
    today: date
    horizon: date
    now: int  # epoch


def _request(
    session: Session,
    plan: _Plan,
    type_key: str,
    provider_key: str | None,
    now: datetime,
    directory: Directory | None = None,  # read once by a caller that builds several (week.py)
) -> _Request:
    kind = plan.types.get(type_key)
    directory = directory or read_directory(session)
    if kind is None or type_key not in directory.types:
        raise NotFound(f"no appointment type {type_key!r}")
    if provider_key is not None:
        if provider_key not in plan.providers or provider_key not in directory.providers:
            raise NotFound(f"no provider {provider_key!r}")
        if provider_key not in plan.eligible[type_key]:
            raise NotFound(f"provider {provider_key!r} does not offer {type_key!r}")
        keys: tuple[str, ...] = (provider_key,)
    else:
        keys = tuple(k for k in plan.eligible[type_key] if k in directory.providers)
    rooms: tuple[tuple[str, int], ...] = ()
    bookable = True
    if kind.room_kind is not None:
        rooms = tuple(
            (k, directory.resources[k])
            for k in plan.rooms_by_kind.get(kind.room_kind, ())
            if k in directory.resources
        )
        bookable = bool(rooms)
    equipment = None
    if kind.equipment is not None:
        if kind.equipment in directory.resources:
            equipment = (kind.equipment, directory.resources[kind.equipment])
        else:
            bookable = False
    today = now.astimezone(plan.zone).date()
    return _Request(
        kind,
        directory.types[type_key],
        keys,
        {k: directory.providers[k] for k in keys},
        rooms,
        equipment,
        bookable,
        _epoch_of(now) + int(kind.min_notice_hours * 3600),
        today,
        today + timedelta(days=kind.max_days_ahead),
        _epoch_of(now),
    )


_LONGEST_BLOCK = 16  # days of busy time read at once, at most
_ROWS_PER_READ = 400  # about what one more query costs, in rows read; tuned on bench_slots


class _Search:
    """One walk over the days of a window, collecting preferred slots and fill-ins.

    Busy time is read for a block of days at a time: one day first (most searches end there),
    then blocks doubling up to two weeks, so a search that must look far ahead (a busy
    scanner, an evening wanted from a provider who rarely works late) makes few queries."""

    def __init__(
        self,
        session: Session,
        plan: _Plan,
        request: _Request,
        limit: int,
        part: tuple[int, int] | None,
        around: time | None,
        urgency: str = "routine",
    ):
        self.session, self.plan, self.request, self.limit = session, plan, request, limit
        self.urgency = urgency
        self.part = part  # the preferred local minutes [start, end), or None
        self.around = _minutes(around) if around is not None else None
        kind = request.kind
        self.duration = kind.duration_minutes * 60
        self.hold = (kind.duration_minutes + kind.buffer_minutes) * 60
        self.room_ids = [room_id for _, room_id in request.rooms]
        self.equipment_ids = [request.equipment[1]] if request.equipment else []
        self.preferred: list[Slot] = []
        self.fill: list[Slot] = []
        self.reserved_starts: set[int] = set()  # offered first, as reserved times (urgent)

    def prefers(self, minute: int) -> bool:
        return self.part is None or self.part[0] <= minute < self.part[1]

    def done(self) -> bool:
        return len(self.preferred) >= self.limit

    def worth_searching(self, candidates: _Day, begin: int) -> bool:
        if begin >= len(candidates.starts):
            return False
        # Once the fill-ins are complete, only a day with a preferred candidate can add anything.
        return len(self.fill) < self.limit or any(
            self.prefers(candidates.minutes[i]) for i in range(begin, len(candidates.starts))
        )

    def providers_wanted(self, candidates: _Day, begin: int) -> set[str]:
        """Whose busy time the day needs: everyone's while fill-ins are wanted, else only the
        providers of preferred candidates (few work evenings: no need to read the others)."""
        wanted: set[str] = set()
        fill_wanted = len(self.fill) < self.limit
        for i in range(begin, len(candidates.starts)):
            if fill_wanted or self.prefers(candidates.minutes[i]):
                wanted.update(candidates.providers[i])
        return wanted

    def run(self, first: date, last: date) -> list[Slot]:
        request, day, block = self.request, first, 1
        if self.urgency == "urgent" and self.plan.reservations.active:
            self.offer_reserved(first, last)
        while day <= last and not self.done():
            days: list[tuple[_Day, int]] = []
            dates: list[date] = []
            providers: set[str] = set()
            while day <= last and len(days) < block:
                candidates = self.plan.day(request.kind, request.provider_keys, day)
                begin = bisect_left(candidates.starts, request.earliest)
                if self.worth_searching(candidates, begin):
                    days.append((candidates, begin))
                    dates.append(day)
                    providers.update(self.providers_wanted(candidates, begin))
                day += timedelta(days=1)
            if not days:
                continue
            busy = _busy(
                self.session,
                days[0][0].starts[days[0][1]],
                days[-1][0].starts[-1] + self.hold,
                [request.provider_ids[key] for key in providers],
                self.room_ids,
                self.equipment_ids,
                self.plan.longest_hold,
            )
            if self.plan.reservations.active:
                self.keep_out_reserved(busy, dates, providers)
            for candidates, begin in days:
                if self.done():
                    break
                if self.worth_searching(candidates, begin):
                    self.search_day(candidates, begin, busy)
            # Grow the block while a day's busy time is little to read (one provider, or far
            # ahead); keep it small when every day brings hundreds of rows (many providers).
            per_day = busy.rows / len(days)
            block = max(1, min(block * 2, _LONGEST_BLOCK, int(_ROWS_PER_READ / max(per_day, 1))))
        return (self.preferred + self.fill)[: self.limit]

    def keep_out_reserved(self, busy: _BusyMap, dates: list[date], providers: set[str]) -> None:
        """Count as busy the reserved times this search may not take."""
        request, reservations = self.request, self.plan.reservations
        for key in providers:
            for day in dates:
                for kept in reservations.keeping_out(
                    key, day, self.urgency, request.now, request.today
                ):
                    busy.hold(("p", request.provider_ids[key]), kept.cells.start, kept.cells.stop)

    def offer_reserved(self, first: date, last: date) -> None:
        """An urgent search: the reserved times open to it and still free, earliest first, ahead
        of everything else (preferred ones among the preferred, the others among the fill)."""
        request, plan = self.request, self.plan
        kind = request.kind
        found: list[tuple[int, int, str]] = []  # (start, local minute, provider)
        for offset in (0, 1):  # reserved times are open on their day and the day before
            day = request.today + timedelta(days=offset)
            if not first <= day <= last:
                continue
            for key in request.provider_keys:
                starts = {e for e, _ in plan.provider_day(kind, plan.providers[key], day)}
                found += [
                    (kept.start, kept.minute, key)
                    for kept in plan.reservations.of(key, day)
                    if kind.key in kept.types
                    and kept.start >= request.earliest
                    and kept.start in starts
                    and request.now < kept.release  # once released, an ordinary time
                    and kept.open_to(self.urgency, request.today)
                ]
        if not found:
            return
        found.sort(key=lambda f: f[0])  # stable: at one start, the clinic's provider order
        busy = _busy(
            self.session,
            found[0][0],
            found[-1][0] + self.hold,
            sorted({request.provider_ids[key] for _, _, key in found}),
            self.room_ids,
            self.equipment_ids,
            plan.longest_hold,
        )
        for start, minute, key in found:
            if start in self.reserved_starts:
                continue
            slot = self.slot_at(start, (key,), busy)
            group = self.preferred if self.prefers(minute) else self.fill
            if slot is not None and len(group) < self.limit:
                group.append(slot)
                self.reserved_starts.add(start)

    def search_day(self, candidates: _Day, begin: int, busy: _BusyMap) -> None:
        order: Sequence[int] = range(begin, len(candidates.starts))
        around = self.around
        if around is not None:
            order = sorted(order, key=lambda i: (abs(candidates.minutes[i] - around), i))
        reserved = self.reserved_starts
        for i in order:
            found = self.preferred if self.prefers(candidates.minutes[i]) else self.fill
            if len(found) >= self.limit:
                if self.done():
                    return
                continue
            if reserved and candidates.starts[i] in reserved:
                continue  # already offered, as a reserved time
            slot = self.slot_at(candidates.starts[i], candidates.providers[i], busy)
            if slot is not None:
                found.append(slot)

    def slot_at(self, start: int, provider_keys: tuple[str, ...], busy: _BusyMap) -> Slot | None:
        request = self.request
        first, end = start // CELL_SECONDS, -(-(start + self.hold) // CELL_SECONDS)
        if request.equipment and not busy.free(("r", request.equipment[1]), first, end):
            return None
        room = None
        if request.rooms:
            room = next(
                (key for key, room_id in request.rooms if busy.free(("r", room_id), first, end)),
                None,
            )
            if room is None:
                return None
        for key in provider_keys:
            if busy.free(("p", request.provider_ids[key]), first, end):
                return Slot(
                    request.kind.key,
                    key,
                    _utc(start),
                    _utc(start + self.duration),
                    room,
                    request.equipment[0] if request.equipment else None,
                )
        return None


def find_slots(
    session: Session,
    clinic: Clinic,
    type_key: str,
    *,
    now: datetime,
    start_date: date | None = None,
    end_date: date | None = None,
    provider_key: str | None = None,
    part_of_day: str | None = None,
    around: time | None = None,
    after: time | None = None,
    before: time | None = None,
    limit: int = 3,
    urgency: str = "routine",
) -> list[Slot]:
    """Free slots for `type_key` between two clinic-local dates (inclusive; default: today to
    the type's horizon), each a distinct start time.

    `provider_key` restricts the search to one provider. `part_of_day` ("morning" before 12:00,
    "afternoon" 12:00-17:00, "evening" from 17:00) is a preference: matching slots come first,
    earliest first, and others fill in. `after` and `before` (local times, each included) narrow
    that preference the same way ("after 3": from 15:00). With `around` (a local time) each
    day's slots are taken nearest that time first. Raises `NotFound` for an unknown or inactive
    type or provider, or a provider who does not offer the type.

    `urgency` (scheduler/urgency.py) is how soon the patient must be seen: an "urgent" search
    gets the reserved times open to it first (reserved.py); any other never sees a reserved
    time before its release. An unknown level is a `SchedulingError`.
    """
    check_urgency(urgency)
    if part_of_day is not None and part_of_day not in PARTS_OF_DAY:
        raise ValueError(f"part_of_day must be one of {sorted(PARTS_OF_DAY)}, not {part_of_day!r}")
    part = PARTS_OF_DAY[part_of_day] if part_of_day else None
    if after is not None or before is not None:
        start, end = part or (0, 24 * 60)
        part = (
            max(start, _minutes(after) if after is not None else 0),
            min(end, _minutes(before) + 1 if before is not None else 24 * 60),
        )
    plan = _plan(clinic)
    request = _request(session, plan, type_key, provider_key, now)
    if not request.bookable or limit <= 0:
        return []
    first = max(start_date or request.today, request.today)
    last = min(end_date or request.horizon, request.horizon)
    return _Search(session, plan, request, limit, part, around, urgency).run(first, last)


def alternatives(
    session: Session,
    clinic: Clinic,
    slot: Slot,
    *,
    now: datetime,
    limit: int = 3,
    urgency: str = "routine",
) -> list[Slot]:
    """The free slots nearest a refused one: its day first, nearest its time, then later days;
    the same provider's first, others filling in; as `find_slots` gives them at `urgency`."""
    plan = _plan(clinic)
    kind = plan.types.get(slot.type_key)
    if kind is None:
        return []
    zone = plan.zone
    local = slot.start.astimezone(zone)
    today = now.astimezone(zone).date()
    horizon = today + timedelta(days=kind.max_days_ahead)
    day = max(local.date(), today)
    if day > horizon:  # the nearest bookable days are the horizon's last week
        day = max(horizon - timedelta(days=6), today)
    found: list[Slot] = []
    if slot.provider_key in plan.eligible.get(slot.type_key, ()):
        try:
            found = find_slots(
                session,
                clinic,
                slot.type_key,
                now=now,
                start_date=day,
                provider_key=slot.provider_key,
                around=local.time(),
                limit=limit,
                urgency=urgency,
            )
        except NotFound:
            found = []
    if len(found) < limit:
        taken = {s.start for s in found}
        others = find_slots(
            session,
            clinic,
            slot.type_key,
            now=now,
            start_date=day,
            around=local.time(),
            limit=limit,
            urgency=urgency,
        )
        found += [s for s in others if s.start not in taken and s.start != slot.start]
    return [s for s in found if s.start != slot.start or s.provider_key != slot.provider_key][
        :limit
    ]
