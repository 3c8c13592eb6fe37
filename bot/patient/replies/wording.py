"""Dates, times and the clinic's names as the patient's language says them ("Thu Mar 5 at 3:00 PM",
"jueves 5 de marzo, 3:00 p.m."; "Chequeo general").
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from bot.i18n import _, current
from bot.i18n import day_text as _day_text
from bot.i18n import time_text as _time_text
from scheduler.clinic import AppointmentTypeConfig, Clinic, ProviderConfig


def day_text(day: date) -> str:
    return _day_text(day)


def time_text(moment: datetime | time) -> str:
    return _time_text(moment.time() if isinstance(moment, datetime) else moment)


def when_text(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return _("{day} at {time}").format(day=day_text(local.date()), time=time_text(local))


def type_name(kind: AppointmentTypeConfig) -> str:
    return kind.name_in(current())


def provider_name(provider: ProviderConfig) -> str:
    return provider.name_in(current())


def type_name_of(clinic: Clinic, key: str, stored: str) -> str:
    """An appointment type's name by its key (`stored`, the database's, if the clinic file no
    longer has it)."""
    try:
        return type_name(clinic.appointment_type(key))
    except StopIteration:
        return stored


def provider_name_of(clinic: Clinic, key: str, stored: str) -> str:
    try:
        return provider_name(clinic.provider(key))
    except StopIteration:
        return stored


def type_names(clinic: Clinic) -> list[str]:
    """The clinic's kinds of visit, numbered in this order when a patient is asked to choose."""
    return [type_name(kind) for kind in clinic.appointment_types]


def period_text(first: date, last: date) -> str:
    return _("{first} to {last}").format(first=day_text(first), last=day_text(last))
