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

In modules: webhooks.py mounts the two routes, verifies and parses; turns.py hands a text over
to the engine exactly once, within Twilio's patience (the turn pool, the receipt, the late reply
through REST); stranded.py is the job that sends the replies a stopped process left unsent;
answers.py is what the webhooks answer (TwiML, or a refusal in plain text).

What to say (consent, keywords, rate limit, the length of a text) is decided in bot/.
"""

from __future__ import annotations

from flask import Flask

from bot.services import Services

from .turns import POOL, TurnPool
from .webhooks import blueprint


def init_app(app: Flask, services: Services) -> None:
    """Mount /twilio/sms and /twilio/status (503 until TWILIO_AUTH_TOKEN is set)."""
    app.register_blueprint(blueprint)
    app.extensions[POOL] = TurnPool()
