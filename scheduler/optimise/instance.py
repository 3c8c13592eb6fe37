"""A batch assignment instance (`../shared/INTERFACE.md`, "Batch assignment instances"): the JSON
read into typed, frozen dataclasses with aware datetimes, and refused with one message naming the
field (`requests[3].windows[0]: ends before it starts`) when it is malformed or inconsistent.

What is refused (bad input, exit 2 on the command line): a missing or mistyped field, a time that
is not ISO 8601 with an offset, an interval that ends before (or when) it starts, a non-positive
`slot_minutes` or duration, a duration longer than every availability of the providers (rooms,
equipment) that could take it, duplicate ids, no providers, a request's specialty that no provider
has, a `room_kind` no room has, an `equipment_kind` no equipment has. What is not refused: a request
that simply cannot be placed (windows too short, nobody free then) — it is reported unserved.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from scheduler.errors import ClinicSchedulerError

T = TypeVar("T")


class InstanceError(ClinicSchedulerError, ValueError):
    """The instance is malformed; the message starts with the offending field's path."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}" if field else problem)
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class Span:
    """A half-open interval [start, end) of aware instants, end after start."""

    start: datetime
    end: datetime

    @property
    def minutes(self) -> float:
        return (self.end - self.start).total_seconds() / 60

    def contains(self, start: datetime, end: datetime) -> bool:
        return self.start <= start and end <= self.end


@dataclass(frozen=True)
class Provider:
    id: str
    specialties: frozenset[str]
    available: tuple[Span, ...]


@dataclass(frozen=True)
class Resource:
    """A room or a piece of equipment: one kind, available at some times."""

    id: str
    kind: str
    available: tuple[Span, ...]


@dataclass(frozen=True)
class Request:
    id: str
    duration_minutes: int
    specialty: str
    room_kind: str | None
    equipment_kind: str | None
    weight: int
    windows: tuple[Span, ...]
    """The first window is the patient's preferred one; the others are acceptable."""

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)


@dataclass(frozen=True)
class Instance:
    slot_minutes: int
    providers: tuple[Provider, ...]
    rooms: tuple[Resource, ...]
    equipment: tuple[Resource, ...]
    requests: tuple[Request, ...]


# -- reading ---------------------------------------------------------------------------------------


