"""The optimiser job (jobs/optimise.py, run by jobs/runner.py) over the real app's services: each
morning a waiting urgent patient is offered a time, texted by the reminder sender, and their YES
books it through the normal path; between mornings it runs after a cancellation only; a failure
offers nothing and logs no patient data.

The clock is Wednesday 2026-03-04 09:00 in New York, moved by hand.
"""

from __future__ import annotations

import logging
from datetime import date, time, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from app import create_app
from bot.settings import Settings
from jobs.runner import Jobs
from scheduler import waitlist
from scheduler.models import Appointment, AppointmentStatus, WaitlistEntry, WaitlistOffer
from tests.jobs_support import Chat, Desk

URGENT = "+12125550181"
LATER = "+12125550182"
HOLDER = "+12125550183"
TODAY = date(2026, 3, 4)


@pytest.fixture
def app(tmp_path, clock):
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'jobs.db'}",
        log_dir=tmp_path / "logs",
        secret_key_file=tmp_path / "secret.key",
        encryption_keys=(Fernet.generate_key().decode(),),
        jobs_in_process=False,
    )
    return create_app({"SETTINGS": settings, "CLOCK": clock, "TESTING": True})


@pytest.fixture
def desk(services, clock):
    return Desk(services.sessions, services.clinic, services.vault, services.audit, clock)


@pytest.fixture
def jobs(services):
    return Jobs(services, in_process=False, owner="worker-1")


def wait(desk, phone: str, type_key: str, priority: str = "routine") -> int:
    patient = desk.patient(phone)
    with desk.sessions.begin() as db:
        entry, _ = waitlist.join(
            db,
            desk.clinic,
            patient_id=patient,
            type_key=type_key,
            now=desk.clock.now,
            created_by="test",
            priority=priority,
        )
        return entry.id


def offers(services) -> list[tuple[int, str]]:
    with services.sessions() as db:
        return [(o.entry_id, o.status) for o in db.scalars(select(WaitlistOffer))]


def test_the_morning_run_offers_an_urgent_patient_a_time_and_their_yes_books_it(
    services, desk, jobs, clock
):
    entry = wait(desk, URGENT, "sick-visit", "urgent")
    assert jobs.optimise_waitlist() == 1
    assert offers(services) == [(entry, "offered")]
    jobs.send_reminders()
    [text] = services.sender.messages_for(URGENT)
    assert text.kind == "offer" and "Reply YES within 15 min" in text.text
    with services.sessions() as db:
        [offer] = db.scalars(select(WaitlistOffer)).all()
        offered_start = offer.slot["start"]
    # Today, from the type's hour of notice on: an urgent patient is seen the same day.
    assert offered_start.startswith("2026-03-04T")
    assert "It's yours" in Chat(services.conversation, clock, URGENT).text("YES")
    with services.sessions() as db:
        [booked] = db.scalars(select(Appointment)).all()
        assert booked.status == AppointmentStatus.BOOKED
        assert booked.start_at.isoformat() == offered_start
        assert db.get(WaitlistEntry, entry).status == "booked"
        [offer] = db.scalars(select(WaitlistOffer)).all()
        assert (offer.status, offer.appointment_id) == ("accepted", booked.id)
    # Once a morning: the next run, with nothing cancelled, offers nothing more.
    wait(desk, LATER, "checkup")
    clock.advance(minutes=5)
    assert jobs.optimise_waitlist() == 0


def test_between_mornings_it_runs_after_a_cancellation_only(services, desk, jobs, clock):
    assert jobs.optimise_waitlist() == 0  # the morning run: nobody waiting
    holder = desk.patient(HOLDER)
    vaccination = desk.book(holder, TODAY, time(11, 0), type_key="vaccination", provider="moreau")
    clock.advance(minutes=5)
    entry = wait(desk, LATER, "checkup")
    assert jobs.optimise_waitlist() == 0  # a new booking and a new entry free no time
    assert offers(services) == []
    with services.sessions.begin() as db:
        desk.tools(db).cancel_appointment(vaccination)  # nobody waits for a vaccination
    assert offers(services) == []
    clock.advance(minutes=5)
    assert jobs.optimise_waitlist() == 1
    assert offers(services) == [(entry, "offered")]
    clock.advance(minutes=5)
    assert jobs.optimise_waitlist() == 0  # nothing changed since


def test_a_failure_offers_nothing_and_logs_no_patient_data(services, desk, jobs, clock, caplog):
    entry = wait(desk, URGENT, "sick-visit", "urgent")
    other = wait(desk, LATER, "checkup")
    with services.sessions.begin() as db:
        # A stored offer the optimiser cannot read (its slot lost its fields): a real failure.
        db.add(
            WaitlistOffer(
                entry_id=other,
                patient_id=db.get(WaitlistEntry, other).patient_id,
                slot_key="okafor@?",
                slot={"phone": URGENT},
                status="offered",
                offered_at=clock.now,
                expires_at=clock.now + timedelta(minutes=15),
            )
        )
    with caplog.at_level(logging.INFO, logger="scheduler.jobs"):
        assert jobs.optimise_waitlist() == 0
    assert [o for o in offers(services) if o[0] == entry] == []
    [record] = [r for r in caplog.records if r.name == "scheduler.jobs"]
    assert record.levelno == logging.ERROR and "nothing offered" in record.getMessage()
    assert URGENT not in record.getMessage() and record.exc_info is None
