"""Slack: clinic staff schedule and admins run the clinic, through one Slack app.

    POST /slack/events    Events API, interactivity (buttons, menus, modals) and slash commands

Built on slack-bolt, mounted with its Flask adapter, and read like Slack's docs: verify, parse,
hand over, render.

- Verify: Bolt's request verification checks `X-Slack-Signature` over the raw body with
  `SLACK_SIGNING_SECRET` (v0, and a timestamp at most five minutes old) before anything reads
  the body; a forged or stale request is a 401 and nothing is stored. The workspace is the one
  `SLACK_BOT_TOKEN` belongs to (`auth.test`, asked once and kept): a request from another team
  gets a clear refusal, audited. Without the token and the secret the route answers 503 and the
  rest of the app runs.
- Acknowledge within Slack's 3 seconds whatever the work costs: every listener calls `ack()`
  first and does the work after it, on this module's thread pool (Bolt waits only for the ack).
  Nothing before the ack touches the database, so a slow turn holding SQLite's write lock can
  never delay one. Answers go back through `respond()` (the command's or the click's
  `response_url`), `chat.postMessage` (DMs) or `views.update` (modals, which open at once with
  a loading view and are filled in when the data is there).
- Exactly once: a DM event is claimed by its `event_id` with one insert into `message_receipts`
  (channel "slack") before the engine runs, so Slack's retries (`X-Slack-Retry-Num`) never run
  it again or post twice. Bot messages, edits, deletions and the bot's own events are ignored.
- Authorize: the user's role comes from the `staff_users` table (scheduler/staff_users.py), at
  every command, click and message; anyone else gets an ephemeral "not authorized", audited.
- Render: answers (bot/staff/desk.py's `StaffAnswer`) become Block Kit: slot choices as buttons, a
  select menu past five; a booking confirmation with Cancel and Reschedule buttons; the day's
  schedule in sections. Text is escaped, so nothing a patient or staff typed becomes markup.

In modules: this one mounts the route and verifies; listeners.py is the Bolt app (the wiring and
the one-workspace check), its listeners in commands.py (slash commands), actions.py (buttons,
menus, modals) and events.py (DMs, App Home), over answering.py (the work after the ack, and
answers through `respond()`); blocks.py renders Block Kit; notices.py posts to the staff channel.

What to say and do is decided in bot/staff/ (desk.py, chat.py, admin.py); the staff channel's
notices (bot/staff/notices.py) are posted by `SlackNoticePoster`.
"""

from __future__ import annotations

import logging
import re

from flask import Blueprint, Flask, Response, current_app, request
from slack_sdk.signature import SignatureVerifier

from adapters.refusals import RefusalLedger, ledger_of
from bot.services import Services
from bot.settings import Settings

log = logging.getLogger("scheduler.slack")

EXTENSION = "clinic_scheduler_slack"
# X-Slack-Request-Timestamp: Unix seconds, ASCII digits only (str.isdigit takes "²" too).
_TIMESTAMP = re.compile(r"[0-9]{1,12}")

blueprint = Blueprint("slack", __name__)


@blueprint.post("/slack/events")
def slack_events():
    staff_app: SlackStaffApp | None = current_app.extensions.get(EXTENSION)
    if staff_app is None:
        return Response(
            "Slack is not configured: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET "
            "to accept Slack requests\n",
            status=503,
            mimetype="text/plain",
        )
    ledger, source = ledger_of(current_app), request.remote_addr or "unknown"
    if ledger.limited(source):  # refused too often this minute: not even verified
        return Response(
            "too many refused requests from this address; wait a minute\n",
            status=429,
            mimetype="text/plain",
        )
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    if not _TIMESTAMP.fullmatch(timestamp):
        # slack_sdk's verifier reads the timestamp with int(): "abc", "1e3", "-" or nothing
        # would raise inside Bolt (a 500). A timestamp that is not whole seconds is unsigned.
        return _invalid(ledger, source, "bad_timestamp")
    try:
        response = staff_app.handler.handle(request)
    except ValueError:
        # Bolt parses the body as it wraps the request, before its signature check: a body that
        # is not JSON where JSON belongs is refused here, as unsigned (401) or malformed (400).
        # The Bolt app is there only when Slack is configured (init_app): the secret is set.
        assert staff_app.services.settings.slack_signing_secret is not None
        signed = SignatureVerifier(staff_app.services.settings.slack_signing_secret).is_valid(
            request.get_data(), timestamp, request.headers.get("X-Slack-Signature", "")
        )
        return (
            Response("malformed request\n", status=400, mimetype="text/plain")
            if signed
            else _invalid(ledger, source, "bad_signature")
        )
    if response.status_code == 401:  # Bolt's signature or replay-window check said no
        ledger.refused(source, "slack", "bad_signature")
    return response


def _invalid(ledger: RefusalLedger, source: str, reason: str) -> Response:
    ledger.refused(source, "slack", reason)
    return Response("invalid request\n", status=401, mimetype="text/plain")


def configured(settings: Settings) -> bool:
    return bool(settings.slack_bot_token and settings.slack_signing_secret)


def init_app(app: Flask, services: Services) -> None:
    """Mount /slack/events (503 until Slack is configured) and, when it is, the Bolt app."""
    app.register_blueprint(blueprint)
    if configured(services.settings):
        app.extensions[EXTENSION] = SlackStaffApp(services)


# What app.py and the jobs take from the Slack adapter.
from adapters.slack.listeners import SlackStaffApp  # noqa: E402
from adapters.slack.notices import staff_channel_poster, staff_notifier, web_client  # noqa: E402

__all__ = [
    "EXTENSION",
    "SlackStaffApp",
    "configured",
    "init_app",
    "staff_channel_poster",
    "staff_notifier",
    "web_client",
]
