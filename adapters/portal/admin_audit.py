"""The audit trail page: events by patient and kind, newest first, 50 a page; and "Verify the
chain", the same check as `flask --app app audit verify` (AuditTrail.verify against the mirror
in logs/audit.log).

A patient is named by their id, or found by phone or name through scheduler.patients'
blind indexes (a name that fits several patients offers the choice). The page shows each event's
fields and its detail (ids, kinds, reasons: nothing personal, by the trail's contract), never the
message text, which stays encrypted. Looking is audited too ("audit_log_viewed", with the
patient when one was asked for), as in Slack's `/appt-admin logs`.
"""

from __future__ import annotations

import json
from typing import Any

from flask import abort, render_template, request
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from bot.audit.anchors import audit_mirror
from scheduler.models import AuditEvent, Patient
from scheduler.patients import search_patients

from .admin_shared import PAGE_SIZE, ConfirmForm, blueprint, record, services, submitted
from .auth import portal_db, signed_in
from .shared import record_id, who

_COLUMNS = (
    AuditEvent.seq,
    AuditEvent.at,
    AuditEvent.kind,
    AuditEvent.channel,
    AuditEvent.actor,
    AuditEvent.patient_id,
    AuditEvent.appointment_id,
    AuditEvent.detail,
)
_DETAIL_VALUE = 80  # characters of one detail value shown; the rest is cut with "…"


def detail_items(detail: dict[str, Any] | None) -> list[tuple[str, str]]:
    """An event's detail as (key, value) pairs for the page, values short."""
    items = []
    for key, value in sorted((detail or {}).items()):
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        if len(text) > _DETAIL_VALUE:
            text = text[: _DETAIL_VALUE - 1] + "…"
        items.append((str(key), text))
    return items


def _kinds(db: Session) -> list[str]:
    return list(db.scalars(select(AuditEvent.kind).distinct().order_by(AuditEvent.kind)))


def _patients(db: Session, query: str) -> list[Patient] | int:
    """The patient `query` names: an id (a number too short to be a phone), or the patients whose
    phone or name it is."""
    digits = sum(c.isdigit() for c in query)
    if digits < 7 and (patient_id := record_id(query)) is not None:
        return patient_id
    return search_patients(db, services().vault, query)


@blueprint.get("/audit")
@signed_in(role="admin")
def audit():
    text = (request.args.get("patient") or "").strip()[:100]
    kind = (request.args.get("kind") or "").strip()[:48]
    before, after = record_id(request.args.get("before")), record_id(request.args.get("after"))
    with portal_db() as db:
        kinds = _kinds(db)
        if kind and kind not in kinds:
            abort(404, "There is no event of that kind. Choose a kind from the list.")
        patient_id, choices, message = None, [], None
        query = select(*_COLUMNS)
        if text:
            found = _patients(db, text)
            if isinstance(found, int):
                patient_id = found
            elif len(found) == 1:
                patient_id = found[0].id
            else:
                choices = [(p.id, who(p)) for p in found]
                message = (
                    "No patient has that phone number or name."
                    if not found
                    else "More than one patient fits: choose one."
                )
            query = query.where(AuditEvent.patient_id == patient_id)
        if kind:
            query = query.where(AuditEvent.kind == kind)
        rows, newer, older = ([], None, None) if message else _rows(db, query, before, after)
        record(
            db,
            "audit_log_viewed",
            patient_id=patient_id,
            events=len(rows),
            kind=kind or None,
        )
        return render_template(
            "portal/admin/audit.html",
            rows=[(row, detail_items(row.detail)) for row in rows],
            kinds=kinds,
            text=text,
            kind=kind,
            patient_id=patient_id,
            choices=choices,
            message=message,
            newer=newer,
            older=older,
            verify_form=ConfirmForm(),
        )


def _rows(
    db: Session, query: Select[Any], before: int | None, after: int | None
) -> tuple[list[Any], int | None, int | None]:
    """One page of events, newest first, and the seqs to page from: `newer` (for `after=`) when
    there are newer events, `older` (for `before=`) when there are older ones."""
    if after is not None:
        rows = list(
            db.execute(
                query.where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(PAGE_SIZE + 1)
            )
        )
        page = list(reversed(rows[:PAGE_SIZE]))
        more = len(rows) > PAGE_SIZE
        return page, page[0].seq if page and more else None, page[-1].seq if page else None
    if before is not None:
        query = query.where(AuditEvent.seq < before)
    rows = list(db.execute(query.order_by(AuditEvent.seq.desc()).limit(PAGE_SIZE + 1)))
    page = rows[:PAGE_SIZE]
    more = len(rows) > PAGE_SIZE
    newer = page[0].seq if page and before is not None else None
    return page, newer, page[-1].seq if page and more else None


@blueprint.post("/audit/verify")
@signed_in(role="admin")
def verify():
    if not submitted(ConfirmForm()):
        abort(400)
    with portal_db() as db:
        result = services().audit.verify(db, mirror=audit_mirror(services().settings))
        record(
            db,
            "audit_verified",
            ok=result.ok,
            checked=result.checked,
            first_broken_seq=result.first_broken_seq,
        )
    return render_template("portal/admin/audit_verified.html", result=result)
