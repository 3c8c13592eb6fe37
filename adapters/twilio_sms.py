"""The Twilio SMS channel: Twilio's webhooks in, TwiML out.

    POST /twilio/sms      each inbound text (Twilio's "A message comes in" webhook)
    POST /twilio/status   delivery status callbacks for texts sent through the REST API

Both read like Twilio's docs: verify, parse, hand over, render.

- Verify: twilio's `RequestValidator` over the URL Twilio called (`PUBLIC_BASE_URL` + path when
  set, so it works behind a proxy or tunnel; the request's own URL otherwise) and every posted
  parameter, whatever Twilio adds. A missing or wrong `X-Twilio-Signature` is a 403 that stores
  nothing: it is counted, and each source address's refusals of a minute become one `security`
  audit event (adapters/refusals.py); past 30 in a minute, that address gets 429 before the
  check. Without `TWILIO_AUTH_TOKEN` both endpoints answer 503 and say why. No setting turns
  the check off.
- Parse: `From` in E.164 (the patient's identity; not a phone number: 400), `Body`, `MessageSid`
  (the idempotency key), `NumMedia`, and `OptOutType` when Twilio's Advanced Opt-Out matched a
  keyword.
- Hand over, exactly once: the `MessageSid` is claimed with one insert into `message_receipts`
  (unique per channel; the key is "<sender's blind index, 16 hex>:<MessageSid>", as the web chat's,
  so `patient erase` finds it), as the first write of the engine's turn, and the TwiML is stored
  (encrypted) as its last, in the same transaction: a message is handled once or, if the turn
  fails, not at all. A retry of a handled message never runs the engine again: it gets the
  stored TwiML, or an empty `<Response/>` when the reply went out through the REST API.
- Slow engines: the turn runs in a thread pool with a budget (`TWILIO_REPLY_BUDGET_SECONDS` in the
  app config, default 10 s; Twilio gives up at 15 s). Past it the webhook answers an empty
  `<Response/>` at once and the turn, when done, sends its reply through the configured sender.
  Which way the reply goes is decided once (under a lock, between the webhook and its turn) and
  written on the receipt (`reply_via`), so it goes exactly once, and a retry learns which way.
  Should the process stop between the turn's commit and that send, the reply waits on its
  receipt (encrypted) and a job sends it two minutes later (`send_stranded_replies`).
- Render: `MessagingResponse`, one `<Message>` per reply (options as numbered lines), as
  application/xml. An empty reply is an empty `<Response/>`, never plain text.

What to say (consent, keywords, rate limit, the length of a text) is decided in bot/.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import timedelta
from typing import Any, cast
from xml.etree import ElementTree

from flask import Blueprint, Flask, Response, current_app, request
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.engine import CursorResult
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot import i18n, logfiles
from bot.messages import DeliveryFailed, InboundMessage, OutboundMessage
from bot.patient import segments
from bot.patient.replies import unanswered
from bot.receipts import AlreadyHandled, StoredReceipt, receipt_key
from bot.services import Services, services_of
from scheduler.errors import ChannelError
from scheduler.models import MessageReceipt, Patient
from scheduler.patients import InvalidPhoneNumber, normalize_phone

from .refusals import ledger_of
from .twilio_sender import record_status

log = logging.getLogger("scheduler.twilio_sms")

CHANNEL = "sms"
SIGNATURE_HEADER = "X-Twilio-Signature"
FORM = "application/x-www-form-urlencoded"
TWIML = "application/xml"
DEFAULT_BUDGET_SECONDS = 10.0
BUDGET_CONFIG = "TWILIO_REPLY_BUDGET_SECONDS"
EMPTY = str(MessagingResponse())
_SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")
# A phone number as Twilio sends it (E.164), or typed with spaces, dots, dashes and brackets;
# not a channel address ("whatsapp:+1...") or an alphanumeric sender.
_PHONE_CHARS = re.compile(r"^\s*\+?[0-9][0-9 ().-]{1,30}\s*$")
_STATUS = re.compile(r"^[a-z_-]{1,32}$")
_TURN_THREADS = 32
# A claim unanswered for this long belongs to a turn that died with its process: a live turn
# answers well within it (bot/model/bedrock.py: 20 s read timeout a model call, at most six calls).
UNANSWERED_AFTER = timedelta(minutes=5)

blueprint = Blueprint("twilio_sms", __name__)

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


class Refusal(ChannelError):
    """A request the webhook refuses; `status` and a reason for Twilio's debugger."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


