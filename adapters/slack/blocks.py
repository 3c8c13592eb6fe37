"""Block Kit: answers as Slack renders them (slot choices as buttons, a select menu past five, the
day's schedule in sections with Attended / No-show buttons for each visit that has started and is
not marked yet, modals), every text escaped so nothing typed becomes markup.
"""

from __future__ import annotations

from bot.messages import OutboundMessage
from bot.staff import replies as say
from bot.staff.choices import plain_token
from bot.staff.desk import ProviderDay, StaffAnswer
from scheduler.clinic import Clinic

MAX_BUTTONS = 5
MAX_ELEMENTS = 24  # Slack allows 25 elements in an actions block: 12 visits' two buttons
ATTENDANCE_ACTIONS = {"fulfilled": "attended", "noshow": "noshow"}  # the buttons' action_id words
SECTION_CHARS = 2900  # Slack allows 3,000 characters in a section's text


def escape(text: str) -> str:
    """Slack's three control characters, escaped: no name or typed text becomes markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plain(text: str, limit: int = 75) -> dict:
    return {
        "type": "plain_text",
        "text": text if len(text) <= limit else text[: limit - 3] + "...",
        "emoji": False,
    }


def sections(text: str) -> list[dict]:
    """Text as mrkdwn sections of at most Slack's size, split at line ends."""
    blocks, chunk = [], ""
    for line in escape(text).split("\n"):
        while len(line) > SECTION_CHARS:
            blocks.append(_section(line[:SECTION_CHARS]))
            line = line[SECTION_CHARS:]
        if len(chunk) + len(line) + 1 > SECTION_CHARS:
            blocks.append(_section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk or not blocks:
        blocks.append(_section(chunk or " "))
    return blocks


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


def choice_elements(answer: StaffAnswer) -> list[dict]:
    if len(answer.choices) <= MAX_BUTTONS:
        return [
            {"type": "button", "action_id": f"slot_{i}", "text": _plain(c.label), "value": c.token}
            for i, c in enumerate(answer.choices, 1)
        ]
    return [
        {
            "type": "static_select",
            "action_id": "slot_select",
            "placeholder": _plain("Choose a time"),
            "options": [{"text": _plain(c.label), "value": c.token} for c in answer.choices],
        }
    ]


def answer_blocks(answer: StaffAnswer, clinic: Clinic) -> list[dict]:
    if answer.schedule is not None and answer.day is not None:
        blocks = schedule_blocks(clinic, answer.day, answer.schedule, note=answer.note)
    else:
        blocks = sections(answer.text)
    if answer.choices:
        blocks.append(
            {"type": "actions", "block_id": "choices", "elements": choice_elements(answer)}
        )
    if answer.appointment_id is not None:
        ident = answer.appointment_id
        blocks.append(
            {
                "type": "actions",
                "block_id": "appointment",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "appointment_reschedule",
                        "text": _plain("Reschedule"),
                        "value": f"r:{ident}",
                    },
                    {
                        "type": "button",
                        "action_id": "appointment_cancel",
                        "text": _plain("Cancel"),
                        "value": f"c:{ident}",
                        "style": "danger",
                        "confirm": {
                            "title": _plain("Cancel appointment?"),
                            "text": _plain(f"Cancel appointment #{ident}?", 300),
                            "confirm": _plain("Cancel it"),
                            "deny": _plain("Keep it"),
                        },
                    },
                ],
            }
        )
    if answer.confirmation is not None:
        c = answer.confirmation
        blocks.append(
            {
                "type": "actions",
                "block_id": "confirm",
                "elements": [
                    {
                        "type": "button",
                        "action_id": c.action,
                        "text": _plain(c.label),
                        "value": c.token,
                        "style": "danger" if c.danger else "primary",
                        "confirm": {
                            "title": _plain("Are you sure?"),
                            "text": _plain(c.question, 300),
                            "confirm": _plain(c.yes),
                            "deny": _plain(c.no),
                        },
                    }
                ],
            }
        )
    return blocks


