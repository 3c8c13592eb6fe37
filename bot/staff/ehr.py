"""`/appt-admin ehr`: the EHR notifications that failed for a day, and sending them again.

    /appt-admin ehr                 how many wait, how many failed, and the failed ones (ids,
                                    appointment, change, attempts, the last error: no patient data)
    /appt-admin ehr resend <id>|all queue a failed one (or every one) again, with a new day of
                                    attempts; audited with the admin as the actor

The queue is bot/ehr_notices.py's; the sending, jobs/ehr_webhook.py's. Bad input changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from bot import ehr_notices
from bot.patient.replies import when_text
from bot.staff import admin_replies
from bot.staff import replies as say
from bot.staff.answers import StaffAnswer
from bot.tools import Caller
from scheduler.models import EHR_PENDING, EHR_SENDING, EhrNotification

if TYPE_CHECKING:
    from bot.staff.admin import AdminDesk

USAGE = admin_replies.ADMIN_USAGE["ehr"]
SHOWN = 20


def command(desk: AdminDesk, caller: Caller, args: list[str]) -> StaffAnswer:
    words = [a.lower() for a in args]
    if not words or words == ["failed"]:
        return _listing(desk)
    if len(words) == 2 and words[0] == "resend":
        target = words[1].lstrip("#")
        if target == "all":
            return _resend(desk, caller, None)
        if target.isdigit() and len(target) <= 12:
            return _resend(desk, caller, [int(target)])
    return StaffAnswer(say.usage(USAGE), ok=False)


def _listing(desk: AdminDesk) -> StaffAnswer:
    zone = desk.clinic.zone
    with desk.sessions() as db:
        waiting = (
            db.scalar(
                select(func.count())
                .select_from(EhrNotification)
                .where(EhrNotification.status.in_((EHR_PENDING, EHR_SENDING)))
            )
            or 0
        )
        total = ehr_notices.count_failed(db)
        failed = ehr_notices.failed_notices(db, limit=SHOWN)
    head = f"EHR notifications: {waiting} waiting to be sent, {total} failed."
    if not total:
        return StaffAnswer(head)
    lines = [
        f"#{n.id} appointment #{n.appointment_id} {n.event}, queued "
        f"{when_text(n.created_at, zone)}, {n.attempts} attempts, last error "
        f"{n.last_error or '-'}"
        + (f", {n.waiting} later change(s) held behind it" if n.waiting else "")
        for n in failed
    ]
    more = [f"(showing the newest {len(failed)})"] if total > len(failed) else []
    tail = "Send again: /appt-admin ehr resend <id>|all"
    return StaffAnswer("\n".join([head, *lines, *more, tail]))


def _resend(desk: AdminDesk, caller: Caller, ids: list[int] | None) -> StaffAnswer:
    with desk.sessions.begin() as db:
        queued = ehr_notices.resend(
            db, desk.audit, ids, now=desk.clock(), channel=caller.channel, actor=caller.actor
        )
    if not queued:
        text = (
            "No EHR notification has failed; nothing was changed."
            if ids is None
            else f"EHR notification #{ids[0]} is not a failed one; nothing was changed."
        )
        return StaffAnswer(text, ok=False)
    return StaffAnswer(
        f"Queued {len(queued)} EHR notification(s) again: "
        + ", ".join(f"#{i}" for i in queued[:20])
        + ("..." if len(queued) > 20 else "")
        + ". The job workers send them in the next minute."
    )
