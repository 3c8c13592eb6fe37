"""Operator commands, run as `flask --app app <group> <command>`.

    db upgrade                 migrate the database to the newest revision
    clinic load FILE           validate a clinic file and install it (all or nothing)
    clinic show                what the database holds now
    audit verify               walk the audit chain; exit 1 at the first broken event
    keys rotate                re-encrypt everything under the newest key in ENCRYPTION_KEYS
    patient export PHONE       everything held about one patient, as JSON on stdout
    patient erase PHONE --yes  erase one patient's personal data (appointments kept, pseudonymous)

Every command that changes data does it in one transaction and writes an audit event. Output
names ids and counts; only `patient export` prints personal data, because that is its job.
"""
from __future__ import annotations

import json
import sys
from typing import Any

import click
from cryptography.fernet import InvalidToken
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import Table, delete, func, or_, select, update
from sqlalchemy.orm import Session

from scheduler.clinic import (WEEKDAYS, ClinicConfigError, install_clinic, installed_clinic,
                              load_clinic)
from scheduler.crypto import KeyConfigError
from scheduler.db import upgrade
from scheduler.models import (Appointment, AuditEvent, Base, ConversationSession,
                              MessageReceipt, OutboxMessage, Patient)
from scheduler.patients import InvalidPhoneNumber, find_patient, normalize_phone

ACTOR = "operator:cli"
# Channels whose conversation sessions are keyed by the patient's phone number.
PHONE_CHANNELS = ("sms", "web", "console")


def _services():
    from app import services_of   # app imports this module: import at call time
    return services_of(current_app)


def _phone_argument(ctx, param, value: str) -> str:
    try:
        return normalize_phone(value)
    except InvalidPhoneNumber:
        raise click.BadParameter("not a phone number (try +12125550123)") from None


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


