"""The outbox: the sender when no SMS provider is configured.

Messages the clinic sends outside a reply (reminders, offers, notices) are stored here, encrypted,
instead of going to a carrier, and the web chat shows them to the demo patient they were for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session, sessionmaker

from bot.messages import OutboundMessage, RecipientOptedOut, SealedMessage
from scheduler.crypto import Vault
from scheduler.models import OutboxMessage, Patient

# Core statements on the session's connection: a batch of reminders is one opt-out query and one
# executemany insert, not an ORM object, a flush and a query per text.
_OPTED_OUT = select(Patient.phone_index).where(
    Patient.phone_index.in_(bindparam("indexes", expanding=True)), Patient.opted_out_at.is_not(None)
)
_INSERT = insert(OutboxMessage)


@dataclass(frozen=True)
class StoredMessage:
    id: int
    created_at: datetime
    text: str
    kind: str


class Outbox:
    def __init__(
        self, sessions: sessionmaker[Session], vault: Vault, clock: Callable[[], datetime]
    ):
        self.sessions, self.vault, self.clock = sessions, vault, clock

    def seal(self, message: OutboundMessage) -> SealedMessage:
        """The message as `record` takes it: its number's indexes, the number encrypted."""
        return SealedMessage(
            message.channel,
            tuple(self.vault.indexes(message.recipient)),
            self.vault.encrypt(message.recipient),
            message.as_text(),
            message.kind,
        )

    def send(self, message: OutboundMessage) -> int:
        """Record the message as sent; returns its outbox id."""
        with self.sessions.begin() as session:
            [row] = self._rows(session, [self.seal(message)])
            if row is None:
                raise RecipientOptedOut("the recipient has opted out")
            # INSERT ... RETURNING always answers the new row's id (scalar() is typed Optional).
            return cast(int, session.connection().scalar(_INSERT.returning(OutboxMessage.id), row))

    def record(self, session: Session, messages: Sequence[SealedMessage]) -> list[bool]:
        """Record the messages in the caller's transaction: the reminder sender commits them with
        the reminders' "sent" marks, so an outbox text is recorded exactly once.

        Returns, for each message, whether it was recorded: not when its number opted out."""
        rows = self._rows(session, messages)
        recorded = [row for row in rows if row is not None]
        if recorded:
            session.connection().execute(_INSERT, recorded)
        return [row is not None for row in rows]

    def _rows(
        self, session: Session, messages: Sequence[SealedMessage]
    ) -> list[dict[str, Any] | None]:
        """The outbox row of each message, its text encrypted; None where the number opted out
        (like the Twilio sender, the outbox never texts a number that opted out). One query for
        them all."""
        if not messages:
            return []
        session.flush()  # an opt-out made earlier in this transaction counts (fail closed)
        opted_out = set(
            session.connection().scalars(
                _OPTED_OUT, {"indexes": sorted({i for m in messages for i in m.indexes})}
            )
        )
        now = self.clock()
        return [
            None
            if not opted_out.isdisjoint(message.indexes)
            else {
                "channel": message.channel,
                "recipient_index": message.indexes[0],
                "recipient_enc": message.recipient_enc,
                "text_enc": self.vault.encrypt(message.text),
                "kind": message.kind,
                "created_at": now,
            }
            for message in messages
        ]

    def messages_for(
        self, recipient: str, *, after_id: int = 0, limit: int = 50
    ) -> list[StoredMessage]:
        """What was sent to `recipient`, oldest first, after the given outbox id."""
        with self.sessions() as session:
            rows = session.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.recipient_index.in_(self.vault.indexes(recipient)),
                    OutboxMessage.id > after_id,
                )
                .order_by(OutboxMessage.id)
                .limit(limit)
            ).all()
            return [
                StoredMessage(r.id, r.created_at, self.vault.decrypt(r.text_enc), r.kind)
                for r in rows
            ]
