"""Operator commands, run as `flask --app app <group> <command>`.

    db upgrade                 migrate the database to the newest revision
    clinic load FILE           validate a clinic file and install it (all or nothing)
    clinic show                what the database holds now
    audit verify [--checkpoint TEXT]
                               walk the audit chain and hold its end against logs/audit.log
                               (and a checkpoint from the staff channel); exit 1 if broken
    audit checkpoint           record, print and post (Slack) a signed checkpoint of its head
    keys rotate                re-encrypt everything under the newest key in ENCRYPTION_KEYS
    patient export PHONE       everything held about one patient, as JSON on stdout
    patient erase PHONE --yes  erase one patient's personal data (appointments kept, pseudonymous)
    users list                 who may use the Slack staff tools, and their roles
    users add --slack-id U... --role staff|admin    (the first admin is made this way)
    users role --slack-id U... --role staff|admin
    users remove --slack-id U...

Every command that changes data does it in one transaction and writes an audit event. Output
names ids and counts; only `patient export` prints personal data, because that is its job.
"""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn, cast

import click
from cryptography.fernet import InvalidToken
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import Table, delete, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from bot.audit import Checkpoint, audit_mirror, checkpoint_notice
from bot.services import Services, services_of
from scheduler import records, staff_users
from scheduler.clinic import (
    WEEKDAYS,
    ClinicConfigError,
    install_clinic,
    installed_clinic,
    load_clinic,
)
from scheduler.crypto import KeyConfigError
from scheduler.db import upgrade
from scheduler.models import Base, ConversationSession, MessageReceipt, OutboxMessage, Patient
from scheduler.patients import InvalidPhoneNumber, find_patient, identity, normalize_phone
from scheduler.staff_users import ROLES, StaffUserError

ACTOR = "operator:cli"


def _services() -> Services:
    return services_of(current_app)


def _phone_argument(ctx, param, value: str) -> str:
    try:
        return normalize_phone(value)
    except InvalidPhoneNumber:
        raise click.BadParameter("not a phone number (try +12125550123)") from None


def _fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(1)


db_group = AppGroup("db", help="The database schema.")
clinic_group = AppGroup("clinic", help="The clinic file: providers, hours, rooms, visit types.")
audit_group = AppGroup("audit", help="The hash-chained audit trail.")
keys_group = AppGroup("keys", help="Encryption keys (ENCRYPTION_KEYS, newest first).")
patient_group = AppGroup("patient", help="One patient's data: export or erase.")
users_group = AppGroup("users", help="Clinic staff and admins in Slack, by Slack user id.")


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
@click.option(
    "--checkpoint",
    "checkpoint_text",
    default=None,
    metavar="TEXT",
    help='a checkpoint line as the staff channel shows it ("audit checkpoint ...")',
)
def audit_verify(checkpoint_text: str | None) -> None:
    """Check every link of the audit chain, and that none is missing from its end (against
    logs/audit.log and the checkpoint given); exit 1 at the first problem."""
    services = _services()
    checkpoints: list[Checkpoint] = []
    if checkpoint_text is not None:
        checkpoint = Checkpoint.parse(checkpoint_text)
        if checkpoint is None:
            _fail(
                'that is not a checkpoint line ("audit checkpoint <time> event <n> hash '
                '<hex> sig <hex>")'
            )
        if not services.audit.signed_by_us(checkpoint):
            _fail(
                "BROKEN: the checkpoint's signature does not match ENCRYPTION_KEYS (forged, "
                "or made with a key no longer listed)"
            )
        checkpoints.append(checkpoint)
    with services.sessions() as db:
        result = services.audit.verify(
            db, mirror=audit_mirror(services.settings), checkpoints=checkpoints
        )
    if result.ok:
        click.echo(f"OK: {result.checked} audit events verified")
        return
    _fail(
        f"BROKEN at event seq {result.first_broken_seq}: {result.reason} "
        f"({result.checked} events before it verified)"
    )


