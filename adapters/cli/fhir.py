"""`flask --app app fhir ...`: the clinic from an EHR's FHIR R4 Bundle, the schedule as one.

fhir import BUNDLE.json [--apply] [--save FILE]
    reads the bundle's Practitioner, PractitionerRole, Location and HealthcareService
    (scheduler/fhir/importer.py) into the clinic installed in the database and shows what
    would change; nothing changes without --apply, which installs the result in one
    transaction (audited as `clinic_imported`), as `clinic load` does. --save writes the
    result as a clinic file (TOML, validated by reading it back) to keep CLINIC_CONFIG in
    step: the database is what the app runs on once a clinic is installed, the file what a
    later `clinic load` installs.
fhir export --from DATE --to DATE [--output FILE]
    the Appointments starting on those clinic-local days (both included) as a Bundle of
    type collection (scheduler/fhir/exporter.py), audited as `fhir_exported`.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask.cli import AppGroup

from scheduler.clinic_file import ClinicConfigError, parse_clinic
from scheduler.clinic_store import install_clinic, installed_clinic

from .context import ACTOR, app_services, fail

if TYPE_CHECKING:
    from scheduler.fhir.importer import ImportPlan

fhir_group = AppGroup("fhir", help="FHIR R4: the clinic from an EHR's bundle, appointments out.")

SECTIONS = ("providers", "rooms", "equipment", "appointment_types")
_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


@fhir_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--apply", "apply_", is_flag=True, help="Install the result (default: dry run).")
@click.option("--save", type=click.Path(dir_okay=False), help="Write the result as a clinic file.")
def fhir_import(path: str, apply_: bool, save: str | None) -> None:
    """Import providers, hours, rooms and visit types from the FHIR Bundle at PATH."""
    # Here, not at the top: fhir.resources' models load only for the command that needs them.
    from scheduler.fhir.importer import FhirImportError, plan_import

    services = app_services()
    try:
        bundle = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"{path} does not exist; nothing changed")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"{path} is not JSON ({exc}); nothing changed")
    with services.sessions.begin() as db:
        current = installed_clinic(db) or services.clinic
        try:
            plan = plan_import(bundle, current)
        except FhirImportError as exc:
            click.echo(
                f"{path} was not imported: {len(exc.errors)} problem(s), nothing changed",
                err=True,
            )
            for error in exc.errors:
                click.echo(f"  {error}", err=True)
            sys.exit(1)
        lines = changes(plan.before, plan.after)
        _show(plan, lines)
        if save:
            try:
                Path(save).write_text(clinic_toml(plan.after), encoding="utf-8")
            except (ClinicConfigError, OSError) as exc:
                fail(f"{save} was not written ({exc}); nothing changed")
            click.echo(f"wrote the imported clinic to {save} (a clinic file: CLINIC_CONFIG)")
        if not apply_:
            click.echo("dry run: the database was not changed (--apply installs it)")
            return
        install_clinic(db, plan.clinic)
        services.audit.record(
            db,
            "clinic_imported",
            at=services.clock(),
            channel="cli",
            actor=ACTOR,
            detail={"changes": len(lines), **{k.lower(): v for k, v in plan.counts.items()}},
        )
    click.echo(f"imported into {plan.clinic.name}: {len(lines)} change(s)")
    click.echo("restart the app (and job workers) to use it")
    if not save:
        click.echo(
            "the clinic file (CLINIC_CONFIG) does not have these changes: --save FILE writes it"
        )


def _show(plan: ImportPlan, lines: list[str]) -> None:
    read = ", ".join(f"{n} {kind}" for kind, n in plan.counts.items())
    click.echo(f"read {read}")
    for note in plan.notes:
        click.echo(f"  note: {note}")
    if not lines:
        click.echo("no changes: the clinic already says all of it")
    for line in lines:
        click.echo(f"  {line}")


@fhir_group.command("export")
@click.option("--from", "first", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "last", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--output", type=click.Path(dir_okay=False), help="Write here, not to stdout.")
def fhir_export(first: datetime, last: datetime, output: str | None) -> None:
    """The Appointments starting --from to --to (clinic-local dates, both included)."""
    from scheduler.fhir.exporter import export_bundle

    if last < first:
        fail("--to is before --from; nothing exported")
    services = app_services()
    base = services.settings.public_base_url
    with services.sessions.begin() as db:
        bundle = export_bundle(
            db,
            services.clinic,
            first.date(),
            last.date(),
            base_url=f"{base.rstrip('/')}/fhir/r4" if base else None,
            now=services.clock(),
        )
        services.audit.record(
            db,
            "fhir_exported",
            at=services.clock(),
            channel="cli",
            actor=ACTOR,
            detail={
                "from": first.date().isoformat(),
                "to": last.date().isoformat(),
                "appointments": len(bundle["entry"]),
            },
        )
    text = json.dumps(bundle, indent=2, ensure_ascii=False)
    if output is None:
        click.echo(text)
        return
    Path(output).write_text(text + "\n", encoding="utf-8")
    click.echo(f"wrote {len(bundle['entry'])} appointment(s) to {output}")


# --- what changes --------------------------------------------------------------------------------


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What differs between two clinic mappings, a line a field: "+" added, "~" changed."""
    lines = [
        f"~ clinic.{name}: {_shown(before.get('clinic', {}).get(name))} -> {_shown(value)}"
        for name, value in after.get("clinic", {}).items()
        if before.get("clinic", {}).get(name) != value
    ]
    for section in SECTIONS:
        old = {item.get("key"): item for item in before.get(section, [])}
        for item in after.get(section, []):
            key = item.get("key")
            if key not in old:
                lines.append(f"+ {section}.{key}: {_shown(item.get('name'))}")
                continue
            lines += [
                f"~ {section}.{key}.{name}: {_shown(old[key].get(name))} -> {_shown(value)}"
                for name, value in item.items()
                if old[key].get(name) != value
            ]
    return lines


def _shown(value: Any) -> str:
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)


# --- the clinic file -----------------------------------------------------------------------------


def clinic_toml(raw: dict[str, Any]) -> str:
    """A clinic mapping as a clinic file (scheduler/demo_clinic.toml explains every field);
    refused (ClinicConfigError) unless it reads back as the same valid clinic."""
    lines = [
        "# The clinic, as `flask --app app fhir import --save` wrote it from a FHIR bundle.",
        "# scheduler/demo_clinic.toml explains every field; load it with `clinic load FILE`.",
        "",
        "[clinic]",
        *(f"{_key(k)} = {_value(v)}" for k, v in raw.get("clinic", {}).items()),
    ]
    for section in SECTIONS:
        for item in raw.get(section, []):
            lines += ["", f"[[{section}]]", *(f"{_key(k)} = {_value(v)}" for k, v in item.items())]
    text = "\n".join(lines) + "\n"
    if parse_clinic(tomllib.loads(text)).raw != parse_clinic(raw).raw:
        raise ClinicConfigError(["(file): the clinic file written would not read back the same"])
    return text


def _key(name: str) -> str:
    return name if _BARE.match(name) else _string(name)


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise ClinicConfigError([f"(file): {value!r} cannot be written to a clinic file"])
