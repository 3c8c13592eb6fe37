"""What the admin pages share: the blueprint, the clock, the audit record, times for people.

Every page is for admins only (`signed_in(role="admin")`: staff get the 403 page); every change
is a POST whose form carries the CSRF token, and is audited in its own transaction with the
admin as the actor ("admin:<name>", channel "portal").
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, url_for
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from werkzeug.routing import BuildError

from .shared import TEMPLATES, now, services, when_text

__all__ = [
    "PAGE_SIZE",
    "ConfirmForm",
    "blueprint",
    "now",
    "patient_url",
    "record",
    "services",
    "submitted",
]

blueprint = Blueprint(
    "portal_admin", __name__, url_prefix="/portal/admin", template_folder=TEMPLATES
)

PAGE_SIZE = 50


class ConfirmForm(FlaskForm):
    """A button's form: nothing but the CSRF token (unlock, remove, revoke, verify)."""


def submitted(form: FlaskForm) -> bool:
    """Whether a POSTed form is valid; a missing or forged CSRF token is a 400 whatever else is
    wrong (CSRFProtect refuses it first when the app has it; this holds without it too)."""
    if form.validate_on_submit():
        return True
    if "csrf_token" in form.errors:
        abort(
            400,
            "This form's security token is missing or out of date, so nothing was changed. "
            "Reload the page and try again.",
        )
    return False


def record(
    db: Session,
    kind: str,
    /,
    *,
    patient_id: int | None = None,
    appointment_id: int | None = None,
    **detail: Any,
) -> None:
    """Audit one admin action in `db`'s transaction, as the signed-in admin on the portal.
    `detail` holds ids, usernames and roles only (it is stored and shown in clear); None values
    are left out."""
    caller = g.caller
    services().audit.record(
        db,
        kind,
        at=now(),
        channel=caller.channel,
        actor=caller.actor,
        patient_id=patient_id,
        appointment_id=appointment_id,
        detail={key: value for key, value in detail.items() if value is not None},
    )


def patient_url(patient_id: int) -> str:
    """A patient's page in the portal; their audit events while there is no such page."""
    try:
        return url_for("portal.patient", patient_id=patient_id)
    except BuildError:
        return url_for("portal_admin.audit", patient=patient_id)


def appointment_url(appointment_id: int) -> str:
    try:
        return url_for("portal.appointment", appointment_id=appointment_id)
    except BuildError:
        return url_for("portal_admin.audit")


@blueprint.context_processor
def _helpers() -> dict[str, Any]:
    return {"admin_time": when_text, "patient_url": patient_url, "appointment_url": appointment_url}
