"""`flask --app app demo history`: a made-up past for the demo clinic, so that the analytics
dashboard (/portal/dashboard) has something to show on a new database.

The history is simulated by bot/demo/ through the real scheduling tools, with the clock set to
each moment; its bookings are audited as they would have been then. The staff channel is not
told of them (they are not news): the history is recorded under an audit trail without the staff
notifier, on the same chain. It refuses a database that already has appointments unless
`--force`: a made-up history would be mixed with the clinic's own. It prints counts only, never
a name or a number.
"""

from __future__ import annotations

import time as timer

import click
from flask.cli import AppGroup

from bot.audit.trail import AuditTrail
from bot.demo import (
    DEFAULT_SEED,
    MAX_DAYS,
    DemoHistory,
    appointment_count,
    last_appointment_id,
    tally,
)

from .context import ACTOR, app_services, fail

demo_group = AppGroup("demo", help="Made-up data for trying the clinic out (never real).")


@demo_group.command("history")
@click.option(
    "--days",
    type=click.IntRange(1, MAX_DAYS),
    default=90,
    show_default=True,
    help=f"days of visits before today, 1 to {MAX_DAYS}",
)
@click.option(
    "--seed",
    type=int,
    default=DEFAULT_SEED,
    show_default=True,
    help="the random seed: the same seed gives the same history",
)
@click.option(
    "--force", is_flag=True, help="add the history although the database has appointments"
)
def demo_history(days: int, seed: int, force: bool) -> None:
    """Fill the database with a plausible past of the clinic (invented patients with fictional
    555-01xx numbers, bookings, cancellations, reminders, the waitlist, attendance and the
    language engine's turns) over the DAYS before today, and the upcoming visits booked in
    them, for the analytics dashboard (/portal/dashboard)."""
    services = app_services()
    with services.sessions() as db:
        existing = appointment_count(db)
        since = last_appointment_id(db)
    if existing and not force:
        fail(
            f"refused: the database already has {existing} appointments, and a made-up history "
            "would be mixed with them (the dashboard, the schedule and the audit trail would show "
            "both). Run it on a new database, or give --force to add it anyway."
        )
    started, now = timer.perf_counter(), services.clock()
    history = DemoHistory(
        services.sessions,
        services.clinic,
        services.vault,
        AuditTrail(services.vault),  # the same chain, without a staff notice per past booking
        now=now,
        days=days,
        seed=seed,
        policy=services.settings.reminder_policy(),
    )
    summary = history.run()
    with services.sessions.begin() as db:
        tally(db, summary, since, now=now)
        services.audit.record(
            db,
            "demo_history_created",
            at=services.clock(),
            channel="cli",
            actor=ACTOR,
            detail={
                "days": days,
                "seed": seed,
                "force": force,
                "appointments": sum(summary.statuses.values()),
            },
        )
    elapsed = timer.perf_counter() - started
    click.echo(f"demo history: {days} days, seed {seed}, {elapsed:.1f} s")
    for line in summary.lines():
        click.echo(f"  {line}")
