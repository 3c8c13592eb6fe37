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
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any

from sqlalchemy.orm import Session

from bot.messages import InboundMessage
from bot.patient.dialogue import Reply, entities, is_thanks, merge
from bot.sessions import SessionStore
from bot.staff import chat_replies
from bot.staff import replies as say
from bot.staff.answers import StaffAnswer
from bot.staff.choices import parse_action
from bot.staff.desk import StaffDesk
from bot.staff.fields import phone_in, valid_name
from bot.tools import Caller, SchedulingTools
from bot.understanding.nlu import Understanding
from scheduler.errors import NotFound
from scheduler.models import Patient
from scheduler.patients import find_or_create_patient, find_patient, set_patient_name

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
_SKIP = {"skip", "no name", "none", "unknown"}


class StaffChat:
    def __init__(self, desk: StaffDesk, store: SessionStore):
        self.desk, self.store = desk, store
        self.clinic = desk.clinic

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
        turn = _Turn(db, tools, now, [])
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
        turn: _Turn,
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
            self._say(turn, self.desk.waitlist(turn.db, turn.tools, phone, u))
            return {}
        if intent == "schedule":
            if phone is not None:  # "appointments for +1 212 ..." is a look-up
                return self._find(turn, phone)
            return self._schedule(turn, u)
        if intent == "find":
            if phone is None:
                turn.say(say.bad_phone() if phone_seen else chat_replies.ask_patient_phone())
                return {"step": "ask_phone", "mode": "find"}
            return self._find(turn, phone)
        if intent == "cancel":
            state: dict[str, Any] = {"mode": "cancel"}
            if ident is None:
                turn.say(chat_replies.ask_appointment())
                return {**state, "step": "ask_appointment"}
            return self._confirm_cancel(turn, ident)
        state = {"mode": intent, **entities(u, flag_past=False)}
        if intent == "move":
            if ident is None:
                turn.say(chat_replies.ask_appointment())
                return {**state, "step": "ask_appointment"}
            return self._next_move(turn, {**state, "appointment": ident})
        if intent == "book":
            if phone_seen and phone is None:
                turn.say(say.bad_phone())
                return {**state, "step": "ask_phone"}
            if phone is not None:
                state["phone"] = phone
            return self._next_book(turn, state)
        return self._next_slots(turn, state)

    def _continue(
        self,
        turn: _Turn,
        state: dict[str, Any],
        text: str,
        phone: str | None,
        phone_seen: bool,
        ident: int | None,
        u: Understanding,
    ) -> dict[str, Any]:
        step, mode = state.get("step"), state.get("mode")
        if step == "ask_name":
            return self._answer_name(turn, state, text)
        if step == "confirm_cancel":
            if u.intent == "confirm":
                self._say(turn, self.desk.cancel(turn.db, turn.tools, state["appointment"]))
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
                return self._find(turn, phone)
            return self._next_book(turn, {**state, "phone": phone, "step": None})
        if step == "ask_appointment":
            ident = ident if ident is not None else (u.choice if u.intent == "choose" else None)
            if ident is None:
                turn.say(chat_replies.ask_appointment())
                return state
            if mode == "cancel":
                return self._confirm_cancel(turn, ident)
            return self._next_move(turn, {**state, "appointment": ident, "step": None})
        if step == "offer" and u.intent == "choose" and u.choice:
            offers = state.get("offers", [])
            if 1 <= u.choice <= len(offers):
                return self._take(turn, state, offers[u.choice - 1])
            if not u.date:
                turn.say(chat_replies.choose_number(len(offers)), state.get("labels", ()))
                return state
        if step == "offer" and u.intent == "deny":
            turn.say(chat_replies.ask_day(self._type_name(state)))
            return {**_without(state, "offers", "labels", "date", "time"), "step": "ask_day"}
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

    def _next(self, turn: _Turn, state: dict[str, Any]) -> dict[str, Any]:
        mode = state.get("mode")
        if mode == "book":
            return self._next_book(turn, state)
        if mode == "move":
            return self._next_move(turn, state)
        return self._next_slots(turn, state)

    # --- the requests -------------------------------------------------------------------------------

    def _schedule(self, turn: _Turn, u: Understanding) -> dict[str, Any]:
        today = turn.now.astimezone(self.clinic.zone).date()
        day = u.date or today
        entries = self.desk.schedule(turn.db, day, turn.now, u.provider)
        turn.say(say.schedule_text(self.clinic, day, entries))
        return {}

    def _find(self, turn: _Turn, phone: str) -> dict[str, Any]:
        self._say(turn, self.desk.lookup(turn.db, turn.tools, phone))
        return {}

    def _confirm_cancel(self, turn: _Turn, ident: int) -> dict[str, Any]:
        try:
            view = self.desk.view(turn.tools.get_appointment(ident))
        except NotFound:
            turn.say(say.no_such_appointment(ident))
            return {}
        if view.status not in ("booked", "arrived"):
            turn.say(say.refused("that appointment is already " + view.status))
            return {}
        turn.say(chat_replies.confirm_cancel(view))
        return {"mode": "cancel", "step": "confirm_cancel", "appointment": ident}

    def _next_book(self, turn: _Turn, state: dict[str, Any]) -> dict[str, Any]:
        if not state.get("patient"):
            phone = state.get("phone")
            if not phone:
                turn.say(chat_replies.ask_patient_phone())
                return {**state, "step": "ask_phone"}
            patient = find_patient(turn.db, self.desk.vault, phone)
            if patient is None:
                turn.say(chat_replies.ask_patient_name())
                return {**state, "step": "ask_name"}
            state = {**_without(state, "phone"), "patient": patient.id}
        if not state.get("type"):
            turn.say(
                chat_replies.ask_type(self.clinic), [t.name for t in self.clinic.appointment_types]
            )
            return {**state, "step": "ask_type"}
        if state.get("date_problem") == "impossible" or not state.get("date"):
            turn.say(
                (say.impossible_date() + " " if state.get("date_problem") else "")
                + chat_replies.ask_day(self._type_name(state))
            )
            return {**_without(state, "date_problem"), "step": "ask_day"}
        return self._offer_booking(turn, state)

    def _answer_name(self, turn: _Turn, state: dict[str, Any], text: str) -> dict[str, Any]:
        name = " ".join(text.split())
        if name.lower() not in _SKIP and not valid_name(name):
            turn.say(say.bad_name())
            return state
        patient = find_or_create_patient(turn.db, self.desk.vault, state["phone"], now=turn.now)
        if name.lower() not in _SKIP:
            set_patient_name(self.desk.vault, patient, name)
        turn.db.flush()
        return self._next_book(
            turn, {**_without(state, "phone"), "patient": patient.id, "step": None}
        )

    def _next_move(self, turn: _Turn, state: dict[str, Any]) -> dict[str, Any]:
        try:
            appointment = turn.tools.get_appointment(state["appointment"])
        except NotFound:
            turn.say(say.no_such_appointment(state["appointment"]))
            return {}
        if not state.get("date"):
            turn.say(chat_replies.ask_day(appointment.appointment_type.name))
            return {**state, "type": appointment.appointment_type.key, "step": "ask_day"}
        answer = self.desk.offer_or_move(
            turn.db,
            turn.tools,
            appointment.id,
            date.fromisoformat(state["date"]),
            _understanding(state),
        )
        return self._after_offer(turn, state, answer)

    def _next_slots(self, turn: _Turn, state: dict[str, Any]) -> dict[str, Any]:
        if not state.get("type"):
            turn.say(
                chat_replies.ask_type(self.clinic), [t.name for t in self.clinic.appointment_types]
            )
            return {**state, "mode": "slots", "step": "ask_type"}
        day = date.fromisoformat(state["date"]) if state.get("date") else None
        u = _understanding(state)
        slots, on_day = self.desk.find(turn.tools, state["type"], day, state.get("provider"), u)
        type_name = self._type_name(state)
        if not slots:
            turn.say(say.no_slots(type_name))
        else:
            labels = [c.label for c in self.desk.slot_choices("slot", None, slots)]
            turn.say(
                say.slots_found(type_name, day, on_day, len(slots))
                + "\n"
                + "\n".join(f"  {label}" for label in labels)
            )
        return {}

    def _offer_booking(self, turn: _Turn, state: dict[str, Any]) -> dict[str, Any]:
        # Found or created earlier in this conversation (patient rows are never deleted).
        patient = turn.db.get_one(Patient, state["patient"])
        answer = self.desk.offer_or_book(
            turn.db,
            turn.tools,
            patient,
            state["type"],
            date.fromisoformat(state["date"]),
            _understanding(state),
        )
        return self._after_offer(turn, state, answer)

    def _after_offer(
        self, turn: _Turn, state: dict[str, Any], answer: StaffAnswer
    ) -> dict[str, Any]:
        if not answer.choices:
            self._say(turn, answer)
            return {}
        turn.say(answer.text, [c.label for c in answer.choices])
        return {
            **state,
            "step": "offer",
            "offers": [c.token for c in answer.choices],
            "labels": [c.label for c in answer.choices],
        }

    def _take(self, turn: _Turn, state: dict[str, Any], token: str) -> dict[str, Any]:
        action = parse_action(token)
        slot = self.desk.slot_from(action)
        if action is None or slot is None or action.target is None:  # offers are book or move
            turn.say(say.invalid_action())
            return {}
        if action.op == "move":
            answer = self.desk.move(turn.db, turn.tools, action.target, slot)
        else:
            answer = self.desk.book(turn.db, turn.tools, action.target, slot)
        return self._after_offer(turn, state, answer)

    # --- small pieces -------------------------------------------------------------------------------

    def _say(self, turn: _Turn, answer: StaffAnswer) -> None:
        turn.say(answer.text, [c.label for c in answer.choices])

    def _type_name(self, state: dict[str, Any]) -> str:
        try:
            return self.clinic.appointment_type(state["type"]).name
        except (KeyError, StopIteration):
            return "visit"


class _Turn:
    def __init__(self, db: Session, tools: SchedulingTools, now: datetime, replies: list[Reply]):
        self.db, self.tools, self.now, self.replies = db, tools, now, replies

    def say(self, text: str, options=()) -> None:
        self.replies.append(Reply(text, tuple(options)))


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


def _without(state: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k not in keys}


def _understanding(state: dict[str, Any]) -> Understanding:
    return Understanding(
        intent="book",
        date=date.fromisoformat(state["date"]) if state.get("date") else None,
        time=time.fromisoformat(state["time"]) if state.get("time") else None,
        part_of_day=state.get("part"),
        provider=state.get("provider"),
        appointment_type=state.get("type"),
    )


def _reprompt(step: str | None, state: dict[str, Any]) -> str:
    if step == "offer":
        return chat_replies.choose_number(len(state.get("offers", [])))
    if step == "ask_day":
        return say.bad_when()
    return chat_replies.chat_not_understood()
