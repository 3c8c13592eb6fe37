"""Conversation state per person and channel: kept in the database, encrypted, ended when idle.

State is a small JSON object (the dialogue's step and what it has gathered). It survives a restart
and is shared by every web worker. After `SESSION_TIMEOUT_MINUTES` without a message it is gone,
and the next message starts a fresh conversation.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import bindparam, delete, event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.orm import Session

from scheduler.crypto import Vault, index_match
from scheduler.models import ConversationSession

# The store reads and writes its table with Core on the session's connection (same transaction):
# it runs two or three times in every turn, and the ORM's execution and flush machinery cost
# several times the statements themselves. No ORM object of this table is ever loaded or
# pending, so there is nothing to flush first and no identity map to keep in step.
# DeclarativeBase types `__table__` as a FromClause; a class mapped by `__tablename__` has a Table.
_TABLE = ConversationSession.__table__

_UPDATE = update(_TABLE).where(_TABLE.c.id == bindparam("row_id"))


def _upsert(dialect):
    # One atomic statement, safe when the same person's other message creates the row first.
    statement = dialect.insert(_TABLE)
    return statement.on_conflict_do_update(
        index_elements=["user_index"],
        set_={name: statement.excluded[name] for name in ("state_enc", "updated_at", "expires_at")},
    ).returning(_TABLE.c.id)


_UPSERT = {"sqlite": _upsert(sqlite), "postgresql": _upsert(postgresql)}


class SessionStore:
    def __init__(self, vault: Vault, timeout: timedelta):
        self.vault = vault
        self.timeout = timeout
        mine = index_match(_TABLE.c.user_index, vault.key_count)
        self._by_user = select(_TABLE.c.id, _TABLE.c.state_enc, _TABLE.c.expires_at).where(mine)
        self._end = delete(_TABLE).where(mine)

    def _row(
        self, connection: Connection, session: Session, channel: str, sender: str
    ) -> tuple | None:
        """(id, state_enc, expires_at) of the stored state, or None."""
        # The row a turn loaded is kept for the save at its end: one lookup per turn, not two.
        key = (channel, sender)
        cached = session.info.get("conversation_row")
        if cached is not None and cached[0] == key:
            return cached[1]
        found = connection.execute(
            self._by_user, self.vault.index_params(f"{channel}:{sender}")
        ).first()
        row = None if found is None else tuple(found)
        session.info["conversation_row"] = (key, row)
        return row

    def load(self, session: Session, channel: str, sender: str, *, now: datetime) -> dict[str, Any]:
        """The live state, or {} when there is none or it has expired."""
        row = self._row(session.connection(), session, channel, sender)
        if row is None or row[2] <= now:
            return {}
        state = self.vault.decrypt(row[1])
        assert state is not None  # state_enc is NOT NULL, and a stored token decrypts to text
        return json.loads(state)

    def save(
        self, session: Session, channel: str, sender: str, state: dict[str, Any], *, now: datetime
    ) -> None:
        payload = self.vault.encrypt(json.dumps(state, separators=(",", ":")))
        connection = session.connection()
        row = self._row(connection, session, channel, sender)
        values = {"state_enc": payload, "updated_at": now, "expires_at": now + self.timeout}
        if row is None:
            row_id = connection.execute(
                _UPSERT[connection.dialect.name],
                {"user_index": self.vault.index(f"{channel}:{sender}"), **values},
            ).scalar_one()
        else:
            row_id = row[0]
            connection.execute(_UPDATE, {"row_id": row_id, **values})
        session.info["conversation_row"] = (
            (channel, sender),
            (row_id, payload, values["expires_at"]),
        )

    def end(self, session: Session, channel: str, sender: str) -> None:
        session.info.pop("conversation_row", None)
        session.connection().execute(self._end, self.vault.index_params(f"{channel}:{sender}"))

    def expire(self, session: Session, *, now: datetime) -> int:
        """Delete every expired session (the maintenance job); returns how many."""
        # Session.execute is typed to return a Result; for a DELETE it is a CursorResult.
        result = cast(
            CursorResult[Any],
            session.execute(
                delete(ConversationSession).where(ConversationSession.expires_at <= now)
            ),
        )
        return result.rowcount or 0


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_row(session: Session) -> None:
    session.info.pop("conversation_row", None)
