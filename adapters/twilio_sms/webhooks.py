"""The SMS webhooks: POST /twilio/sms and POST /twilio/status, verified and parsed.

- Verify: twilio's `RequestValidator` over the URL Twilio called (`PUBLIC_BASE_URL` + path when
  set; the request's own URL otherwise) and every posted parameter. A missing or wrong
  `X-Twilio-Signature` is a 403 that stores nothing, counted by adapters/refusals.py; an address
  refused too often this minute gets 429 before the check; without `TWILIO_AUTH_TOKEN`, 503.
- Parse: `From` in E.164 (not a phone number: 400), `Body`, `MessageSid`, `NumMedia`,
  `OptOutType`; a delivery status's `MessageSid`, `MessageStatus` and `ErrorCode`.
- Hand over: an inbound text to turns.py's `answer_once`, within the reply budget
  (`TWILIO_REPLY_BUDGET_SECONDS`); a delivery status to twilio_sender.py's `record_status`.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, current_app, request
from twilio.request_validator import RequestValidator

from bot.messages import InboundMessage
from bot.services import Services, services_of
from scheduler.patients import InvalidPhoneNumber, normalize_phone

from ..refusals import ledger_of
from ..twilio_sender import record_status
from .answers import TWIML, Refusal
from .turns import CHANNEL, POOL, answer_once

SIGNATURE_HEADER = "X-Twilio-Signature"
FORM = "application/x-www-form-urlencoded"
DEFAULT_BUDGET_SECONDS = 10.0
BUDGET_CONFIG = "TWILIO_REPLY_BUDGET_SECONDS"
_SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")
# A phone number as Twilio sends it (E.164), or typed with spaces, dots, dashes and brackets;
# not a channel address ("whatsapp:+1...") or an alphanumeric sender.
_PHONE_CHARS = re.compile(r"^\s*\+?[0-9][0-9 ().-]{1,30}\s*$")
_STATUS = re.compile(r"^[a-z_-]{1,32}$")

blueprint = Blueprint("twilio_sms", __name__)


@blueprint.errorhandler(Refusal)
def _refused(refusal: Refusal):
    return Response(str(refusal) + "\n", status=refusal.status, mimetype="text/plain")


def _services() -> Services:
    return services_of(current_app)


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
