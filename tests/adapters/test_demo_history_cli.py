"""`flask --app app demo history`: a made-up week of the demo clinic, booked through the real
scheduling tools; refused on a database that has appointments, and for days out of range."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select, text

from app import create_app, services_of
from bot.demo.patients import PHONES, name_of
from bot.settings import Settings
from scheduler import analytics
from scheduler.models import (
    Appointment,
    AuditEvent,
    EngineTurn,
    Patient,
    Reminder,
    WaitlistEntry,
    WaitlistOffer,
)
from tests.slack_support import NOW

FICTIONAL = re.compile(r"^\+1[2-9]\d{2}55501\d{2}$")
HOLDING = "('booked', 'arrived', 'fulfilled', 'noshow')"


def make_app(path):
    settings = Settings(
        database_url=f"sqlite:///{path / 'demo.db'}",
        log_dir=path / "logs",
        encryption_keys=(Fernet.generate_key().decode(),),
        secret_key_file=path / "secret.key",
    )
    return create_app({"SETTINGS": settings, "CLOCK": lambda: NOW, "TESTING": True})


def invoke(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    """One app whose database holds a week of history (--days 7 --seed 1), and its output."""
    app = make_app(tmp_path_factory.mktemp("demo"))
    result = invoke(app, "demo", "history", "--days", "7", "--seed", "1")
    assert result.exit_code == 0, result.output
    return app, result.output


def counts(app):
    with services_of(app).sessions() as db:
        return {
            model.__name__: db.scalar(select(func.count()).select_from(model))
            for model in (Appointment, AuditEvent, EngineTurn, Patient, Reminder, WaitlistOffer)
        }


def test_a_week_has_every_kind_of_visit_answer_offer_and_turn(week):
    app, output = week
    with services_of(app).sessions() as db:
        statuses = {s.value for s in db.scalars(select(Appointment.status).distinct())}
        assert {"booked", "cancelled", "fulfilled", "noshow"} <= statuses
        # The visits still "booked" are the last day's, left for the desk to mark, and those
        # to come (booked before today); nothing happened after the history's end.
        zone = services_of(app).clinic.zone
        today = NOW.astimezone(zone).date()
        booked = db.scalars(select(Appointment).where(Appointment.status == "booked")).all()
        days = {a.start_at.astimezone(zone).date() for a in booked}
        assert today - timedelta(days=1) in days and any(d > today for d in days)
        assert all(d == today - timedelta(days=1) or d >= today for d in days)
        midnight = datetime.combine(today, time(), zone)
        assert db.scalar(select(func.max(Appointment.created_at))) < midnight
        assert db.scalar(select(func.max(EngineTurn.at))) < midnight
        channels = set(db.scalars(select(Appointment.booked_via).distinct()))
        assert len(channels) >= 4 and channels <= {"sms", "web", "portal", "slack", "api"}
        answers = set(db.scalars(select(Appointment.reminder_answer).distinct()))
        assert "C" in answers
        confirmed = db.scalar(
            select(func.count()).where(
                Appointment.reminder_answer == "C", Appointment.confirmed_at.is_not(None)
            )
        )
        assert confirmed
        assert db.scalar(select(func.count()).where(Reminder.status == "sent"))
        accepted = db.scalars(select(WaitlistOffer).where(WaitlistOffer.status == "accepted"))
        offer = accepted.first()
        assert offer is not None and offer.appointment_id is not None
        entry = db.get(WaitlistEntry, offer.entry_id)
        assert entry is not None and entry.status == "booked"
        engines = set(db.scalars(select(EngineTurn.engine).distinct()))
        assert engines == {"bedrock", "local"}
        digests = set(db.scalars(select(EngineTurn.conversation).distinct()))
        assert all(re.fullmatch(r"[0-9a-f]{16}", d) for d in digests)
        vault = services_of(app).vault
        phones = {vault.decrypt(p) for p in db.scalars(select(Patient.phone_enc))}
        assert phones and all(FICTIONAL.match(p) for p in phones)
    # The summary is counts: no number, no name.
    assert "appointments:" in output and "engine turns:" in output
    assert "555" not in output and "+1" not in output
    assert not any(name_of(n) in output for n in range(len(PHONES)))


def test_no_two_visits_holding_time_overlap(week):
    app, _ = week
    with services_of(app).sessions() as db:
        for holder in ("provider_id", "room_id", "equipment_id"):
            overlapping = db.execute(
                text(
                    f"SELECT count(*) FROM appointments a JOIN appointments b "
                    f"ON a.{holder} = b.{holder} AND a.id < b.id "
                    f"AND a.start_at < b.occupied_until AND b.start_at < a.occupied_until "
                    f"WHERE a.status IN {HOLDING} AND b.status IN {HOLDING}"
                )
            ).scalar()
            assert overlapping == 0, holder


def test_the_dashboard_of_the_week_has_figures_in_every_section(week):
    app, _ = week
    services = services_of(app)
    last = NOW.astimezone(services.clinic.zone).date() - timedelta(days=1)
    figures = analytics.dashboard(
        services.readers,
        services.clinic,
        last - timedelta(days=6),
        last,
        analytics.Filters(),
        now=NOW,
    )
    assert all(u["booked_minutes"] for u in figures["utilisation"] if u["kind"] == "provider")
    assert figures["appointments"]["noshow"] and figures["late_cancellations"]
    assert figures["reminders"]["sent"] and figures["reminders"]["confirmed"]
    assert figures["waitlist"]["filled"]
    assert len(figures["channels"]) >= 4
    assert figures["conversations"]["total"] and figures["conversations"]["ended_in_booking"]
    assert figures["llm"]["bedrock_turns"] and figures["llm"]["local_turns"]


def test_the_audit_chain_verifies_and_a_second_run_is_refused(week):
    app, _ = week
    verified = invoke(app, "audit", "verify")
    assert verified.exit_code == 0 and verified.output.startswith("OK"), verified.output
    before = counts(app)
    again = invoke(app, "demo", "history", "--days", "7", "--seed", "1")
    assert again.exit_code == 1 and "refused" in again.output and "--force" in again.output
    assert counts(app) == before


@pytest.mark.parametrize("days", ["0", "400", "-3"])
def test_days_out_of_range_are_refused(tmp_path, days):
    app = make_app(tmp_path)
    refused = invoke(app, "demo", "history", "--days", days)
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    assert "--days" in refused.output and "1<=x<=365" in refused.output
    assert counts(app)["Appointment"] == 0
