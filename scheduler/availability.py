"""Slot search: which start times an appointment type can be booked at, and whether one still can.

Owns the rules of a bookable time: the provider's weekly hours, breaks and days off; rooms of the
kind the type needs and the shared equipment; existing appointments widened by their buffers;
minimum notice and the booking horizon; all in the clinic's zone, across daylight-saving changes.
`booking` books what `is_bookable` / `resolve_slot` accept, so search and booking agree exactly.

How a time is judged, in three layers:

* Candidates (clinic-derived, cached per `Clinic` object): for a type, provider and local date,
  the start instants on the `slot_step_minutes` grid counted from the start of the working range,
  whose visit [start, start + duration) lies inside the range and clear of breaks. Computed in
  wall time and converted with zoneinfo; a wall time that does not exist (spring forward) is
  skipped, a repeated one (fall back) gives two distinct instants.
* Busy time (database): one query per block of searched days for the active appointments of
  just the relevant providers, rooms and equipment, as integer epoch seconds.
* Cells: a visit holds every `CELL_MINUTES` cell of [start, end + buffer), exactly the rows
  `Occupancy` gets when it is booked; a candidate is free when none of its cells is busy.
"""
from __future__ import annotations

import weakref
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, String, bindparam, inspect, literal, or_, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from .clinic import AppointmentTypeConfig, Clinic, ProviderConfig
from .errors import NotFound, OutsideBookingWindow, SlotUnavailable
from .models import (ACTIVE_STATUSES, CELL_MINUTES, Appointment, AppointmentType, Occupancy,
                     Provider, Resource)