@blueprint.errorhandler(Refusal)
def _refused(refusal: Refusal):
    return Response(str(refusal) + "\n", status=refusal.status, mimetype="text/plain")


def _services() -> Services:
    return services_of(current_app)


def init_app(app: Flask, services: Services) -> None:
    """Mount /twilio/sms and /twilio/status (503 until TWILIO_AUTH_TOKEN is set)."""
    app.register_blueprint(blueprint)
    app.extensions[POOL] = TurnPool()


def render(messages: list[OutboundMessage]) -> str:
    """TwiML for the replies: one <Message> each, options as numbered lines."""
    response = MessagingResponse()
    for message in messages:
        response.message(message.as_text())
    return str(response)


def _twiml(body: str) -> Response:
    return Response(body, mimetype=TWIML)


def called_url(public_base_url: str | None) -> str:
    """The URL Twilio signed: PUBLIC_BASE_URL + path (and query) when set, else the request's."""
    if not public_base_url:
        return request.url
    url = public_base_url.rstrip("/") + request.path
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    return url


def _verify(services: Services, endpoint: str) -> None:
    """Refuse (503, 429, 403) unless Twilio signed this request with our auth token. A refusal
    is counted, not written (adapters/refusals.py); an address refused too often this minute
    gets 429 before its signature is even checked."""
    token = services.settings.twilio_auth_token
    if not token:
        raise Refusal(503, "SMS is not configured: set TWILIO_AUTH_TOKEN to accept Twilio webhooks")
    ledger, source = ledger_of(current_app), request.remote_addr or "unknown"
    if ledger.limited(source):
        raise Refusal(429, "too many refused requests from this address; wait a minute")
    signature = request.headers.get(SIGNATURE_HEADER, "")
    params = request.form if request.mimetype == FORM else {}
    if signature and RequestValidator(token).validate(
        called_url(services.settings.public_base_url), params, signature
    ):
        return
    ledger.refused(source, endpoint, "bad_signature" if signature else "missing_signature")
    raise Refusal(403, "invalid Twilio signature")


def _form() -> dict:
    if request.mimetype != FORM:
        raise Refusal(415, f"send the form as {FORM}, as Twilio does")
    return request.form


@blueprint.post("/twilio/sms")
def inbound_sms():
    services = _services()
    _verify(services, "sms")
    form = _form()
    raw_from, body, sid = form.get("From"), form.get("Body"), form.get("MessageSid", "")
    if raw_from is None or body is None:
        raise Refusal(400, "From and Body are required")
    if not _SID.match(sid):
        raise Refusal(400, "MessageSid is missing or malformed")
    try:
        phone = normalize_phone(raw_from) if _PHONE_CHARS.match(raw_from) else None
    except InvalidPhoneNumber:
        phone = None
    if phone is None:
        raise Refusal(400, "From is not a phone number")
    media = form.get("NumMedia", "0")
    inbound = InboundMessage(
        channel=CHANNEL,
        sender=phone,
        text=body,
        message_id=sid,
        received_at=services.clock(),
        role="patient",
        keyword=(form.get("OptOutType") or None),
        media=int(media) if media.isdigit() else 0,
    )
    budget = float(current_app.config.get(BUDGET_CONFIG, DEFAULT_BUDGET_SECONDS))
    return _twiml(answer_once(services, current_app.extensions[POOL], inbound, budget))


@blueprint.post("/twilio/status")
def delivery_status():
    services = _services()
    _verify(services, "status")
    form = _form()
    sid = form.get("MessageSid", "")
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
    if not _SID.match(sid) or not _STATUS.match(status):
        raise Refusal(400, "MessageSid and MessageStatus are required")
    code = form.get("ErrorCode", "")
    record_status(
        services.sessions,
        services.clock,
        sid,
        status,
        int(code) if code.isdigit() and len(code) <= 9 else None,
        services.audit,
    )
    return Response(status=204)


# ---------------------------------------------------------------------------------------------
# Exactly once, within Twilio's patience.

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
    answers: bot/engine.py); None when there is no receipt any more, or when the claim is still
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
# An unanswered claim (reply_via NULL: the process died during a model turn, bot/engine.py) is
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


def twiml_texts(twiml: str) -> list[str]:
    """The <Message> bodies of a TwiML answer we rendered."""
    return [element.text or "" for element in ElementTree.fromstring(twiml).iter("Message")]
