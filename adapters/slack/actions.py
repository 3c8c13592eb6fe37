"""Buttons, menus and modals: a slot choice, Cancel, Reschedule, Erase, and a day schedule's
Attended / No-show clicks, and the booking modal's submission. A click's answer goes over the
message it came from, into its modal, or (a click in the App Home) into the Home tab published
again; a modal opens at once with a loading view and is filled in when the data is there."""

from __future__ import annotations

import logging
import re

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from adapters.slack.answering import Answering
from adapters.slack.blocks import answer_view, booking_view, home_answer_view, loading_view
from bot.staff import replies as say
from bot.staff.desk import StaffAnswer, parse_action
from bot.tools import Caller

log = logging.getLogger("scheduler.slack")


class Interactions(Answering):
    """The listeners of block actions and view submissions."""

    # --- buttons and menus -----------------------------------------------------------------------

    def _choice(self, ack, body, action, respond, client):
        """A slot choice (book or move), a Cancel button, or a schedule's Attended or No-show
        button: act, then show the outcome (for attendance, with the schedule again)."""
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
        """An admin's confirmed button: Erase, or Apply of an optimiser plan."""
        ack()
        reply = self._click_reply(body, respond, client)
        name = "optimise_apply" if action.get("action_id") == "optimise_apply" else "patient_erase"

        def work() -> None:
            caller = self._caller(body, name, admin=True)
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
        """Where a click's answer goes: over the message it came from, into its modal, or into
        the App Home it was clicked in."""
        view = body.get("view")
        if (body.get("container") or {}).get("type") == "view" and view:
            if view.get("type") == "home":
                return self._home_reply(client, (body.get("user") or {}).get("id", ""))
            return self._view_reply(client, view.get("id"), _view_title(view))
        responder = self._responder(respond)
        return lambda answer: responder(answer, replace=True)

    def _home_reply(self, client: WebClient, user: str):
        """A click's answer in the App Home: the Home tab published again, the outcome on top
        of the day's schedule it answered with (or alone, when it has none)."""

        def reply(answer: StaffAnswer) -> None:
            client.views_publish(user_id=user, view=home_answer_view(answer, self.clinic))

        return reply

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
