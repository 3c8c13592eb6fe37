"""The replies a stopped process left unsent: the `stranded-sms` job's work.

A late reply is committed with its turn at "rest" and sent by the turn's own thread within
seconds (turns.py); a process that stops in between leaves it there, and a claim whose model turn
died with its process stays unanswered. `send_stranded_replies` finds both, takes each for
sending the same way the turn's thread would, and sends it (or an apology) once.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult

from bot import i18n, logfiles
from bot.messages import OutboundMessage
from bot.patient import segments
from bot.patient.replies import unanswered
from bot.services import Services
from scheduler.models import Patient

from .answers import EMPTY, twiml_texts
from .turns import _RECEIPTS, CHANNEL, UNANSWERED_AFTER, _send_each, _settle, _take_for_sending

log = logging.getLogger("scheduler.twilio_sms")

STRANDED_AFTER = timedelta(minutes=2)  # a turn's own thread sends within seconds
STRANDED_UNTIL = timedelta(hours=24)  # older than this, a reply is news no more: left unsent


def send_stranded_replies(services: Services) -> dict[str, int]:
    """Send the replies a stopped process left unsent.

    A job (jobs/runner.py) runs this every minute, for texts that came in within the last 24
    hours: a late reply still at "rest" 2 minutes on is sent as the turn wrote it; a claim still
    unanswered `UNANSWERED_AFTER` on (the process died while the model answered) gets an apology
    asking the patient to send it again, so no text goes unanswered in silence. Each goes to the
    number that sent the text (found through the patient's blind index), through the sender,
    which refuses opted-out numbers. Returns counts for the log: sent, failed, and unknown
    (left at "rest_sending" by a process that stopped: sent or not, nobody knows; marked
    "rest_unknown" and never retried)."""
    now = services.clock()
    recent = _RECEIPTS.c.created_at > now - STRANDED_UNTIL
    with services.sessions() as db:
        stranded = db.execute(
            select(
                _RECEIPTS.c.id,
                _RECEIPTS.c.external_id,
                _RECEIPTS.c.reply_via,
                _RECEIPTS.c.reply_enc,
                Patient.phone_enc,
                Patient.language,
            )
            .join(Patient, Patient.phone_index == _RECEIPTS.c.sender_index, isouter=True)
            .where(
                _RECEIPTS.c.channel == CHANNEL,
                recent,
                (
                    (_RECEIPTS.c.reply_via == "rest")
                    & (_RECEIPTS.c.created_at <= now - STRANDED_AFTER)
                )
                | (
                    _RECEIPTS.c.reply_via.is_(None)
                    & (_RECEIPTS.c.created_at <= now - UNANSWERED_AFTER)
                ),
            )
            .order_by(_RECEIPTS.c.id)
            .limit(100)
        ).all()
    with services.sessions.begin() as db:  # taken by a process that stopped: said once
        # `Session.execute` returns a `CursorResult` for an UPDATE (its stubs say `Result`).
        unknown = cast(
            CursorResult[Any],
            db.execute(
                update(_RECEIPTS)
                .where(
                    _RECEIPTS.c.channel == CHANNEL,
                    recent,
                    _RECEIPTS.c.reply_via == "rest_sending",
                    _RECEIPTS.c.created_at <= now - STRANDED_AFTER,
                )
                .values(reply_via="rest_unknown")
            ),
        ).rowcount
    counts = {"sent": 0, "failed": 0, "unknown": unknown}
    for row in stranded:
        if not _take_for_sending(services, row.id, row.reply_via):
            continue
        message_sid = row.external_id.partition(":")[2]
        if row.phone_enc is None:  # the patient was erased since: nobody to tell
            outcome = "rest_failed"
        else:
            phone = services.vault.decrypt(row.phone_enc)
            if row.reply_via == "rest":
                texts = twiml_texts(services.vault.decrypt(row.reply_enc) or EMPTY)
            else:
                with i18n.speaking(row.language):
                    texts = [segments.for_sms(unanswered(services.clinic))]
            outcome = _send_each(
                services, [OutboundMessage(CHANNEL, phone, text) for text in texts], message_sid
            )
        _settle(services, row.id, outcome)
        counts["sent" if outcome == "rest_sent" else "failed"] += 1
        logfiles.write(
            "orchestration",
            "sms_stranded_reply",
            message_sid=message_sid,
            outcome=outcome,
            answered=row.reply_via == "rest",
        )
    if counts["unknown"]:
        log.warning(
            "%d late SMS replies were taken for sending by a process that stopped; "
            "whether they went out is unknown (receipts marked rest_unknown)",
            counts["unknown"],
        )
    return counts
