"""Exactly once, within Twilio's patience: an inbound text's turn, its receipt and its reply.

- Hand over, exactly once: the `MessageSid` is claimed with one insert into `message_receipts`
  (unique per channel; the key is "<sender's blind index, 16 hex>:<MessageSid>", as the web chat's,
  so `patient erase` finds it), as the first write of the engine's turn, and the TwiML is stored
  (encrypted) as its last, in the same transaction. A retry of a handled message never runs the
  engine again: it gets the stored TwiML, or an empty `<Response/>` when the reply went out
  through the REST API.
- Slow engines: the turn runs on the app's `TurnPool` with a budget. Past it the webhook answers
  an empty `<Response/>` at once and the turn, when done, sends its reply through the configured
  sender. Which way the reply goes is decided once (`_Handoff`, under a lock) and written on the
  receipt (`reply_via`), so it goes exactly once, and a retry learns which way.
- The late reply's receipt moves "rest" -> "rest_sending" -> "rest_sent" or "rest_failed", taken
  by one sender only (`_take_for_sending`); stranded.py sends what a stopped process left there.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import timedelta

from sqlalchemy import bindparam, delete, select, update

from bot import logfiles
from bot.messages import DeliveryFailed, InboundMessage, OutboundMessage
from bot.receipts import AlreadyHandled, StoredReceipt, receipt_key
from bot.services import Services
from scheduler.db import UNAVAILABLE
from scheduler.models import MessageReceipt

from .answers import EMPTY, Refusal, render

log = logging.getLogger("scheduler.twilio_sms")

CHANNEL = "sms"
_TURN_THREADS = 32
# A claim unanswered for this long belongs to a turn that died with its process: a live turn
# answers well within it (bot/model/bedrock.py: 20 s read timeout a model call, at most six calls).
UNANSWERED_AFTER = timedelta(minutes=5)

POOL = "clinic_scheduler_sms_turns"


class TurnPool:
    """The app's threads for SMS turns, so a slow turn can miss the webhook's budget without
    holding the webhook. Made on first use, so after gunicorn has forked the worker."""

    def __init__(self, threads: int = _TURN_THREADS):
        self.threads = threads
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(self, fn, /, *args):
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.threads, thread_name_prefix="sms-turn"
                )
            pool = self._pool
        return pool.submit(fn, *args)


# A mapped class's `__table__` is typed `FromClause`; a class mapped to a Table has that Table.
_RECEIPTS = MessageReceipt.__table__


class _Handoff:
    """Which way one turn's reply leaves, decided once between the webhook (out of budget:
    "rest") and the turn (done in time: "twiml"). In memory, not in the database: the webhook
    must answer Twilio without waiting for the turn's transaction."""

    def __init__(self):
        self._lock = threading.Lock()
        self.via: str | None = None

    def take(self, via: str) -> bool:
        with self._lock:
            if self.via is None:
                self.via = via
            return self.via == via


def sms_receipt(services: Services, inbound: InboundMessage, handoff: _Handoff) -> StoredReceipt:
    """The message's receipt (bot/receipts.py): the answer stored as TwiML, and sent in the
    webhook's answer if the webhook still waits for it, else through the REST API."""
    return StoredReceipt(
        CHANNEL,
        inbound,
        services.vault,
        services.clock,
        render=render,
        route=lambda: "twiml" if handoff.take("twiml") else "rest",
        empty=EMPTY,
    )


def answer_once(services: Services, pool: TurnPool, inbound: InboundMessage, budget: float) -> str:
    """The TwiML for this message, running the engine only for the first delivery of its id."""
    started = time.perf_counter()
    for _ in range(3):
        handoff = _Handoff()
        future = pool.submit(_turn, services, inbound, handoff)
        try:
            answer = future.result(timeout=budget)
        except FutureTimeout:
            # Out of budget: answer now, unless the turn got there first (then take its TwiML).
            answer = EMPTY if handoff.take("rest") else future.result()
        except UNAVAILABLE as exc:  # nothing committed: Twilio's retry runs the turn again
            log.warning("SMS turn: database unavailable (%s)", type(exc).__name__)
            raise Refusal(503, "the database is unavailable for a moment; try again") from None
        except Exception as exc:  # a bug, not bad input: the operator gets the reference
            reference = uuid.uuid4().hex[:12]
            log.error("SMS turn failed (ref %s, %s)", reference, type(exc).__name__)
            raise Refusal(500, f"something went wrong on our side (ref {reference})") from None
        if answer is not None:
            logfiles.write(
                "performance",
                "sms_webhook",
                path=handoff.via,
                ms=round((time.perf_counter() - started) * 1000, 3),
            )
            return answer
        stored = _stored_answer(
            services, receipt_key(services.vault, inbound.sender, inbound.message_id)
        )
        if stored is not None:
            logfiles.write("orchestration", "sms_repeat", message_sid=inbound.message_id)
            return stored
        # Claimed before, and the claim is gone since (the patient was erased): run it now.
    return EMPTY


