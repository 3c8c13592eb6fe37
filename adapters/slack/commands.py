"""The slash commands: `/appt` for staff and `/appt-admin` for admins, authorized at every
command, answered through `respond()`; an admin's patient export goes to their DM as a file."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from adapters.slack.answering import Answering
from adapters.slack.blocks import escape
from bot import logfiles
from bot.staff import replies as say
from bot.staff.desk import StaffAnswer

log = logging.getLogger("scheduler.slack")


class SlashCommands(Answering):
    """The listeners of /appt, /appt-admin and any other command."""

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


def _action_word(word: str) -> str:
    """The subcommand as a fixed word for the audit trail (never free text)."""
    word = "noshow" if word == "no-show" else word
    known = {
        "today",
        "slots",
        "book",
        "cancel",
        "move",
        "find",
        "help",
        "waitlist",
        "attended",
        "noshow",
        "urgent",
        "urgency",
        "users",
        "logs",
        "audit",
        "reminders",
        "patient",
        "optimise",
    }
    return word if word in known else "unknown"
