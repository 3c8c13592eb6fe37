"""What every Slack listener shares once it has acknowledged: the desks it asks, the work run
after the ack (a failure becomes an apology with a reference, never a silent drop), and answers
sent back through the command's or the click's `respond()`, rendered by blocks.py."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from adapters.slack.blocks import answer_blocks, escape
from bot.services import Services
from bot.staff import replies as say
from bot.staff.admin import AdminDesk
from bot.staff.desk import StaffAnswer, StaffDesk
from scheduler.clinic import Clinic

log = logging.getLogger("scheduler.slack")


class _Responder(Protocol):
    """A command's or a click's answer, through `respond()`; `replace`: over the message."""

    def __call__(self, answer: StaffAnswer, *, replace: bool = False) -> None: ...


class Answering:
    """The listeners' common ground; SlackStaffApp (listeners.py) sets the attributes."""

    services: Services
    clinic: Clinic
    desk: StaffDesk
    admin: AdminDesk
    executor: ThreadPoolExecutor

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

    def _responder(self, respond) -> _Responder:
        def reply(answer: StaffAnswer, *, replace: bool = False) -> None:
            respond(
                text=escape(answer.text)[:3000],
                blocks=answer_blocks(answer, self.clinic),
                response_type="ephemeral",
                replace_original=replace,
            )

        return reply