CELL_SECONDS = CELL_MINUTES * 60
PARTS_OF_DAY = {"morning": (0, 12 * 60), "afternoon": (12 * 60, 17 * 60),
                "evening": (17 * 60, 24 * 60)}
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@dataclass(frozen=True)
class Slot:
    """A bookable time: who, where, and when (aware UTC). `end` is the visit's end, no buffer."""

    type_key: str
    provider_key: str
    start: datetime
    end: datetime
    room_key: str | None
    equipment_key: str | None

    def local_start(self, zone: ZoneInfo) -> datetime:
        return self.start.astimezone(zone)

    @classmethod
    def of(cls, appointment: Appointment) -> "Slot":
        """The time an appointment holds, as a slot (what a cancellation frees)."""
        return cls(appointment.appointment_type.key, appointment.provider.key,
                   appointment.start_at, appointment.end_at,
                   appointment.room.key if appointment.room is not None else None,
                   appointment.equipment.key if appointment.equipment is not None else None)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able, for conversation state and stored offers."""
        return {"type": self.type_key, "provider": self.provider_key,
                "start": self.start.isoformat(), "end": self.end.isoformat(),
                "room": self.room_key, "equipment": self.equipment_key}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Slot":
        return cls(data["type"], data["provider"], datetime.fromisoformat(data["start"]),
                   datetime.fromisoformat(data["end"]), data.get("room"), data.get("equipment"))


# --- clinic-derived candidates ---------------------------------------------------------------

def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def _wall(day: date, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day) + timedelta(minutes=minute)


def _instants(day: date, minute: int, zone: ZoneInfo) -> list[int]:
    """The UTC epochs at which the wall clock reads `minute` on `day`: none, one, or two."""
    naive = _wall(day, minute)
    found: list[int] = []
    for fold in (0, 1):
        epoch = int(naive.replace(tzinfo=zone, fold=fold).timestamp())
        # A wall time in the spring-forward gap does not come back from UTC unchanged.
        if datetime.fromtimestamp(epoch, zone).replace(tzinfo=None) == naive and epoch not in found:
            found.append(epoch)
    return found


def _boundary(day: date, minute: int, zone: ZoneInfo, *, latest: bool) -> int:
    """A range boundary as UTC: the earliest reading of a repeated wall time for a start, the
    latest for an end (so a fall-back day's range holds its extra real hour)."""
    instants = _instants(day, minute, zone)
    if not instants:  # inside the gap: read it with the offset in force before the change
        return int(_wall(day, minute).replace(tzinfo=zone).timestamp())
    return max(instants) if latest else min(instants)


class _Plan:
    """Everything derived from one `Clinic` object: lookups and the candidate starts per day."""

    def __init__(self, clinic: Clinic):
        self.zone = clinic.zone
        self.step = clinic.slot_step_minutes
        self.types = {t.key: t for t in clinic.appointment_types}
        self.providers = {p.key: p for p in clinic.providers}
        self.eligible = {t.key: tuple(p.key for p in clinic.providers_for(t.key))
                         for t in clinic.appointment_types}
        self.rooms_by_kind: dict[str, tuple[str, ...]] = {}
        for room in clinic.rooms:
            self.rooms_by_kind[room.kind] = self.rooms_by_kind.get(room.kind, ()) + (room.key,)
        # How long before a window an appointment can have started and still reach into it: a
        # visit lies inside one working range (an hour longer on a fall-back day) and holds its
        # buffer after. This lower bound on start_at turns the busy query into an index range
        # instead of a scan of all the past. (Should an old appointment ever be longer, the
        # search could offer a time that booking then refuses: Occupancy stays the guard.)
        longest = max([t.duration_minutes for t in clinic.appointment_types]
                      + [_minutes(r.end) - _minutes(r.start)
                         for p in clinic.providers for r in p.hours.values()])
        self.longest_hold = (longest + 60 + max(t.buffer_minutes
                                                for t in clinic.appointment_types)) * 60
        self._offsets: dict[date, int | None] = {}
        self._weekly: dict[tuple[str, str, int], tuple[int, ...]] = {}
        self._provider_days: dict[tuple[str, str, date], tuple[tuple[int, int], ...]] = {}
        self._days: dict[tuple[str, tuple[str, ...], date], _Day] = {}

    def fixed_offset(self, day: date) -> int | None:
        """The UTC offset (seconds) in force all day, or None on a day the clocks change."""
        if day not in self._offsets:
            # Both readings of both midnights: a change at midnight itself counts too.
            offsets = {_wall(d, 0).replace(tzinfo=self.zone, fold=fold).utcoffset()
                       for d in (day, day + timedelta(days=1)) for fold in (0, 1)}
            self._offsets[day] = (int(offsets.pop().total_seconds()) if len(offsets) == 1
                                  else None)
        return self._offsets[day]

    def weekly(self, kind: AppointmentTypeConfig, provider: ProviderConfig,
               weekday: int) -> tuple[int, ...]:
        """Start minutes (local wall time) of an ordinary day; no DST change involved."""
        key = (kind.key, provider.key, weekday)
        if key not in self._weekly:
            hours = provider.hours.get(weekday)
            starts: list[int] = []
            if hours is not None:
                first, last = _minutes(hours.start), _minutes(hours.end)
                breaks = [(_minutes(b.start), _minutes(b.end)) for b in provider.breaks]
                for minute in range(first, last, self.step):
                    end = minute + kind.duration_minutes
                    if end <= last and not any(minute < b_end and b_start < end
                                               for b_start, b_end in breaks):
                        starts.append(minute)
            self._weekly[key] = tuple(starts)
        return self._weekly[key]

    def provider_day(self, kind: AppointmentTypeConfig, provider: ProviderConfig,
                     day: date) -> tuple[tuple[int, int], ...]:
        """(UTC epoch, local wall minute) of every candidate start, in time order."""
        key = (kind.key, provider.key, day)
        found = self._provider_days.get(key)
        if found is not None:
            return found
        if day in provider.days_off or day.weekday() not in provider.hours:
            found = ()
        elif (offset := self.fixed_offset(day)) is not None:
            midnight = (day.toordinal() - _EPOCH_ORDINAL) * 86400 - offset
            found = tuple((midnight + m * 60, m)
                          for m in self.weekly(kind, provider, day.weekday()))
        else:
            found = self._changeover_day(kind, provider, day)
        if len(self._provider_days) > 200_000:  # a long-lived process walks forward in time
            self._provider_days.clear()
        self._provider_days[key] = found
        return found

    def _changeover_day(self, kind: AppointmentTypeConfig, provider: ProviderConfig,
                        day: date) -> tuple[tuple[int, int], ...]:
        """Candidates on a day the clocks change: judged in real (UTC) time, so a visit lasts its
        real duration and a range spanning the change is as long as it really is."""
        hours = provider.hours[day.weekday()]
        zone, duration = self.zone, kind.duration_minutes * 60
        first, last = _minutes(hours.start), _minutes(hours.end)
        opens = _boundary(day, first, zone, latest=False)
        closes = _boundary(day, last, zone, latest=True)
        breaks = [(_boundary(day, _minutes(b.start), zone, latest=False),
                   _boundary(day, _minutes(b.end), zone, latest=True)) for b in provider.breaks]
        found: dict[int, int] = {}
        for minute in range(first, last, self.step):
            for epoch in _instants(day, minute, zone):
                end = epoch + duration
                if (opens <= epoch and end <= closes
                        and not any(epoch < b_end and b_start < end for b_start, b_end in breaks)):
                    found[epoch] = minute
        return tuple(sorted(found.items()))

    def day(self, kind: AppointmentTypeConfig, provider_keys: tuple[str, ...], day: date) -> _Day:
        """The distinct candidate starts of a day over several providers, in time order."""
        key = (kind.key, provider_keys, day)
        found = self._days.get(key)
        if found is None:
            merged: dict[int, tuple[int, list[str]]] = {}
            for provider_key in provider_keys:
                for epoch, minute in self.provider_day(kind, self.providers[provider_key], day):
                    merged.setdefault(epoch, (minute, []))[1].append(provider_key)
            starts = sorted(merged)
            found = _Day(starts, [merged[s][0] for s in starts],
                         [tuple(merged[s][1]) for s in starts])
            if len(self._days) > 50_000:
                self._days.clear()
            self._days[key] = found
        return found


@dataclass(frozen=True)
class _Day:
    starts: list[int]                    # UTC epoch seconds, ascending
    minutes: list[int]                   # local wall minute of day of each start
    providers: list[tuple[str, ...]]     # who could start then, in clinic order


_PLANS: dict[int, _Plan] = {}


def _plan(clinic: Clinic) -> _Plan:
    """The cached plan of this clinic object; dropped when the object is garbage collected."""
    plan = _PLANS.get(id(clinic))
    if plan is None:
        plan = _Plan(clinic)
        _PLANS[id(clinic)] = plan
        weakref.finalize(clinic, _PLANS.pop, id(clinic), None)
    return plan


# --- database ---------------------------------------------------------------------------------

class _epoch(FunctionElement):
    """Seconds since the Unix epoch of a naive-UTC timestamp column, computed by the database:
    integers cross the wire and no datetime is parsed per busy row."""

    type = BigInteger()
    inherit_cache = True


@compiles(_epoch)
def _epoch_default(element, compiler, **kw) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS BIGINT)"


