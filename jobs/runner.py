"""The job runner: APScheduler 3 driving the jobs over database state.

Two ways to run, one set of jobs (`Jobs`):

- in the web process (`JOBS_IN_PROCESS=true`, started by `create_app`): a BackgroundScheduler.
  Under gunicorn every web worker starts one, so each tick first takes the `web-scheduler` row of
  `job_leases` (held for `LEASE`, renewed by its holder each tick): one process runs the jobs,
  the others skip, and when the holder dies another takes over after the lease runs out;
- `python -m jobs`: a BlockingScheduler per worker process. Workers all send reminders at once
  (the claim is safe); the other jobs take a lease of their own, so they run in one process.

APScheduler only says "now"; what is due is in the database. Every job runs once at start-up,
which is the catch-up: reminders missed while everything was down go out then (or are expired
when their appointment already started).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import insert, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.audit.anchors import checkpoint_notice
from bot.services import Services
from scheduler import waitlist
from scheduler.models import JobLease

from . import maintenance, optimise
from .reminders.sender import ReminderSender, worker_name

if TYPE_CHECKING:
    from .ehr_webhook import EhrWebhook

log = logging.getLogger("scheduler.jobs")

LEASE = timedelta(seconds=90)
REMINDER_INTERVAL = 30  # seconds
EHR_INTERVAL = 10
WAITLIST_INTERVAL = 60
MAINTENANCE_INTERVAL = 15 * 60
DIGEST_HOUR = 17  # clinic time, the day before


def take_lease(
    sessions: sessionmaker[Session], name: str, owner: str, *, now: datetime, ttl: timedelta = LEASE
) -> bool:
    """Take or renew the named lease; False while another owner holds it."""
    with sessions.begin() as db:
        # `Session.execute` returns a `CursorResult` for an UPDATE (its stubs say `Result`).
        taken = cast(
            CursorResult[Any],
            db.execute(
                update(JobLease)
                .where(JobLease.name == name, (JobLease.owner == owner) | (JobLease.until < now))
                .values(owner=owner, until=now + ttl)
            ),
        ).rowcount
        if taken:
            return True
        try:
            with db.begin_nested():
                db.execute(insert(JobLease).values(name=name, owner=owner, until=now + ttl))
            return True
        except IntegrityError:
            return False


def once(sessions: sessionmaker[Session], name: str, owner: str, *, now: datetime) -> bool:
    """True for the first caller ever with this name (e.g. "digest:2026-03-05"), and only once:
    not a lease its owner renews (the digest went out every 15 minutes from one worker)."""
    with sessions.begin() as db:
        try:
            with db.begin_nested():
                db.execute(
                    insert(JobLease).values(
                        name=name, owner=owner, until=now + timedelta(days=3650)
                    )
                )
            return True
        except IntegrityError:
            return False


class Jobs:
    """The jobs over one app's services. What reaches outside them is handed in by the app:
    `post_digest` posts a text to the staff channel (None: Slack is off); `resend_stranded`
    sends the SMS replies a stopped process left unsent (adapters/twilio_sms/stranded.py)."""

    def __init__(
        self,
        services: Services,
        *,
        in_process: bool,
        owner: str | None = None,
        post_digest: Callable[[str], None] | None = None,
        resend_stranded: Callable[[], object] | None = None,
    ):
        self.services = services
        self.in_process = in_process
        self.owner = owner or worker_name()
        self.post_digest = post_digest
        self._resend_stranded = resend_stranded
        self._optimised_at: datetime | None = None  # this process's last optimise run
        settings = services.settings
        # The EHR's notifications (jobs/ehr_webhook.py), while EHR_WEBHOOK_URL is set.
        self.ehr: EhrWebhook | None = None
        if settings.ehr_webhook_url and settings.ehr_webhook_secret:
            from .ehr_webhook import EhrWebhook

            base = settings.public_base_url
            self.ehr = EhrWebhook(
                services.sessions,
                services.vault,
                services.audit,
                url=settings.ehr_webhook_url,
                secret=settings.ehr_webhook_secret,
                clock=services.clock,
                owner=self.owner,
                base_url=f"{base.rstrip('/')}/fhir/r4" if base else None,
            )
        self.reminders = ReminderSender(
            services.sessions,
            services.clinic,
            services.vault,
            services.audit,
            services.sender,
            clock=services.clock,
            policy=services.settings.reminder_policy(),
            owner=self.owner,
        )

    def _now(self) -> datetime:
        return self.services.clock()

    def _may_run(self, name: str, *, exclusive: bool) -> bool:
        now = self._now()
        if self.in_process and not take_lease(
            self.services.sessions, "web-scheduler", self.owner, now=now
        ):
            return False
        if exclusive and not self.in_process:
            return take_lease(self.services.sessions, f"job:{name}", self.owner, now=now)
        return True

    def _guarded(self, name: str, job: Callable[[], object], *, exclusive: bool = True):
        try:
            if self._may_run(name, exclusive=exclusive):
                return job()
        except Exception:  # a job's failure is logged; the scheduler carries on
            log.exception("job %s failed (worker %s)", name, self.owner)
        return None

    # --- the jobs ----------------------------------------------------------------------------
    def send_reminders(self):
        return self._guarded("reminders", self.reminders.run, exclusive=False)

    def send_ehr_notifications(self):
        if self.ehr is None:
            return None
        return self._guarded("ehr", self.ehr.run, exclusive=False)

    def advance_waitlist(self):
        def job():
            with self.services.sessions.begin() as db:
                return waitlist.advance(db, self.services.clinic, now=self._now())

        return self._guarded("waitlist", job)

    def optimise_waitlist(self):
        """The waiting list through the optimiser (jobs/optimise.py): each morning, once a day,
        and after an appointment was cancelled or moved since this process's last look."""

        def job():
            now = self._now()
            local = now.astimezone(self.services.clinic.zone)
            since = self._optimised_at or now - timedelta(seconds=optimise.CHECK_INTERVAL)
            self._optimised_at = now
            morning = local.hour >= optimise.MORNING_HOUR and once(
                self.services.sessions, f"optimise:{local.date().isoformat()}", self.owner, now=now
            )
            if not morning:
                with self.services.sessions() as db:
                    if not optimise.changed_since(db, since):
                        return 0
            return optimise.offer_plan(self.services.sessions, self.services.clinic, now=now)

        return self._guarded("optimise", job)

    def close_refusals(self):
        def job():
            with self.services.sessions.begin() as db:
                return maintenance.close_refusal_tallies(db, self.services.audit, now=self._now())

        return self._guarded("refusals", job)

    def resend_stranded_sms(self):
        if self._resend_stranded is None:
            return None
        return self._guarded("stranded-sms", self._resend_stranded)

    def maintain(self):
        def job():
            now = self._now()
            with self.services.sessions.begin() as db:
                maintenance.expire_sessions(db, self.services.conversation.store, now=now)
                maintenance.purge_text(
                    db,
                    self.services.audit,
                    now=now,
                    retention=self.services.settings.text_retention,
                )
                maintenance.mark_outcomes(db, now=now)
                maintenance.purge_idempotent_requests(db, now=now)
                maintenance.date_engine_turns(db, self.services.clinic.zone)
            local = now.astimezone(self.services.clinic.zone)
            if once(
                self.services.sessions,
                f"checkpoint:{local.date().isoformat()}",
                self.owner,
                now=now,
            ):
                self.checkpoint(now)
            if (
                local.hour >= DIGEST_HOUR
                and self.post_digest is not None
                and once(
                    self.services.sessions,
                    f"digest:{local.date().isoformat()}",
                    self.owner,
                    now=now,
                )
            ):
                with self.services.sessions() as db:
                    maintenance.post_digest(db, self.services.clinic, self.post_digest, now=now)

        return self._guarded("maintenance", job)

    def checkpoint(self, now: datetime) -> None:
        """The day's signed checkpoint of the audit chain's head, to the staff channel: kept
        where whoever can edit the database cannot reach (bot/audit/anchors.py)."""
        with self.services.sessions.begin() as db:
            checkpoint = self.services.audit.checkpoint(db, now=now)
        if checkpoint is not None and self.post_digest is not None:
            self.post_digest(checkpoint_notice(checkpoint))
        if checkpoint is not None:
            log.info("audit checkpoint at event %d recorded", checkpoint.seq)

    def run_all_once(self) -> None:
        """Every job once, now (start-up catch-up; `python -m jobs --once`)."""
        self.send_reminders()
        self.send_ehr_notifications()
        self.advance_waitlist()
        self.optimise_waitlist()
        self.resend_stranded_sms()
        self.close_refusals()
        self.maintain()

    # --- APScheduler ---------------------------------------------------------------------------
    def schedule(self, scheduler) -> None:
        first = datetime.now(UTC)
        scheduler.add_job(
            self.send_reminders,
            "interval",
            seconds=REMINDER_INTERVAL,
            id="reminders",
            next_run_time=first,
            max_instances=1,
            coalesce=True,
        )
        if self.ehr is not None:
            scheduler.add_job(
                self.send_ehr_notifications,
                "interval",
                seconds=EHR_INTERVAL,
                id="ehr",
                next_run_time=first,
                max_instances=1,
                coalesce=True,
            )
        scheduler.add_job(
            self.advance_waitlist,
            "interval",
            seconds=WAITLIST_INTERVAL,
            id="waitlist",
            next_run_time=first,
            max_instances=1,
            coalesce=True,
        )
        scheduler.add_job(
            self.optimise_waitlist,
            "interval",
            seconds=optimise.CHECK_INTERVAL,
            id="optimise",
            next_run_time=first,
            max_instances=1,
            coalesce=True,
        )
        scheduler.add_job(
            self.resend_stranded_sms,
            "interval",
            seconds=WAITLIST_INTERVAL,
            id="stranded-sms",
            next_run_time=first,
            max_instances=1,
            coalesce=True,
        )
        scheduler.add_job(
            self.close_refusals,
            "interval",
            seconds=WAITLIST_INTERVAL,
            id="refusals",
            next_run_time=first,
            max_instances=1,
            coalesce=True,
        )
        scheduler.add_job(
            self.maintain,
            "interval",
            seconds=MAINTENANCE_INTERVAL,
            id="maintenance",
            next_run_time=first,
            max_instances=1,
            coalesce=True,
        )


def start_in_process(jobs: Jobs):
    """The web process's BackgroundScheduler (create_app, when JOBS_IN_PROCESS is true)."""
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone=UTC, daemon=True)
    jobs.schedule(scheduler)
    scheduler.start()
    log.info("in-process job scheduler started (worker %s)", jobs.owner)
    return scheduler
