"""The job runner (jobs/runner.py) over the real app's services: leases (one owner at a time,
taken over once expired), once-only markers, the in-process runner working only in the lease
holder, a failing job logged while the others run, and the daily audit checkpoint posted once.

The clock is Wednesday 2026-03-04 09:00 in New York, moved by hand.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from app import create_app
from bot.audit.anchors import Checkpoint
from bot.messages import InboundMessage
from bot.settings import Settings
from jobs.runner import LEASE, Jobs, once, take_lease
from scheduler.models import AuditEvent, JobLease

PHONE = "+12125550123"


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
def booked(services, clock):
    """A check-up booked by text for tomorrow at 10:00: its reminder a day ahead is due today
    at 10:00."""
    ids = iter(range(100))

    def say(text):
        message = InboundMessage("web", PHONE, text, f"m{next(ids)}", clock.now)
        return "\n".join(r.as_text() for r in services.conversation.handle(message))

    for text in ("book a checkup", "Jordan Testperson", "tomorrow at 10am"):
        say(text)
    assert "You're booked" in say("1")


def checkpoints(posted: list[str]) -> list[Checkpoint]:
    return [c for c in map(Checkpoint.parse, posted) if c is not None]


def leases(services) -> dict[str, str]:
    with services.sessions() as db:
        return {lease.name: lease.owner for lease in db.scalars(select(JobLease))}


# --- take_lease --------------------------------------------------------------------------------


def test_a_lease_has_one_owner_at_a_time(services, clock):
    assert take_lease(services.sessions, "web-scheduler", "web-1", now=clock.now)
    assert not take_lease(services.sessions, "web-scheduler", "web-2", now=clock.now)
    assert leases(services) == {"web-scheduler": "web-1"}


def test_the_holder_renews_its_lease(services, clock):
    take_lease(services.sessions, "web-scheduler", "web-1", now=clock.now)
    clock.advance(seconds=60)
    assert take_lease(services.sessions, "web-scheduler", "web-1", now=clock.now)
    clock.advance(seconds=60)  # 120 s after the first take, 60 after renewal
    assert not take_lease(services.sessions, "web-scheduler", "web-2", now=clock.now)


def test_a_lease_run_out_is_taken_over_and_the_old_holder_is_then_refused(services, clock):
    take_lease(services.sessions, "web-scheduler", "web-1", now=clock.now)
    clock.now += LEASE  # the last moment it is held
    assert not take_lease(services.sessions, "web-scheduler", "web-2", now=clock.now)
    clock.advance(seconds=1)
    assert take_lease(services.sessions, "web-scheduler", "web-2", now=clock.now)
    assert not take_lease(services.sessions, "web-scheduler", "web-1", now=clock.now)
    assert leases(services) == {"web-scheduler": "web-2"}


def test_leases_of_different_names_are_independent(services, clock):
    assert take_lease(services.sessions, "job:waitlist", "worker-1", now=clock.now)
    assert take_lease(services.sessions, "job:maintenance", "worker-2", now=clock.now)


# --- once --------------------------------------------------------------------------------------


def test_once_is_true_only_for_the_first_caller_ever(services, clock):
    assert once(services.sessions, "digest:2026-03-04", "worker-1", now=clock.now)
    assert not once(services.sessions, "digest:2026-03-04", "worker-1", now=clock.now)
    assert not once(services.sessions, "digest:2026-03-04", "worker-2", now=clock.now)
    clock.advance(days=30)  # not a lease: it never runs out
    assert not once(services.sessions, "digest:2026-03-04", "worker-2", now=clock.now)
    assert once(services.sessions, "digest:2026-03-05", "worker-2", now=clock.now)


# --- in process: only the lease holder works ---------------------------------------------------


def test_in_process_only_the_lease_holder_runs_the_jobs(services, clock):
    ran: list[str] = []
    first, second = (
        Jobs(
            services,
            in_process=True,
            owner=owner,
            resend_stranded=lambda owner=owner: ran.append(owner),
        )
        for owner in ("web-1", "web-2")
    )
    first.resend_stranded_sms()
    second.resend_stranded_sms()
    assert first.advance_waitlist() == 0 and second.advance_waitlist() is None
    assert ran == ["web-1"]
    clock.advance(seconds=30)
    first.resend_stranded_sms()  # the holder renews as it works
    clock.advance(seconds=80)
    second.resend_stranded_sms()
    assert ran == ["web-1", "web-1"]


def test_in_process_another_worker_takes_over_when_the_holder_stops(services, clock):
    ran: list[str] = []
    first, second = (
        Jobs(
            services,
            in_process=True,
            owner=owner,
            resend_stranded=lambda owner=owner: ran.append(owner),
        )
        for owner in ("web-1", "web-2")
    )
    first.resend_stranded_sms()
    clock.now += LEASE + timedelta(seconds=1)  # web-1 died: no renewal
    second.resend_stranded_sms()
    first.resend_stranded_sms()  # back, but no longer the holder
    assert ran == ["web-1", "web-2"]


def test_in_process_only_the_holder_sends_a_due_reminder(services, clock, booked):
    first, second = (Jobs(services, in_process=True, owner=o) for o in ("web-1", "web-2"))
    clock.advance(hours=1, minutes=1)  # 10:01: the reminder a day ahead is due
    first.run_all_once()
    second.run_all_once()
    assert second.send_reminders() is None  # web-1 holds the scheduler's lease
    assert [m.kind for m in services.sender.messages_for(PHONE)] == ["reminder"]
    assert leases(services)["web-scheduler"] == "web-1"


def test_worker_processes_take_a_lease_per_job_but_all_send_reminders(services, clock):
    first, second = (Jobs(services, in_process=False, owner=o) for o in ("worker-1", "worker-2"))
    assert first.advance_waitlist() == 0
    assert second.advance_waitlist() is None  # job:waitlist is worker-1's
    assert first.send_reminders() is not None and second.send_reminders() is not None
    assert leases(services) == {"job:waitlist": "worker-1"}


# --- failures ----------------------------------------------------------------------------------


def test_a_failing_job_is_logged_and_the_other_jobs_still_run(services, clock, booked, caplog):
    def stranded():
        raise ConnectionError("twilio is down")

    posted: list[str] = []
    jobs = Jobs(
        services,
        in_process=False,
        owner="worker-1",
        resend_stranded=stranded,
        post_digest=posted.append,
    )
    clock.advance(hours=1, minutes=1)
    with caplog.at_level(logging.ERROR, logger="scheduler.jobs"):
        jobs.run_all_once()  # reminders, waitlist, stranded, ..., maintain
    failed = [r for r in caplog.records if r.name == "scheduler.jobs"]
    assert [r.getMessage() for r in failed] == ["job stranded-sms failed (worker worker-1)"]
    assert failed[0].exc_info[0] is ConnectionError
    assert [m.kind for m in services.sender.messages_for(PHONE)] == ["reminder"]  # before it
    assert len(checkpoints(posted)) == 1  # after it


def test_a_failing_job_returns_nothing_and_runs_again_next_time(services, clock, caplog):
    calls: list[int] = []

    def stranded():
        calls.append(1)
        raise RuntimeError("boom")

    jobs = Jobs(services, in_process=False, resend_stranded=stranded)
    with caplog.at_level(logging.ERROR, logger="scheduler.jobs"):
        assert jobs.resend_stranded_sms() is None
        assert jobs.resend_stranded_sms() is None
    assert len(calls) == 2


def test_without_a_stranded_sender_the_job_does_nothing(services, clock):
    jobs = Jobs(services, in_process=False, owner="worker-1", resend_stranded=None)
    assert jobs.resend_stranded_sms() is None
    assert "job:stranded-sms" not in leases(services)  # not even a lease taken
    with_sender = Jobs(
        services, in_process=False, owner="worker-1", resend_stranded=lambda: "resent"
    )
    assert with_sender.resend_stranded_sms() == "resent"
    assert leases(services)["job:stranded-sms"] == "worker-1"


# --- the daily audit checkpoint ----------------------------------------------------------------


def test_the_daily_audit_checkpoint_is_posted_once_a_day(services, clock, booked):
    posted: list[str] = []
    jobs = Jobs(services, in_process=False, owner="worker-1", post_digest=posted.append)
    jobs.maintain()
    clock.advance(minutes=20)  # the next maintenance tick, the same day
    jobs.maintain()
    (today,) = checkpoints(posted)
    assert services.audit.signed_by_us(today)
    with services.sessions() as db:
        assert services.audit.verify(db, checkpoints=[today]).ok
        recorded = db.scalars(select(AuditEvent).where(AuditEvent.kind == "audit_checkpoint")).one()
        assert recorded.detail["seq"] == today.seq and recorded.detail["hash"] == today.hash
    clock.advance(days=1)
    jobs.maintain()
    assert len(checkpoints(posted)) == 2
    assert checkpoints(posted)[1].seq > today.seq


def test_two_workers_post_one_checkpoint_a_day_between_them(services, clock, booked):
    posted: list[str] = []
    first, second = (
        Jobs(services, in_process=False, owner=o, post_digest=posted.append)
        for o in ("worker-1", "worker-2")
    )
    first.maintain()
    clock.now += LEASE + timedelta(seconds=1)  # worker-2 may run maintenance now
    second.maintain()
    assert leases(services)["job:maintenance"] == "worker-2"
    assert len(checkpoints(posted)) == 1


def test_without_a_staff_channel_the_checkpoint_is_still_recorded(services, clock, booked):
    Jobs(services, in_process=False, post_digest=None).maintain()
    with services.sessions() as db:
        assert (
            len(db.scalars(select(AuditEvent).where(AuditEvent.kind == "audit_checkpoint")).all())
            == 1
        )


def test_no_checkpoint_while_the_audit_chain_is_empty(services, clock):
    posted: list[str] = []
    Jobs(services, in_process=False, post_digest=posted.append).maintain()
    assert checkpoints(posted) == []
