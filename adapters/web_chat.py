"""The web chat: a demo patient channel in the browser, for trying the bot on one machine.

The page identifies its demo patient by a phone number kept in Flask's signed session cookie.
The web chat cannot prove anyone owns a number, so it accepts only fictional ones (555-0100 to
555-0199 in any NANP area code), and its patients are its own: the engine finds them by the
channel and the number (`bot.messages.DEMO_CHANNELS`), so typing an SMS patient's number here
never shows or changes that patient's appointments.

JSON API (POSTs require `Content-Type: application/json`: a cross-site form cannot send that
without a CORS preflight, which this app never answers, so that and SameSite=Lax cookies are the
CSRF defence):

- `POST /chat/phone` `{"phone"}`: choose the demo patient.
- `POST /chat/messages` `{"text", "message_id"}` -> `{"replies": [{"text", "options", "kind"}]}`.
  The client makes one `message_id` per message, so a double submit is answered once: the first
  request claims the id in `message_receipts` (one atomic insert) and stores the reply encrypted;
  a repeat gets the stored reply without running the engine again.
- `GET /chat/outbox?after=<id>`: what the clinic sent this session's phone (reminders, notices).
- `GET /chat/history` -> `{"messages": [{"from": "you" | "bot", "text", "options", "kind"}]}`:
  the conversation so far, oldest first, so a reload shows it again. It is read from what the
  server keeps anyway: the audit trail's `message_in` events of this number's web-chat patient
  (the same lookup the engine makes: channel plus number, never the SMS patient) and, for each,
  the replies stored with its receipt (with their options), else the audit's `message_out` texts.
  Texts removed by retention or erasure are left out.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
import uuid
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, render_template, request, session
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from bot.messages import InboundMessage, OutboundMessage
from bot.services import Services, services_of
from scheduler.errors import ChannelError
from scheduler.models import AuditEvent, MessageReceipt
from scheduler.patients import InvalidPhoneNumber, find_patient, normalize_phone

log = logging.getLogger("scheduler.web_chat")

CHANNEL = "web"
PHONE_KEY = "web_chat_phone"
_MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
# +1, an area code, 555-0100 to 555-0199: the only 555 numbers reserved for fiction (others in
# the 555 exchange are assigned, e.g. 555-1212 directory assistance).
_FICTIONAL = re.compile(r"^\+1[2-9]\d{2}55501\d{2}$")
# How long a repeat waits for the first request's reply before answering 409.
REPEAT_WAIT_SECONDS = 5.0
# How many audited messages (the person's and the bot's) a reload shows again, the latest ones.
HISTORY_EVENTS = 200

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)

blueprint = Blueprint(
    "web_chat",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/chat/static",
)


class ChatError(ChannelError):
    """A request the API refuses; the message tells the client what to do instead."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _services() -> Services:
    return services_of(current_app)


def init_app(app: Flask, services: Services) -> None:
    """Serve the demo web chat (app.py decides where: only beside the outbox, or WEB_CHAT=1)."""
    app.register_blueprint(blueprint)


def random_demo_phone() -> str:
    """A fictional number (+1 212 555 01xx, the range reserved for fiction)."""
    return f"+1212555{random.randint(100, 199):04d}"


def parse_demo_phone(raw: Any) -> str:
    """E.164 form of a fictional phone number typed by the person; ChatError otherwise."""
    if not isinstance(raw, str) or not raw.strip():
        raise ChatError('send {"phone": "+1 212 555 0123"}')
    if len(raw) > 40:
        raise ChatError("that does not look like a phone number")
    try:
        phone = normalize_phone(raw.strip())
    except InvalidPhoneNumber:
        raise ChatError("that does not look like a phone number") from None
    if not _FICTIONAL.match(phone):
        raise ChatError(
            "the demo chat accepts only fictional numbers, 555-0100 to 555-0199, "
            "like +1 212 555 0123"
        )
    return phone


def _json_body() -> dict[str, Any]:
    if request.mimetype != "application/json":
        raise ChatError("send JSON with Content-Type: application/json", 415)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ChatError("the body must be a JSON object")
    return body


def _current_phone() -> str:
    phone = session.get(PHONE_KEY)
    if not isinstance(phone, str) or not _FICTIONAL.match(phone):
        raise ChatError("choose a demo phone number first (POST /chat/phone)")
    return phone


def _reply_json(message: OutboundMessage) -> dict[str, Any]:
    return {"text": message.text, "options": list(message.options), "kind": message.kind}


@blueprint.errorhandler(ChatError)
def _bad_request(error: ChatError):
    return jsonify(error=str(error)), error.status


@blueprint.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    # e.g. 413 for a body over MAX_CONTENT_LENGTH: JSON like every other answer of the API.
    return jsonify(error=error.description or error.name), error.code


@blueprint.after_request
def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if request.endpoint != "web_chat.static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


@blueprint.get("/")
def page():
    phone = session.get(PHONE_KEY)
    if not isinstance(phone, str) or not _FICTIONAL.match(phone):
        phone = session[PHONE_KEY] = random_demo_phone()
    return render_template("chat.html", clinic_name=_services().clinic.name, phone=phone)


@blueprint.post("/chat/phone")
def choose_phone():
    phone = parse_demo_phone(_json_body().get("phone"))
    session[PHONE_KEY] = phone
    return jsonify(phone=phone)


