"""`flask --app app db ...` and `clinic ...`: the database's schema, and the clinic file
installed in it (validated whole: all or nothing)."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from scheduler.clinic import WEEKDAYS
from scheduler.clinic_file import ClinicConfigError, load_clinic
from scheduler.clinic_store import install_clinic, installed_clinic
from scheduler.db import upgrade

from .context import ACTOR, app_services, fail

db_group = AppGroup("db", help="The database schema.")
clinic_group = AppGroup("clinic", help="The clinic file: providers, hours, rooms, visit types.")


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest revision."""
    upgrade(app_services().settings.database_url)
    click.echo("database is at the newest migration")


@clinic_group.command("load")
@click.argument("path", type=click.Path(dir_okay=False))
def clinic_load(path: str) -> None:
    """Validate the clinic file at PATH and install it; change nothing if any field is wrong."""
    services = app_services()
    try:
        clinic = load_clinic(path)
    except ClinicConfigError as exc:
        click.echo(
            f"{path} was not loaded: {len(exc.errors)} problem(s), nothing changed", err=True
        )
        for error in exc.errors:
            click.echo(f"  {error}", err=True)
        sys.exit(1)
    with services.sessions.begin() as db:
        install_clinic(db, clinic)
        services.audit.record(
            db,
            "clinic_loaded",
            at=services.clock(),
            channel="cli",
            actor=ACTOR,
            detail={
                "providers": len(clinic.providers),
                "appointment_types": len(clinic.appointment_types),
            },
        )
    click.echo(
        f"loaded {clinic.name} ({clinic.timezone}): {len(clinic.providers)} providers, "
        f"{len(clinic.rooms)} rooms, {len(clinic.equipment)} equipment, "
        f"{len(clinic.appointment_types)} appointment types"
    )
    click.echo("restart the app (and job workers) to use it")


@clinic_group.command("show")
def clinic_show() -> None:
    """Print the clinic installed in the database."""
    with app_services().sessions() as db:
        clinic = installed_clinic(db)
    if clinic is None:
        fail("no clinic is installed; load one with `clinic load FILE`")
    click.echo(f"{clinic.name} ({clinic.timezone}), phone {clinic.display_phone}")
    click.echo("providers:")
    for p in clinic.providers:
        days = ", ".join(f"{WEEKDAYS[d]} {span}" for d, span in sorted(p.hours.items()))
        click.echo(f"  {p.key}: {p.name} [{', '.join(sorted(p.specialties))}] {days}")
    click.echo("rooms: " + (", ".join(f"{r.key} ({r.kind})" for r in clinic.rooms) or "none"))
    click.echo("equipment: " + (", ".join(e.key for e in clinic.equipment) or "none"))
    click.echo("appointment types:")
    for t in clinic.appointment_types:
        click.echo(f"  {t.key}: {t.name}, {t.duration_minutes} min (+{t.buffer_minutes} buffer)")
