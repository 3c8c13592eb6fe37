"""The Bolt app: its listeners wired to Slack's commands, actions, views and events, each
acknowledged at once and worked on this app's thread pool, for one workspace only.

The listeners themselves are in commands.py (slash commands), actions.py (buttons, menus and
modals) and events.py (DMs and App Home), over answering.py (work after the ack, and answers).
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App, BoltResponse
from slack_bolt.adapter.flask import SlackRequestHandler

from adapters.slack.actions import Interactions
from adapters.slack.commands import SlashCommands
from adapters.slack.events import Events
from adapters.slack.notices import web_client
from bot.audit.anchors import audit_mirror
from bot.services import Services
from bot.staff import replies as say
from bot.staff.admin import AdminDesk
from bot.staff.desk import StaffDesk
from scheduler.clinic import Clinic

_WORKERS = 16
# Bolt logs a refused request's body at INFO: it may hold what staff typed about a patient.
_bolt_log = logging.getLogger("scheduler.slack_bolt")
_bolt_log.setLevel(logging.WARNING)


class SlackStaffApp(SlashCommands, Interactions, Events):
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
        bolt.action(re.compile(r"^(attended|noshow)_\d{1,12}$"))(self._choice)
        bolt.action("appointment_reschedule")(self._reschedule)
        bolt.action("patient_erase")(self._erase)
        bolt.action("optimise_apply")(self._erase)  # an admin's button, like Erase
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