@blueprint.post("/chat/messages")
def post_message():
    body = _json_body()
    text, message_id = body.get("text"), body.get("message_id")
    if not isinstance(text, str):
        raise ChatError('"text" must be a string')
    if not isinstance(message_id, str) or not _MESSAGE_ID.match(message_id):
        raise ChatError(
            '"message_id" must be 1 to 100 letters, digits, dashes or '
            "underscores (a UUID per message)"
        )
    phone = _current_phone()
    services = _services()
    receipt_key = _receipt_key(services, phone, message_id)

    stored = _claim(services, receipt_key)
    if stored is not None:
        return jsonify(replies=stored)

    inbound = InboundMessage(
        channel=CHANNEL,
        sender=phone,
        text=text,
        message_id=message_id,
        received_at=services.clock(),
        role="patient",
    )
    try:
        replies = [_reply_json(m) for m in services.conversation.handle(inbound)]
    except Exception:  # a bug in the engine: free the id and answer JSON, never a trace
        # The engine promises not to raise; if it does, free the id so a retry can run.
        reference = uuid.uuid4().hex[:12]
        log.exception("web chat message failed (ref %s)", reference)
        _release(services, receipt_key)
        return jsonify(
            error=f"something went wrong on our side (ref {reference}); please try again"
        ), 500
    with services.sessions.begin() as db:
        receipt = db.scalars(
            select(MessageReceipt).where(
                MessageReceipt.channel == CHANNEL, MessageReceipt.external_id == receipt_key
            )
        ).one()
        receipt.reply_enc = services.vault.encrypt(json.dumps(replies))
    return jsonify(replies=replies)


def _receipt_key(services: Services, phone: str, message_id: str) -> str:
    """The receipt's key: a prefix of the number's blind index (never the number) and the id."""
    return f"{services.vault.index(phone)[:16]}:{message_id}"


def _claim(services: Services, receipt_key: str) -> list[dict[str, Any]] | None:
    """Claim the message (None: this request answers it) or return the stored replies."""
    try:
        with services.sessions.begin() as db:
            db.add(
                MessageReceipt(
                    channel=CHANNEL, external_id=receipt_key, created_at=services.clock()
                )
            )
        return None
    except IntegrityError:
        pass
    # A repeat: the first request may still be running the engine, so wait for its reply.
    deadline = time.monotonic() + REPEAT_WAIT_SECONDS
    while True:
        with services.sessions() as db:
            receipt = db.scalars(
                select(MessageReceipt).where(
                    MessageReceipt.channel == CHANNEL, MessageReceipt.external_id == receipt_key
                )
            ).first()
        if receipt is None:  # the first attempt failed and let go: run it now
            return _claim(services, receipt_key)
        if receipt.reply_enc is not None:
            return json.loads(services.vault.decrypt(receipt.reply_enc))
        if time.monotonic() >= deadline:
            raise ChatError("this message is still being answered; try again shortly", 409)
        time.sleep(0.05)


def _release(services: Services, receipt_key: str) -> None:
    with services.sessions.begin() as db:
        receipt = db.scalars(
            select(MessageReceipt).where(
                MessageReceipt.channel == CHANNEL, MessageReceipt.external_id == receipt_key
            )
        ).first()
        if receipt is not None and receipt.reply_enc is None:
            db.delete(receipt)


@blueprint.get("/chat/outbox")
def outbox():
    raw = request.args.get("after", "0")
    if not raw.isdigit() or len(raw) > 18:
        raise ChatError('"after" must be an outbox id (a whole number)')
    phone = _current_phone()
    # Only the outbox keeps what was sent; a real SMS sender's messages went to the phone.
    messages_for = getattr(_services().sender, "messages_for", None)
    messages = messages_for(phone, after_id=int(raw)) if messages_for else []
    return jsonify(
        messages=[
            {"id": m.id, "text": m.text, "kind": m.kind, "at": m.created_at.isoformat()}
            for m in messages
        ]
    )


@blueprint.get("/chat/history")
def history():
    return jsonify(messages=visible_history(_services(), _current_phone()))


def visible_history(services: Services, phone: str) -> list[dict[str, Any]]:
    """What the web chat showed this number's demo patient, oldest first (see the module's
    docstring): each message of theirs, then the bot's replies to it."""
    with services.sessions() as db:
        patient = find_patient(db, services.vault, phone, scope=CHANNEL)
        if patient is None:
            return []
        events = db.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.patient_id == patient.id,
                AuditEvent.channel == CHANNEL,
                AuditEvent.kind.in_(("message_in", "message_out")),
            )
            .order_by(AuditEvent.seq.desc())
            .limit(HISTORY_EVENTS)
        ).all()
        turns: list[tuple[str, str, list[dict[str, Any]]]] = []  # (message id, text, replies)
        for event in reversed(events):
            text = services.audit.text(event.text_enc)
            if event.kind == "message_in" and event.message_id:
                turns.append((event.message_id, text or "", []))
            elif turns and event.message_id == turns[-1][0] and text is not None:
                kind = (event.detail or {}).get("kind", "reply")
                turns[-1][2].append({"text": text, "options": [], "kind": kind})
        keys = {_receipt_key(services, phone, message_id): message_id for message_id, _, _ in turns}
        stored = {
            keys[r.external_id]: r.reply_enc
            for r in db.scalars(
                select(MessageReceipt).where(
                    MessageReceipt.channel == CHANNEL,
                    MessageReceipt.external_id.in_(list(keys)),
                    MessageReceipt.reply_enc.is_not(None),
                )
            )
        }
    messages: list[dict[str, Any]] = []
    for message_id, text, audited in turns:
        if not text:  # removed (retention, erasure) or nothing said: its replies go with it
            continue
        messages.append({"from": "you", "text": text, "options": [], "kind": "message"})
        reply_enc = stored.get(message_id)
        replies = json.loads(services.vault.decrypt(reply_enc)) if reply_enc else audited
        messages += [{"from": "bot", **reply} for reply in replies]
    return messages
