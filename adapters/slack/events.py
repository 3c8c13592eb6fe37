"""The Events API: a staff member's DM to the bot, claimed once by its `event_id` and handed to
the engine; App Home, published fresh each time the tab is opened; every other event ignored."""

from __future__ import annotations

from slack_sdk import WebClient
from sqlalchemy.exc import IntegrityError

from adapters.slack.answering import Answering
from adapters.slack.blocks import escape, home_view, message_blocks, sections
from bot import logfiles
from bot.messages import InboundMessage
from bot.staff import replies as say
from scheduler.models import MessageReceipt

CHANNEL = "slack"


class Events(Answering):
    """The listeners of message and app_home_opened events, and of any other event."""

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
