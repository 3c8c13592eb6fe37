"""The scheduling exceptions. Adapters and the dialogue turn them into replies a person can act on."""
from __future__ import annotations

from typing import Sequence


class SchedulingError(Exception):
    """Base of every refusal the clinic domain can give. The message is for staff and logs, in
    English; `code` names the reason in a fixed word, for a reply in the patient's language."""

    code = "refused"

    def __init__(self, message: str = "", *, code: str | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code


class SlotUnavailable(SchedulingError):
    """The slot is taken or no longer bookable; `alternatives` are the nearest free slots."""

    code = "taken"

    def __init__(self, message: str = "that time is no longer available",
                 alternatives: Sequence = (), *, code: str | None = None):
        super().__init__(message, code=code)
        self.alternatives = list(alternatives)


class OutsideBookingWindow(SchedulingError):
    """In the past, inside the minimum notice, beyond the booking horizon, or outside hours."""

    code = "outside_window"

    def __init__(self, message: str, alternatives: Sequence = (), *, code: str | None = None):
        super().__init__(message, code=code)
        self.alternatives = list(alternatives)


class NotFound(SchedulingError):
    """No such appointment, patient, provider or appointment type (or not visible to the caller)."""

    code = "not_found"


class NotAllowed(SchedulingError):
    """The caller may not do this (a patient acting on someone else's appointment)."""

    code = "not_allowed"
