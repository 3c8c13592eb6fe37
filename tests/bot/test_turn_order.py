"""One person's turns, one after another, across processes on PostgreSQL.

Another process's turn is stood in for by a connection of the test's own that holds that person's
advisory lock in an open transaction, as a turn does (`bot.turn_order.person_lock_key`): the engine's
turn for the same person must wait for it, anyone else's must not.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from bot.audit.trail import AuditTrail
from bot.engine.conversation import ConversationEngine
from bot.messages import InboundMessage
from bot.model.bedrock import BedrockEngine, RetryPolicy
from bot.sessions import SessionStore
from bot.turn_order import person_lock_key
from scheduler.clinic_store import install_clinic
from scheduler.db import make_engine, session_factory, upgrade
from scheduler.models import AuditEvent
from tests.bedrock_support import MODEL, answer
from tests.conftest import reset_postgres

pytestmark = pytest.mark.postgres

PATIENT = "+12125550123"
OTHER = "+12125550188"
WAIT = 0.5  # long enough for a turn that is not held up to finish many times over


@pytest.fixture
def database(postgres_url, demo_clinic):
    reset_postgres(postgres_url)
    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    factory = session_factory(engine)
    with factory.begin() as session:
        install_clinic(session, demo_clinic)
    yield engine, factory
    engine.dispose()


def conversation(factory, vault, clinic, clock, llm=None):
    """An engine as one process has it (its own in-process locks)."""
    return ConversationEngine(
        sessions=factory,
        clinic=clinic,
        vault=vault,
        audit=AuditTrail(vault),
        store=SessionStore(vault, timedelta(minutes=30)),
        clock=clock,
        llm=llm,
    )


def message(sender, text_, clock, n):
    return InboundMessage("console", sender, text_, f"m{n}", clock.now)


def in_thread(function) -> tuple[threading.Thread, threading.Event, list]:
    done, result = threading.Event(), []

    def run():
        result.append(function())
        done.set()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, done, result


def test_a_persons_turn_waits_for_their_turn_in_another_process(
    database, vault, demo_clinic, clock
):
    engine, factory = database
    ours = conversation(factory, vault, demo_clinic, clock)
    first = message(PATIENT, "what can you do", clock, 1)
    with engine.connect() as other_process:
        other_process.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": person_lock_key(vault, first)}
        )
        thread, done, result = in_thread(lambda: ours.handle(first))
        # Someone else's turn is not held up; this person's is.
        assert ours.handle(message(OTHER, "what can you do", clock, 2))
        assert not done.wait(WAIT)
        other_process.rollback()
    thread.join(10)
    assert done.is_set() and result[0]


def test_another_nodes_turn_of_the_person_waits_for_the_whole_model_turn(
    database, vault, demo_clinic, clock, model
):
    """A model turn commits in phases, but holds the person's lock from its first phase to its
    last: a turn of the same person on another node, arriving while the model thinks, starts
    only once the answer is saved, so it never works from the state before it."""
    engine, factory = database
    asked, go = threading.Event(), threading.Event()

    def model_thinks(**_):  # botocore's hook as the request leaves: AWS takes its time
        asked.set()
        go.wait(10)

    model.client.meta.events.register(
        "provide-client-params.bedrock-runtime.Converse", model_thinks
    )
    model.script(answer("We are open weekdays from 8 to 6."))
    bedrock = BedrockEngine(
        model.client, MODEL, demo_clinic, retry=RetryPolicy(sleep=lambda _: None)
    )
    ours = conversation(factory, vault, demo_clinic, clock, llm=bedrock)
    question = message(PATIENT, "when are you open?", clock, 1)
    thread, done, result = in_thread(lambda: ours.handle(question))
    assert asked.wait(10)  # phase 1 committed; the model is thinking

    def other_node_turn():
        with engine.connect() as other_process:
            other_process.execute(
                text("SELECT pg_advisory_xact_lock(:key)"),
                {"key": person_lock_key(vault, question)},
            )
            saw = other_process.execute(select(func.max(AuditEvent.seq))).scalar_one()
            other_process.rollback()
            return saw

    other, other_done, other_saw = in_thread(other_node_turn)
    assert not other_done.wait(WAIT)  # it waits while the model thinks
    go.set()  # the model answers
    thread.join(10)
    other.join(10)
    assert done.is_set() and other_done.is_set()
    assert "weekdays" in result[0][0].text
    with factory() as db:
        last = db.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
    assert last.kind == "message_out"
    assert other_saw == [last.seq]  # it began once the answer was kept, nothing after it
    model.done()
