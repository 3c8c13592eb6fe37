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
    users list                 who may use the staff tools (Slack, portal, API), and their roles
    users add [--slack-id U...] [--username NAME --password-stdin] --role staff|admin
                               (the first admin is made this way)
    users passwd --username NAME --password-stdin
    users role --slack-id U...|--username NAME --role staff|admin
    users remove --slack-id U...|--username NAME
    tokens create --username NAME [--label WHAT]    an API token, printed once
    tokens list                every API token (never the token itself)
    tokens revoke ID
    fhir import BUNDLE.json [--apply] [--save FILE]
                               providers, hours, rooms and visit types from an EHR (dry run
                               unless --apply)
    fhir export --from DATE --to DATE [--output FILE]
                               the appointments as a FHIR R4 Bundle
    backup create FILE [--force]    the whole database to FILE (SQLite backup API, pg_dump)
    backup restore FILE [--force]   FILE's contents replace the database's (refused over data)

Every command that changes data does it in one transaction and writes an audit event. Output
names ids and counts; only `patient export` prints personal data, because that is its job.

One module per command group, registered here by `init_app`:

    clinic.py    `db` and `clinic`: the schema, and the clinic file installed in it
    audit.py     `audit`: verify the hash-chained trail, sign a checkpoint of its head
    keys.py      `keys`: re-encrypt everything under the newest key
    patient.py   `patient`: one patient's data, exported or erased
    users.py     `users`: who may use the staff tools (Slack id, login or both), and as what
    tokens.py    `tokens`: the REST API's bearer tokens
    fhir.py      `fhir`: the clinic from an EHR's FHIR bundle, the appointments as one
    backup.py    `backup`: the whole database to one file and back
    context.py   what every command shares: the app's services, the audit actor, failing
"""

from __future__ import annotations

from flask import Flask

from bot.services import Services

from .audit import audit_group
from .backup import backup_group
from .clinic import clinic_group, db_group
from .demo import demo_group
from .fhir import fhir_group
from .keys import keys_group
from .patient import patient_group
from .tokens import tokens_group
from .users import users_group


def init_app(app: Flask, services: Services) -> None:
    """Add the operator command groups to `flask --app app` (they read the app's services)."""
    for group in (
        db_group,
        clinic_group,
        audit_group,
        keys_group,
        patient_group,
        users_group,
        tokens_group,
        demo_group,
        fhir_group,
        backup_group,
    ):
        app.cli.add_command(group)
