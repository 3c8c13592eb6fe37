"""Reading what staff type to name a patient or an appointment: a phone number, an appointment id,
a patient's name. Shared by `/appt` (bot/staff/commands.py), `/appt-admin` (bot/staff/admin.py),
the new-patient form behind a free slot (bot/staff/choices.py) and the staff conversation
(bot/staff/chat.py).

A phone number is normalized to E.164 by the clinic's own rule (scheduler/patients.py); the
readers also say whether something phone-like was there, so a mistyped number gets "that does not
look like a phone number" rather than "which patient?".
"""

from __future__ import annotations

import re

from scheduler.patients import InvalidPhoneNumber, normalize_phone

_PHONE_AT_START = re.compile(r"^\s*(\+?\(?\d[\d().\- ]{5,22}\d)(?=\s|$)")
_PHONE_ANYWHERE = re.compile(r"(?<![\w#])\+?\(?\d[\d().\- ]{5,22}\d(?![\w])")
_ISO_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_APPOINTMENT_ID = re.compile(r"^#?(\d{1,9})$")
_NAME = re.compile(r"^[^\W\d_][^\W\d_' .-]*(?:[ '.-]+[^\W\d_]+)*\.?$")


def leading_phone(text: str) -> tuple[str | None, str, bool]:
    """(E.164 phone, the rest, whether something phone-like was there) from the start of text."""
    match = _PHONE_AT_START.match(text)
    if match is None:
        return None, text, False
    try:
        return normalize_phone(match.group(1)), text[match.end() :].strip(), True
    except InvalidPhoneNumber:
        return None, text[match.end() :].strip(), True


def phone_in(text: str) -> tuple[str | None, str, bool]:
    """(E.164 phone, the text without it, whether something phone-like was there), anywhere."""
    for match in _PHONE_ANYWHERE.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        if len(digits) < 7 or _ISO_DATE.fullmatch(match.group(0).strip()):
            continue
        rest = (text[: match.start()] + " " + text[match.end() :]).strip()
        try:
            return normalize_phone(match.group(0).strip()), rest, True
        except InvalidPhoneNumber:
            return None, rest, True
    return None, text, False


def appointment_id(word: str) -> int | None:
    match = _APPOINTMENT_ID.match(word.strip())
    return int(match.group(1)) if match else None


def valid_name(text: str) -> bool:
    return 2 <= len(text) <= 80 and bool(_NAME.match(text))