@compiles(_epoch, "sqlite")
def _epoch_sqlite(element, compiler, **kw) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@dataclass(frozen=True)
class _Directory:
    """Database ids of the active providers, resources and types, by key."""

    providers: dict[str, int]
    resources: dict[str, int]
    types: dict[str, int]


_DIRECTORY_QUERY = union_all(
    select(literal("p", String), Provider.key, Provider.id).where(Provider.active),
    select(literal("r", String), Resource.key, Resource.id).where(Resource.active),
    select(literal("t", String), AppointmentType.key, AppointmentType.id)
    .where(AppointmentType.active),
)


def _core_rows(session: Session, statement, params: dict | None = None) -> list:
    """Plain rows of a Core statement, run on the session's connection after a flush (so pending
    changes count): a search makes a few such reads per message, and the ORM's execution path
    costs several times the query itself."""
    session.flush()
    return session.connection().execute(statement, params or {}).all()


def _directory(session: Session) -> _Directory:
    found: dict[str, dict[str, int]] = {"p": {}, "r": {}, "t": {}}
    for table, key, row_id in _core_rows(session, _DIRECTORY_QUERY):
        found[table][key] = row_id
    return _Directory(found["p"], found["r"], found["t"])


def provider_holder(provider_id: int) -> str:
    return f"provider:{provider_id}"


