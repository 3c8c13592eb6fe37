"""Two web nodes on one PostgreSQL: one patient's texts reaching both at once run one after the
other, in the order they arrived, never both against the same old conversation state.

The nodes are two apps made by `create_app` on the same database: their engines, pools and
in-process turn locks are their own, so only what PostgreSQL holds (the advisory lock on the
conversation, bot/turn_order.py) can order their turns. The texts are signed like Twilio signs
them and posted to each node's webhook. To make "at once" certain rather than likely, a
connection of the test's own holds the patient's lock the way a turn does while both texts
arrive; each node's turn is seen waiting for it in `pg_locks` before the next text is sent.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text

from app import create_app, services_of
from bot.messages import InboundMessage
from bot.turn_order import person_lock_key
from scheduler.db import make_engine
from scheduler.models import Appointment, AppointmentStatus, AuditEvent
from tests.conftest import reset_postgres
from tests.twilio_support import NOW, Phone, new_sid, sms_settings, twiml_messages

pytestmark = pytest.mark.postgres

PATIENT = "+12125550123"
OTHER = "+12125550188"
WAIT_SECONDS = 10


@pytest.fixture
def nodes(tmp_path, postgres_url):
    """Two nodes of one clinic network: same database, same keys, nothing else shared."""
    reset_postgres(postgres_url)
    settings = sms_settings(tmp_path, database_url=postgres_url)
    apps = [
        create_app(
            {
                "SETTINGS": settings,
                "CLOCK": lambda: NOW,
                "TESTING": True,
                "TWILIO_REPLY_BUDGET_SECONDS": WAIT_SECONDS,  # the answer comes in TwiML
            }
        )
        for _ in range(2)
    ]
    assert services_of(apps[0]).conversation is not services_of(apps[1]).conversation
    yield apps
    for app in apps:
        services_of(app).engine.dispose()


@pytest.fixture
def database(postgres_url):
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


def waiting_turns(database) -> int:
    """How many transactions wait for an advisory lock now."""
    with database.connect() as connection:
        return connection.scalar(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        )


def until(condition, timeout: float = WAIT_SECONDS) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def replies(future: Future) -> str:
    response = future.result(WAIT_SECONDS)
    assert response.status_code == 200, response.get_data(as_text=True)
    return "\n".join(twiml_messages(response.get_data()))


def held(database, vault):
    """A connection holding the patient's conversation lock, as another node's turn does."""
    connection = database.connect()
    key = person_lock_key(vault, InboundMessage("sms", PATIENT, "", "held", NOW))
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    return connection


def test_one_patients_two_texts_on_two_nodes_run_in_arrival_order(nodes, database):
    node_a, node_b = nodes
    services = services_of(node_a)
    on_a, on_b = Phone(node_a.test_client(), PATIENT), Phone(node_b.test_client(), PATIENT)
    assert "Reply YES" in on_a.text("Hi, can I book a check-up tomorrow morning?")
    assert "name" in on_b.text("YES").lower()  # the state is the database's, not the node's

    other_turn = held(database, services.vault)
    with ThreadPoolExecutor(2) as pool:
        sids = new_sid(), new_sid()
        first = pool.submit(on_a.post, "Jordan Testperson", sids[0])  # arrives first, at node A
        assert until(lambda: waiting_turns(database) == 1)
        second = pool.submit(
            on_b.post, "2", sids[1]
        )  # then the same patient's next text, at node B
        assert until(lambda: waiting_turns(database) == 2)
        assert not first.done() and not second.done()  # both wait for the other turn
        other_turn.rollback()
        other_turn.close()
        offer, confirmation = replies(first), replies(second)

    # The name first, then the choice from the list that the name's turn offered: had the two
    # run against the same state (asking for the name), "2" would have been taken as a name
    # and nothing booked.
    assert "Thu Mar 5" in offer and "\n2. " in offer
    assert "You're booked" in confirmation
    with services.sessions() as db:
        assert (
            db.scalar(
                select(func.count())
                .select_from(Appointment)
                .where(Appointment.status == AppointmentStatus.BOOKED)
            )
            == 1
        )
        inbound = db.scalars(
            select(AuditEvent.message_id)
            .where(AuditEvent.kind == "message_in")
            .order_by(AuditEvent.seq)
        ).all()
        assert services.audit.verify(db).ok
    assert inbound[-2:] == list(sids)  # audited in the order they arrived


def test_another_patient_is_not_held_up_by_that_lock(nodes, database):
    node_a, node_b = nodes
    services = services_of(node_a)
    on_a, elsewhere = Phone(node_a.test_client(), PATIENT), Phone(node_b.test_client(), OTHER)
    on_a.text("hi")
    other_turn = held(database, services.vault)
    try:
        waiting = threading.Thread(target=on_a.post, args=("YES",))
        waiting.start()
        assert until(lambda: waiting_turns(database) == 1)
        started = time.monotonic()
        assert "Reply YES" in elsewhere.text("hi")  # node B answers someone else at once
        assert time.monotonic() - started < WAIT_SECONDS / 2
        assert waiting.is_alive()
    finally:
        other_turn.rollback()
        other_turn.close()
    waiting.join(WAIT_SECONDS)
    assert not waiting.is_alive()
