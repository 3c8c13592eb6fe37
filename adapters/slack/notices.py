"""The staff channel: notices of what patients did (bot/staff/notices.py decides, this posts), and
the poster of the digest and the audit checkpoint. Also the Web API client every part uses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk import WebClient

from adapters.slack.blocks import escape
from bot import logfiles
from bot.settings import Settings
from bot.staff import notice_replies as say
from bot.staff.notices import StaffNotice, StaffNotifier
from scheduler.clinic import Clinic

log = logging.getLogger("scheduler.slack")
DEFAULT_API_URL = "https://slack.com/api/"


def web_client(settings: Settings) -> WebClient:
    base = (settings.slack_api_url or DEFAULT_API_URL).rstrip("/") + "/"
    return WebClient(token=settings.slack_bot_token, base_url=base, timeout=10)


class SlackNoticePoster:
    """Posts a `StaffNotice` to SLACK_STAFF_CHANNEL (ids and times only, see bot/staff/notices.py)."""

    def __init__(self, client: WebClient, channel: str, clinic: Clinic):
        self.client, self.channel, self.clinic = client, channel, clinic

    def __call__(self, notice: StaffNotice) -> None:
        text = say.notice(notice, self.clinic)
        self.client.chat_postMessage(
            channel=self.channel, text=escape(text), unfurl_links=False, unfurl_media=False
        )
        logfiles.write(
            "orchestration",
            "slack_notice",
            kind=notice.kind,
            patient_id=notice.patient_id,
            appointment_id=notice.appointment_id,
        )


def staff_channel_poster(settings: Settings) -> Callable[[str], None] | None:
    """Posts a text (the digest, the audit checkpoint) to SLACK_STAFF_CHANNEL; None when Slack
    or the channel is not configured."""
    if not (settings.slack_bot_token and settings.slack_staff_channel):
        return None
    client, channel = web_client(settings), settings.slack_staff_channel

    def post(text: str) -> None:
        client.chat_postMessage(channel=channel, text=text, unfurl_links=False)

    return post


def staff_notifier(settings: Settings, clinic: Clinic) -> StaffNotifier:
    """The notifier for build_services: posting to the staff channel when Slack and
    SLACK_STAFF_CHANNEL are set, a no-op otherwise."""
    if not (settings.slack_bot_token and settings.slack_staff_channel):
        return StaffNotifier()
    return StaffNotifier(
        SlackNoticePoster(web_client(settings), settings.slack_staff_channel, clinic)
    )
