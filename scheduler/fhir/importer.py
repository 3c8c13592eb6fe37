"""Importing providers, rooms and appointment types from an EHR's FHIR R4 Bundle into the clinic.

`plan_import(bundle, clinic)` reads a Bundle's Practitioner, PractitionerRole, Location and
HealthcareService entries, each validated with fhir.resources (its R4B models: R4 4.0.1 and R4B
agree on every element read here), merges them into the clinic's own mapping (the clinic file's
fields, `Clinic.raw`) and validates the result as a clinic file (scheduler/clinic_file.py). It
changes nothing: the caller shows the plan (a dry run) or installs `plan.clinic`.

What maps to what (docs/fhir.md, "Import, export and notifications"):

- Practitioner -> a provider: `id` is its key (lower-cased), `name` its name;
- PractitionerRole -> that provider's `specialties` (`specialty`), weekly `hours` and `breaks`
  (`availableTime`: a day's ranges; the gaps between them are breaks, which the clinic file takes
  every working day) and `days_off` (`notAvailable[].during`: every clinic-local day it touches);
- Location with physicalType `ro` -> a room (`type` is its kind); `si`, `bu`, `wi`, `lvl` or
  `area` -> the clinic itself (name, phone, one-line address);
- HealthcareService -> an appointment type (`specialty`, and the room kind of the room in
  `location`); its length from the extension `DURATION_EXTENSION` (minutes), else the type's own,
  else `DEFAULT_DURATION` (said so in the plan).

The bundle adds and updates by key; it never removes (an entry the EHR leaves out stays).
Inactive resources are skipped. Every problem is collected and named by entry and field
("entry[3] PractitionerRole/r1: availableTime[0].availableStartTime: ..."), and any problem
refuses the whole bundle: nothing is half-imported.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any

import pydantic
from fhir.resources.R4B import get_fhir_model_class

from scheduler.clinic import WEEKDAYS, Clinic
from scheduler.clinic_file import ClinicConfigError, parse_clinic
from scheduler.errors import SchedulingError

IMPORTED = ("Practitioner", "PractitionerRole", "Location", "HealthcareService")
DURATION_EXTENSION = "urn:clinic-scheduler:fhir:duration-minutes"
DEFAULT_DURATION = 30
ROOM = "ro"
SITES = ("si", "bu", "wi", "lvl", "area")
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_INDEXED = re.compile(r"^(providers|rooms|appointment_types)\[(\d+)\](.*)$")


class FhirImportError(SchedulingError):
    """The bundle was refused; `errors` names every problem ("entry[i] Type/id: path: what")."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__(f"{len(errors)} problem(s) in the bundle, nothing imported")


@dataclass
class ImportPlan:
    """What an import would do: the merged clinic (validated), and notes about what it left."""

    clinic: Clinic
    before: dict[str, Any]
    after: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class _Entry:
    index: int
    kind: str
    model: Any
    key: str

    @property
    def label(self) -> str:
        return f"entry[{self.index}] {self.kind}/{self.model.id}"


def plan_import(bundle: Any, clinic: Clinic) -> ImportPlan:
    """The clinic after importing `bundle` (parsed JSON); raises FhirImportError, changes nothing."""
    errors: list[str] = []
    entries = _entries(bundle, errors)
    reader = _Reader(clinic, errors)
    for entry in entries:
        reader.add(entry)
    if errors:
        raise FhirImportError(errors)
    reader.apply()
    if errors:
        raise FhirImportError(errors)
    try:
        merged = parse_clinic(reader.raw)
    except ClinicConfigError as exc:
        raise FhirImportError([reader.origin_of(error) for error in exc.errors]) from None
    return ImportPlan(merged, clinic.raw, merged.raw, reader.notes, reader.counts)


# --- reading the bundle ------------------------------------------------------------------------


