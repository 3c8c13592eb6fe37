"""`flask --app app patient ...`: one patient's data, by phone number: exported as JSON (their
right of access) or erased (appointments kept, without personal fields)."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from scheduler import records
from scheduler.models import Patient
from scheduler.patients import InvalidPhoneNumber, find_patient, normalize_phone

from .context import ACTOR, app_services, fail

patient_group = AppGroup("patient", help="One patient's data: export or erase.")


def _phone_argument(ctx, param, value: str) -> str:
    try:
        return normalize_phone(value)
    except InvalidPhoneNumber:
        raise click.BadParameter("not a phone number (try +12125550123)") from None


def _patient_or_exit(db: Session, phone: str) -> Patient:
    patient = find_patient(db, app_services().vault, phone)
    if patient is None:
        fail("no patient with that phone number")
    return patient


@patient_group.command("export")
@click.argument("phone", callback=_phone_argument)
def patient_export(phone: str) -> None:
    """Print everything held about the patient with PHONE as JSON (their right of access)."""
    services = app_services()
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
    services = app_services()
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
