"""Conversation state: stored encrypted, one row per person and channel, gone after idle time."""
from datetime import timedelta

from sqlalchemy import select

from bot.sessions import SessionStore
from scheduler.models import ConversationSession

PHONE = "+12125550123"


def test_state_round_trips_and_is_encrypted(sessions, vault, now):
    store = SessionStore(vault, timedelta(minutes=30))
    with sessions.begin() as db:
        store.save(db, "web", PHONE, {"step": "ask_day", "type": "checkup"}, now=now)
    with sessions() as db:
        assert store.load(db, "web", PHONE, now=now) == {"step": "ask_day", "type": "checkup"}
        row = db.scalars(select(ConversationSession)).one()
    assert b"checkup" not in row.state_enc and PHONE not in row.user_index


def test_state_expires_after_the_idle_timeout(sessions, vault, now):
    store = SessionStore(vault, timedelta(minutes=30))
    with sessions.begin() as db:
        store.save(db, "web", PHONE, {"step": "ask_day"}, now=now)
    with sessions() as db:
        assert store.load(db, "web", PHONE, now=now + timedelta(minutes=29)) != {}
        assert store.load(db, "web", PHONE, now=now + timedelta(minutes=30)) == {}


def test_each_channel_has_its_own_state(sessions, vault, now):
    store = SessionStore(vault, timedelta(minutes=30))
    with sessions.begin() as db:
        store.save(db, "web", PHONE, {"step": "a"}, now=now)
        store.save(db, "sms", PHONE, {"step": "b"}, now=now)
        store.save(db, "web", PHONE, {"step": "c"}, now=now)
    with sessions() as db:
        assert store.load(db, "web", PHONE, now=now)["step"] == "c"
        assert store.load(db, "sms", PHONE, now=now)["step"] == "b"


def test_expire_removes_only_idle_sessions(sessions, vault, now):
    store = SessionStore(vault, timedelta(minutes=30))
    with sessions.begin() as db:
        store.save(db, "web", PHONE, {"step": "a"}, now=now - timedelta(hours=1))
        store.save(db, "web", "+12125550124", {"step": "b"}, now=now)
    with sessions.begin() as db:
        assert store.expire(db, now=now) == 1
    with sessions() as db:
        assert store.load(db, "web", "+12125550124", now=now) == {"step": "b"}