db_group = AppGroup("db", help="The database schema.")
clinic_group = AppGroup("clinic", help="The clinic file: providers, hours, rooms, visit types.")
audit_group = AppGroup("audit", help="The hash-chained audit trail.")
keys_group = AppGroup("keys", help="Encryption keys (ENCRYPTION_KEYS, newest first).")
patient_group = AppGroup("patient", help="One patient's data: export or erase.")


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest revision."""
    upgrade(_services().settings.database_url)
    click.echo("database is at the newest migration")


@clinic_group.command("load")
@click.argument("path", type=click.Path(dir_okay=False))
def clinic_load(path: str) -> None:
    """Validate the clinic file at PATH and install it; change nothing if any field is wrong."""
    services = _services()
    try:
        clinic = load_clinic(path)
    except ClinicConfigError as exc:
        click.echo(f"{path} was not loaded: {len(exc.errors)} problem(s), nothing changed",
                   err=True)
        for error in exc.errors:
            click.echo(f"  {error}", err=True)
        sys.exit(1)
    with services.sessions.begin() as db:
        install_clinic(db, clinic)
        services.audit.record(db, "clinic_loaded", at=services.clock(), channel="cli",
                              actor=ACTOR,
                              detail={"providers": len(clinic.providers),
                                      "appointment_types": len(clinic.appointment_types)})
    click.echo(f"loaded {clinic.name} ({clinic.timezone}): {len(clinic.providers)} providers, "
               f"{len(clinic.rooms)} rooms, {len(clinic.equipment)} equipment, "
               f"{len(clinic.appointment_types)} appointment types")
    click.echo("restart the app (and job workers) to use it")


@clinic_group.command("show")
def clinic_show() -> None:
    """Print the clinic installed in the database."""
    with _services().sessions() as db:
        clinic = installed_clinic(db)
    if clinic is None:
        _fail("no clinic is installed; load one with `clinic load FILE`")
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


@audit_group.command("verify")
def audit_verify() -> None:
    """Check every link of the audit chain; exit 1 at the first broken event."""
    services = _services()
    with services.sessions() as db:
        result = services.audit.verify(db)
    if result.ok:
        click.echo(f"OK: {result.checked} audit events verified")
        return
    _fail(f"BROKEN at event seq {result.first_broken_seq}: {result.reason} "
          f"({result.checked} events before it verified)")


def _encrypted_tables() -> list[tuple[Table, list[str]]]:
    """Every table with `*_enc` columns, found from the models so new tables are not missed."""
    found = []
    for table in Base.metadata.sorted_tables:
        columns = [c.name for c in table.columns if c.name.endswith("_enc")]
        if columns:
            found.append((table, columns))
    return found


@keys_group.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored value under the newest key and recompute the lookup indexes.

    Put the new key first in ENCRYPTION_KEYS, keep the old ones after it, run this, check
    `audit verify`, then drop the old keys. Conversation sessions are ended (their lookup key
    cannot be recomputed), which only makes open conversations start over; so are the web chat's
    stored replies (their key holds the old phone index, so `patient erase` could no longer
    find them once the old key is gone; they only matter for seconds, against double submits).
    """
    services = _services()
    vault = services.vault
    counts: dict[str, int] = {}
    try:
        with services.sessions.begin() as db:
            web_receipts = db.execute(delete(MessageReceipt).where(
                MessageReceipt.channel == "web")).rowcount or 0
            for table, columns in _encrypted_tables():
                if table.name == ConversationSession.__tablename__:
                    continue
                key = list(table.primary_key.columns)
                rows = db.execute(select(*key, *(table.c[c] for c in columns))).all()
                changed = 0
                for row in rows:
                    values = {c: vault.rotate(getattr(row, c)) for c in columns
                              if getattr(row, c) is not None}
                    if values:
                        db.execute(update(table).where(*(k == getattr(row, k.name) for k in key))
                                   .values(**values))
                        changed += 1
                counts[table.name] = changed
            for patient in db.scalars(select(Patient).where(Patient.phone_enc.is_not(None))):
                patient.phone_index = vault.index(vault.decrypt(patient.phone_enc))
            for message in db.scalars(select(OutboxMessage)):
                message.recipient_index = vault.index(vault.decrypt(message.recipient_enc))
            ended = db.execute(delete(ConversationSession)).rowcount or 0
            services.audit.record(db, "keys_rotated", at=services.clock(), channel="cli",
                                  actor=ACTOR, detail={"rows": counts, "sessions_ended": ended,
                                                       "web_receipts_deleted": web_receipts})
    except (KeyConfigError, InvalidToken):
        # A value under a key that is no longer listed: the transaction rolled back.
        _fail("nothing changed: a stored value cannot be decrypted with ENCRYPTION_KEYS; "
              "put the new key first and keep the old ones after it")
    for name, count in counts.items():
        click.echo(f"{name}: {count} rows re-encrypted")
    click.echo(f"conversation_sessions: {ended} ended")
    click.echo(f"message_receipts: {web_receipts} web chat replies deleted")
    click.echo("done: every value is under the newest key; the older keys can now be removed")


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _patient_or_exit(db: Session, phone: str) -> Patient:
    patient = find_patient(db, _services().vault, phone)
    if patient is None:
        _fail("no patient with that phone number")
    return patient


