"""One person's turns, one after another.

Two texts sent at once by one person must not both work from the same conversation state and
overwrite each other's. In a process, a lock per person runs their turns in turn. Between
processes on PostgreSQL, an advisory lock per person (`TurnOrder.turn`):

- a turn in one transaction (the local engine's) takes it for that transaction, its first
  statement (`Turn.hold`);
- a turn the model may answer (an engine with Bedrock) commits in phases (bot/engine/
  conversation.py commits them apart, so that no transaction stays open while the model thinks),
  so it takes one connection, locks the person on it for the turn's whole life and runs every one
  of its transactions on that connection: another node's turn of the same person waits for the
  whole turn and starts from its outcome. A node that dies takes its connection, and the lock,
  with it.

On SQLite the single writer and one process already order them.

The cost of the second: on PostgreSQL such a turn holds its connection while the model thinks
(seconds), so a process answers at most as many model turns at once as its pool lends connections
(SQLAlchemy's 5 + 10 overflow); the others wait for one before their turn begins, holding nothing.
Taking and releasing the lock costs two round trips more than the local engine's turn pays.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import text as sql
from sqlalchemy.orm import Session, sessionmaker

from bot.messages import InboundMessage
from scheduler.crypto import Vault

log = logging.getLogger(__name__)

_TRANSACTION_LOCK = sql("SELECT pg_advisory_xact_lock(:key)")
_LOCK = sql("SELECT pg_advisory_lock(:key)")
_UNLOCK = sql("SELECT pg_advisory_unlock(:key)")


def person_lock_key(vault: Vault, message: InboundMessage) -> int:
    """The advisory lock key of the message's sender on its channel: 64 bits of their blind
    index (never the number itself). Two people sharing a key only wait for each other."""
    index = vault.index(f"{message.channel}:{message.sender}")
    return int(index[:16], 16) - (1 << 63)


class TurnOrder:
    def __init__(self, vault: Vault):
        self.vault = vault
        self._locks: weakref.WeakValueDictionary[tuple[str, str], threading.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._locks_lock = threading.Lock()

    def lock(self, message: InboundMessage) -> threading.Lock:
        """The lock that runs this person's turns one after another in this process."""
        key = (message.channel, message.sender)
        with self._locks_lock:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = threading.Lock()
        return lock

    @contextmanager
    def turn(
        self, sessions: sessionmaker[Session], message: InboundMessage, *, phases: bool = False
    ) -> Iterator[Turn]:
        """This person's turn, after their turns before it here and (PostgreSQL) on every node.
        `phases`: the turn may commit more than once (a model turn), so the lock is held from
        its start to its end, on the connection every transaction of the turn then uses."""
        with self.lock(message):
            engine = sessions.kw["bind"]
            if engine.dialect.name != "postgresql":
                yield Turn(sessions)
                return
            key = {"key": person_lock_key(self.vault, message)}
            if not phases:
                yield Turn(sessions, key)
                return
            with engine.connect() as connection:
                connection.execute(_LOCK, key)  # waits for their turn on another node
                connection.commit()  # the lock is the connection's, not the transaction's
                try:
                    yield Turn(
                        sessionmaker(class_=sessions.class_, **{**sessions.kw, "bind": connection})
                    )
                finally:
                    try:
                        connection.rollback()  # what a failed transaction left open
                        connection.execute(_UNLOCK, key)
                        connection.commit()
                    except Exception:
                        # Never back to the pool still locked: closing the connection ends its
                        # database session, and the lock with it.
                        log.exception("could not release a turn's lock; its connection is closed")
                        connection.invalidate()


@dataclass(frozen=True)
class Turn:
    """A turn's transactions: the session factory they use, and the person's lock each one
    takes first (`key`: None where the whole turn holds it already, or on SQLite)."""

    sessions: sessionmaker[Session]
    key: dict[str, int] | None = None

    def hold(self, db: Session) -> None:
        """The first statement of each of the turn's transactions (Core on the session's
        connection: the ORM's execution path costs more than the statement)."""
        if self.key is not None:
            db.connection().execute(_TRANSACTION_LOCK, self.key)
