"""Busy time from the database: the active appointments of just the providers, rooms and equipment
a search needs, read a block of days at a time as integer epoch seconds, and the cells (the
`Occupancy` grain) they hold.
"""

from __future__ import annotations

import weakref
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Engine,
    Executable,
    Row,
    Select,
    String,
    bindparam,
    inspect,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import KeyedColumnElement

from ..models import ACTIVE_STATUSES, Appointment, AppointmentType, Patient, Provider, Resource
from ..sqlfuncs import epoch
from .grid import CELL_SECONDS


@dataclass(frozen=True)
class Directory:
    """Database ids of the active providers, resources and types, by key; and `patient`, the id
    of the patient `read_directory` was asked about, when that patient exists."""

    providers: dict[str, int]
    resources: dict[str, int]
    types: dict[str, int]
    patient: int | None = None


_DIRECTORY_PARTS = (
    select(literal("p", String), Provider.key, Provider.id).where(Provider.active),
    select(literal("r", String), Resource.key, Resource.id).where(Resource.active),
    select(literal("t", String), AppointmentType.key, AppointmentType.id).where(
        AppointmentType.active
    ),
)
_DIRECTORY_QUERY = union_all(*_DIRECTORY_PARTS)
# A booking for a patient not in the session also asks whether they exist, in the same read.
_DIRECTORY_AND_PATIENT = union_all(
    *_DIRECTORY_PARTS,
    select(literal("a", String), literal("patient", String), Patient.id).where(
        Patient.id == bindparam("patient_id")
    ),
)


def _core_rows(
    session: Session, statement: Executable, params: dict[str, Any] | None = None
) -> Sequence[Row[*tuple[Any, ...]]]:
    """Plain rows of a Core statement, run on the session's connection after a flush (so pending
    changes count): a search makes a few such reads per message, and the ORM's execution path
    costs several times the query itself."""
    session.flush()
    return session.connection().execute(statement, params or {}).all()


def read_directory(session: Session, patient_id: int | None = None) -> Directory:
    """The directory; with `patient_id`, whether that patient exists too (one round trip)."""
    found: dict[str, dict[str, int]] = {"p": {}, "r": {}, "t": {}, "a": {}}
    if patient_id is None:
        rows = _core_rows(session, _DIRECTORY_QUERY)
    else:
        rows = _core_rows(session, _DIRECTORY_AND_PATIENT, {"patient_id": patient_id})
    for table, key, row_id in rows:
        found[table][key] = row_id
    return Directory(found["p"], found["r"], found["t"], found["a"].get("patient"))


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

    __slots__ = ("ends", "firsts")

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
_IN_WINDOW = (
    _APPOINTMENTS.c.start_at > bindparam("since"),
    _APPOINTMENTS.c.start_at < bindparam("before"),
    _APPOINTMENTS.c.occupied_until > bindparam("after"),
    _APPOINTMENTS.c.status.in_(ACTIVE_STATUSES),
)


def _arm(
    kind: str, column: KeyedColumnElement[int | None], values: str
) -> Select[str, int | None, int, int]:
    return select(
        literal(kind, String),
        column,
        epoch(_APPOINTMENTS.c.start_at),
        epoch(_APPOINTMENTS.c.occupied_until),
    ).where(column.in_(bindparam(values, expanding=True)), *_IN_WINDOW)


# Two shapes of the same question, each built once (compiled once per dialect, then cached).
# With only the (start_at, occupied_until) index, one scan of the window serves all holders.
# With indexes led by provider_id, room_id and equipment_id (see `_indexed_by_holder`), each
# holder's rows are read directly: a search that walks weeks ahead for one provider then reads
# that provider's rows, not the whole clinic's.
_BUSY_BY_WINDOW = select(
    _APPOINTMENTS.c.provider_id,
    _APPOINTMENTS.c.room_id,
    _APPOINTMENTS.c.equipment_id,
    epoch(_APPOINTMENTS.c.start_at),
    epoch(_APPOINTMENTS.c.occupied_until),
).where(
    *_IN_WINDOW,
    or_(
        _APPOINTMENTS.c.provider_id.in_(bindparam("providers", expanding=True)),
        _APPOINTMENTS.c.room_id.in_(bindparam("rooms", expanding=True)),
        _APPOINTMENTS.c.equipment_id.in_(bindparam("equipment", expanding=True)),
    ),
)
_BUSY_BY_HOLDER = union_all(
    _arm("p", _APPOINTMENTS.c.provider_id, "providers"),
    _arm("r", _APPOINTMENTS.c.room_id, "rooms"),
    _arm("r", _APPOINTMENTS.c.equipment_id, "equipment"),
)
_HOLDER_COLUMNS = {"provider_id", "room_id", "equipment_id"}
_INDEXED_BY_HOLDER: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


def _indexed_by_holder(session: Session) -> bool:
    """Whether appointments has an index led by each holder column (checked once per engine)."""
    connection = session.connection()
    known = _INDEXED_BY_HOLDER.get(connection.engine)
    if known is None:
        leading = {
            index["column_names"][0]
            for index in inspect(connection).get_indexes(Appointment.__tablename__)
            if index["column_names"]
        }
        known = _INDEXED_BY_HOLDER[connection.engine] = leading >= _HOLDER_COLUMNS
    return known


class _BusyMap:
    """Busy runs per holder over a window; a holder's runs are merged when first looked at.
    A holder whose time was not read counts as busy, never as free."""

    def __init__(
        self,
        read: set[tuple[str, int]],
        runs: dict[tuple[str, int], list[tuple[int, int]]],
        rows: int,
    ):
        self._read, self._runs, self.rows = read, runs, rows
        self._merged: dict[tuple[str, int], _Busy] = {}

    def free(self, holder: tuple[str, int], first: int, end: int) -> bool:
        busy = self._merged.get(holder)
        if busy is None:
            if holder not in self._read:
                return False
            busy = self._merged[holder] = _Busy(self._runs.get(holder, []))
        return busy.free(first, end)

    def hold(self, holder: tuple[str, int], first: int, end: int) -> None:
        """Count cells [first, end) of a holder whose time was read as busy (reserved time)."""
        if holder in self._read:
            self._runs.setdefault(holder, []).append((first, end))
            self._merged.pop(holder, None)


def _busy(
    session: Session,
    lo: int,
    hi: int,
    provider_ids: Sequence[int],
    room_ids: Sequence[int],
    equipment_ids: Sequence[int],
    longest_hold: int,
) -> _BusyMap:
    """Busy runs in [lo, hi) of the given providers, rooms and equipment (active appointments)."""
    params = {
        "since": _utc(lo - longest_hold),
        "before": _utc(hi),
        "after": _utc(lo),
        "providers": list(provider_ids),
        "rooms": list(room_ids),
        "equipment": list(equipment_ids),
    }
    runs: dict[tuple[str, int], list[tuple[int, int]]] = {}
    read = (
        {("p", i) for i in provider_ids}
        | {("r", i) for i in room_ids}
        | {("r", i) for i in equipment_ids}
    )
    if _indexed_by_holder(session):
        # all(): one fetch of every row from the driver, not a driver call per row.
        rows = _core_rows(session, _BUSY_BY_HOLDER, params)
        for kind, holder, start, until in rows:
            runs.setdefault((kind, holder), []).append(
                (start // CELL_SECONDS, -(-until // CELL_SECONDS))
            )
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
    return datetime.fromtimestamp(epoch, UTC)


def _epoch_of(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime given where an aware instant is needed")
    return int(moment.timestamp())
