"""The scheduling exceptions. Adapters and the dialogue turn them into replies a person can act on."""
from __future__ import annotations

from typing import Sequence


class SchedulingError(Exception):
    """Base of every refusal the clinic domain can give."""


class SlotUnavailable(SchedulingError):
    """The slot is taken or no longer bookable; `alternatives` are the nearest free slots."""

    def __init__(self, message: str = "that time is no longer available",
                 alternatives: Sequence = ()):
        super().__init__(message)
        self.alternatives = list(alternatives)


class OutsideBookingWindow(SchedulingError):
    """In the past, inside the minimum notice, beyond the booking horizon, or outside hours."""

    def __init__(self, message: str, alternatives: Sequence = ()):
        super().__init__(message)
        self.alternatives = list(alternatives)


class NotFound(SchedulingError):
    """No such appointment, patient, provider or appointment type (or not visible to the caller)."""


class NotAllowed(SchedulingError):
    """The caller may not do this (a patient acting on someone else's appointment)."""
