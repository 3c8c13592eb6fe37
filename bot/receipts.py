"""Exactly once: a channel's record of each message it hands to the engine.

A channel whose platform may deliver a message twice (Twilio retries a webhook) passes the engine
a `Receipt`. The engine claims it as the first write of the turn and keeps the answer with it as
the last, in the same transaction (bot/engine/conversation.py), so a message is handled once or not at all;
a repeat raises `AlreadyHandled` before anything else happens.

`StoredReceipt` is the receipt in `message_receipts`, keyed "<sender's blind index, 16 hex>:<the
platform's message id>" (unique per channel, so one claim wins in any process, on SQLite and
PostgreSQL; `patient erase` finds a patient's by the prefix). The channel says how the answer is
stored (`render`: TwiML for SMS) and which way it leaves (`route`: "twiml" in the webhook's
answer, "rest" through the REST API later), decided when the turn ends.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy import bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.messages import InboundMessage, OutboundMessage
from scheduler.crypto import Vault
from scheduler.models import MessageReceipt


class AlreadyHandled(Exception):
    """The channel's receipt says this message was handled before; nothing was done now."""


class Receipt(Protocol):
    """A channel's record of one handled message, written inside the turn's transaction."""

    def claim(self, db: Session) -> bool:
        """Record the message as handled; False when it already was."""

    def keep(self, db: Session, replies: list[OutboundMessage]) -> None:
        """Keep the answer with the claim, for the message's repeats."""


def receipt_key(vault: Vault, sender: str, message_id: str) -> str:
    return f"{vault.index(sender)[:16]}:{message_id}"


# Core on the turn's connection, statements built once: the receipt is written twice in every
# such turn, and the ORM's execution path (and the flush an ORM update triggers) cost several
# times the statements. No ORM object of this table is loaded in a turn.
# DeclarativeBase types `__table__` as a FromClause; a class mapped by `__tablename__` has a Table.
_RECEIPTS = MessageReceipt.__table__
_CLAIM = {
    name: dialect.insert(_RECEIPTS)
    .on_conflict_do_nothing(index_elements=["channel", "external_id"])
    .returning(_RECEIPTS.c.id)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_KEEP = (
    update(_RECEIPTS)
    .where(_RECEIPTS.c.id == bindparam("receipt_id"))
    .values(reply_via=bindparam("via"), reply_enc=bindparam("answer_enc"))
)


class StoredReceipt:
    """A message's row in `message_receipts`, claimed and answered inside the engine's turn."""

    def __init__(
        self,
        channel: str,
        inbound: InboundMessage,
        vault: Vault,
        clock: Callable[[], datetime],
        *,
        render: Callable[[list[OutboundMessage]], str],
        route: Callable[[], str],
        empty: str = "",
    ):
        self.channel, self.vault, self.clock = channel, vault, clock
        self.render, self.route = render, route
        self.index = vault.index(inbound.sender)
        self.key = f"{self.index[:16]}:{inbound.message_id}"
        self.id: int | None = None
        self.via: str | None = None  # which way the answer left, once kept
        self.answer = empty

    def claim(self, db: Session) -> bool:
        """One INSERT that does nothing when the key exists (in any process: on PostgreSQL it
        waits for a concurrent claim of the same key to commit or roll back)."""
        connection = db.connection()
        self.id = connection.execute(
            _CLAIM[connection.dialect.name],
            {
                "channel": self.channel,
                "external_id": self.key,
                "sender_index": self.index,
                "created_at": self.clock(),
            },
        ).scalar()
        return self.id is not None

    def keep(self, db: Session, replies: list[OutboundMessage]) -> None:
        self.answer = self.render(replies)
        self.via = self.route()
        db.connection().execute(
            _KEEP,
            {"receipt_id": self.id, "via": self.via, "answer_enc": self.vault.encrypt(self.answer)},
        )
