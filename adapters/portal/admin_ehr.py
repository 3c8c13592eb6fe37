"""The EHR notifications page: the notifications that failed for a day (the EHR never answered
2xx), newest first, 50 a page: the appointment, the change, when it was queued, the attempts, the
last error, and how many later changes of the appointment wait behind it. "Send again" queues one
(or every one) again with a new day of attempts, audited with the admin as the actor
(bot/ehr_notices.py `resend`). Never the notification's content.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select

from bot import ehr_notices
from scheduler.models import EHR_PENDING, EHR_SENDING, EhrNotification

from .admin_shared import PAGE_SIZE, ConfirmForm, blueprint, now, services, submitted
from .auth import portal_db, signed_in
from .shared import record_id


@blueprint.get("/ehr")
@signed_in(role="admin")
def failed_ehr():
    page = record_id(request.args.get("page")) or 1
    with portal_db() as db:
        total = ehr_notices.count_failed(db)
        waiting = (
            db.scalar(
                select(func.count())
                .select_from(EhrNotification)
                .where(EhrNotification.status.in_((EHR_PENDING, EHR_SENDING)))
            )
            or 0
        )
        rows = ehr_notices.failed_notices(db, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render_template(
        "portal/admin/ehr.html",
        rows=rows,
        total=total,
        waiting=waiting,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        configured=bool(services().settings.ehr_webhook_url),
        form=ConfirmForm(),
    )


@blueprint.post("/ehr/<int:notification_id>/resend")
@signed_in(role="admin")
def resend_ehr(notification_id: int):
    return _resend([notification_id])


@blueprint.post("/ehr/resend")
@signed_in(role="admin")
def resend_all_ehr():
    return _resend(None)


def _resend(ids: list[int] | None):
    if not submitted(ConfirmForm()):
        abort(400)
    caller = g.caller
    with portal_db() as db:
        queued = ehr_notices.resend(
            db, services().audit, ids, now=now(), channel=caller.channel, actor=caller.actor
        )
    if queued:
        flash(f"Queued {len(queued)} EHR notification(s) again; the job workers send them shortly.")
    elif ids is None:
        flash("No EHR notification has failed; nothing was changed.")
    else:
        flash(f"EHR notification #{ids[0]} is not a failed one; nothing was changed.")
    return redirect(url_for(".failed_ehr"), 303)