def load(path: str | Path) -> Instance:
    """The instance in a JSON file; `InstanceError` for an unreadable file or bad content."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InstanceError("", f"cannot read {path}: {error}") from error
    return loads(text)


def loads(text: str) -> Instance:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InstanceError(
            "", f"not JSON (line {error.lineno}, column {error.colno}): {error.msg}"
        ) from error
    return parse(data)


def parse(data: object) -> Instance:
    """The instance in decoded JSON, validated (see the module's docstring)."""
    root = _object(data, "")
    slot = _integer(root, "slot_minutes", "")
    if slot <= 0:
        raise InstanceError("slot_minutes", f"must be positive, not {slot}")
    providers = _list_of(root, "providers", _provider, required=True)
    if not providers:
        raise InstanceError("providers", "no providers: nobody could see any request")
    rooms = _list_of(root, "rooms", _resource, required=False)
    equipment = _list_of(root, "equipment", _resource, required=False)
    requests = _list_of(root, "requests", _request, required=True)
    for name, items in (
        ("providers", providers),
        ("rooms", rooms),
        ("equipment", equipment),
        ("requests", requests),
    ):
        _unique_ids(name, [item.id for item in items])
    for index, request in enumerate(requests):
        _check_request(f"requests[{index}]", request, providers, rooms, equipment)
    return Instance(slot, tuple(providers), tuple(rooms), tuple(equipment), tuple(requests))


def _check_request(
    where: str,
    request: Request,
    providers: Sequence[Provider],
    rooms: Sequence[Resource],
    equipment: Sequence[Resource],
) -> None:
    """Kinds that exist, and a duration that fits in some availability of each needed kind."""
    minutes = request.duration_minutes
    able = [p for p in providers if request.specialty in p.specialties]
    if not able:
        raise InstanceError(
            f"{where}.specialty", f"unknown specialty {request.specialty!r}: no provider has it"
        )
    _fits(f"{where}.duration_minutes", minutes, [p.available for p in able], "provider")
    for field, kind, pool, noun in (
        ("room_kind", request.room_kind, rooms, "room"),
        ("equipment_kind", request.equipment_kind, equipment, "equipment"),
    ):
        if kind is None:
            continue
        matching = [r.available for r in pool if r.kind == kind]
        if not matching:
            raise InstanceError(f"{where}.{field}", f"unknown kind {kind!r}: no {noun} has it")
        _fits(f"{where}.duration_minutes", minutes, matching, noun)


def _fits(field: str, minutes: int, availabilities: Sequence[Sequence[Span]], noun: str) -> None:
    longest = max((span.minutes for spans in availabilities for span in spans), default=0.0)
    if minutes > longest:
        raise InstanceError(
            field,
            f"{minutes} minutes is longer than any availability of a matching {noun}"
            f" (the longest is {longest:g} minutes)",
        )


def _unique_ids(name: str, ids: Sequence[str]) -> None:
    seen: dict[str, int] = {}
    for index, item in enumerate(ids):
        if item in seen:
            raise InstanceError(
                f"{name}[{index}].id", f"duplicate id {item!r} (also {name}[{seen[item]}])"
            )
        seen[item] = index


# -- the items -------------------------------------------------------------------------------------


def _provider(data: object, where: str) -> Provider:
    item = _object(data, where)
    specialties = _strings(item, "specialties", where)
    return Provider(_id(item, where), frozenset(specialties), _spans(item, "available", where))


def _resource(data: object, where: str) -> Resource:
    item = _object(data, where)
    kind = _string(item, "kind", where)
    return Resource(_id(item, where), kind, _spans(item, "available", where))


def _request(data: object, where: str) -> Request:
    item = _object(data, where)
    duration = _integer(item, "duration_minutes", where)
    if duration <= 0:
        raise InstanceError(f"{where}.duration_minutes", f"must be positive, not {duration}")
    weight = _integer(item, "weight", where)
    if weight < 0:
        raise InstanceError(f"{where}.weight", f"must not be negative, not {weight}")
    windows = _spans(item, "windows", where)
    if not windows:
        raise InstanceError(f"{where}.windows", "no windows: the request could never be served")
    return Request(
        id=_id(item, where),
        duration_minutes=duration,
        specialty=_string(item, "specialty", where),
        room_kind=_optional_string(item, "room_kind", where),
        equipment_kind=_optional_string(item, "equipment_kind", where),
        weight=weight,
        windows=windows,
    )


# -- the fields ------------------------------------------------------------------------------------


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _object(data: object, where: str) -> Mapping[str, object]:
    if not isinstance(data, dict):
        raise InstanceError(where or "(top level)", f"must be an object, not {_kind(data)}")
    return data


def _field(item: Mapping[str, object], key: str, where: str) -> object:
    if key not in item:
        raise InstanceError(_path(where, key), "missing")
    return item[key]


def _integer(item: Mapping[str, object], key: str, where: str) -> int:
    value = _field(item, key, where)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InstanceError(_path(where, key), f"must be a whole number, not {_kind(value)}")
    return value


def _string(item: Mapping[str, object], key: str, where: str) -> str:
    value = _field(item, key, where)
    if not isinstance(value, str) or not value:
        raise InstanceError(_path(where, key), f"must be a non-empty string, not {_kind(value)}")
    return value


def _optional_string(item: Mapping[str, object], key: str, where: str) -> str | None:
    if item.get(key) is None:
        return None
    return _string(item, key, where)


def _id(item: Mapping[str, object], where: str) -> str:
    return _string(item, "id", where)


def _strings(item: Mapping[str, object], key: str, where: str) -> list[str]:
    values = _field(item, key, where)
    if not isinstance(values, list):
        raise InstanceError(_path(where, key), f"must be a list, not {_kind(values)}")
    for index, value in enumerate(values):
        if not isinstance(value, str) or not value:
            raise InstanceError(f"{_path(where, key)}[{index}]", "must be a non-empty string")
    return list(values)


def _list_of(
    item: Mapping[str, object],
    key: str,
    read: Callable[[object, str], T],
    *,
    required: bool,
) -> list[T]:
    if key not in item and not required:
        return []
    values = _field(item, key, "")
    if not isinstance(values, list):
        raise InstanceError(key, f"must be a list, not {_kind(values)}")
    return [read(value, f"{key}[{index}]") for index, value in enumerate(values)]


def _spans(item: Mapping[str, object], key: str, where: str) -> tuple[Span, ...]:
    values = _field(item, key, where)
    field = _path(where, key)
    if not isinstance(values, list):
        raise InstanceError(field, f"must be a list of [start, end] pairs, not {_kind(values)}")
    spans = []
    for index, value in enumerate(values):
        at = f"{field}[{index}]"
        if not isinstance(value, list) or len(value) != 2:
            raise InstanceError(at, "must be a [start, end] pair")
        start, end = _instant(value[0], f"{at}[0]"), _instant(value[1], f"{at}[1]")
        if end < start:
            raise InstanceError(at, "ends before it starts")
        if end == start:
            raise InstanceError(at, "is empty: it ends when it starts")
        spans.append(Span(start, end))
    return tuple(spans)


def _instant(value: object, where: str) -> datetime:
    if not isinstance(value, str):
        raise InstanceError(where, f"must be an ISO 8601 time string, not {_kind(value)}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise InstanceError(where, f"not an ISO 8601 time: {value!r}") from error
    if moment.utcoffset() is None:
        raise InstanceError(where, f"{value!r} has no UTC offset")
    return moment


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)
