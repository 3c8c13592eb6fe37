"""The normalized message types every channel produces and renders.

An adapter turns a platform's request into an `InboundMessage` and renders each
`OutboundMessage` in the platform's own form (TwiML, Block Kit, HTML). Numbered options are part
of the message, so a channel without buttons can fall back to "1. ..." lines.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Role = Literal["patient", "staff", "admin"]


@dataclass(frozen=True)
class InboundMessage:
    channel: str                 # "sms", "web", "console", "slack"
    sender: str                  # the channel's identity: E.164 phone for sms/web/console, user id on Slack
    text: str
    message_id: str              # the channel's id for this message (the idempotency key)
    received_at: datetime        # aware
    role: Role = "patient"


@dataclass(frozen=True)
class OutboundMessage:
    channel: str
    recipient: str
    text: str
    options: tuple[str, ...] = ()
    kind: str = "reply"          # "reply", "emergency", "reminder", ...

    def as_text(self) -> str:
        """The text with options as numbered lines: the fallback for plain-text channels."""
        if not self.options:
            return self.text
        lines = [self.text] + [f"{i}. {option}" for i, option in enumerate(self.options, 1)]
        return "\n".join(lines)

