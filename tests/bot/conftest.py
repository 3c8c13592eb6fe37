"""A conversation engine on the demo clinic, driven like a patient would, without Flask."""

import itertools
from datetime import timedelta

import pytest

from bot import logfiles
from bot.audit.trail import AuditTrail
from bot.engine.conversation import ConversationEngine
from bot.messages import InboundMessage
from bot.sessions import SessionStore

PATIENT = "+12125550123"


class Chat:
    """Sends texts as one patient and keeps the replies."""

    def __init__(self, engine, clock, sender=PATIENT, channel="console"):
        self.engine, self.clock, self.sender, self.channel = engine, clock, sender, channel
        self._ids = itertools.count(1)

    def say(self, text):
        message = InboundMessage(
            self.channel, self.sender, text, f"m{next(self._ids)}", self.clock.now
        )
        return self.engine.handle(message)

    def text(self, text):
        """The replies as one plain string (options numbered)."""
        return "\n".join(r.as_text() for r in self.say(text))


@pytest.fixture
def conversation(sessions, vault, demo_clinic, clock):
    return ConversationEngine(
        sessions=sessions,
        clinic=demo_clinic,
        vault=vault,
        audit=AuditTrail(vault),
        store=SessionStore(vault, timedelta(minutes=30)),
        clock=clock,
    )


@pytest.fixture
def make_chat(conversation, clock):
    """A chat as another patient: make_chat("+12125550131")."""
    return lambda sender=PATIENT: Chat(conversation, clock, sender=sender)


@pytest.fixture
def chat(make_chat):
    return make_chat()


@pytest.fixture
def logs(tmp_path):
    """The three log files, written into this test's own folder."""
    folder = tmp_path / "logs"
    logfiles.configure(folder)
    return folder


@pytest.fixture
def model():
    """A scripted Bedrock Runtime (botocore's Stubber on a real client)."""
    from tests.bedrock_support import ScriptedModel

    scripted = ScriptedModel()
    yield scripted
    scripted.stubber.deactivate()