def _stored_answer(services: Services, key: str) -> str | None:
    """A repeat's answer: the first delivery's TwiML, or empty when its reply went (or is going)
    through REST or its turn is still running (a model turn commits its claim before the model
    answers: bot/engine/conversation.py); None when there is no receipt any more, or when the claim is still
    unanswered after `UNANSWERED_AFTER` (the process running its turn died): the claim is freed
    then, and this delivery runs the turn."""
    with services.sessions() as db:
        receipt = db.execute(
            select(
                MessageReceipt.id,
                MessageReceipt.reply_via,
                MessageReceipt.reply_enc,
                MessageReceipt.created_at,
            ).where(MessageReceipt.channel == CHANNEL, MessageReceipt.external_id == key)
        ).first()
    if receipt is None:
        return None
    if receipt.reply_via == "twiml":
        return services.vault.decrypt(receipt.reply_enc)
    if receipt.reply_via is None and receipt.created_at <= services.clock() - UNANSWERED_AFTER:
        with services.sessions.begin() as db:  # of two such repeats, one frees it
            db.execute(
                delete(MessageReceipt).where(
                    MessageReceipt.id == receipt.id, MessageReceipt.reply_via.is_(None)
                )
            )
        return None
    return EMPTY


def _turn(services: Services, inbound: InboundMessage, handoff: _Handoff) -> str | None:
    """Run the engine (None for a repeat); the TwiML if the webhook still waits for it, else
    send the reply through REST and return an empty answer."""
    receipt = sms_receipt(services, inbound, handoff)
    try:
        replies = services.conversation.handle(inbound, receipt=receipt)
    except AlreadyHandled:
        return None
    if receipt.via is None:
        # The turn failed and rolled back, claim included (a retry will run it again); its
        # apology still goes out, whichever way is open.
        receipt.id = None
        receipt.answer = render(replies)
        receipt.via = receipt.route()
    if receipt.via == "twiml":
        return receipt.answer
    _send_late(services, inbound, replies, receipt)
    return EMPTY


def _send_late(
    services: Services,
    inbound: InboundMessage,
    replies: list[OutboundMessage],
    receipt: StoredReceipt,
) -> None:
    """The slow path's second half: the reply through the sender (Twilio's REST API)."""
    if receipt.id is not None and not _take_for_sending(services, receipt.id):
        return  # the stranded-reply job got there first (only after a long stall)
    outcome = _send_each(services, replies, inbound.message_id)
    if receipt.id is not None:
        _settle(services, receipt.id, outcome)
    logfiles.write(
        "orchestration",
        "sms_late_reply",
        message_sid=inbound.message_id,
        outcome=outcome,
        replies=len(replies),
    )


def _send_each(services: Services, replies: list[OutboundMessage], message_sid: str) -> str:
    outcome = "rest_sent"
    for reply in replies:
        try:
            services.sender.send(reply)
        except DeliveryFailed as exc:
            outcome = "rest_failed"
            log.warning("late SMS reply not sent (message %s, code %s)", message_sid, exc.code)
        except Exception as exc:  # a bug must not lose the record of what happened
            outcome = "rest_failed"
            log.error("late SMS reply failed (message %s, %s)", message_sid, type(exc).__name__)
    return outcome


# A late reply's receipt goes "rest" (committed with the turn) -> "rest_sending" (taken by one
# sender, in a transaction of its own, before anything is sent) -> "rest_sent" or "rest_failed".
# The take is a conditional UPDATE, so the turn's own thread and the stranded-reply job never
# both send it. A process that dies after the take and before the send's record leaves
# "rest_sending": not sent again (at most once); the job marks it "rest_unknown" and logs it.
# An unanswered claim (reply_via NULL: the process died during a model turn, bot/engine/conversation.py) is
# taken the same way, from NULL, by the job only.
_TAKE = {
    via: update(_RECEIPTS)
    .where(
        _RECEIPTS.c.id == bindparam("receipt_id"),
        _RECEIPTS.c.reply_via == via if via else _RECEIPTS.c.reply_via.is_(None),
    )
    .values(reply_via="rest_sending")
    for via in ("rest", None)
}


_SETTLE = (
    update(_RECEIPTS)
    .where(_RECEIPTS.c.id == bindparam("receipt_id"))
    .values(reply_via=bindparam("via"))
)


def _take_for_sending(services: Services, receipt_id: int, via: str | None = "rest") -> bool:
    with services.sessions.begin() as db:
        return db.connection().execute(_TAKE[via], {"receipt_id": receipt_id}).rowcount == 1


def _settle(services: Services, receipt_id: int, outcome: str) -> None:
    with services.sessions.begin() as db:
        db.connection().execute(_SETTLE, {"receipt_id": receipt_id, "via": outcome})
