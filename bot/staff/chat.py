"""The staff conversation: clinic staff scheduling in plain words (a DM with the bot in Slack, or
`python -m adapters.console --staff`). The engine hands every staff turn here; patients never
reach it.

Staff act for any patient, so a request names the patient by phone number ("book a checkup for
+1 212 555 0199 tomorrow morning"); a number new to the clinic makes a new patient, after the
bot asks for their name. Appointments are named by their number ("move 42 to friday 3pm",
"cancel #42"). Like the patients' dialogue, it asks only for what is missing, offers numbered
times, and keeps its small state encrypted in `SessionStore` (a patient id, never a name; a
phone number only until the patient record exists).

What it can do: book, find open slots, show a provider's day, reschedule, cancel, look a patient
up, and put a patient on the waitlist ("put +1 212 555 0123 on the waitlist for a checkup, urgent").
Every change goes through the `StaffDesk`, so through
`SchedulingTools` with a staff `Caller`: the same rules and audit trail as everywhere else.

This module reads each message (the request it makes, a phone number, an appointment number) and
keeps the conversation's steps; what each request then does is bot/staff/chat_requests.py's.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.messages import InboundMessage
from bot.patient.dialogue import Reply, entities, is_thanks, merge
from bot.sessions import SessionStore
from bot.staff import chat_replies
from bot.staff import replies as say
from bot.staff.chat_requests import ChatRequests, ChatTurn, without
from bot.staff.desk import StaffDesk
from bot.staff.fields import phone_in
from bot.tools import Caller
from bot.understanding.nlu import Understanding

# What one message may hold: longer ones are refused whole rather than read in part.
MAX_TEXT = 1000

_ID_AFTER_VERB = re.compile(
    r"\b(?:cancel|move|reschedule|change|push)\s+(?:the\s+)?"
    r"(?:appointment|appt|booking|visit)?\s*(?:number\s+|no\.?\s*)?"
    r"#?(\d{1,9})\b"
)
_ID_TAGGED = re.compile(r"(?:#|\b(?:appointment|appt|booking|ref|id)\s*#?\s*)(\d{1,9})\b")

_INTENTS = (
    ("help", re.compile(r"^(?:help|\?+|commands|what can you do\??|menu)$")),
    ("waitlist", re.compile(r"\bwait\s*-?\s*list")),
    ("cancel", re.compile(r"\bcancel")),
    ("move", re.compile(r"\b(?:move|reschedule|rebook|push back|change the time)\b")),
    (
        "book",
        re.compile(
            r"\b(?:book|make an appointment|schedule (?:a|an|her|him|them|"
            r"the patient)|add (?:a|an) (?:appointment|visit))\b"
        ),
    ),
    (
        "slots",
        re.compile(
            r"\b(?:slots?|openings?|open times?|free|available|availability|"
            r"what'?s open|whats open|open)\b"
        ),
    ),
    ("schedule", re.compile(r"\bwho(?:'s| is| are)? (?:booked|coming|scheduled|seeing|on)\b")),
    ("find", re.compile(r"\b(?:find|look ?up|search|who is|details)\b")),
    (
        "schedule",
        re.compile(
            r"\b(?:schedule|agenda|calendar|day|list|who'?s in|whos in|"
            r"appointments|today)\b"
        ),
    ),
)


class StaffChat:
    def __init__(self, desk: StaffDesk, store: SessionStore):
        self.desk, self.store = desk, store
        self.clinic = desk.clinic
        self.requests = ChatRequests(desk)

    def respond(
        self, db: Session, message: InboundMessage, text: str, now: datetime
    ) -> list[Reply]:
        """Answer one staff message inside the engine's transaction (audited in and out)."""
        caller = Caller(role=message.role, channel=message.channel, staff_id=message.sender)
        audit = self.desk.audit
        audit.record(
            db,
            "message_in",
            at=now,
            channel=message.channel,
            actor=caller.actor,
            message_id=message.message_id,
            detail={"chars": len(message.text or "")},
            text_=text,
        )
        if len(message.text or "") > MAX_TEXT:
            out = [Reply(say.too_long(MAX_TEXT))]
        else:
            out = self._turn(db, caller, message, text, now)
        for reply in out:
            audit.record(
                db,
                "message_out",
                at=now,
                channel=message.channel,
                actor="bot",
                message_id=message.message_id,
                detail={"kind": reply.kind},
                text_=reply.text,
            )
        return out

    # --- one turn ---------------------------------------------------------------------------------

    def _turn(
        self, db: Session, caller: Caller, message: InboundMessage, text: str, now: datetime
    ) -> list[Reply]:
        tools = self.desk.tools(db, caller, now)
        turn = ChatTurn(db, tools, now, [])
        state = self.store.load(db, message.channel, message.sender, now=now)
        phone, rest, phone_seen = phone_in(text)
        ident, rest = _appointment_in(rest)
        u = self.desk.understand(rest, now)
        intent = _intent(rest, u)
        step = state.get("step")

        if intent is not None:
            new = self._start(turn, intent, phone, phone_seen, ident, u)
        elif step is not None:
            new = self._continue(turn, state, text, phone, phone_seen, ident, u)
        elif u.appointment_type or u.date or u.provider:
            new = self._start(
                turn, "slots" if u.appointment_type else "schedule", phone, phone_seen, ident, u
            )
        elif is_thanks(text):
            turn.say(chat_replies.you_are_welcome())
            new = {}
        elif u.intent in ("confirm", "deny", "choose"):
            turn.say(chat_replies.nothing_pending())
            new = {}
        else:
            turn.say(chat_replies.chat_not_understood())
            new = {}
        if new:
            self.store.save(db, message.channel, message.sender, new, now=now)
        elif state:
            self.store.end(db, message.channel, message.sender)
        return turn.replies

    def _start(
        self,
        turn: ChatTurn,
        intent: str,
        phone: str | None,
        phone_seen: bool,
        ident: int | None,
        u: Understanding,
    ) -> dict[str, Any]:
        if intent == "help":
            turn.say(chat_replies.chat_help(self.clinic))
            return {}
        if intent == "waitlist":
            if phone is None:
                turn.say(say.bad_phone() if phone_seen else chat_replies.ask_patient_phone())
                return {}
            turn.tell(self.desk.waitlist(turn.db, turn.tools, phone, u))
            return {}
        if intent == "schedule":
            if phone is not None:  # "appointments for +1 212 ..." is a look-up
                return self.requests.find(turn, phone)
            return self.requests.schedule(turn, u)
        if intent == "find":
            if phone is None:
                turn.say(say.bad_phone() if phone_seen else chat_replies.ask_patient_phone())
                return {"step": "ask_phone", "mode": "find"}
            return self.requests.find(turn, phone)
        if intent == "cancel":
            state: dict[str, Any] = {"mode": "cancel"}
            if ident is None:
                turn.say(chat_replies.ask_appointment())
                return {**state, "step": "ask_appointment"}
            return self.requests.confirm_cancel(turn, ident)
        state = {"mode": intent, **entities(u, flag_past=False)}
        if intent == "move":
            if ident is None:
                turn.say(chat_replies.ask_appointment())
                return {**state, "step": "ask_appointment"}
            return self.requests.next_move(turn, {**state, "appointment": ident})
        if intent == "book":
            if phone_seen and phone is None:
                turn.say(say.bad_phone())
                return {**state, "step": "ask_phone"}
            if phone is not None:
                state["phone"] = phone
            return self.requests.next_book(turn, state)
        return self.requests.next_slots(turn, state)

    def _continue(
        self,
        turn: ChatTurn,
        state: dict[str, Any],
        text: str,
        phone: str | None,
        phone_seen: bool,
        ident: int | None,
        u: Understanding,
    ) -> dict[str, Any]:
        step, mode = state.get("step"), state.get("mode")
        if step == "ask_name":
            return self.requests.answer_name(turn, state, text)
        if step == "confirm_cancel":
            if u.intent == "confirm":
                turn.tell(self.desk.cancel(turn.db, turn.tools, state["appointment"]))
                return {}
            if u.intent == "deny":
                turn.say(chat_replies.kept())
                return {}
            turn.say(
                chat_replies.confirm_cancel(
                    self.desk.view(turn.tools.get_appointment(state["appointment"]))
                )
            )
            return state
        if step == "ask_phone":
            if phone is None:
                turn.say(say.bad_phone() if phone_seen else chat_replies.ask_patient_phone())
                return state
            if mode == "find":
                return self.requests.find(turn, phone)
            return self.requests.next_book(turn, {**state, "phone": phone, "step": None})
        if step == "ask_appointment":
            ident = ident if ident is not None else (u.choice if u.intent == "choose" else None)
            if ident is None:
                turn.say(chat_replies.ask_appointment())
                return state
            if mode == "cancel":
                return self.requests.confirm_cancel(turn, ident)
            return self.requests.next_move(turn, {**state, "appointment": ident, "step": None})
        if step == "offer" and u.intent == "choose" and u.choice:
            offers = state.get("offers", [])
            if 1 <= u.choice <= len(offers):
                return self.requests.take(turn, state, offers[u.choice - 1])
            if not u.date:
                turn.say(chat_replies.choose_number(len(offers)), state.get("labels", ()))
                return state
        if step == "offer" and u.intent == "deny":
            turn.say(chat_replies.ask_day(self.requests.type_name(state)))
            return {**without(state, "offers", "labels", "date", "time"), "step": "ask_day"}
        if step == "ask_type":
            types = self.clinic.appointment_types
            if (
                not u.appointment_type
                and u.intent == "choose"
                and u.choice
                and 1 <= u.choice <= len(types)
            ):
                state = {**state, "type": types[u.choice - 1].key}
            elif not u.appointment_type:
                turn.say(chat_replies.ask_type(self.clinic), [t.name for t in types])
                return state
        merged = merge(state, u, flag_past=False)
        if merged == state and step != "ask_type":
            turn.say(_reprompt(step, state), state.get("labels", ()))
            return state
        return self._next(turn, {**merged, "step": None})

    def _next(self, turn: ChatTurn, state: dict[str, Any]) -> dict[str, Any]:
        mode = state.get("mode")
        if mode == "book":
            return self.requests.next_book(turn, state)
        if mode == "move":
            return self.requests.next_move(turn, state)
        return self.requests.next_slots(turn, state)


def _intent(text: str, u: Understanding) -> str | None:
    lowered = " ".join(text.lower().split())
    for name, pattern in _INTENTS:
        if pattern.match(lowered) if name == "help" else pattern.search(lowered):
            return name
    return "help" if u.intent == "help" else None


def _appointment_in(text: str) -> tuple[int | None, str]:
    """An appointment number named in the text ("cancel 42", "#42", "appointment 42"), and the
    text without it (so the number is not read as a day or a time)."""
    for pattern in (_ID_AFTER_VERB, _ID_TAGGED):
        match = pattern.search(text.lower())
        if match:
            start, end = match.span(1)
            return int(match.group(1)), (text[:start] + " " + text[end:]).strip()
    return None, text


def _reprompt(step: str | None, state: dict[str, Any]) -> str:
    if step == "offer":
        return chat_replies.choose_number(len(state.get("offers", [])))
    if step == "ask_day":
        return say.bad_when()
    return chat_replies.chat_not_understood()
