"""The normalized message types every channel produces and renders.

An adapter turns a platform's request into an `InboundMessage` and renders each
`OutboundMessage` in the platform's own form (TwiML, Block Kit, HTML). Numbered options are part
of the message, so a channel without buttons can fall back to "1. ..." lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, TypeGuard, get_args

from scheduler.errors import ChannelError

Role = Literal["patient", "staff", "admin"]


def is_role(value: str) -> TypeGuard[Role]:
    """Whether `value` names a role (a role read from the database is typed as any text)."""
    return value in get_args(Role)


# Channels where a phone number proves nothing (anyone may type one): their patients are their
# own, never the SMS channel's patient with the same number (scheduler.patients.identity).
DEMO_CHANNELS = frozenset({"web"})


@dataclass(frozen=True)
class InboundMessage:
    channel: str  # "sms", "web", "console", "slack"
    sender: str  # the channel's identity: E.164 phone for sms/web/console, user id on Slack
    text: str
    message_id: str  # the channel's id for this message (the idempotency key)
    received_at: datetime  # aware
    role: Role = "patient"
    # What the carrier or Twilio already read in it: "STOP", "START" or "HELP" (Twilio's
    # `OptOutType`, set when Advanced Opt-Out matched one of its keywords), else None.
    keyword: str | None = None
    media: int = 0  # attachments (pictures) that came with it; only text is read


@dataclass(frozen=True)
class OutboundMessage:
    channel: str
    recipient: str
    text: str
    options: tuple[str, ...] = ()
    kind: str = "reply"  # "reply", "emergency", "reminder", ...

    def as_text(self) -> str:
        """The text with options as numbered lines: the fallback for plain-text channels."""
        return numbered(self.text, self.options)


@dataclass(frozen=True)
class SealedMessage:
    """A text for a sender that records instead of texting (the outbox), its number already
    as the database keeps one: the number's blind indexes (the first is stored; all are checked
    against opt-outs) and its ciphertext. The reminder sender seals a patient's stored number
    as it is, with no decryption and no second encryption."""

    channel: str
    indexes: tuple[str, ...]
    recipient_enc: bytes
    text: str
    kind: str


def numbered(text: str, options: tuple[str, ...] | list[str] = ()) -> str:
    """A text and its options as a phone shows them: each option a numbered line."""
    return "\n".join([text] + [f"{i}. {option}" for i, option in enumerate(options, 1)])


class Sender(Protocol):
    """Whatever texts people outside a webhook reply: the outbox, or Twilio's REST API."""

    def send(self, message: OutboundMessage) -> object: ...


class DeliveryFailed(ChannelError):
    """A message could not be sent. `code` is the provider's error code when it gave one;
    `retryable` says whether trying again later may work (the attempts so far were used up)."""

    def __init__(self, message: str, *, code: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.code = code
        self.retryable = retryable


class RecipientOptedOut(DeliveryFailed):
    """The recipient opted out (STOP): nothing may be sent to them until they opt back in."""
