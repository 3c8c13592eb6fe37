"""PostgreSQL dropping the app's connections (a restart, a failover: pg_terminate_backend here):
a text in flight gets a 503 that Twilio retries, never a 500 page; the pool recovers by itself,
and the retry of the same MessageSid is answered once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from app import create_app, services_of
from scheduler.db import make_engine
from scheduler.models import MessageReceipt
from tests.conftest import empty_postgres
from tests.twilio_support import Phone, new_sid, sms_settings

pytestmark = pytest.mark.postgres
NODE = "faults-node"  # the app's connections, by application_name
TEXTS = ["hi", "YES", "Sam Example", "1", "hi", "2"]


@pytest.fixture
def node_url(postgres_url):
    empty_postgres(postgres_url)
    return (
        make_url(postgres_url)
        .update_query_dict({"application_name": NODE})
        .render_as_string(hide_password=False)
    )


@pytest.fixture
def admin(postgres_url):
    engine = make_engine(postgres_url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture
def app(tmp_path, node_url):
    return create_app(
        {
            "SETTINGS": sms_settings(tmp_path, database_url=node_url),
            "TESTING": True,
            "TWILIO_REPLY_BUDGET_SECONDS": 10.0,
        }
    )


def terminate_node_connections(admin) -> int:
    with admin.connect() as connection:
        return len(
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name AND pid <> pg_backend_pid()"
                ),
                {"name": NODE},
            ).all()
        )


def receipts_of(app, sid: str) -> int:
    with services_of(app).sessions() as db:
        return db.scalar(
            select(func.count())
            .select_from(MessageReceipt)
            .where(MessageReceipt.external_id.like(f"%:{sid}"))
        )


def test_a_text_in_flight_when_the_connection_drops_gets_503_and_its_retry_is_answered(app, admin):
    phone = Phone(app.test_client(), "+12125550142")
    assert "Reply YES" in phone.text("hi, I'd like to book a check-up")
    assert terminate_node_connections(admin) > 0  # the idle pool: pinged and replaced, unseen
    assert "signed up" in phone.text("YES")

    # Hold the receipts table, so that the next turn waits on PostgreSQL with its connection
    # open; then drop the node's connections under it.
    holder = admin.connect().execution_options(isolation_level="READ COMMITTED")
    holder.begin()
    holder.execute(text("LOCK TABLE message_receipts IN ACCESS EXCLUSIVE MODE"))
    sid = new_sid()
    with ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(phone.post, "Jordan Testperson", sid)
        deadline = time.monotonic() + 10
        with admin.connect() as connection:
            while not connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name "
                    "AND wait_event_type = 'Lock'"
                ),
                {"name": NODE},
            ):
                assert time.monotonic() < deadline, "the turn never waited on the lock"
                time.sleep(0.02)
        assert terminate_node_connections(admin) > 0
        holder.rollback()
        holder.close()
        answer = in_flight.result(timeout=10)
    assert answer.status_code == 503, answer.get_data(as_text=True)
    assert answer.mimetype == "text/plain" and "try again" in answer.get_data(as_text=True)
    assert receipts_of(app, sid) == 0  # nothing committed: the retry runs the turn

    retried = phone.text("Jordan Testperson", sid)  # Twilio's retry: the pool reconnected
    assert "Thanks, Jordan" in retried
    assert phone.text("Jordan Testperson", sid) == retried  # a repeat: the same answer, once
    assert receipts_of(app, sid) == 1
    with services_of(app).sessions() as db:
        assert services_of(app).audit.verify(db).ok


def test_connections_dropped_again_and_again_under_load_never_give_a_500(app, admin):
    phones = [Phone(app.test_client(), f"+1212555{200 + i:04d}") for i in range(6)]
    sids = {phone.number: [new_sid() for _ in range(6)] for phone in phones}
    statuses: list[int] = []
    stop = threading.Event()

    def killer():
        while not stop.is_set():
            terminate_node_connections(admin)
            time.sleep(0.05)

    def patient(phone: Phone) -> list[str]:
        """Texts one after another; each 503 retried with its MessageSid, as Twilio does."""
        unanswered = []
        for sid, body in zip(sids[phone.number], TEXTS, strict=True):
            for _ in range(20):
                status = phone.post(body, sid).status_code
                statuses.append(status)
                if status != 503:
                    break
                time.sleep(0.05)
            else:
                unanswered.append(sid)
        return unanswered

    with ThreadPoolExecutor(len(phones) + 1) as pool:
        dropping = pool.submit(killer)
        left = [sid for unanswered in pool.map(patient, phones) for sid in unanswered]
        stop.set()
        dropping.result()
    assert set(statuses) <= {200, 503}, sorted(set(statuses))
    assert 503 in statuses  # the connections really dropped under the requests
    assert left == []  # each text answered in the end: the pool recovered by itself
    for phone in phones:
        for sid in sids[phone.number]:
            assert receipts_of(app, sid) == 1
    with services_of(app).sessions() as db:
        assert services_of(app).audit.verify(db).ok
