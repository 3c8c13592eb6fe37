"""The maintenance job through the real app: idle conversations end, old conversation text goes
(audit texts replaced by digests, the chain still verifies), past appointments are marked for an
outcome, and tomorrow's schedule is posted to staff once a day, without names or numbers."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from app import create_app, services_of
from bot.messages import InboundMessage, OutboundMessage
from bot.settings import Settings
from jobs.runner import Jobs
from scheduler.models import Appointment, AuditEvent, ConversationSession, OutboxMessage

NOW = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)  # 09:00 in New York, a Wednesday
PHONE = "+12125550123"
NAME = "Jordan Testperson"


@pytest.fixture
def services(tmp_path, clock):
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'jobs.db'}",
        log_dir=tmp_path / "logs",
        secret_key_file=tmp_path / "secret.key",
        encryption_keys=(Fernet.generate_key().decode(),),
        text_retention=timedelta(days=30),
        jobs_in_process=False,
    )
    return services_of(create_app({"SETTINGS": settings, "CLOCK": clock, "TESTING": True}))


MESSAGE_IDS = itertools.count()


def say(services, clock, text):
    message = InboundMessage("web", PHONE, text, f"m{next(MESSAGE_IDS)}", clock.now)
    return "\n".join(r.as_text() for r in services.conversation.handle(message))


def book(services, clock):
    for text in ("book a checkup", NAME, "tomorrow at 10am", "1"):
        answer = say(services, clock, text)
    assert "You're booked" in answer


def conversations(services) -> int:
    with services.sessions() as db:
        return db.scalar(select(func.count()).select_from(ConversationSession))


def test_an_idle_conversation_ends(services, clock):
    say(services, clock, "book a checkup")
    jobs = Jobs(services, in_process=False)
    jobs.maintain()
    assert conversations(services) == 1
    clock.now += timedelta(minutes=31)
    jobs.maintain()
    assert conversations(services) == 0


def test_text_older_than_the_retention_setting_is_removed_and_the_chain_verifies(services, clock):
    book(services, clock)
    services.sender.send(OutboundMessage("sms", PHONE, f"Reminder for {NAME}", kind="reminder"))
    clock.now += timedelta(days=20)
    say(services, clock, "my appointments")  # a recent exchange: kept
    jobs = Jobs(services, in_process=False)

    jobs.maintain()  # nothing is 30 days old yet
    with services.sessions() as db:
        assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        assert not db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.text_removed_at.is_not(None))
        )

    clock.now += timedelta(days=11)
    jobs.maintain()
    with services.sessions() as db:
        assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        texts = {
            e.seq: (e.at, services.audit.text(e.text_enc)) for e in db.scalars(select(AuditEvent))
        }
        old = [text for at, text in texts.values() if at < NOW + timedelta(days=1)]
        recent = [text for at, text in texts.values() if at > NOW + timedelta(days=19)]
        assert old and all(text is None for text in old)
        assert "my appointments" in recent
        assert not any(NAME in (text or "") for text in recent)
        [removal] = db.scalars(select(AuditEvent).where(AuditEvent.kind == "texts_removed"))
        assert removal.detail["reason"] == "retention" and removal.detail["events"] >= 8
        assert services.audit.verify(db).ok


def test_a_past_appointment_without_check_in_needs_an_outcome(services, clock):
    book(services, clock)
    jobs = Jobs(services, in_process=False)
    clock.now += timedelta(days=1)  # tomorrow 09:00: the 10:00 visit is still ahead
    jobs.maintain()
    with services.sessions() as db:
        assert db.scalars(select(Appointment.outcome_needed_at)).one() is None
    clock.now += timedelta(hours=3)
    jobs.maintain()
    with services.sessions() as db:
        assert db.scalars(select(Appointment.outcome_needed_at)).one() == clock.now


def digests(posted: list[str]) -> list[str]:
    return [text for text in posted if not text.startswith("Daily audit checkpoint")]


def test_a_signed_checkpoint_of_the_audit_chain_is_posted_once_a_day(services, clock):
    from bot.audit.anchors import Checkpoint

    book(services, clock)
    posted: list[str] = []
    jobs = Jobs(services, in_process=False, post_digest=posted.append)
    jobs.maintain()
    jobs.maintain()
    [notice] = [text for text in posted if text not in digests(posted)]
    checkpoint = Checkpoint.parse(notice)
    assert checkpoint is not None and services.audit.signed_by_us(checkpoint)
    with services.sessions() as db:
        assert services.audit.verify(db, checkpoints=[checkpoint]).ok
        recorded = db.scalars(select(AuditEvent).where(AuditEvent.kind == "audit_checkpoint")).one()
    assert recorded.detail["seq"] == checkpoint.seq == recorded.seq - 1
    clock.now += timedelta(days=1)
    jobs.maintain()
    assert len(posted) - len(digests(posted)) == 2  # the next day's


def test_tomorrows_schedule_is_posted_once_a_day_without_names_or_numbers(services, clock):
    book(services, clock)
    posted: list[str] = []
    jobs = Jobs(services, in_process=False, post_digest=posted.append)
    jobs.maintain()
    assert digests(posted) == []  # 09:00: the digest waits for 17:00
    clock.now = NOW + timedelta(hours=8)  # 17:00 in New York
    jobs.maintain()
    jobs.maintain()
    [digest] = digests(posted)
    with services.sessions() as db:
        appointment_id = db.scalars(select(Appointment.id)).one()
    assert "Thu Mar 5" in digest and "1 appointments" in digest
    assert f"#{appointment_id} 10:00" in digest and "Not confirmed yet (1)" in digest
    assert NAME not in digest and "555" not in digest


def test_a_turn_written_without_its_date_gets_its_clinic_local_date(services, clock):
    # A node still on the code before migration 0016 (a rolling restart) writes no `day`: the
    # dashboard selects turns by it, so maintenance fills it in, in the clinic's zone.
    from scheduler.models import EngineTurn

    say(services, clock, "hello")
    late = datetime(2026, 3, 5, 2, 30, tzinfo=UTC)  # 21:30 on the 4th in New York
    with services.sessions.begin() as db:
        db.execute(
            EngineTurn.__table__.insert(),
            {
                "at": late,
                "channel": "sms",
                "engine": "local",
                "fallback": False,
                "latency_ms": 4.0,
                "model_calls": 0,
                "input_tokens": 0,
                "output_tokens": 0,
                "conversation": "0" * 16,
            },
        )
    Jobs(services, in_process=False).maintain()
    with services.sessions() as db:
        dated = dict(db.execute(select(EngineTurn.at, EngineTurn.day)).all())
    assert dated == {NOW: datetime(2026, 3, 4).date(), late: datetime(2026, 3, 4).date()}