@patient_group.command("export")
@click.argument("phone", callback=_phone_argument)
def patient_export(phone: str) -> None:
    """Print everything held about the patient with PHONE as JSON (their right of access)."""
    services = _services()
    vault = services.vault
    with services.sessions.begin() as db:
        patient = _patient_or_exit(db, phone)
        appointments = db.scalars(select(Appointment).where(Appointment.patient_id == patient.id)
                                  .order_by(Appointment.start_at)).all()
        events = db.scalars(select(AuditEvent).where(AuditEvent.patient_id == patient.id)
                            .order_by(AuditEvent.seq)).all()
        messages = db.scalars(select(OutboxMessage)
                              .where(OutboxMessage.recipient_index.in_(vault.indexes(phone)))
                              .order_by(OutboxMessage.id)).all()
        export: dict[str, Any] = {
            "patient": {"id": patient.id, "name": vault.decrypt(patient.name_enc),
                        "phone": vault.decrypt(patient.phone_enc), "timezone": patient.timezone,
                        "consented_at": _iso(patient.consented_at),
                        "opted_out_at": _iso(patient.opted_out_at),
                        "created_at": _iso(patient.created_at)},
            "appointments": [{
                "id": a.id, "type": a.appointment_type.name, "provider": a.provider.name,
                "room": a.room.name if a.room else None, "start_at": _iso(a.start_at),
                "end_at": _iso(a.end_at), "status": a.status.value, "booked_via": a.booked_via,
                "created_at": _iso(a.created_at), "cancelled_at": _iso(a.cancelled_at),
            } for a in appointments],
            "messages_sent": [{"id": m.id, "at": _iso(m.created_at), "kind": m.kind,
                               "text": vault.decrypt(m.text_enc)} for m in messages],
            "audit_events": [{"seq": e.seq, "at": _iso(e.at), "kind": e.kind,
                              "channel": e.channel, "text": vault.decrypt(e.text_enc)}
                             for e in events],
        }
        services.audit.record(db, "patient_exported", at=services.clock(), channel="cli",
                              actor=ACTOR, patient_id=patient.id)
    click.echo(json.dumps(export, indent=2, ensure_ascii=False))


@patient_group.command("erase")
@click.argument("phone", callback=_phone_argument)
@click.option("--yes", is_flag=True, help="erase without asking")
def patient_erase(phone: str, yes: bool) -> None:
    """Erase the personal data of the patient with PHONE.

    Their name, phone number, conversation state, sent messages and stored replies are deleted.
    Appointments stay, tied to a patient record with no personal fields. Audit texts stay too:
    editing them would break the chain, and they are encrypted; a `patient_erased` event records
    the erasure.
    """
    services = _services()
    vault = services.vault
    if not yes:
        click.confirm("Erase this patient's name, phone number and messages? This cannot be "
                      "undone", abort=True)
    with services.sessions.begin() as db:
        patient = _patient_or_exit(db, phone)
        now = services.clock()
        sessions_ended = sum(db.execute(delete(ConversationSession).where(
            ConversationSession.user_index.in_(vault.indexes(f"{channel}:{phone}")))).rowcount or 0
            for channel in PHONE_CHANNELS)
        messages = db.execute(delete(OutboxMessage).where(
            OutboxMessage.recipient_index.in_(vault.indexes(phone)))).rowcount or 0
        # Web chat replies are stored under "<phone index prefix>:<message id>".
        receipts = db.execute(delete(MessageReceipt).where(
            MessageReceipt.channel == "web",
            or_(*(func.substr(MessageReceipt.external_id, 1, 17) == f"{index[:16]}:"
                  for index in vault.indexes(phone))))).rowcount or 0
        appointments = db.scalar(select(func.count()).select_from(Appointment)
                                 .where(Appointment.patient_id == patient.id))
        patient.name_enc = patient.phone_enc = patient.phone_index = patient.timezone = None
        patient.erased_at = now
        services.audit.record(db, "patient_erased", at=now, channel="cli", actor=ACTOR,
                              patient_id=patient.id,
                              detail={"sessions": sessions_ended, "outbox_messages": messages,
                                      "receipts": receipts, "appointments_kept": appointments})
        patient_id = patient.id
    click.echo(f"erased patient #{patient_id}: name and phone removed, {sessions_ended} "
               f"conversation(s) ended, {messages} sent message(s) and {receipts} stored "
               f"reply(ies) deleted, {appointments} appointment(s) kept without personal data")


def register(app: Flask) -> None:
    """Add the operator command groups to `flask --app app`."""
    for group in (db_group, clinic_group, audit_group, keys_group, patient_group):
        app.cli.add_command(group)