@audit_group.command("checkpoint")
def audit_checkpoint() -> None:
    """Record a signed checkpoint of the chain's head, print it, and post it to the staff
    channel (when Slack is configured): keep it where the database's admins cannot edit it."""
    services = _services()
    with services.sessions.begin() as db:
        checkpoint = services.audit.checkpoint(db, now=services.clock())
    if checkpoint is None:
        _fail("the audit trail is empty: nothing to checkpoint yet")
    from .slack import staff_channel_poster  # loads slack_sdk only now

    post = staff_channel_poster(services.settings)
    if post is not None:
        post(checkpoint_notice(checkpoint))
    click.echo(checkpoint.text())


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
    SMS receipts are kept and moved to the new index: they answer Twilio's retries and carry the
    rate limit's count.
    """
    services = _services()
    vault = services.vault
    counts: dict[str, int] = {}
    try:
        with services.sessions.begin() as db:
            # `Session.execute` returns a `CursorResult` for a DELETE (its stubs say `Result`).
            web_receipts = (
                cast(
                    CursorResult[Any],
                    db.execute(delete(MessageReceipt).where(MessageReceipt.channel == "web")),
                ).rowcount
                or 0
            )
            for table, columns in _encrypted_tables():
                if table.name == ConversationSession.__tablename__:
                    continue
                key = list(table.primary_key.columns)
                rows = db.execute(select(*key, *(table.c[c] for c in columns))).all()
                changed = 0
                for row in rows:
                    values = {
                        c: vault.rotate(getattr(row, c))
                        for c in columns
                        if getattr(row, c) is not None
                    }
                    if values:
                        db.execute(
                            update(table)
                            .where(*(k == getattr(row, k.name) for k in key))
                            .values(**values)
                        )
                        changed += 1
                counts[table.name] = changed
            for patient in db.scalars(select(Patient).where(Patient.phone_enc.is_not(None))):
                assert patient.phone_enc is not None  # the query selects only those with a number
                patient.phone_index = vault.index(
                    identity(vault.decrypt(patient.phone_enc), patient.scope)
                )
            for message in db.scalars(select(OutboxMessage)):
                message.recipient_index = vault.index(vault.decrypt(message.recipient_enc))
            sms_receipts = _rekey_sms_receipts(db, vault)
            ended = cast(CursorResult[Any], db.execute(delete(ConversationSession))).rowcount or 0
            services.audit.record(
                db,
                "keys_rotated",
                at=services.clock(),
                channel="cli",
                actor=ACTOR,
                detail={
                    "rows": counts,
                    "sessions_ended": ended,
                    "web_receipts_deleted": web_receipts,
                    "sms_receipts_rekeyed": sms_receipts,
                },
            )
    except (KeyConfigError, InvalidToken):
        # A value under a key that is no longer listed: the transaction rolled back.
        _fail(
            "nothing changed: a stored value cannot be decrypted with ENCRYPTION_KEYS; "
            "put the new key first and keep the old ones after it"
        )
    for name, count in counts.items():
        click.echo(f"{name}: {count} rows re-encrypted")
    click.echo(f"conversation_sessions: {ended} ended")
    click.echo(
        f"message_receipts: {web_receipts} web chat replies deleted, "
        f"{sms_receipts} SMS receipts moved to the new key"
    )
    click.echo("done: every value is under the newest key; the older keys can now be removed")


def _rekey_sms_receipts(db: Session, vault) -> int:
    """Move SMS receipts to the newest key's sender index (and key prefix); drop any that no
    patient's number matches (an erased patient's, say), since no lookup could find them."""
    current: dict[str, str] = {}
    for phone_enc in db.scalars(select(Patient.phone_enc).where(Patient.phone_enc.is_not(None))):
        indexes = vault.indexes(vault.decrypt(phone_enc))
        for index in indexes:
            current[index] = indexes[0]
    moved = 0
    receipts = db.scalars(select(MessageReceipt).where(MessageReceipt.channel == "sms")).all()
    taken = {r.external_id for r in receipts}
    for receipt in receipts:
        new = current.get(receipt.sender_index or "")
        if new is None:
            db.delete(receipt)
            continue
        if receipt.sender_index == new:
            continue
        external_id = f"{new[:16]}:{receipt.external_id.split(':', 1)[-1]}"
        if external_id in taken:  # the same message was claimed again under the new key
            db.delete(receipt)
            continue
        receipt.sender_index, receipt.external_id = new, external_id
        taken.add(external_id)
        moved += 1
    return moved


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
    with services.sessions.begin() as db:
        patient = _patient_or_exit(db, phone)
        export = records.export_patient(db, services.vault, patient, audit=services.audit)
        services.audit.record(
            db,
            "patient_exported",
            at=services.clock(),
            channel="cli",
            actor=ACTOR,
            patient_id=patient.id,
        )
    click.echo(json.dumps(export, indent=2, ensure_ascii=False))


@patient_group.command("erase")
@click.argument("phone", callback=_phone_argument)
@click.option("--yes", is_flag=True, help="erase without asking")
def patient_erase(phone: str, yes: bool) -> None:
    """Erase the personal data of the patient with PHONE.

    Their name, phone number, conversation state, sent messages, stored replies (web chat and
    SMS) and SMS delivery statuses are deleted.
    Appointments stay, tied to a patient record with no personal fields. The texts of their
    audit events are replaced by their digests (the chain, which holds digests, still verifies);
    the events themselves stay, and a `patient_erased` event records the erasure.
    """
    services = _services()
    if not yes:
        click.confirm(
            "Erase this patient's name, phone number and messages? This cannot be undone",
            abort=True,
        )
    with services.sessions.begin() as db:
        patient = _patient_or_exit(db, phone)
        now = services.clock()
        erasure = records.erase_patient(
            db, services.vault, patient, phone, now=now, audit=services.audit
        )
        services.audit.record(
            db,
            "patient_erased",
            at=now,
            channel="cli",
            actor=ACTOR,
            patient_id=patient.id,
            detail=erasure.as_detail(),
        )
    click.echo(
        f"erased patient #{erasure.patient_id}: name and phone removed, "
        f"{erasure.sessions} conversation(s) ended, {erasure.outbox_messages} sent "
        f"message(s) and {erasure.receipts} stored reply(ies) deleted, "
        f"{erasure.audit_texts} audit text(s) replaced by their digests, "
        f"{erasure.appointments_kept} appointment(s) kept without personal data"
    )


_slack_id = click.option(
    "--slack-id",
    "slack_id",
    required=True,
    help="the person's Slack user id (U...; in Slack: profile, More, Copy member ID)",
)
_role = click.option("--role", type=click.Choice(ROLES), required=True)


def _change_users(action: str, slack_id: str, change) -> None:
    """Run one change to the staff list in a transaction, audited; exit 1 with the reason."""
    services = _services()
    try:
        with services.sessions.begin() as db:
            detail = change(db, services.clock())
            services.audit.record(
                db,
                f"staff_user_{action}",
                at=services.clock(),
                channel="cli",
                actor=ACTOR,
                detail={"slack_user_id": slack_id, **detail},
            )
    except StaffUserError as exc:
        _fail(str(exc))


@users_group.command("list")
def users_list() -> None:
    """Everyone who may use the Slack staff tools."""
    with _services().sessions() as db:
        users = staff_users.list_users(db)
    if not users:
        click.echo(
            "no staff users yet; add the first admin with `users add --slack-id U... --role admin`"
        )
    for user in users:
        click.echo(
            f"{user.slack_user_id}  {user.role:<5}  added {user.added_at:%Y-%m-%d} "
            f"by {user.added_by or '?'}"
        )


@users_group.command("add")
@_slack_id
@_role
def users_add(slack_id: str, role: str) -> None:
    """Let the Slack user SLACK_ID use the staff tools (and, as admin, /appt-admin)."""

    def add(db: Session, now) -> dict:
        staff_users.add_user(db, slack_id, role, added_by=ACTOR, now=now)
        return {"role": role}

    _change_users("added", slack_id, add)
    click.echo(f"{slack_id} added as {role}")


@users_group.command("role")
@_slack_id
@_role
def users_role(slack_id: str, role: str) -> None:
    """Change the role of a listed Slack user."""
    _change_users(
        "role_changed",
        slack_id,
        lambda db, now: {"old_role": staff_users.set_role(db, slack_id, role), "role": role},
    )
    click.echo(f"{slack_id} is now {role}")


@users_group.command("remove")
@_slack_id
def users_remove(slack_id: str) -> None:
    """Take a Slack user off the staff list (they lose access at once)."""
    _change_users(
        "removed", slack_id, lambda db, now: {"role": staff_users.remove_user(db, slack_id)}
    )
    click.echo(f"{slack_id} removed")


def init_app(app: Flask, services: Services) -> None:
    """Add the operator command groups to `flask --app app` (they read the app's services)."""
    for group in (db_group, clinic_group, audit_group, keys_group, patient_group, users_group):
        app.cli.add_command(group)