def schedule_blocks(
    clinic: Clinic, day, entries: tuple[ProviderDay, ...] | list, note: str | None = None
) -> list[dict]:
    """The day per provider; under each, the Attended / No-show buttons of its visits that have
    started and are not marked yet. `note`: what a click just did, above it all."""
    blocks: list[dict] = sections(note) if note else []
    blocks.append({"type": "header", "text": _plain(say.schedule_title(clinic, day), 150)})
    for entry in entries:
        lines = [say.provider_summary(entry)]
        lines += [say.schedule_line(v, clinic.zone) for v in entry.appointments]
        blocks += sections("\n".join(lines))
        blocks += attendance_blocks(entry)
        blocks.append({"type": "divider"})
    return blocks[:100]


def attendance_blocks(entry: ProviderDay) -> list[dict]:
    """Buttons "#42 Attended" and "#42 No-show" for each of the provider's visits to mark; the
    value is the action token ("f:42", "n:42", bot/staff/choices.py), checked again at the
    click."""
    buttons = [
        {
            "type": "button",
            "action_id": f"{ATTENDANCE_ACTIONS[outcome]}_{view.id}",
            "text": _plain(say.attendance_label(view.id, outcome)),
            "value": plain_token(outcome, view.id),
            **({"style": "primary"} if outcome == "fulfilled" else {}),
        }
        for view in entry.appointments
        if view.can_mark
        for outcome in ATTENDANCE_ACTIONS
    ]
    return [
        {
            "type": "actions",
            "block_id": f"attendance_{entry.key}_{i // MAX_ELEMENTS}",
            "elements": buttons[i : i + MAX_ELEMENTS],
        }
        for i in range(0, len(buttons), MAX_ELEMENTS)
    ]


def home_view(
    clinic: Clinic, day, entries: list[ProviderDay] | tuple, note: str | None = None
) -> dict:
    return _home(schedule_blocks(clinic, day, entries, note=note)[:98])


def home_answer_view(answer: StaffAnswer, clinic: Clinic) -> dict:
    """The App Home after a click in it: the outcome on top of the day's schedule it answered
    with (or alone, when it has none)."""
    if answer.schedule is not None and answer.day is not None:
        return home_view(clinic, answer.day, answer.schedule, note=answer.note)
    return _home(sections(answer.text))


def _home(blocks: list[dict]) -> dict:
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(say.home_footer())}]}
    )
    return {"type": "home", "blocks": blocks}


def message_blocks(reply: OutboundMessage) -> list[dict]:
    """A DM reply: its text, options as a numbered list (answer with the number)."""
    return sections(reply.as_text())


def loading_view(title: str) -> dict:
    return {
        "type": "modal",
        "callback_id": "loading",
        "title": _plain(title, 24),
        "close": _plain("Close", 24),
        "blocks": sections(say.working()),
    }


def answer_view(answer: StaffAnswer, clinic: Clinic, title: str) -> dict:
    return {
        "type": "modal",
        "callback_id": "answer",
        "title": _plain(title, 24),
        "close": _plain("Close", 24),
        "blocks": answer_blocks(answer, clinic)[:100],
    }


def booking_view(token: str) -> dict:
    """Book a free slot (from `/appt slots`) for a patient given by phone and name."""
    return {
        "type": "modal",
        "callback_id": "book_patient",
        "private_metadata": token,
        "title": _plain("Book", 24),
        "submit": _plain("Book", 24),
        "close": _plain("Cancel", 24),
        "blocks": [
            {
                "type": "input",
                "block_id": "phone",
                "label": _plain("Patient's phone"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "max_length": 30,
                    "placeholder": _plain("+1 212 555 0123"),
                },
            },
            {
                "type": "input",
                "block_id": "name",
                "optional": True,
                "label": _plain("Full name (for a new patient)"),
                "element": {"type": "plain_text_input", "action_id": "value", "max_length": 80},
            },
        ],
    }
