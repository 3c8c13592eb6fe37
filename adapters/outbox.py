"""The outbox: the sender when no SMS provider is configured.

Messages the clinic sends outside a reply (reminders, offers, notices) are stored here, encrypted,
instead of going to a carrier, and the web chat shows them to the demo patient they were for.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.messages import OutboundMessage, RecipientOptedOut
from scheduler.crypto import Vault
from scheduler.models import OutboxMessage
from scheduler.patients import find_patient


@dataclass(frozen=True)
class StoredMessage:
    id: int
    created_at: datetime
    text: str
    kind: str


class Outbox:
    def __init__(self, sessions: sessionmaker[Session], vault: Vault,
                 clock: Callable[[], datetime]):
        self.sessions, self.vault, self.clock = sessions, vault, clock

    def send(self, message: OutboundMessage) -> int:
        """Record the message as sent; returns its outbox id."""
        with self.sessions.begin() as session:
            row = self.record(session, message)
            session.flush()
            return row.id

    def record(self, session: Session, message: OutboundMessage) -> OutboxMessage:
        """Record the message in the caller's transaction: the reminder sender commits it with
        the reminder's "sent" mark, so an outbox text is recorded exactly once.

        Like the Twilio sender, it never texts a number that opted out (RecipientOptedOut)."""
        patient = find_patient(session, self.vault, message.recipient)
        if patient is not None and patient.opted_out_at is not None:
            raise RecipientOptedOut("the recipient has opted out")
        row = OutboxMessage(channel=message.channel,
                            recipient_index=self.vault.index(message.recipient),
                            recipient_enc=self.vault.encrypt(message.recipient),
                            text_enc=self.vault.encrypt(message.as_text()),
                            kind=message.kind, created_at=self.clock())
        session.add(row)
        return row

    def messages_for(self, recipient: str, *, after_id: int = 0,
                     limit: int = 50) -> list[StoredMessage]:
        """What was sent to `recipient`, oldest first, after the given outbox id."""
        with self.sessions() as session:
            rows = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.recipient_index.in_(self.vault.indexes(recipient)),
                       OutboxMessage.id > after_id)
                .order_by(OutboxMessage.id).limit(limit)).all()
            return [StoredMessage(r.id, r.created_at, self.vault.decrypt(r.text_enc), r.kind)
                    for r in rows]
