"""The clinic file: reading and validating it into a `Clinic`.

The file is TOML (see `demo_clinic.toml` for every field, commented). Validation collects every
problem, each named by its field path ("providers[2].hours.mon"), and refuses the whole file, so
a half-valid clinic is never loaded.
"""

from __future__ import annotations

import re
import tomllib
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from .clinic import (
    WEEKDAYS,
    AppointmentTypeConfig,
    Clinic,
    EquipmentConfig,
    ProviderConfig,
    RoomConfig,
    TimeRange,
)
from .clinic_reserved import parse_reserved
from .errors import ConfigurationError
from .models import CELL_MINUTES

DEMO_CLINIC = Path(__file__).resolve().parent / "demo_clinic.toml"
ADDRESS_CHARS = 120


class ClinicConfigError(ConfigurationError):
    """The clinic file is invalid; `errors` lists every problem as "field: what is wrong"."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("invalid clinic file:\n  " + "\n  ".join(errors))


_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class _Checker:
    """Collects errors while reading a raw mapping, so every problem is reported at once."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, where: str, what: str) -> None:
        self.errors.append(f"{where}: {what}")

    def text(self, data: dict[str, Any], key: str, where: str, required: bool = True) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                self.fail(f"{where}.{key}", "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(f"{where}.{key}", "must be a non-empty string")
            return None
        return value.strip()

    def key(self, data: dict[str, Any], where: str, seen: set[str]) -> str | None:
        value = self.text(data, "key", where)
        if value is None:
            return None
        if not _KEY.match(value):
            self.fail(f"{where}.key", "must be lowercase letters, digits and dashes")
            return None
        if value in seen:
            self.fail(f"{where}.key", f"duplicate key {value!r}")
        seen.add(value)
        return value

    def words(self, data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(f"{where}.{key}", "must be a list of non-empty strings")
            return ()
        return tuple(v.strip() for v in value)

    def time_range(self, value: Any, where: str) -> TimeRange | None:
        match = _RANGE.match(value.strip()) if isinstance(value, str) else None
        if not match:
            self.fail(where, "must be a range like 08:00-17:00")
            return None
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        try:
            start, end = time(h1, m1), time(h2, m2)
        except ValueError:
            self.fail(where, f"{value!r} is not a time of day")
            return None
        if start >= end:
            self.fail(where, "must end after it starts")
            return None
        return TimeRange(start, end)

    def number(
        self,
        data: dict[str, Any],
        key: str,
        where: str,
        *,
        default: float | None = None,
        minimum: float = 0,
        multiple_of: int | None = None,
    ) -> float | None:
        value = data.get(key, default)
        if value is None:
            self.fail(f"{where}.{key}", "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(f"{where}.{key}", "must be a number")
            return None
        if value < minimum:
            self.fail(f"{where}.{key}", f"must be at least {minimum:g}")
            return None
        if multiple_of and (value != int(value) or int(value) % multiple_of):
            self.fail(f"{where}.{key}", f"must be a whole multiple of {multiple_of} minutes")
            return None
        return value


def parse_clinic(data: dict[str, Any]) -> Clinic:
    """Validate a raw clinic mapping; raise `ClinicConfigError` naming every bad field."""
    check = _Checker()
    if not isinstance(data, dict):
        raise ClinicConfigError(["(file): must be a TOML table"])

    head = data.get("clinic")
    if not isinstance(head, dict):
        check.fail("clinic", "a [clinic] table is required")
        head = {}
    name = check.text(head, "name", "clinic")
    phone = check.text(head, "phone", "clinic")
    if phone is not None:
        try:
            parsed = phonenumbers.parse(phone, "US")
            if not phonenumbers.is_possible_number(parsed):
                raise phonenumbers.NumberParseException(0, "impossible")
            phone = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        except phonenumbers.NumberParseException:
            check.fail("clinic.phone", "is not a phone number")
    tz = check.text(head, "timezone", "clinic")
    if tz is not None:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            check.fail("clinic.timezone", f"{tz!r} is not an IANA time zone")
    step = check.number(
        head,
        "slot_step_minutes",
        "clinic",
        default=15,
        minimum=CELL_MINUTES,
        multiple_of=CELL_MINUTES,
    )
    show_provider = head.get("show_provider_in_reminders", True)
    if not isinstance(show_provider, bool):
        check.fail("clinic.show_provider_in_reminders", "must be true or false")
    address = head.get("address")
    if address is not None:
        if not isinstance(address, str) or not 0 < len(address.strip()) <= ADDRESS_CHARS:
            check.fail("clinic.address", f"must be one line of at most {ADDRESS_CHARS} characters")
            address = None
        else:
            address = " ".join(address.split())

    def entries(section: str) -> list[dict[str, Any]]:
        value = data.get(section, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            check.fail(section, "must be a list of tables ([[" + section + "]])")
            return []
        return value

    providers: list[ProviderConfig] = []
    provider_keys: set[str] = set()
    for i, raw in enumerate(entries("providers")):
        where = f"providers[{i}]"
        key = check.key(raw, where, provider_keys)
        pname = check.text(raw, "name", where)
        specialties = frozenset(s.lower() for s in check.words(raw, "specialties", where))
        hours: dict[int, TimeRange] = {}
        raw_hours = raw.get("hours")
        if not isinstance(raw_hours, dict) or not raw_hours:
            check.fail(f"{where}.hours", 'is required: a table of weekday = "HH:MM-HH:MM"')
        else:
            for day, value in raw_hours.items():
                if day not in WEEKDAYS:
                    check.fail(f"{where}.hours.{day}", "is not a weekday (mon..sun)")
                    continue
                if (span := check.time_range(value, f"{where}.hours.{day}")) is not None:
                    hours[WEEKDAYS.index(day)] = span
        breaks = []
        for j, value in enumerate(
            raw.get("breaks", []) if isinstance(raw.get("breaks", []), list) else [None]
        ):
            if (span := check.time_range(value, f"{where}.breaks[{j}]")) is not None:
                breaks.append(span)
        days_off: set[date] = set()
        raw_off = raw.get("days_off", [])
        for j, value in enumerate(raw_off if isinstance(raw_off, list) else [raw_off]):
            if isinstance(value, date):
                days_off.add(value)
                continue
            try:
                days_off.add(date.fromisoformat(str(value)))
            except ValueError:
                check.fail(f"{where}.days_off[{j}]", f"{value!r} is not a date like 2026-12-25")
        if key and pname:
            providers.append(
                ProviderConfig(
                    key,
                    pname,
                    check.words(raw, "aliases", where),
                    specialties,
                    hours,
                    tuple(breaks),
                    frozenset(days_off),
                    _names(check, raw, where),
                )
            )
    if not providers and not any(e.startswith("providers") for e in check.errors):
        check.fail("providers", "at least one provider is required")

    rooms: list[RoomConfig] = []
    resource_keys: set[str] = set()
    for i, raw in enumerate(entries("rooms")):
        where = f"rooms[{i}]"
        key, rname = check.key(raw, where, resource_keys), check.text(raw, "name", where)
        kind = check.text(raw, "kind", where)
        if key and rname and kind:
            rooms.append(RoomConfig(key, rname, kind.lower()))
    equipment: list[EquipmentConfig] = []
    for i, raw in enumerate(entries("equipment")):
        where = f"equipment[{i}]"
        key, ename = check.key(raw, where, resource_keys), check.text(raw, "name", where)
        if key and ename:
            equipment.append(EquipmentConfig(key, ename))

    types: list[AppointmentTypeConfig] = []
    type_keys: set[str] = set()
    room_kinds = {r.kind for r in rooms}
    equipment_keys = {e.key for e in equipment}
    specialties_known = set().union(*(p.specialties for p in providers)) if providers else set()
    for i, raw in enumerate(entries("appointment_types")):
        where = f"appointment_types[{i}]"
        key, tname = check.key(raw, where, type_keys), check.text(raw, "name", where)
        duration = check.number(
            raw, "duration_minutes", where, minimum=CELL_MINUTES, multiple_of=CELL_MINUTES
        )
        buffer = check.number(raw, "buffer_minutes", where, default=0, multiple_of=CELL_MINUTES)
        specialty = check.text(raw, "specialty", where, required=False)
        if specialty and providers and specialty.lower() not in specialties_known:
            check.fail(f"{where}.specialty", f"no provider has specialty {specialty!r}")
        room_kind = check.text(raw, "room_kind", where, required=False)
        if room_kind and room_kind.lower() not in room_kinds:
            check.fail(f"{where}.room_kind", f"no room of kind {room_kind!r}")
        equip = check.text(raw, "equipment", where, required=False)
        if equip and equip not in equipment_keys:
            check.fail(f"{where}.equipment", f"no equipment with key {equip!r}")
        notice = check.number(raw, "min_notice_hours", where, default=0)
        ahead = check.number(raw, "max_days_ahead", where, default=90, minimum=1)
        offsets = _reminder_offsets(check, raw, where)
        if (
            key is not None
            and tname is not None
            and duration is not None
            and buffer is not None
            and notice is not None
            and ahead is not None
        ):
            types.append(
                AppointmentTypeConfig(
                    key,
                    tname,
                    check.words(raw, "synonyms", where),
                    int(duration),
                    int(buffer),
                    specialty.lower() if specialty else None,
                    room_kind.lower() if room_kind else None,
                    equip,
                    float(notice),
                    int(ahead),
                    offsets,
                    _names(check, raw, where),
                )
            )
    if not types and not any(e.startswith("appointment_types") for e in check.errors):
        check.fail("appointment_types", "at least one appointment type is required")
    # Capacity kept for urgent patients (scheduler/clinic_reserved.py).
    reserved = parse_reserved(entries("reserved"), providers, types, check.fail)

    # Each of these is None only when its check failed (and so recorded an error).
    if check.errors or name is None or phone is None or tz is None or step is None:
        raise ClinicConfigError(check.errors)
    return Clinic(
        name,
        phone,
        tz,
        int(step),
        show_provider,
        tuple(providers),
        tuple(rooms),
        tuple(equipment),
        tuple(types),
        raw=_jsonable(data),
        address=address,
        reserved=reserved,
    )


_OFFSET = re.compile(r"^(\d+)\s*([mhd])$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")


def _names(check: _Checker, raw: dict[str, Any], where: str) -> dict[str, str]:
    """`names = { es = "..." }`: what patients writing in another language are told."""
    value = raw.get("names", {})
    if not isinstance(value, dict):
        check.fail(f"{where}.names", 'must be a table like { es = "Chequeo general" }')
        return {}
    names = {}
    for language, name in value.items():
        if not _LANGUAGE.match(language):
            check.fail(f"{where}.names.{language}", "must be a two-letter language code")
        elif not isinstance(name, str) or not name.strip():
            check.fail(f"{where}.names.{language}", "must be a name")
        else:
            names[language] = " ".join(name.split())
    return names


def _reminder_offsets(check: _Checker, raw: dict[str, Any], where: str) -> tuple[int, ...] | None:
    """An appointment type's own reminder offsets ("48h", "90m", "2d"), as minutes, latest
    first; an empty list means no reminders for the type."""
    value = raw.get("reminder_offsets")
    if value is None:
        return None
    if not isinstance(value, list):
        check.fail(f"{where}.reminder_offsets", 'must be a list like ["24h", "2h"]')
        return None
    minutes: set[int] = set()
    for j, item in enumerate(value):
        match = _OFFSET.match(str(item).strip().lower()) if isinstance(item, str) else None
        if not match or int(match.group(1)) == 0:
            check.fail(f"{where}.reminder_offsets[{j}]", f"{item!r} is not like 24h, 90m or 2d")
            continue
        amount = int(match.group(1))
        minutes.add(amount * {"m": 1, "h": 60, "d": 1440}[match.group(2)])
    return tuple(sorted(minutes, reverse=True))


def load_clinic(path: str | Path | None = None) -> Clinic:
    """Read and validate a clinic file; `None` means the demo clinic shipped in the repo."""
    path = Path(path) if path else DEMO_CLINIC
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ClinicConfigError([f"(file): {path} does not exist"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ClinicConfigError([f"(file): not valid TOML: {exc}"]) from None
    return parse_clinic(data)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, (date, time)):
        return value.isoformat()
    return value
