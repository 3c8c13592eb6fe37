"""The model's call on how soon a patient must be seen (the `urgency` argument of join_waitlist):
it counts as triage, so it can raise the level the local rules heard, never lower it, and it
holds for the rest of the conversation. Scripted conversations (botocore's Stubber), no AWS."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.audit.trail import AuditTrail
from bot.engine.conversation import ConversationEngine
from bot.model.bedrock import BedrockEngine
from bot.model.client import RetryPolicy
from bot.sessions import SessionStore
from scheduler.models import AuditEvent, WaitlistEntry
from tests.bedrock_support import MODEL, answer, tool_use


@pytest.fixture
def conversation(sessions, vault, demo_clinic, clock, model):
    return ConversationEngine(
        sessions=sessions,
        clinic=demo_clinic,
        vault=vault,
        audit=AuditTrail(vault),
        store=SessionStore(vault, timedelta(minutes=30)),
        clock=clock,
        llm=BedrockEngine(
            model.client, MODEL, demo_clinic, retry=RetryPolicy(sleep=lambda _: None)
        ),
    )


def entries(sessions):
    with sessions() as db:
        return [(e.type_key, e.priority) for e in db.scalars(select(WaitlistEntry).order_by("id"))]


def joined_events(sessions):
    with sessions() as db:
        return [
            e.detail
            for e in db.scalars(
                select(AuditEvent).where(AuditEvent.kind == "waitlist_joined").order_by("seq")
            )
        ]


def waitlist_call(urgency=None, kind="checkup"):
    args = {"appointment_type": kind, **({"urgency": urgency} if urgency else {})}
    return tool_use(("join_waitlist", args))


def test_the_models_call_raises_the_level_the_local_rules_missed(chat, model, sessions):
    model.script(waitlist_call("urgent"), answer("You're on the waitlist."))
    chat.text("my gum has been throbbing all night, put me on the waitlist for a checkup")
    assert entries(sessions) == [("checkup", "urgent")]
    assert joined_events(sessions)[0]["triage"] == "urgent"


def test_the_model_cannot_lower_what_the_local_rules_heard(chat, model, sessions):
    model.script(waitlist_call("routine"), answer("You're on the waitlist."))
    chat.text("I have a high fever, put me on the waitlist for a checkup")
    assert entries(sessions) == [("checkup", "urgent")]


def test_the_models_level_holds_for_the_rest_of_the_conversation(chat, model, sessions):
    model.script(
        waitlist_call("soon"),
        answer("You're on the checkup waitlist."),
        waitlist_call(kind="vaccination"),  # no urgency said this time
        answer("And on the vaccination waitlist."),
    )
    chat.text("put me on the checkup waitlist, this rash-like thing is bothering me")
    chat.text("and the vaccination one too")
    assert entries(sessions) == [("checkup", "soon"), ("vaccination", "soon")]


def test_an_unknown_level_is_refused_and_nothing_joins(chat, model, sessions):
    model.script(waitlist_call("emergency"), answer("Sorry, I could not do that."))
    chat.text("put me on the waitlist for a checkup")
    assert entries(sessions) == []
    error = model.requests[1]["messages"][-1]["content"][0]["toolResult"]
    assert error["status"] == "error"
    assert "urgency must be one of" in error["content"][0]["json"]["error"]