def resource_holder(resource_id: int) -> str:
    return f"resource:{resource_id}"


def cells(start: int, occupied_until: int) -> range:
    """The cells an interval of epoch seconds touches: what it holds in `Occupancy`."""
    return range(start // CELL_SECONDS, -(-occupied_until // CELL_SECONDS))


_APPOINTMENTS = Appointment.__table__


class _Busy:
    """Busy cells of one holder as merged, sorted [first, end) runs, searched by bisection."""

    __slots__ = ("firsts", "ends")

    def __init__(self, runs: list[tuple[int, int]]):
        runs.sort()
        self.firsts: list[int] = []
        self.ends: list[int] = []
        for first, end in runs:
            if self.ends and first <= self.ends[-1]:
                self.ends[-1] = max(self.ends[-1], end)
            else:
                self.firsts.append(first)
                self.ends.append(end)

    def free(self, first: int, end: int) -> bool:
        i = bisect_right(self.firsts, first) - 1
        if i >= 0 and self.ends[i] > first:
            return False
        return i + 1 >= len(self.firsts) or self.firsts[i + 1] >= end


# Active appointments holding time in [after, before); `since` bounds start_at from below so
# that the scan is an index range (see `_Plan.longest_hold`).
_IN_WINDOW = (_APPOINTMENTS.c.start_at > bindparam("since"),
              _APPOINTMENTS.c.start_at < bindparam("before"),
              _APPOINTMENTS.c.occupied_until > bindparam("after"),
              _APPOINTMENTS.c.status.in_(ACTIVE_STATUSES))


def _arm(kind: str, column, values: str):
    return (select(literal(kind, String), column, _epoch(_APPOINTMENTS.c.start_at),
                   _epoch(_APPOINTMENTS.c.occupied_until))
            .where(column.in_(bindparam(values, expanding=True)), *_IN_WINDOW))


# Two shapes of the same question, each built once (compiled once per dialect, then cached).
# With only the (start_at, occupied_until) index, one scan of the window serves all holders.
# With indexes led by provider_id, room_id and equipment_id (see `_indexed_by_holder`), each
# holder's rows are read directly: a search that walks weeks ahead for one provider then reads
# that provider's rows, not the whole clinic's.
_BUSY_BY_WINDOW = (
    select(_APPOINTMENTS.c.provider_id, _APPOINTMENTS.c.room_id, _APPOINTMENTS.c.equipment_id,
           _epoch(_APPOINTMENTS.c.start_at), _epoch(_APPOINTMENTS.c.occupied_until))
    .where(*_IN_WINDOW,
           or_(_APPOINTMENTS.c.provider_id.in_(bindparam("providers", expanding=True)),
               _APPOINTMENTS.c.room_id.in_(bindparam("rooms", expanding=True)),
               _APPOINTMENTS.c.equipment_id.in_(bindparam("equipment", expanding=True)))))
_BUSY_BY_HOLDER = union_all(_arm("p", _APPOINTMENTS.c.provider_id, "providers"),
                            _arm("r", _APPOINTMENTS.c.room_id, "rooms"),
                            _arm("r", _APPOINTMENTS.c.equipment_id, "equipment"))
_HOLDER_COLUMNS = {"provider_id", "room_id", "equipment_id"}
_INDEXED_BY_HOLDER: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _indexed_by_holder(session: Session) -> bool:
    """Whether appointments has an index led by each holder column (checked once per engine)."""
    connection = session.connection()
    known = _INDEXED_BY_HOLDER.get(connection.engine)
    if known is None:
        leading = {index["column_names"][0]
                   for index in inspect(connection).get_indexes(_APPOINTMENTS.name)
                   if index["column_names"]}
        known = _INDEXED_BY_HOLDER[connection.engine] = _HOLDER_COLUMNS <= leading
    return known


class _BusyMap:
    """Busy runs per holder over a window; a holder's runs are merged when first looked at.
    A holder whose time was not read counts as busy, never as free."""

    def __init__(self, read: set[tuple[str, int]],
                 runs: dict[tuple[str, int], list[tuple[int, int]]], rows: int):
        self._read, self._runs, self.rows = read, runs, rows
        self._merged: dict[tuple[str, int], _Busy] = {}

    def free(self, holder: tuple[str, int], first: int, end: int) -> bool:
        busy = self._merged.get(holder)
        if busy is None:
            if holder not in self._read:
                return False
            busy = self._merged[holder] = _Busy(self._runs.get(holder, []))
        return busy.free(first, end)


def _busy(session: Session, lo: int, hi: int, provider_ids: Sequence[int],
          room_ids: Sequence[int], equipment_ids: Sequence[int], longest_hold: int) -> _BusyMap:
    """Busy runs in [lo, hi) of the given providers, rooms and equipment (active appointments)."""
    params = {"since": _utc(lo - longest_hold), "before": _utc(hi), "after": _utc(lo),
              "providers": list(provider_ids), "rooms": list(room_ids),
              "equipment": list(equipment_ids)}
    runs: dict[tuple[str, int], list[tuple[int, int]]] = {}
    read = ({("p", i) for i in provider_ids} | {("r", i) for i in room_ids}
            | {("r", i) for i in equipment_ids})
    if _indexed_by_holder(session):
        # all(): one fetch of every row from the driver, not a driver call per row.
        rows = _core_rows(session, _BUSY_BY_HOLDER, params)
        for kind, holder, start, until in rows:
            runs.setdefault((kind, holder), []).append(
                (start // CELL_SECONDS, -(-until // CELL_SECONDS)))
        return _BusyMap(read, runs, len(rows))
    providers, resources = set(provider_ids), set(room_ids) | set(equipment_ids)
    rows = _core_rows(session, _BUSY_BY_WINDOW, params)
    for provider_id, room_id, equipment_id, start, until in rows:
        run = (start // CELL_SECONDS, -(-until // CELL_SECONDS))
        if provider_id in providers:
            runs.setdefault(("p", provider_id), []).append(run)
        if room_id in resources:
            runs.setdefault(("r", room_id), []).append(run)
        if equipment_id in resources:
            runs.setdefault(("r", equipment_id), []).append(run)
    return _BusyMap(read, runs, len(rows))


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


def _epoch_of(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime given where an aware instant is needed")
    return int(moment.timestamp())


# --- search -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Request:
    """A validated search: who may take the type, with what, from when to when."""

    kind: AppointmentTypeConfig
    type_id: int
    provider_keys: tuple[str, ...]
    provider_ids: dict[str, int]
    rooms: tuple[tuple[str, int], ...]          # (key, id) of active rooms of the kind, or ()
    equipment: tuple[str, int] | None
    bookable: bool                              # False when a needed room or equipment is gone
    earliest: int                               # epoch: now + minimum notice
    today: date
    horizon: date


def _request(session: Session, plan: _Plan, type_key: str, provider_key: str | None,
             now: datetime) -> _Request:
    kind = plan.types.get(type_key)
    directory = _directory(session)
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
        rooms = tuple((k, directory.resources[k])
                      for k in plan.rooms_by_kind.get(kind.room_kind, ())
                      if k in directory.resources)
        bookable = bool(rooms)
    equipment = None
    if kind.equipment is not None:
        if kind.equipment in directory.resources:
            equipment = (kind.equipment, directory.resources[kind.equipment])
        else:
            bookable = False
    today = now.astimezone(plan.zone).date()
    return _Request(kind, directory.types[type_key], keys,
                    {k: directory.providers[k] for k in keys}, rooms, equipment, bookable,
                    _epoch_of(now) + int(kind.min_notice_hours * 3600), today,
                    today + timedelta(days=kind.max_days_ahead))


_LONGEST_BLOCK = 16        # days of busy time read at once, at most
_ROWS_PER_READ = 400       # about what one more query costs, in rows read; tuned on bench_slots


class _Search:
    """One walk over the days of a window, collecting preferred slots and fill-ins.

    Busy time is read for a block of days at a time: one day first (most searches end there),
    then blocks doubling up to two weeks, so a search that must look far ahead (a busy
    scanner, an evening wanted from a provider who rarely works late) makes few queries."""

    def __init__(self, session: Session, plan: _Plan, request: _Request, limit: int,
                 part: tuple[int, int] | None, around: time | None):
        self.session, self.plan, self.request, self.limit = session, plan, request, limit
        self.part = part             # the preferred local minutes [start, end), or None
        self.around = _minutes(around) if around is not None else None
        kind = request.kind
        self.duration = kind.duration_minutes * 60
        self.hold = (kind.duration_minutes + kind.buffer_minutes) * 60
        self.room_ids = [room_id for _, room_id in request.rooms]
        self.equipment_ids = [request.equipment[1]] if request.equipment else []
        self.preferred: list[Slot] = []
        self.fill: list[Slot] = []

    def prefers(self, minute: int) -> bool:
        return self.part is None or self.part[0] <= minute < self.part[1]

    def done(self) -> bool:
        return len(self.preferred) >= self.limit

    def worth_searching(self, candidates: _Day, begin: int) -> bool:
        if begin >= len(candidates.starts):
            return False
        # Once the fill-ins are complete, only a day with a preferred candidate can add anything.
        return len(self.fill) < self.limit or any(
            self.prefers(candidates.minutes[i]) for i in range(begin, len(candidates.starts)))

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
        while day <= last and not self.done():
            days: list[tuple[_Day, int]] = []
            providers: set[str] = set()
            while day <= last and len(days) < block:
                candidates = self.plan.day(request.kind, request.provider_keys, day)
                begin = bisect_left(candidates.starts, request.earliest)
                if self.worth_searching(candidates, begin):
                    days.append((candidates, begin))
                    providers.update(self.providers_wanted(candidates, begin))
                day += timedelta(days=1)
            if not days:
                continue
            busy = _busy(self.session, days[0][0].starts[days[0][1]],
                         days[-1][0].starts[-1] + self.hold,
                         [request.provider_ids[key] for key in providers], self.room_ids,
                         self.equipment_ids, self.plan.longest_hold)
            for candidates, begin in days:
                if self.done():
                    break
                if self.worth_searching(candidates, begin):
                    self.search_day(candidates, begin, busy)
            # Grow the block while a day's busy time is little to read (one provider, or far
            # ahead); keep it small when every day brings hundreds of rows (many providers).
            per_day = busy.rows / len(days)
            block = max(1, min(block * 2, _LONGEST_BLOCK, int(_ROWS_PER_READ / max(per_day, 1))))
        return (self.preferred + self.fill)[:self.limit]

    def search_day(self, candidates: _Day, begin: int, busy: _BusyMap) -> None:
        order: Sequence[int] = range(begin, len(candidates.starts))
        if self.around is not None:
            order = sorted(order, key=lambda i: (abs(candidates.minutes[i] - self.around), i))
        for i in order:
            found = self.preferred if self.prefers(candidates.minutes[i]) else self.fill
            if len(found) >= self.limit:
                if self.done():
                    return
                continue
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
            room = next((key for key, room_id in request.rooms
                         if busy.free(("r", room_id), first, end)), None)
            if room is None:
                return None
        for key in provider_keys:
            if busy.free(("p", request.provider_ids[key]), first, end):
                return Slot(request.kind.key, key, _utc(start), _utc(start + self.duration),
                            room, request.equipment[0] if request.equipment else None)
        return None


def find_slots(session: Session, clinic: Clinic, type_key: str, *, now: datetime,
               start_date: date | None = None, end_date: date | None = None,
               provider_key: str | None = None, part_of_day: str | None = None,
               around: time | None = None, after: time | None = None,
               before: time | None = None, limit: int = 3) -> list[Slot]:
    """Free slots for `type_key` between two clinic-local dates (inclusive; default: today to
    the type's horizon), each a distinct start time.

    `provider_key` restricts the search to one provider. `part_of_day` ("morning" before 12:00,
    "afternoon" 12:00-17:00, "evening" from 17:00) is a preference: matching slots come first,
    earliest first, and others fill in. `after` and `before` (local times, each included) narrow
    that preference the same way ("after 3": from 15:00). With `around` (a local time) each
    day's slots are taken nearest that time first. Raises `NotFound` for an unknown or inactive
    type or provider, or a provider who does not offer the type.
    """
    if part_of_day is not None and part_of_day not in PARTS_OF_DAY:
        raise ValueError(f"part_of_day must be one of {sorted(PARTS_OF_DAY)}, not {part_of_day!r}")
    part = PARTS_OF_DAY[part_of_day] if part_of_day else None
    if after is not None or before is not None:
        start, end = part or (0, 24 * 60)
        part = (max(start, _minutes(after) if after is not None else 0),
                min(end, _minutes(before) + 1 if before is not None else 24 * 60))
    plan = _plan(clinic)
    request = _request(session, plan, type_key, provider_key, now)
    if not request.bookable or limit <= 0:
        return []
    first = max(start_date or request.today, request.today)
    last = min(end_date or request.horizon, request.horizon)
    return _Search(session, plan, request, limit, part, around).run(first, last)


# --- checking one slot (what booking relies on) -----------------------------------------------

@dataclass(frozen=True)
class ResolvedSlot:
    """A slot checked against the clinic's rules, with the ids `booking` writes."""

    slot: Slot
    type_id: int
    provider_id: int
    equipment_id: int | None
    rooms: tuple[tuple[str, int], ...]   # free rooms to try, the slot's own first; () if none
    start: int                            # epoch seconds
    end: int
    occupied_until: int

    def holders(self, room_id: int | None) -> list[str]:
        """Every `Occupancy` holder the booking takes, in one global order: concurrent bookings
        then take rows in the same order, so on PostgreSQL they queue and never deadlock."""
        found = [provider_holder(self.provider_id)]
        found += [resource_holder(r) for r in (room_id, self.equipment_id) if r is not None]
        return sorted(found)


def _taken(session: Session, holders: Sequence[str], first: int, end: int,
           ignore_appointment: int | None) -> set[str]:
    """Which of these holders already hold a cell in [first, end), from `Occupancy` itself."""
    query = (select(Occupancy.holder).distinct()
             .where(Occupancy.holder.in_(holders), Occupancy.cell >= first, Occupancy.cell < end))
    if ignore_appointment is not None:
        query = query.where(Occupancy.appointment_id != ignore_appointment)
    return set(session.scalars(query))


def resolve_slot(session: Session, clinic: Clinic, slot: Slot, *, now: datetime,
                 ignore_appointment: int | None = None) -> ResolvedSlot:
    """Check a slot against hours, notice, horizon and what is already booked (cells held by
    `ignore_appointment` do not count: a reschedule may overlap its own old time).

    Raises `NotFound` for an unknown type or provider, `OutsideBookingWindow` or
    `SlotUnavailable` with `alternatives` when it cannot be booked.
    """
    plan = _plan(clinic)
    request = _request(session, plan, slot.type_key, slot.provider_key, now)
    kind, zone = request.kind, plan.zone
    start = _epoch_of(slot.start)
    local = slot.start.astimezone(zone)
    if start < request.earliest:
        passed = slot.start <= now
        reason = ("that time has already passed" if passed else
                  f"{kind.name} needs at least {kind.min_notice_hours:g} hours' notice")
        raise OutsideBookingWindow(reason, alternatives(session, clinic, slot, now=now),
                                   code="passed" if passed else "notice")
    if local.date() > request.horizon:
        raise OutsideBookingWindow(
            f"{kind.name} can be booked at most {kind.max_days_ahead} days ahead",
            alternatives(session, clinic, slot, now=now), code="horizon")
    on_grid = plan.provider_day(kind, plan.providers[slot.provider_key], local.date())
    if start not in {epoch for epoch, _ in on_grid}:
        raise OutsideBookingWindow("the provider does not see patients at that time",
                                   alternatives(session, clinic, slot, now=now))
    if not request.bookable:
        raise SlotUnavailable(f"{kind.name} cannot be booked right now: a room or the equipment "
                              "it needs is out of service", (), code="out_of_service")
    resolved = ResolvedSlot(
        slot, request.type_id, request.provider_ids[slot.provider_key],
        request.equipment[1] if request.equipment else None,
        request.rooms, start, start + kind.duration_minutes * 60,
        start + (kind.duration_minutes + kind.buffer_minutes) * 60)
    return refresh(session, clinic, resolved, now=now, ignore_appointment=ignore_appointment)


def refresh(session: Session, clinic: Clinic, resolved: ResolvedSlot, *, now: datetime,
            ignore_appointment: int | None = None) -> ResolvedSlot:
    """Re-read `Occupancy` for a resolved slot: keep only the rooms still free, or raise
    `SlotUnavailable` (with alternatives) when the provider, the equipment or every room is
    taken."""
    slot = resolved.slot
    room_ids = [room_id for _, room_id in resolved.rooms]
    holders = resolved.holders(None) + [resource_holder(r) for r in room_ids]
    span = cells(resolved.start, resolved.occupied_until)
    taken = _taken(session, holders, span.start, span.stop, ignore_appointment)
    if set(resolved.holders(None)) & taken:
        raise SlotUnavailable(alternatives=alternatives(session, clinic, slot, now=now))
    rooms = tuple(room for room in resolved.rooms if resource_holder(room[1]) not in taken)
    if resolved.rooms and not rooms:
        raise SlotUnavailable(alternatives=alternatives(session, clinic, slot, now=now))
    rooms = tuple(sorted(rooms, key=lambda room: room[0] != slot.room_key))
    return ResolvedSlot(slot, resolved.type_id, resolved.provider_id, resolved.equipment_id,
                        rooms, resolved.start, resolved.end, resolved.occupied_until)


def is_bookable(session: Session, clinic: Clinic, slot: Slot, *, now: datetime) -> None:
    """Return if the slot can be booked now (in its room or another free room of the same kind);
    else raise `OutsideBookingWindow` or `SlotUnavailable`, each carrying the nearest free
    `alternatives`. The slot's `end` is not trusted: the type's duration decides."""
    resolve_slot(session, clinic, slot, now=now)


def alternatives(session: Session, clinic: Clinic, slot: Slot, *, now: datetime,
                 limit: int = 3) -> list[Slot]:
    """The free slots nearest a refused one: its day first, nearest its time, then later days;
    the same provider's first, others filling in."""
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
            found = find_slots(session, clinic, slot.type_key, now=now, start_date=day,
                               provider_key=slot.provider_key, around=local.time(), limit=limit)
        except NotFound:
            found = []
    if len(found) < limit:
        taken = {s.start for s in found}
        others = find_slots(session, clinic, slot.type_key, now=now, start_date=day,
                            around=local.time(), limit=limit)
        found += [s for s in others if s.start not in taken and s.start != slot.start]
    return [s for s in found
            if s.start != slot.start or s.provider_key != slot.provider_key][:limit]
