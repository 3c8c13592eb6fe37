"""Conversation state: stored encrypted, one row per person and channel, gone after idle time."""

from datetime import timedelta

from sqlalchemy import select

from bot.sessions import SessionStore
from scheduler.crypto import Vault
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


def test_state_under_the_previous_key_is_found_updated_and_ended_after_a_key_is_added(
    sessions, now
):
    from cryptography.fernet import Fernet

    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    old, both = Vault([old_key]), Vault([new_key, old_key])
    with sessions.begin() as db:
        SessionStore(old, timedelta(minutes=30)).save(db, "sms", PHONE, {"step": "a"}, now=now)
    store = SessionStore(both, timedelta(minutes=30))
    with sessions.begin() as db:
        assert store.load(db, "sms", PHONE, now=now) == {"step": "a"}
        store.save(db, "sms", PHONE, {"step": "b"}, now=now)
    with sessions() as db:
        assert db.scalars(select(ConversationSession.user_index)).all() == [
            old.index(f"sms:{PHONE}")
        ]  # the same row, not a second one
        assert store.load(db, "sms", PHONE, now=now) == {"step": "b"}
    with sessions.begin() as db:
        store.end(db, "sms", PHONE)
    with sessions() as db:
        assert db.scalars(select(ConversationSession)).all() == []
