"""One person's turns, one after another.

Two texts sent at once by one person must not both work from the same conversation state and
overwrite each other's. In a process, a lock per person (`TurnOrder.lock`) runs their turns in
turn, which also keeps a model turn (committed in phases, bot/engine/conversation.py) from working from a
state their other turn changes. Between processes on PostgreSQL, a transaction-scoped advisory
lock per person, taken first in each of a turn's transactions (`TurnOrder.hold`); on SQLite the
single writer already orders them. Between the phases of a model turn, a turn of the same person
in another process can still run.
"""

from __future__ import annotations

import threading
import weakref

from sqlalchemy import text as sql
from sqlalchemy.orm import Session

from bot.messages import InboundMessage
from scheduler.crypto import Vault

_PERSON_LOCK = sql("SELECT pg_advisory_xact_lock(:key)")


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

    def hold(self, db: Session, message: InboundMessage) -> None:
        """On PostgreSQL, make this person's turns in other processes wait for this
        transaction (SQLite has one writer at a time: they wait already)."""
        if db.get_bind().dialect.name == "postgresql":
            db.execute(_PERSON_LOCK, {"key": person_lock_key(self.vault, message)})
