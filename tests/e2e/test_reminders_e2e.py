"""The real app's jobs: booked by text in the web chat's channel, reminded by the in-process runner
(one web worker of several holds the scheduler lease), answered with C."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet
from sqlalchemy import select

from app import create_app, services_of
from bot.messages import InboundMessage
from bot.settings import Settings
from jobs.runner import Jobs, take_lease
from scheduler.models import Appointment
from tests.clock import Clock

NOW = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)
PHONE = "+12125550123"


def booked(tmp_path):
    """The real app, a check-up booked tomorrow at 10 in the web chat: (services, clock, say)."""
    clock = Clock(NOW)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'e2e.db'}",
        log_dir=tmp_path / "logs",
        secret_key_file=tmp_path / "secret.key",
        encryption_keys=(Fernet.generate_key().decode(),),
    )
    services = services_of(create_app({"SETTINGS": settings, "CLOCK": clock, "TESTING": True}))
    ids = iter(range(100))

    def say(text):
        message = InboundMessage("web", PHONE, text, f"m{next(ids)}", clock.now)
        return "\n".join(r.as_text() for r in services.conversation.handle(message))

    for text in ("book a checkup", "Jordan Testperson", "tomorrow at 10am"):
        say(text)
    assert "You're booked" in say("1")
    return services, clock, say


def test_booked_reminded_once_across_web_workers_and_confirmed(tmp_path):
    services, clock, say = booked(tmp_path)
    # Two web workers each run the in-process jobs; only the lease holder sends.
    first, second = (Jobs(services, in_process=True, owner=o) for o in ("web-1", "web-2"))
    clock.now = NOW + timedelta(hours=24, minutes=1)
    first.run_all_once()
    second.run_all_once()
    texts = services.sender.messages_for(PHONE)
    assert [m.kind for m in texts] == ["reminder"]
    assert "Reply C to confirm" in texts[0].text
    assert not take_lease(services.sessions, "web-scheduler", "web-2", now=clock.now)

    assert "is confirmed" in say("c")
    with services.sessions() as db:
        assert db.scalars(select(Appointment.confirmed_at)).one() == clock.now


def test_a_reminder_answered_in_words_is_confirmed(tmp_path):
    services, clock, say = booked(tmp_path)
    # Before any reminder, a yes answers nothing.
    assert "not sure what you're answering" in say("yes")
    clock.now = NOW + timedelta(hours=24, minutes=1)
    Jobs(services, in_process=True, owner="web-1").run_all_once()
    assert "is confirmed" in say("Yes, I'll be there")
    with services.sessions() as db:
        assert db.scalars(select(Appointment.confirmed_at)).one() == clock.now


def test_a_yes_after_some_other_exchange_does_not_confirm_the_reminded_visit(tmp_path):
    services, clock, say = booked(tmp_path)
    clock.now = NOW + timedelta(hours=24, minutes=1)
    Jobs(services, in_process=True, owner="web-1").run_all_once()
    clock.now += timedelta(minutes=5)
    assert "upcoming" in say("what time is my appointment?")
    assert "is confirmed" not in say("ok")  # about the answer, not the reminder
    assert "is confirmed" in say("C")  # the letter still answers the reminder
