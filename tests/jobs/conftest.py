"""Jobs under test: the demo clinic, patients with phones, bookings through SchedulingTools, the
outbox as the sender (it records instead of texting), and a clock the test moves."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.outbox import Outbox
from bot.audit.trail import AuditTrail
from bot.engine.conversation import ConversationEngine
from bot.sessions import SessionStore
from jobs.reminders.sender import ReminderSender
from tests.jobs_support import Chat, Desk


@pytest.fixture
def audit(vault):
    return AuditTrail(vault)


@pytest.fixture
def outbox(sessions, vault, clock):
    return Outbox(sessions, vault, clock)


@pytest.fixture
def desk(sessions, demo_clinic, vault, audit, clock):
    return Desk(sessions, demo_clinic, vault, audit, clock)


@pytest.fixture
def make_sender(sessions, demo_clinic, vault, audit, outbox, clock):
    def make(sender=None, **kw):
        return ReminderSender(
            sessions, demo_clinic, vault, audit, sender or outbox, clock=clock, **kw
        )

    return make


@pytest.fixture
def conversation(sessions, vault, demo_clinic, clock, audit):
    return ConversationEngine(
        sessions=sessions,
        clinic=demo_clinic,
        vault=vault,
        audit=audit,
        store=SessionStore(vault, timedelta(minutes=30)),
        clock=clock,
    )


@pytest.fixture
def chat_as(conversation, clock):
    return lambda phone, channel="sms": Chat(conversation, clock, phone, channel)
