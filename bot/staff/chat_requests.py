"""What each staff request does, once the staff conversation (bot/staff/chat.py) knows which it
is: the day's schedule, a patient looked up, a cancellation to confirm, a booking or a move asked
for piece by piece (the patient by phone number, their name when the number is new, the kind of
visit, the day), open times, and the numbered offers taken. Each step says its replies on the
`ChatTurn` and returns the conversation's next state ({} when it is over), through the `StaffDesk`.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy.orm import Session

from bot.patient.dialogue import Reply
from bot.staff import chat_replies
from bot.staff import replies as say
from bot.staff.answers import StaffAnswer
from bot.staff.choices import parse_action
from bot.staff.desk import StaffDesk
from bot.staff.fields import valid_name
from bot.tools import SchedulingTools
from bot.understanding.nlu import Understanding
from scheduler.errors import NotFound
from scheduler.models import Patient
from scheduler.patients import find_or_create_patient, find_patient, set_patient_name

_SKIP = {"skip", "no name", "none", "unknown"}


class ChatTurn:
    """One staff turn: its transaction, its tools, its time, and the replies said so far."""

    def __init__(self, db: Session, tools: SchedulingTools, now: datetime, replies: list[Reply]):
        self.db, self.tools, self.now, self.replies = db, tools, now, replies

    def say(self, text: str, options=()) -> None:
        self.replies.append(Reply(text, tuple(options)))

    def tell(self, answer: StaffAnswer) -> None:
        self.say(answer.text, [c.label for c in answer.choices])


class ChatRequests:
    """The staff conversation's requests, carried out through the desk."""

    def __init__(self, desk: StaffDesk):
        self.desk = desk
        self.clinic = desk.clinic

    def schedule(self, turn: ChatTurn, u: Understanding) -> dict[str, Any]:
        today = turn.now.astimezone(self.clinic.zone).date()
        day = u.date or today
        entries = self.desk.schedule(turn.db, day, turn.now, u.provider)
        turn.say(say.schedule_text(self.clinic, day, entries))
        return {}

    def find(self, turn: ChatTurn, phone: str) -> dict[str, Any]:
        turn.tell(self.desk.lookup(turn.db, turn.tools, phone))
        return {}

    def confirm_cancel(self, turn: ChatTurn, ident: int) -> dict[str, Any]:
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

    def next_book(self, turn: ChatTurn, state: dict[str, Any]) -> dict[str, Any]:
        if not state.get("patient"):
            phone = state.get("phone")
            if not phone:
                turn.say(chat_replies.ask_patient_phone())
                return {**state, "step": "ask_phone"}
            patient = find_patient(turn.db, self.desk.vault, phone)
            if patient is None:
                turn.say(chat_replies.ask_patient_name())
                return {**state, "step": "ask_name"}
            state = {**without(state, "phone"), "patient": patient.id}
        if not state.get("type"):
            turn.say(
                chat_replies.ask_type(self.clinic), [t.name for t in self.clinic.appointment_types]
            )
            return {**state, "step": "ask_type"}
        if state.get("date_problem") == "impossible" or not state.get("date"):
            turn.say(
                (say.impossible_date() + " " if state.get("date_problem") else "")
                + chat_replies.ask_day(self.type_name(state))
            )
            return {**without(state, "date_problem"), "step": "ask_day"}
        return self._offer_booking(turn, state)

    def answer_name(self, turn: ChatTurn, state: dict[str, Any], text: str) -> dict[str, Any]:
        name = " ".join(text.split())
        if name.lower() not in _SKIP and not valid_name(name):
            turn.say(say.bad_name())
            return state
        patient = find_or_create_patient(turn.db, self.desk.vault, state["phone"], now=turn.now)
        if name.lower() not in _SKIP:
            set_patient_name(self.desk.vault, patient, name)
        turn.db.flush()
        return self.next_book(
            turn, {**without(state, "phone"), "patient": patient.id, "step": None}
        )

    def next_move(self, turn: ChatTurn, state: dict[str, Any]) -> dict[str, Any]:
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

    def next_slots(self, turn: ChatTurn, state: dict[str, Any]) -> dict[str, Any]:
        if not state.get("type"):
            turn.say(
                chat_replies.ask_type(self.clinic), [t.name for t in self.clinic.appointment_types]
            )
            return {**state, "mode": "slots", "step": "ask_type"}
        day = date.fromisoformat(state["date"]) if state.get("date") else None
        u = _understanding(state)
        slots, on_day = self.desk.find(turn.tools, state["type"], day, state.get("provider"), u)
        type_name = self.type_name(state)
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

    def _offer_booking(self, turn: ChatTurn, state: dict[str, Any]) -> dict[str, Any]:
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
        self, turn: ChatTurn, state: dict[str, Any], answer: StaffAnswer
    ) -> dict[str, Any]:
        if not answer.choices:
            turn.tell(answer)
            return {}
        turn.say(answer.text, [c.label for c in answer.choices])
        return {
            **state,
            "step": "offer",
            "offers": [c.token for c in answer.choices],
            "labels": [c.label for c in answer.choices],
        }

    def take(self, turn: ChatTurn, state: dict[str, Any], token: str) -> dict[str, Any]:
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

    def type_name(self, state: dict[str, Any]) -> str:
        try:
            return self.clinic.appointment_type(state["type"]).name
        except (KeyError, StopIteration):
            return "visit"


def without(state: dict[str, Any], *keys: str) -> dict[str, Any]:
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
