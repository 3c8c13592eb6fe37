"""The clinic file's `[[reserved]]` tables (capacity kept for urgent patients): reading and
checking them, for `scheduler.clinic_file`. Which times a rule keeps, and for whom they are open,
is the slot search's business (scheduler/availability/reserved.py).

    [[reserved]]
    appointment_type = "sick-visit"   # and/or provider = "okafor"
    same_day = 2                      # per provider and working day
    next_day = 1
    release_hours = 2                 # ordinary times this long before they start

A rule names a provider (all the types they offer), an appointment type (every provider who
offers it) or both. Two rules may not cover the same provider and type: which one would keep
the time would be a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .clinic import AppointmentTypeConfig, ProviderConfig, ReservedCapacity

FIELDS = ("provider", "appointment_type", "same_day", "next_day", "release_hours")
MAX_COUNT = 20  # times of one kind a rule may keep per provider and day
MAX_RELEASE_HOURS = 24  # a same-day time released more than a day ahead is no reservation
DEFAULT_RELEASE_HOURS = 2


def parse_reserved(
    tables: Sequence[dict[str, Any]],
    providers: Sequence[ProviderConfig],
    types: Sequence[AppointmentTypeConfig],
    fail: Callable[[str, str], None],
) -> tuple[ReservedCapacity, ...]:
    """The valid rules of `tables`; each problem goes to `fail(field path, what is wrong)`."""
    by_provider = {p.key: p for p in providers}
    by_type = {t.key: t for t in types}
    rules: list[ReservedCapacity] = []
    owner: dict[tuple[str, str], int] = {}  # (provider, type) -> the rule that covers it
    for i, raw in enumerate(tables):
        where = f"reserved[{i}]"
        problems: list[tuple[str, str]] = []

        def failed(path: str, what: str, problems: list[tuple[str, str]] = problems) -> None:
            problems.append((path, what))
            fail(path, what)

        for name in raw:
            if name not in FIELDS:
                failed(f"{where}.{name}", "is not a field of [[reserved]]: " + ", ".join(FIELDS))
        provider = _key(raw, "provider", where, by_provider, "provider", failed)
        kind = _key(raw, "appointment_type", where, by_type, "appointment type", failed)
        if "provider" not in raw and "appointment_type" not in raw:
            failed(where, "name a provider, an appointment_type, or both")
        same_day = _count(raw, "same_day", where, failed)
        next_day = _count(raw, "next_day", where, failed)
        if same_day == 0 and next_day == 0:
            failed(where, "keeps nothing: same_day or next_day must be above 0")
        release = raw.get("release_hours", DEFAULT_RELEASE_HOURS)
        if (
            isinstance(release, bool)
            or not isinstance(release, (int, float))
            or not 0 <= release <= MAX_RELEASE_HOURS
        ):
            failed(f"{where}.release_hours", f"must be from 0 to {MAX_RELEASE_HOURS} hours")
        if problems or same_day is None or next_day is None:
            continue
        rule = ReservedCapacity(provider, kind, same_day, next_day, float(release))
        pairs = [(p, t) for p in providers for t in types if rule.covers(p, t)]
        if not pairs:
            failed(
                where,
                f"provider {provider!r} does not offer {kind!r}"
                if kind
                else f"provider {provider!r} offers no appointment type",
            )
            continue
        clash = next((pair for pair in pairs if (pair[0].key, pair[1].key) in owner), None)
        if clash is not None:
            other = owner[(clash[0].key, clash[1].key)]
            failed(
                where,
                f"covers provider {clash[0].key!r} and {clash[1].key!r}, as reserved[{other}] "
                "does: one rule per provider and appointment type",
            )
            continue
        owner.update({(p.key, t.key): i for p, t in pairs})
        rules.append(rule)
    return tuple(rules)


def _key(
    raw: dict[str, Any],
    name: str,
    where: str,
    known: dict[str, Any],
    what: str,
    failed: Callable[[str, str], None],
) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or value.strip() not in known:
        failed(f"{where}.{name}", f"no {what} with key {value!r}")
        return None
    return value.strip()


def _count(
    raw: dict[str, Any], name: str, where: str, failed: Callable[[str, str], None]
) -> int | None:
    value = raw.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        failed(f"{where}.{name}", f"must be a whole number from 0 to {MAX_COUNT}")
        return None
    return value
