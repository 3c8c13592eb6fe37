"""The project's exceptions: one small tree, translated into answers at the boundaries.

    ClinicSchedulerError            everything the project raises on purpose
    +-- SchedulingError             the clinic domain refused (its `code` says why); kinds below
    |   +-- SlotUnavailable, OutsideBookingWindow, NotFound, NotAllowed, InvalidPhoneNumber
    +-- ChannelError                a channel or an outside service failed or refused a request
    |   (a webhook refused, a text not delivered, the model's call failed)
    +-- ConfigurationError          a setting, a key or the clinic file is wrong (also ValueError)

Vendor errors (Twilio's, Slack's, botocore's) are caught where the vendor's SDK is called and
raised again as one of these, `from` the original. The dialogue and the adapters turn a
`SchedulingError` into a sentence the person can act on; a `ConfigurationError` stops the start
with a message naming the setting; a `ChannelError` is logged with an id and answered politely.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .availability import Slot


class ClinicSchedulerError(Exception):
    """The root of every error the project raises on purpose."""


class ChannelError(ClinicSchedulerError):
    """A channel or an outside service (Twilio, Slack, Bedrock) failed or refused a request."""


class ConfigurationError(ClinicSchedulerError, ValueError):
    """A setting, an encryption key or the clinic file is missing or malformed."""


class SchedulingError(ClinicSchedulerError):
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

    def __init__(
        self,
        message: str = "that time is no longer available",
        alternatives: Sequence[Slot] = (),
        *,
        code: str | None = None,
    ):
        super().__init__(message, code=code)
        self.alternatives = list(alternatives)


class OutsideBookingWindow(SchedulingError):
    """In the past, inside the minimum notice, beyond the booking horizon, or outside hours."""

    code = "outside_window"

    def __init__(self, message: str, alternatives: Sequence[Slot] = (), *, code: str | None = None):
        super().__init__(message, code=code)
        self.alternatives = list(alternatives)


class NotFound(SchedulingError):
    """No such appointment, patient, provider or appointment type (or not visible to the caller)."""

    code = "not_found"


class NotAllowed(SchedulingError):
    """The caller may not do this (a patient acting on someone else's appointment)."""

    code = "not_allowed"


class StaffUserError(SchedulingError):
    """A change to the staff list or to a login that cannot be made; the message says why, for
    the operator (scheduler/staff_users.py, scheduler/accounts.py)."""
