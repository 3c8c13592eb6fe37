"""The Bolt app and its listeners: every slash command, click, modal and event, acknowledged at once
and worked on this app's thread pool; the answers rendered by blocks.py.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from slack_bolt import App, BoltResponse
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError

from adapters.slack.blocks import (
    answer_blocks,
    answer_view,
    booking_view,
    escape,
    home_view,
    loading_view,
    message_blocks,
    sections,
)
from adapters.slack.notices import web_client
from bot import logfiles
from bot.audit import audit_mirror
from bot.messages import InboundMessage
from bot.services import Services
from bot.staff import replies as say
from bot.staff.admin import AdminDesk
from bot.staff.desk import StaffAnswer, StaffDesk, parse_action
from bot.tools import Caller
from scheduler.clinic import Clinic
from scheduler.models import MessageReceipt

log = logging.getLogger("scheduler.slack")

CHANNEL = "slack"
_WORKERS = 16
# Bolt logs a refused request's body at INFO: it may hold what staff typed about a patient.
_bolt_log = logging.getLogger("scheduler.slack_bolt")
_bolt_log.setLevel(logging.WARNING)


class _Responder(Protocol):
    """A command's or a click's answer, through `respond()`; `replace`: over the message."""

    def __call__(self, answer: StaffAnswer, *, replace: bool = False) -> None: ...


class SlackStaffApp:
    """The Bolt app and its listeners, bound to the app's services."""

    def __init__(self, services: Services, *, executor: ThreadPoolExecutor | None = None):
        self.services = services
        self.clinic: Clinic = services.clinic
        self.desk = StaffDesk(
            sessions=services.sessions,
            clinic=services.clinic,
            vault=services.vault,
            audit=services.audit,
            clock=services.clock,
            reminder_policy=services.settings.reminder_policy(),
        )
        self.admin = AdminDesk(
            sessions=services.sessions,
            clinic=services.clinic,
            vault=services.vault,
            audit=services.audit,
            clock=services.clock,
            audit_mirror=audit_mirror(services.settings),
        )
        self.executor = executor or ThreadPoolExecutor(
            max_workers=_WORKERS, thread_name_prefix="slack"
        )
        self.bolt = App(
            client=web_client(services.settings),
            signing_secret=services.settings.slack_signing_secret,
            token_verification_enabled=False,  # auth.test on the first request
            process_before_response=False,
            logger=_bolt_log,
            listener_executor=self.executor,
        )
        self.handler = SlackRequestHandler(self.bolt)
        self._register()

    def close(self) -> None:
        """Let the work in progress finish (tests, and a clean shutdown)."""
        self.executor.shutdown(wait=True)

    # --- wiring ---------------------------------------------------------------------------------

    def _register(self) -> None:
        bolt = self.bolt
        bolt.middleware(self._same_workspace)
        bolt.command("/appt")(self._appt)
        bolt.command("/appt-admin")(self._appt_admin)
        bolt.command(re.compile(r".*"))(self._unknown_command)
        bolt.action(re.compile(r"^slot_(\d+|select)$"))(self._choice)
        bolt.action("appointment_cancel")(self._choice)
        bolt.action("appointment_reschedule")(self._reschedule)
        bolt.action("patient_erase")(self._erase)
        bolt.action(re.compile(r".*"))(self._unknown_action)
        bolt.view("book_patient")(self._book_patient)
        bolt.view(re.compile(r".*"))(self._unknown_view)
        bolt.event("message")(self._message)
        bolt.event("app_home_opened")(self._home)
        bolt.event(re.compile(r".*"))(self._any_event)

    def _same_workspace(self, req, context, body, next):
        """Only the workspace the bot token belongs to (auth.test, kept by Bolt)."""
        authorized = context.authorize_result
        expected = authorized.team_id if authorized is not None else None
        team = context.team_id
        if expected and team and team != expected:
            user = context.user_id or ""
            self.executor.submit(
                self._quietly, self.desk.refuse, user, "slack_request", "other_workspace"
            )
            if body.get("command"):
                return BoltResponse(
                    status=200, body={"response_type": "ephemeral", "text": say.other_workspace()}
                )
            return BoltResponse(status=200, body="")
        return next()

    def _quietly(self, fn: Callable, *args: Any) -> None:
        try:
            fn(*args)
        except Exception as exc:  # after the ack nobody waits for it: log, carry on
            log.error("slack background step failed (%s)", type(exc).__name__)

    def _guarded(self, reply: Callable[[StaffAnswer], None], work: Callable[[], None]) -> None:
        """Run the work after the ack; a failure becomes an apology with a reference."""
        try:
            work()
        except Exception:  # after the ack, a failure can only become an apology
            reference = uuid.uuid4().hex[:12]
            log.exception("slack request failed (ref %s)", reference)
            try:
                reply(StaffAnswer(say.internal_error(reference), ok=False))
            except Exception as exc:  # Slack itself failing: the log is all that is left
                log.error("slack apology not sent (ref %s, %s)", reference, type(exc).__name__)

    # --- slash commands ----------------------------------------------------------------------------

    def _appt(self, ack, command, respond):
        ack()
        reply = self._responder(respond)
        self._guarded(reply, lambda: self._run_command(command, reply, admin=False))

    def _appt_admin(self, ack, command, respond, client):
        ack()
        reply = self._responder(respond)
        self._guarded(reply, lambda: self._run_command(command, reply, admin=True, client=client))

    def _run_command(
        self,
        command: dict,
        reply: Callable[[StaffAnswer], None],
        *,
        admin: bool,
        client: WebClient | None = None,
    ) -> None:
        user, text = command.get("user_id", ""), command.get("text") or ""
        word = (text.split() or ["help"])[0].lower()[:20]
        name = "appt-admin" if admin else "appt"
        caller = self.desk.authorize(user, f"{name} {_action_word(word)}", admin=admin)
        if caller is None:
            staff = admin and self.desk.role_of(user) is not None
            reply(StaffAnswer(say.admins_only() if staff else say.not_authorized(), ok=False))
            return
        answer = (self.admin if admin else self.desk).command(caller, text)
        if answer.export is not None and client is not None:
            answer = self._send_export(client, user, answer)
        reply(answer)
        logfiles.write(
            "orchestration", "slack_command", command=name, word=_action_word(word), ok=answer.ok
        )

    def _send_export(self, client: WebClient, user: str, answer: StaffAnswer) -> StaffAnswer:
        """The export goes to the admin alone: a file in their DM with the bot."""
        assert answer.export is not None  # `_run_command` sends only an answer with an export
        try:
            channel = client.conversations_open(users=user)["channel"]["id"]
            client.files_upload_v2(
                channel=channel,
                content=answer.export.content,
                filename=answer.export.filename,
                title=answer.export.filename,
            )
        except (SlackApiError, KeyError, TypeError) as exc:
            reference = uuid.uuid4().hex[:12]
            log.error("export not sent (ref %s, %s)", reference, type(exc).__name__)
            return StaffAnswer(say.export_failed(reference), ok=False)
        return StaffAnswer(answer.text)

    def _unknown_command(self, ack, command):
        ack(
            response_type="ephemeral",
            text=escape(
                say.unknown_command(
                    command.get("command", "?"), [say.APPT_USAGE["help"], say.ADMIN_USAGE["help"]]
                )
            ),
        )

    def _responder(self, respond) -> _Responder:
        def reply(answer: StaffAnswer, *, replace: bool = False) -> None:
            respond(
                text=escape(answer.text)[:3000],
                blocks=answer_blocks(answer, self.clinic),
                response_type="ephemeral",
                replace_original=replace,
            )

        return reply

    # --- buttons and menus -----------------------------------------------------------------------

    def _choice(self, ack, body, action, respond, client):
        """A slot choice (book or move) or a Cancel button: act, then show the outcome."""
        ack()
        reply = self._click_reply(body, respond, client)
        self._guarded(reply, lambda: self._act(body, action, reply, client))

    def _act(self, body: dict, action: dict, reply, client: WebClient) -> None:
        token = _value(action)
        parsed = parse_action(token)
        if parsed is None or token is None:  # parse_action(None) is None: this only narrows
            reply(StaffAnswer(say.invalid_action(), ok=False))
            return
        if parsed.op == "slot":
            self._open_booking_modal(body, token, client)
            return
        caller = self._caller(body, "slack_action")
        if caller is None:
            reply(StaffAnswer(say.not_authorized(), ok=False))
            return
        answer = self.desk.act(caller, token, once=_container_key(body))
        reply(answer)

    def _reschedule(self, ack, body, action, client):
        """Reschedule: a modal, opened at once with a loading view, then filled with times."""
        ack()
        view_id = self._open_loading(client, body, "Reschedule")
        reply = self._view_reply(client, view_id, "Reschedule")
        self._guarded(reply, lambda: self._fill_reschedule(body, action, reply))

    def _fill_reschedule(self, body: dict, action: dict, reply) -> None:
        parsed = parse_action(_value(action))
        if parsed is None or parsed.op != "reschedule":
            reply(StaffAnswer(say.invalid_action(), ok=False))
            return
        caller = self._caller(body, "slack_action")
        if caller is None:
            reply(StaffAnswer(say.not_authorized(), ok=False))
            return
        reply(self.desk.act(caller, _value(action)))

    def _erase(self, ack, body, action, respond, client):
        ack()
        reply = self._click_reply(body, respond, client)

        def work() -> None:
            caller = self._caller(body, "patient_erase", admin=True)
            if caller is None:
                reply(StaffAnswer(say.admins_only(), ok=False))
                return
            reply(self.admin.act(caller, _value(action)))

        self._guarded(reply, work)

    def _unknown_action(self, ack, respond):
        ack()
        if respond is not None:  # a click in a message (a modal has no response_url)
            reply = self._responder(respond)
            self._guarded(reply, lambda: reply(StaffAnswer(say.invalid_action(), ok=False)))

    def _caller(self, body: dict, action: str, admin: bool = False) -> Caller | None:
        user = (body.get("user") or {}).get("id", "")
        return self.desk.authorize(user, action, admin=admin)

    def _click_reply(self, body: dict, respond, client: WebClient):
        """Where a click's answer goes: over the message it came from, or into its modal."""
        view = body.get("view")
        if (body.get("container") or {}).get("type") == "view" and view:
            return self._view_reply(client, view.get("id"), _view_title(view))
        responder = self._responder(respond)
        return lambda answer: responder(answer, replace=True)

    # --- modals -----------------------------------------------------------------------------------

    def _open_loading(self, client: WebClient, body: dict, title: str) -> str | None:
        try:
            opened = client.views_open(
                trigger_id=body.get("trigger_id", ""), view=loading_view(title)
            )
            return opened["view"]["id"]
        except (SlackApiError, KeyError, TypeError) as exc:
            log.warning("modal not opened (%s)", type(exc).__name__)
            return None

    def _view_reply(self, client: WebClient, view_id: str | None, title: str):
        def reply(answer: StaffAnswer) -> None:
            if view_id is None:
                return
            client.views_update(view_id=view_id, view=answer_view(answer, self.clinic, title))

        return reply

    def _open_booking_modal(self, body: dict, token: str, client: WebClient) -> None:
        client.views_open(trigger_id=body.get("trigger_id", ""), view=booking_view(token))

    def _book_patient(self, ack, body, view, client):
        """The booking modal's submission: checked at once, booked after the ack."""
        values = (view.get("state") or {}).get("values") or {}
        phone = ((values.get("phone") or {}).get("value") or {}).get("value") or ""
        name = ((values.get("name") or {}).get("value") or {}).get("value") or ""
        if not re.match(r"^\s*\+?[\d().\- ]{7,25}\s*$", phone):
            ack(response_action="errors", errors={"phone": say.bad_phone()})
            return
        ack(response_action="update", view=loading_view("Book"))
        reply = self._view_reply(client, view.get("id"), "Book")

        def work() -> None:
            caller = self._caller(body, "slack_booking")
            if caller is None:
                reply(StaffAnswer(say.not_authorized(), ok=False))
                return
            reply(self.desk.book_new_patient(caller, view.get("private_metadata"), phone, name))

        self._guarded(reply, work)

    def _unknown_view(self, ack):
        ack()

    # --- events -----------------------------------------------------------------------------------

    def _message(self, event, body, context, client):
        """A DM to the bot: staff scheduling in plain words, through the engine. (Bolt acks
        an event before its listener runs, on the pool.)"""
        if _person_in_dm(event, context):
            self._guarded(lambda answer: None, lambda: self._dm(event, body, client))

    def _dm(self, event: dict, body: dict, client: WebClient) -> None:
        event_id, user, channel = (
            body.get("event_id", ""),
            event.get("user", ""),
            event.get("channel", ""),
        )
        if not self._claim(event_id):
            logfiles.write("orchestration", "slack_repeat", event_id=event_id)
            return
        caller = self.desk.authorize(user, "slack_dm")
        if caller is None:
            client.chat_postEphemeral(channel=channel, user=user, text=say.not_authorized())
            return
        inbound = InboundMessage(
            channel=CHANNEL,
            sender=user,
            text=event.get("text") or "",
            message_id=event_id,
            received_at=self.services.clock(),
            role=caller.role,
        )
        for reply in self.services.conversation.handle(inbound):
            client.chat_postMessage(
                channel=channel,
                text=escape(reply.as_text())[:3000],
                blocks=message_blocks(reply),
                unfurl_links=False,
            )

    def _claim(self, event_id: str) -> bool:
        """Claim the event id once for all processes (False: a retry, or no id at all)."""
        if not event_id or len(event_id) > 100:
            return False
        try:
            with self.services.sessions.begin() as db:
                db.add(
                    MessageReceipt(
                        channel=CHANNEL,
                        external_id=f"event:{event_id}",
                        created_at=self.services.clock(),
                    )
                )
            return True
        except IntegrityError:
            return False

    def _home(self, event, client, request):
        """App Home: today's schedule, published fresh each time the tab is opened."""
        if event.get("tab", "home") != "home" or request.headers.get("x-slack-retry-num"):
            return
        user = event.get("user", "")
        self._guarded(lambda answer: None, lambda: self._publish_home(user, client))

    def _publish_home(self, user: str, client: WebClient) -> None:
        caller = self.desk.authorize(user, "slack_home")
        if caller is None:
            view = {"type": "home", "blocks": sections(say.home_not_authorized())}
        else:
            day, entries = self.desk.home(caller)
            view = home_view(self.clinic, day, entries)
        client.views_publish(user_id=user, view=view)

    def _any_event(self, ack):
        ack()


def _person_in_dm(event: dict, context) -> bool:
    """A person's new message in a DM with the bot: not a bot, not an edit, not our own."""
    if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
        return False
    user = event.get("user")
    return bool(user) and user != context.bot_user_id


def _value(action: dict) -> str | None:
    if not isinstance(action, dict):
        return None
    if "selected_option" in action:
        return (action.get("selected_option") or {}).get("value")
    value = action.get("value")
    return value if isinstance(value, str) else None


def _container_key(body: dict) -> str | None:
    container = body.get("container") or {}
    channel, ts = container.get("channel_id"), container.get("message_ts")
    if channel and ts:
        return f"{channel}:{ts}"
    view = body.get("view") or {}
    return f"view:{view['id']}" if view.get("id") else None


def _view_title(view: dict) -> str:
    return ((view.get("title") or {}).get("text") or "Clinic")[:24]


def _action_word(word: str) -> str:
    """The subcommand as a fixed word for the audit trail (never free text)."""
    known = {
        "today",
        "slots",
        "book",
        "cancel",
        "move",
        "find",
        "help",
        "waitlist",
        "users",
        "logs",
        "audit",
        "reminders",
        "patient",
    }
    return word if word in known else "unknown"
