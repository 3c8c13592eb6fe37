"""The analytics' row of each patient turn (`engine_turns`, bot/engine/metrics.py): one per
answered turn, in the turn's transaction, with the engine that answered, its fallback and error,
the model's calls and tokens, and what the turn did; never a phone number or a name.

Local turns run on the conftest's engine; model turns on a scripted Bedrock Runtime (botocore's
Stubber, tests/bedrock_support.py); the webhook retry over the real SMS webhook. The clock is
Wednesday 2026-03-04 09:00 in New York.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app import create_app, services_of
from bot.audit.trail import AuditTrail
from bot.engine import metrics
from bot.messages import InboundMessage
from bot.model.bedrock import COOLDOWN_SECONDS, BedrockEngine
from bot.model.client import RetryPolicy
from bot.patient import dialogue
from bot.tools import Caller, SchedulingTools
from scheduler.models import EngineTurn
from scheduler.patients import find_or_create_patient
from tests.bedrock_support import MODEL, answer, failure, tool_use
from tests.bot.conftest import PATIENT, Chat
from tests.twilio_support import Phone, new_sid, sms_settings

TOMORROW = "2026-03-05"
NAME = "Jordan Testperson"


def rows(sessions) -> list[EngineTurn]:
    with sessions() as db:
        return list(db.scalars(select(EngineTurn).order_by(EngineTurn.id)))


def book_locally(chat) -> None:
    """Three turns: the request (the name is asked), the name (times are offered), the pick."""
    assert "name" in chat.text("book a checkup tomorrow").lower()
    assert "1." in chat.text(NAME)
    assert "booked" in chat.text("2").lower()


class Ticks:
    """A monotonic clock the test moves by hand (the Bedrock engine's cooldown reads it)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks():
    return Ticks()


@pytest.fixture
def model_chat(conversation, model, demo_clinic, clock, ticks, logs):
    """A patient's chat with the conftest's engine, made to ask the scripted model."""
    conversation.llm = BedrockEngine(
        model.client,
        MODEL,
        demo_clinic,
        retry=RetryPolicy(sleep=lambda _: None),
        monotonic=ticks,
    )
    return Chat(conversation, clock)


# --- the local dialogue ----------------------------------------------------------------------


def test_each_local_turn_writes_one_row_and_the_booking_turn_says_booked(
    chat, sessions, vault, demo_clinic, clock
):
    book_locally(chat)
    written = rows(sessions)
    assert len(written) == 3
    assert {(r.engine, r.channel, r.fallback, r.error) for r in written} == {
        ("local", "console", False, None)
    }
    assert [r.outcome for r in written] == [None, None, "booked"]
    assert {(r.model_calls, r.input_tokens, r.output_tokens) for r in written} == {(0, 0, 0)}
    assert all(r.at == clock.now and r.latency_ms > 0 for r in written)
    # One conversation: the person on this channel today.
    assert {r.conversation for r in written} == {
        metrics.conversation_digest(vault, "console", PATIENT, date(2026, 3, 4))
    }


def test_the_row_carries_the_clinic_local_date_the_dashboard_groups_by(chat, sessions, clock):
    # 02:30 UTC on the 5th is 21:30 on the 4th in New York: the turn counts on the 4th, the day
    # its conversation digest names (the dashboard filters and groups by this column).
    clock.now = datetime(2026, 3, 5, 2, 30, tzinfo=UTC)
    chat.text("   ")
    [row] = rows(sessions)
    assert row.day == date(2026, 3, 4)


def test_moving_and_cancelling_are_the_turns_outcomes(chat, sessions):
    book_locally(chat)
    assert "When would you like to move" in chat.text("can I reschedule?")
    assert "Fri Mar 6" in chat.text("friday morning")
    assert "now on Fri Mar 6" in chat.text("1")
    assert "YES" in chat.text("cancel my appointment")
    assert "cancelled" in chat.text("yes").lower()
    assert [r.outcome for r in rows(sessions)[3:]] == [None, None, "rescheduled", None, "cancelled"]


def test_answers_before_the_dialogue_count_as_local_turns(chat, sessions):
    assert "911" in chat.text("I have crushing chest pain")
    chat.text("   ")
    assert [(r.engine, r.fallback, r.outcome) for r in rows(sessions)] == [
        ("local", False, None),
        ("local", False, None),
    ]


def test_a_staff_turn_writes_no_row(conversation, clock, sessions):
    staff = InboundMessage("slack", "U0STAFF", "today", "Ev1", clock.now, role="staff")
    assert conversation.handle(staff)
    assert rows(sessions) == []


def test_a_turn_that_fails_writes_no_row(chat, sessions, monkeypatch):
    def broken(turn, state):
        raise RuntimeError("a bug in the dialogue")

    monkeypatch.setattr(dialogue, "respond", broken)
    assert "sorry" in chat.text("book a checkup tomorrow").lower()
    assert rows(sessions) == []


def test_no_phone_number_or_name_in_any_column(chat, sessions):
    book_locally(chat)
    chat.text(f"my number is {PATIENT}, {NAME}")
    values = [
        str(getattr(row, column.key))
        for row in rows(sessions)
        for column in EngineTurn.__table__.columns
    ]
    digits = PATIENT.lstrip("+")
    for value in values:
        assert digits not in value and digits[1:] not in value and "5550123" not in value
        assert "Jordan" not in value and "Testperson" not in value
    assert all(re.fullmatch(r"[0-9a-f]{16}", row.conversation) for row in rows(sessions))


# --- the model on Bedrock --------------------------------------------------------------------


def test_a_model_turn_writes_bedrock_with_the_pipelines_calls_and_tokens(
    model_chat, model, sessions
):
    model.script(
        tool_use(
            ("find_slots", {"appointment_type": "checkup", "date": TOMORROW}), tokens=(910, 31)
        ),
        answer("Tomorrow I have 8:00, 8:15 or 8:30 AM. Which one suits you?", tokens=(1020, 22)),
        tool_use(("book_appointment", {"slot_id": "slot-2"}), tokens=(1100, 18)),
        answer("Done! You're booked for tomorrow at 8:15 AM.", tokens=(1200, 15)),
    )
    model_chat.text("I need a checkup tomorrow")
    assert "booked" in model_chat.text("the second one")
    model.done()
    offered, booked = rows(sessions)
    assert (offered.engine, offered.fallback, offered.error, offered.outcome) == (
        "bedrock",
        False,
        None,
        None,
    )
    assert (offered.model_calls, offered.input_tokens, offered.output_tokens) == (2, 1930, 53)
    assert (booked.engine, booked.outcome, booked.model_calls) == ("bedrock", "booked", 2)
    assert (booked.input_tokens, booked.output_tokens) == (2300, 33)
    assert booked.channel == "console" and booked.latency_ms > 0


def test_a_hand_off_to_staff_is_the_turns_outcome(model_chat, model, sessions):
    model.script(
        tool_use(("hand_off_to_staff", {"reason": "billing"})),
        answer("I've asked the clinic team to follow up about your bill."),
    )
    assert "follow up" in model_chat.text("I have a question about my bill")
    [row] = rows(sessions)
    assert (row.engine, row.outcome, row.model_calls) == ("bedrock", "handoff", 2)


def test_a_model_failure_writes_local_fallback_with_its_code_then_cooldown(
    model_chat, model, sessions, ticks
):
    model.script(failure("AccessDeniedException"))
    assert "name" in model_chat.text("book a checkup tomorrow").lower()  # the local dialogue
    model.done()
    # Cooling down: the local dialogue answers at once, and books.
    assert "1." in model_chat.text(NAME)
    assert "booked" in model_chat.text("2").lower()
    assert model.calls == 1
    failed, *cooling = rows(sessions)
    assert (failed.engine, failed.fallback, failed.error) == (
        "local",
        True,
        "AccessDeniedException",
    )
    assert (failed.model_calls, failed.input_tokens, failed.output_tokens) == (0, 0, 0)
    # The model was not asked: a fallback, not an error of its own.
    assert [(r.engine, r.fallback, r.error) for r in cooling] == [("local", True, None)] * 2
    assert {r.model_calls for r in cooling} == {0}
    assert cooling[-1].outcome == "booked"
    # Once the cooldown is over the model answers again.
    ticks.now += COOLDOWN_SECONDS + 1
    model.script(answer("You're welcome! Anything else?", tokens=(700, 9)))
    model_chat.text("thanks")
    last = rows(sessions)[-1]
    assert (last.engine, last.fallback, last.error, last.model_calls) == ("bedrock", False, None, 1)


def test_a_bad_response_writes_its_reason(model_chat, model, sessions):
    model.script(answer("I was about to say something but", stop="max_tokens", tokens=(800, 500)))
    model_chat.text("hello there")
    [row] = rows(sessions)
    assert (row.engine, row.fallback, row.error) == ("local", True, "max_tokens")
    assert (row.model_calls, row.input_tokens, row.output_tokens) == (1, 800, 500)


def test_a_booking_the_model_made_before_it_broke_is_bedrock_with_the_error(
    model_chat, model, sessions
):
    model.script(
        tool_use(("find_slots", {"appointment_type": "checkup", "date": TOMORROW})),
        answer("Tomorrow I have 8:00, 8:15 or 8:30 AM. Which one?"),
        tool_use(("book_appointment", {"slot_id": "slot-1"})),
        failure("AccessDeniedException"),
    )
    model_chat.text("checkup tomorrow please")
    assert "booked" in model_chat.text("the first").lower()
    row = rows(sessions)[-1]
    assert (row.engine, row.fallback, row.outcome) == ("bedrock", False, "booked")
    assert (row.error, row.model_calls) == ("AccessDeniedException", 1)


def test_what_the_engine_answers_itself_is_local_and_not_a_fallback(model_chat, model, sessions):
    # STOP is answered by the engine itself: the model is not asked.
    model_chat.text("STOP")
    assert model.calls == 0
    [row] = rows(sessions)
    assert (row.engine, row.fallback, row.error, row.model_calls) == ("local", False, None, 0)


# --- over the SMS webhook --------------------------------------------------------------------


def test_a_retried_webhook_is_answered_from_its_receipt_and_writes_no_second_row(
    tmp_path, clock, database_url
):
    app = create_app(
        {
            "SETTINGS": sms_settings(tmp_path, database_url=database_url),
            "CLOCK": clock,
            "TESTING": True,
        }
    )
    sessions = services_of(app).sessions
    phone = Phone(app.test_client(), PATIENT)
    sid = new_sid()
    first = phone.text("book a checkup tomorrow", sid=sid)
    assert "Reply YES" in first
    assert phone.text("book a checkup tomorrow", sid=sid) == first
    assert phone.text("YES", sid=new_sid())
    written = rows(sessions)
    assert [(r.channel, r.engine) for r in written] == [("sms", "local"), ("sms", "local")]
    assert len({r.conversation for r in written}) == 1


def test_a_text_the_sms_policy_silences_writes_no_row(tmp_path, clock):
    app = create_app({"SETTINGS": sms_settings(tmp_path), "CLOCK": clock, "TESTING": True})
    sessions = services_of(app).sessions
    phone = Phone(app.test_client(), PATIENT)
    phone.text("STOP")
    assert phone.text("hello?") == ""  # opted out: nothing is answered
    assert len(rows(sessions)) == 1  # the STOP's answer only


# --- the pieces ------------------------------------------------------------------------------


def test_the_first_booking_change_wins_then_a_hand_off():
    assert metrics.outcome([]) is None
    assert metrics.outcome(["waitlist"]) is None
    assert metrics.outcome(["handoff"]) == "handoff"
    assert metrics.outcome(["handoff", "cancelled", "booked"]) == "cancelled"
    assert metrics.outcome(["booked", "rescheduled"]) == "booked"


def test_the_conversation_digest_is_one_person_one_channel_one_day(vault):
    day = date(2026, 3, 4)
    digest = metrics.conversation_digest(vault, "sms", PATIENT, day)
    assert re.fullmatch(r"[0-9a-f]{16}", digest)
    assert digest == metrics.conversation_digest(vault, "sms", PATIENT, day)
    assert digest != metrics.conversation_digest(vault, "sms", PATIENT, day + timedelta(days=1))
    assert digest != metrics.conversation_digest(vault, "web", PATIENT, day)
    assert digest != metrics.conversation_digest(vault, "sms", "+12125550188", day)


def test_the_conversation_is_the_clinic_local_date(chat, sessions, vault, clock):
    # 23:30 in New York is already the next day in UTC: the row keeps the clinic's date.
    clock.now = clock.now.replace(hour=4, minute=30) + timedelta(days=1)  # Thu 04:30 UTC
    chat.text("hi")
    [row] = rows(sessions)
    assert row.conversation == metrics.conversation_digest(
        vault, "console", PATIENT, date(2026, 3, 4)
    )


def test_the_scheduling_tools_keep_what_they_changed_in_order(sessions, demo_clinic, vault, now):
    with sessions.begin() as db:
        patient = find_or_create_patient(db, vault, PATIENT, now=now)
        caller = Caller(role="patient", channel="sms", patient_id=patient.id)
        tools = SchedulingTools(db, demo_clinic, AuditTrail(vault), caller, now)
        first, second = tools.find_slots(
            "checkup", start_date=date(2026, 3, 5), end_date=date(2026, 3, 5), limit=2
        )
        booked = tools.book_appointment(first)
        tools.reschedule_appointment(booked.id, second)
        tools.record_request("handoff_requested", reason="billing")
        tools.cancel_appointment(booked.id)
        assert tools.changes == ["booked", "rescheduled", "handoff", "cancelled"]
