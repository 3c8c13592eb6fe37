"""Conversation state per person and channel: kept in the database, encrypted, ended when idle.

State is a small JSON object (the dialogue's step and what it has gathered). It survives a restart
and is shared by every web worker. After `SESSION_TIMEOUT_MINUTES` without a message it is gone,
and the next message starts a fresh conversation.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scheduler.crypto import Vault
from scheduler.models import ConversationSession


_BY_USER = select(ConversationSession).where(
    ConversationSession.user_index.in_(bindparam("indexes", expanding=True)))


class SessionStore:
    def __init__(self, vault: Vault, timeout: timedelta):
        self.vault = vault
        self.timeout = timeout

    def _row(self, session: Session, channel: str, sender: str) -> ConversationSession | None:
        # The row a turn loaded is kept for the save at its end: one lookup per turn, not two.
        key = (channel, sender)
        cached = session.info.get("conversation_row")
        if cached is not None and cached[0] == key:
            return cached[1]
        row = session.scalars(_BY_USER, {"indexes": self.vault.indexes(f"{channel}:{sender}")}
                              ).first()
        session.info["conversation_row"] = (key, row)
        return row

    def load(self, session: Session, channel: str, sender: str, *, now: datetime) -> dict[str, Any]:
        """The live state, or {} when there is none or it has expired."""
        row = self._row(session, channel, sender)
        if row is None or row.expires_at <= now:
            return {}
        return json.loads(self.vault.decrypt(row.state_enc))

    def save(self, session: Session, channel: str, sender: str, state: dict[str, Any], *,
             now: datetime) -> None:
        payload = self.vault.encrypt(json.dumps(state, separators=(",", ":")))
        row = self._row(session, channel, sender)
        if row is None:
            try:
                with session.begin_nested():
                    row = ConversationSession(
                        user_index=self.vault.index(f"{channel}:{sender}"), state_enc=payload,
                        updated_at=now, expires_at=now + self.timeout)
                    session.add(row)
                session.info["conversation_row"] = ((channel, sender), row)
                return
            except IntegrityError:  # the same person's other message created it first
                session.info.pop("conversation_row", None)
                row = self._row(session, channel, sender)
        row.state_enc, row.updated_at, row.expires_at = payload, now, now + self.timeout

    def end(self, session: Session, channel: str, sender: str) -> None:
        session.info.pop("conversation_row", None)
        session.execute(delete(ConversationSession).where(ConversationSession.user_index.in_(
            self.vault.indexes(f"{channel}:{sender}"))))

    def expire(self, session: Session, *, now: datetime) -> int:
        """Delete every expired session (the maintenance job); returns how many."""
        result = session.execute(delete(ConversationSession).where(
            ConversationSession.expires_at <= now))
        return result.rowcount or 0


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_row(session: Session) -> None:
    session.info.pop("conversation_row", None)