def _where(loc: Iterable[Any]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(resource)"


def _entries(bundle: Any, errors: list[str]) -> list[_Entry]:
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        errors.append("(bundle): resourceType: must be a FHIR Bundle")
        return []
    raw_entries = bundle.get("entry", [])
    if not isinstance(raw_entries, list):
        errors.append("(bundle): entry: must be a list")
        return []
    found: list[_Entry] = []
    seen: set[tuple[str, str]] = set()
    for index, raw in enumerate(raw_entries):
        resource = raw.get("resource") if isinstance(raw, dict) else None
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if not isinstance(resource, dict) or not isinstance(kind, str):
            errors.append(f"entry[{index}]: resource: a resource with a resourceType is required")
            continue
        if kind not in IMPORTED:
            errors.append(
                f"entry[{index}] {kind}: resourceType: not imported ({', '.join(IMPORTED)})"
            )
            continue
        try:
            model: Any = get_fhir_model_class(kind).model_validate(resource)
        except pydantic.ValidationError as exc:
            for problem in exc.errors():
                where = _where(problem["loc"])
                errors.append(
                    f"entry[{index}] {kind}/{resource.get('id')}: {where}: {problem['msg']}"
                )
            continue
        label = f"entry[{index}] {kind}/{model.id}"
        key = (model.id or "").lower()
        if not _KEY.match(key):
            errors.append(
                f"{label}: id: is required and must make a clinic key "
                "(letters, digits and dashes, at most 64)"
            )
            continue
        if (kind, key) in seen:
            errors.append(f"{label}: id: duplicate {kind} id {model.id!r}")
            continue
        seen.add((kind, key))
        found.append(_Entry(index, kind, model, key))
    return found


def _concept_word(concept: Any) -> str | None:
    """A CodeableConcept as the clinic file's word for it: its text, display or code, lower case."""
    if concept is None:
        return None
    for value in [concept.text] + [
        c.display or c.code for c in (concept.coding or []) if c.display or c.code
    ]:
        if value and value.strip():
            return " ".join(value.lower().split())
    return None


def _reference_key(reference: Any, kind: str) -> str | None:
    value = getattr(reference, "reference", None) or ""
    prefix, _, ident = value.rpartition("/")
    if not prefix.endswith(kind) or not ident:
        return None
    return ident.lower()


class _Reader:
    """Merges the entries into a copy of the clinic's mapping, collecting every problem."""

    def __init__(self, clinic: Clinic, errors: list[str]):
        self.clinic, self.errors = clinic, errors
        self.raw: dict[str, Any] = copy.deepcopy(clinic.raw)
        self.notes: list[str] = []
        self.counts = dict.fromkeys(IMPORTED, 0)
        self.roles: dict[str, list[_Entry]] = {}
        self.practitioners: dict[str, _Entry] = {}
        self.locations: dict[str, _Entry] = {}
        self.services: list[_Entry] = []
        self.origins: dict[tuple[str, int], str] = {}
        self.site: _Entry | None = None

    def fail(self, entry: _Entry, where: str, what: str) -> None:
        self.errors.append(f"{entry.label}: {where}: {what}")

    def add(self, entry: _Entry) -> None:
        if getattr(entry.model, "active", None) is False or getattr(
            entry.model, "status", None
        ) in (
            "inactive",
            "suspended",
        ):
            self.notes.append(f"{entry.label}: skipped (inactive)")
            return
        self.counts[entry.kind] += 1
        if entry.kind == "Practitioner":
            self.practitioners[entry.key] = entry
        elif entry.kind == "PractitionerRole":
            key = _reference_key(entry.model.practitioner, "Practitioner")
            if key is None:
                self.fail(entry, "practitioner", "a reference Practitioner/<id> is required")
            else:
                self.roles.setdefault(key, []).append(entry)
        elif entry.kind == "Location":
            self.locations[entry.key] = entry
        else:
            self.services.append(entry)

    # --- the sections ----------------------------------------------------------------------------

    def section(self, name: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.raw.setdefault(name, [])
        return items

    def keyed(self, name: str, key: str, origin: str) -> dict[str, Any]:
        items = self.section(name)
        for position, item in enumerate(items):
            if item.get("key") == key:
                self.origins[(name, position)] = origin
                return item
        items.append({"key": key})
        self.origins[(name, len(items) - 1)] = origin
        return items[-1]

    def origin_of(self, error: str) -> str:
        """A clinic-file error ("appointment_types[5].specialty: ...") named by its entry."""
        match = _INDEXED.match(error)
        if match and (origin := self.origins.get((match.group(1), int(match.group(2))))):
            return f"{origin}: {match.group(1)}[{match.group(2)}]{match.group(3)}"
        return f"clinic after import: {error}"

    def apply(self) -> None:
        for entry in self.locations.values():
            self.location(entry)
        for key, entry in self.practitioners.items():
            self.provider(key, entry)
        known = {p["key"] for p in self.section("providers")}
        for key, roles in self.roles.items():
            if key not in known:
                for role in roles:
                    self.fail(
                        role,
                        "practitioner",
                        f"Practitioner/{key} is neither in the bundle nor a provider of the clinic",
                    )
                continue
            self.role(key, roles)
        for entry in self.services:
            self.service(entry)

    def provider(self, key: str, entry: _Entry) -> None:
        names = entry.model.name or []
        human = next((n for n in names if n.use == "official"), names[0] if names else None)
        full = None
        if human is not None:
            full = human.text or " ".join(
                [
                    *(human.prefix or []),
                    *(human.given or []),
                    *([human.family] if human.family else []),
                ]
            )
        item = self.keyed("providers", key, entry.label)
        if not full or not full.strip():
            if "name" not in item:
                self.fail(entry, "name", "a name (text, or given and family) is required")
            return
        item["name"] = " ".join(full.split())
        if "aliases" not in item and human is not None and human.family:
            family = human.family.lower()
            item["aliases"] = [family] + [
                f"{spelling} {family}"
                for prefix in human.prefix or []
                for spelling in dict.fromkeys((prefix.lower(), prefix.lower().rstrip(".")))
                if spelling.strip()
            ]

    def role(self, key: str, roles: list[_Entry]) -> None:
        item = self.keyed("providers", key, roles[0].label)
        specialties = [w for r in roles for c in r.model.specialty or [] if (w := _concept_word(c))]
        if specialties:
            item["specialties"] = sorted(set(specialties))
        spans: dict[int, list[tuple[time, time]]] = {}
        days_off: set[date] = set()
        for role in roles:
            for j, available in enumerate(role.model.availableTime or []):
                self.available(role, j, available, spans)
            for j, absent in enumerate(role.model.notAvailable or []):
                days_off |= self.absent(role, j, absent)
        if spans:
            hours, breaks = self.week(roles[0], spans)
            item["hours"], item["breaks"] = hours, breaks
        elif "hours" not in item:
            self.fail(roles[0], "availableTime", "a new provider's working hours are required")
        if days_off:
            item["days_off"] = sorted(d.isoformat() for d in days_off)

    def available(
        self, role: _Entry, j: int, available: Any, spans: dict[int, list[tuple[time, time]]]
    ) -> None:
        where = f"availableTime[{j}]"
        if available.allDay:
            self.fail(role, f"{where}.allDay", "not supported: give the start and end times")
            return
        start, end = available.availableStartTime, available.availableEndTime
        if start is None or end is None:
            self.fail(role, where, "availableStartTime and availableEndTime are required")
            return
        if start >= end:
            self.fail(role, where, "must end after it starts")
            return
        if not available.daysOfWeek:
            self.fail(role, f"{where}.daysOfWeek", "is required")
        for day in available.daysOfWeek or []:
            if day not in WEEKDAYS:
                self.fail(role, f"{where}.daysOfWeek", f"{day!r} is not mon..sun")
                continue
            spans.setdefault(WEEKDAYS.index(day), []).append((start, end))

    def week(
        self, role: _Entry, spans: dict[int, list[tuple[time, time]]]
    ) -> tuple[dict[str, str], list[str]]:
        """Each day's hours (first start to last end) and the gaps between its ranges as breaks:
        the clinic file's breaks hold every working day, so a gap must be one on every day whose
        hours it falls in."""
        hours: dict[str, str] = {}
        gaps: dict[int, set[tuple[time, time]]] = {}
        for day, ranges in sorted(spans.items()):
            ranges.sort()
            merged = [list(ranges[0])]
            for start, end in ranges[1:]:
                if start <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], end)
                else:
                    merged.append([start, end])
            hours[WEEKDAYS[day]] = _span(merged[0][0], merged[-1][1])
            gaps[day] = {(a[1], b[0]) for a, b in pairwise(merged)}
        every = set().union(*gaps.values())
        for gap in sorted(every):
            for day, ranges in spans.items():
                inside = ranges[0][0] <= gap[0] and gap[1] <= max(end for _, end in ranges)
                if inside and gap not in gaps[day]:
                    self.fail(
                        role,
                        "availableTime",
                        f"a break {_span(*gap)} on some days only cannot be kept "
                        f"(the clinic file's breaks hold every working day; {WEEKDAYS[day]} works it)",
                    )
                    return hours, []
        return hours, [_span(*gap) for gap in sorted(every)]

    def absent(self, role: _Entry, j: int, absent: Any) -> set[date]:
        during = absent.during
        if during is None or during.start is None:
            self.fail(role, f"notAvailable[{j}].during", "a period with a start is required")
            return set()
        first = self.local_day(during.start)
        last = first if during.end is None else self.local_day(during.end, end=True)
        if last < first:
            self.fail(role, f"notAvailable[{j}].during", "must end after it starts")
            return set()
        if (last - first).days > 366:
            self.fail(role, f"notAvailable[{j}].during", "longer than a year")
            return set()
        return {first + timedelta(days=n) for n in range((last - first).days + 1)}

    def local_day(self, value: date | datetime, *, end: bool = False) -> date:
        """The clinic-local day of a period's bound; an end at local midnight is exclusive."""
        if not isinstance(value, datetime):
            return value
        local = value.astimezone(self.clinic.zone) if value.tzinfo else value
        if end and local.time() == time(0, 0):
            return local.date() - timedelta(days=1)
        return local.date()

    def location(self, entry: _Entry) -> None:
        model = entry.model
        codes = [c.code for c in (model.physicalType.coding or [])] if model.physicalType else []
        if ROOM in codes:
            item = self.keyed("rooms", entry.key, entry.label)
            if model.name:
                item["name"] = model.name
            kind = next((w for c in model.type or [] if (w := _concept_word(c))), None)
            if kind:
                item["kind"] = kind
            elif "kind" not in item:
                self.fail(entry, "type", "a room's type (its kind, like exam) is required")
            return
        if not any(code in SITES for code in codes):
            self.fail(
                entry,
                "physicalType",
                f"must be {ROOM} (a room) or one of {', '.join(SITES)} (the clinic's site)",
            )
            return
        if self.site is not None:
            self.fail(
                entry,
                "physicalType",
                f"only one Location may be the clinic's site ({self.site.label} is)",
            )
            return
        self.site = entry
        head = self.raw.setdefault("clinic", {})
        if model.name:
            head["name"] = model.name
        phone = next(
            (t.value for t in model.telecom or [] if t.system == "phone" and t.value), None
        )
        if phone:
            head["phone"] = phone
        if model.address is not None:
            address = model.address.text or ", ".join(
                part
                for part in [
                    *(model.address.line or []),
                    model.address.city,
                    " ".join(p for p in (model.address.state, model.address.postalCode) if p),
                ]
                if part
            )
            if address:
                head["address"] = " ".join(address.split())

    def service(self, entry: _Entry) -> None:
        model = entry.model
        item = self.keyed("appointment_types", entry.key, entry.label)
        if model.name:
            item["name"] = model.name
            item.setdefault("synonyms", [model.name.lower()])
        elif "name" not in item:
            self.fail(entry, "name", "a new appointment type's name is required")
        specialty = next((w for c in model.specialty or [] if (w := _concept_word(c))), None)
        if specialty:
            item["specialty"] = specialty
        for j, reference in enumerate(model.location or []):
            key = _reference_key(reference, "Location")
            rooms = {r["key"]: r for r in self.section("rooms")}
            if key in rooms:
                item["room_kind"] = rooms[key].get("kind")
                break
            if key is None or key not in self.locations:
                self.fail(
                    entry, f"location[{j}]", f"{reference.reference!r} is not a known Location"
                )
        minutes = None
        for j, extension in enumerate(model.extension or []):
            if extension.url == DURATION_EXTENSION:
                minutes = extension.valueInteger
                if not isinstance(minutes, int) or minutes <= 0:
                    self.fail(entry, f"extension[{j}].valueInteger", "minutes, a whole number")
        if minutes is not None:
            item["duration_minutes"] = minutes
        elif "duration_minutes" not in item:
            item["duration_minutes"] = DEFAULT_DURATION
            self.notes.append(
                f"{entry.label}: no duration given; {DEFAULT_DURATION} minutes assumed "
                f"(extension {DURATION_EXTENSION})"
            )


def _span(start: time, end: time) -> str:
    return f"{start:%H:%M}-{end:%H:%M}"
