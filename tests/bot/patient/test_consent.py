"""The SMS policy in the engine, without Flask or Twilio: consent first, carrier keywords as Twilio
matches them, opt-out silence, and replies shaped for a phone (GSM-7, two segments, MORE).

The clock is Wednesday 2026-03-04 09:00 in New York.
"""

from __future__ import annotations

import inspect
import itertools
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from bot import i18n
from bot.messages import InboundMessage
from bot.patient import consent, replies, segments
from scheduler.errors import SchedulingError
from scheduler.models import Appointment, AuditEvent, Patient
from scheduler.patients import find_patient

PHONE = "+12125550123"


class Sms:
    """One phone texting the engine on the "sms" channel."""

    def __init__(self, engine, clock, sender=PHONE):
        self.engine, self.clock, self.sender = engine, clock, sender
        self._ids = itertools.count(1)

    def send(self, text, **extra):
        message = InboundMessage(
            "sms", self.sender, text, f"SM{next(self._ids):032x}", self.clock.now, **extra
        )
        return self.engine.handle(message)

    def text(self, text, **extra):
        return "\n".join(r.as_text() for r in self.send(text, **extra))


@pytest.fixture
def sms(conversation, clock):
    return Sms(conversation, clock)


@pytest.fixture
def consented(sms):
    assert "Reply YES" in sms.text("hi")
    sms.text("YES")
    return sms


def patient(sessions, vault, phone=PHONE) -> Patient:
    with sessions() as db:
        return find_patient(db, vault, phone)


def appointments(sessions):
    with sessions() as db:
        return db.scalars(select(Appointment).order_by(Appointment.id)).all()


# --- keywords, as Twilio matches them ----------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "STOP",
        "stop",
        "Stop.",
        "  STOP  ",
        "STOPALL",
        "UNSUBSCRIBE",
        "cancel",
        "CANCEL!",
        "end",
        "Quit",
        "REVOKE",
        "optout",
        "stop 🛑",
        "¡STOP!",
    ],
)
def test_opt_out_keywords_are_the_whole_message_in_any_case(body):
    assert consent.keyword(body) == "opt_out"


@pytest.mark.parametrize("body", ["START", "yes", "Yes!", "unstop"])
def test_opt_in_keywords(body):
    assert consent.keyword(body) == "opt_in"


@pytest.mark.parametrize("body", ["HELP", "help?", "Info"])
def test_help_keywords(body):
    assert consent.keyword(body) == "help"


@pytest.mark.parametrize(
    "body",
    [
        "cancel my appointment",
        "please stop by tomorrow",
        "stop it now please",
        "yes please",
        "help me book",
        "stops",
        "",
        "S T O P",
    ],
)
def test_a_keyword_inside_a_sentence_is_not_a_keyword(body):
    assert consent.keyword(body) is None


@pytest.mark.parametrize(
    "opt_out_type, expected",
    [("STOP", "opt_out"), ("start", "opt_in"), ("HELP", "help"), ("OTHER", None)],
)
def test_twilio_opt_out_type_names_the_keyword_in_any_language(opt_out_type, expected):
    assert consent.keyword("ARRET", opt_out_type) == expected


# --- consent first ------------------------------------------------------------------------------


def test_a_new_number_gets_the_consent_request_and_nothing_else(sms, sessions, vault, demo_clinic):
    reply = sms.text("book a checkup tomorrow")
    assert demo_clinic.name in reply
    assert "Msg & data rates may apply" in reply
    assert "Reply YES to continue, HELP for help, STOP to opt out" in reply
    assert patient(sessions, vault).consented_at is None
    assert appointments(sessions) == []


def test_until_yes_nothing_is_processed(sms, sessions):
    sms.text("hi")
    reply = sms.text("book a checkup tomorrow")
    assert "reply YES" in reply
    assert "name" not in reply.lower() and appointments(sessions) == []


def test_yes_records_consent_and_carries_the_first_request_on(sms, sessions, vault, clock):
    sms.text("book a checkup tomorrow")
    clock.advance(minutes=3)
    reply = sms.text("Yes")
    assert "signed up" in reply
    assert "name" in reply.lower()  # the booking goes on where the request left it
    assert patient(sessions, vault).consented_at == clock.now
    offered = sms.text("Jordan Testperson")
    assert "Thu Mar 5" in offered and "1." in offered
    assert "booked" in sms.text("1")
    assert len(appointments(sessions)) == 1


@pytest.mark.parametrize("agreed", ["Y", "yes please!", "OK", "Yeah"])
def test_once_asked_a_yes_in_other_words_is_consent(sms, sessions, vault, agreed):
    sms.text("book a checkup tomorrow")
    reply = sms.text(agreed)
    assert "signed up" in reply and "name" in reply.lower()
    assert patient(sessions, vault).consented_at is not None


def test_a_first_y_is_no_consent_it_has_not_seen_the_request(sms, sessions, vault):
    assert "Reply YES to continue" in sms.text("Y")
    assert patient(sessions, vault).consented_at is None


def test_a_request_sent_after_the_consent_request_is_carried_on_too(sms, sessions):
    sms.text("Y")
    assert "reply YES first" in sms.text("I'd like a checkup tomorrow at 11:30")
    assert "name" in sms.text("yes").lower()
    offered = sms.text("Jordan Testperson")
    assert "Thu Mar 5 at 11:30 AM" in offered


def test_yes_without_a_remembered_request_greets(sms, demo_clinic):
    reply = sms.text("YES")
    assert "signed up" in reply and "What would you like to do?" in reply


def test_help_is_answered_before_consent_with_the_clinic_name_and_phone(
    sms, sessions, vault, demo_clinic
):
    for body in ("HELP", "info"):
        reply = sms.text(body)
        assert demo_clinic.name in reply and demo_clinic.display_phone in reply
        assert "STOP" in reply
    assert patient(sessions, vault).consented_at is None


def test_an_emergency_is_answered_even_before_consent(sms):
    reply = sms.send("I have chest pain and can't breathe")
    assert reply[0].kind == "emergency" and "911" in reply[0].text


def test_picture_alone_gets_a_text_only_reply(consented):
    reply = consented.text("", media=1)
    assert "only read text" in reply


def test_the_request_is_kept_encrypted(sms, sessions):
    sms.text("book a checkup tomorrow please")
    from scheduler.models import ConversationSession

    with sessions() as db:
        stored = db.scalars(select(ConversationSession.state_enc)).all()
    assert stored and all(b"checkup" not in bytes(s) for s in stored)


# --- opt-out -------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", sorted(consent.OPT_OUT))
def test_every_opt_out_keyword_confirms_once_then_silence(
    consented, sessions, vault, body, demo_clinic
):
    reply = consented.send(body)
    assert len(reply) == 1 and "START" in reply[0].text and demo_clinic.name in reply[0].text
    assert patient(sessions, vault).opted_out_at is not None
    assert consented.send(body) == []
    assert consented.send("book a checkup tomorrow") == []
    assert consented.send("I have chest pain") == []
    assert appointments(sessions) == []


def test_silence_is_audited_with_a_reason_and_no_text(consented, sessions):
    consented.text("STOP")
    consented.text("hello?")
    with sessions() as db:
        event = db.scalars(select(AuditEvent).where(AuditEvent.kind == "message_suppressed")).one()
    assert event.detail == {"reason": "opted_out"} and event.text_enc is None


@pytest.mark.parametrize("body", ["START", "YES", "unstop"])
def test_every_opt_in_keyword_opts_back_in(consented, sessions, vault, body):
    consented.text("STOP")
    reply = consented.text(body)
    assert "subscribed" in reply
    assert patient(sessions, vault).opted_out_at is None
    assert "name" in consented.text("book a checkup tomorrow").lower()


def test_help_is_answered_while_opted_out(consented, demo_clinic):
    consented.text("STOP")
    assert demo_clinic.display_phone in consented.text("HELP")


def test_cancel_my_appointment_is_a_request_but_bare_cancel_opts_out(consented, sessions, vault):
    consented.text("book a checkup tomorrow")
    consented.text("Jordan Testperson")
    consented.text("1")
    asked = consented.text("cancel my appointment")
    assert "Reply YES to cancel" in asked
    assert patient(sessions, vault).opted_out_at is None
    assert "is cancelled" in consented.text("yes")  # YES here answers the question
    confirmation = consented.text("CANCEL")
    assert "won't get any more messages" in confirmation
    # Someone who meant a visit is told how to cancel one: no more texts will come.
    assert "To cancel a visit, call (212) 555-0100" in confirmation
    assert patient(sessions, vault).opted_out_at is not None


def test_a_stop_confirmation_does_not_talk_about_visits(consented):
    confirmation = consented.text("STOP")
    assert "won't get any more messages" in confirmation and "cancel" not in confirmation


def test_opt_out_type_from_twilio_is_honoured_whatever_the_words(consented, sessions, vault):
    consented.send("ARRET", keyword="STOP")
    assert patient(sessions, vault).opted_out_at is not None
    assert "subscribed" in consented.text("COMMENCER", keyword="START")
    assert patient(sessions, vault).opted_out_at is None


def test_a_clear_request_to_stop_texting_opts_out_too(consented, sessions, vault):
    consented.text("please stop texting me")
    assert patient(sessions, vault).opted_out_at is not None


def test_web_chat_and_console_are_not_held_for_consent(conversation, clock):
    message = InboundMessage("console", PHONE, "hi", "m1", clock.now)
    [reply] = conversation.handle(message)
    assert "Reply YES" not in reply.text and "What would you like to do?" in reply.text


# --- rate limit (counted from the webhook's receipts) --------------------------------------------


def test_rate_limit_counts_receipts_in_the_window(consented, sessions, vault, clock):
    from scheduler.models import MessageReceipt

    index = vault.index(PHONE)
    with sessions.begin() as db:
        for i in range(consent.RATE_LIMIT + 1):
            db.add(
                MessageReceipt(
                    channel="sms",
                    external_id=f"{index[:16]}:{i}",
                    sender_index=index,
                    created_at=clock.now,
                )
            )
    [notice] = consented.send("my appointments")
    assert "pause" in notice.text and notice.kind == "notice"
    with sessions.begin() as db:
        db.add(
            MessageReceipt(
                channel="sms",
                external_id=f"{index[:16]}:x",
                sender_index=index,
                created_at=clock.now,
            )
        )
    assert consented.send("my appointments") == []
    clock.advance(minutes=11)
    assert "no upcoming appointments" in consented.text("my appointments")


def test_the_rate_count_includes_receipts_under_the_previous_key(sessions, demo_clinic, clock):
    from cryptography.fernet import Fernet

    from bot.sessions import SessionStore
    from scheduler.crypto import Vault
    from scheduler.models import MessageReceipt

    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    old, both = Vault([old_key]), Vault([new_key, old_key])
    with sessions.begin() as db:
        for i, vault in enumerate((old, both, both)):
            index = vault.index(PHONE)
            db.add(
                MessageReceipt(
                    channel="sms",
                    external_id=f"{index[:16]}:{i}",
                    sender_index=index,
                    created_at=clock.now,
                )
            )
    policy = consent.SmsPolicy(demo_clinic, both, SessionStore(both, consent.RATE_WINDOW))
    with sessions() as db:
        assert policy.recent_messages(db, PHONE, clock.now + consent.RATE_WINDOW / 2) == 3


# --- SMS-shaped replies ---------------------------------------------------------------------------

SAMPLES = {
    "clinic": None,
    "name": "Jordan Testperson",
    "step": "ask_day",
    "type_name": "General check-up",
    "description": "General check-up, Thu Mar 5 at 8:00 AM with Nurse Practitioner Celine Moreau",
    "day": date(2026, 3, 5),
    "days": 180,
    "on_requested_day": False,
    "start": datetime(2026, 3, 5, 13, tzinfo=UTC),
    "moment": datetime(2026, 3, 5, 13, tzinfo=UTC),
    "provider_name": "Nurse Practitioner Celine Moreau",
    "appointment_id": 123456,
    "count": 3,
    "action": "cancel",
    "lines": ["General check-up, Thu Mar 5 at 8:00 AM with Dr. Amara Okafor"],
    "later": False,
    "reference": 123456,
    "key": "checkup",
    "stored": "General check-up",
    "first": date(2026, 3, 5),
    "last": date(2026, 3, 19),
    "line": "General check-up, Thu Mar 5 at 8:00 AM with Dr. Amara Okafor",
    "relation": "grandmother",
    "attendee": "Maria Guadalupe Testperson",
}
# What a refusal can be, by its code (scheduler/errors.py), and one the replies do not know.
REFUSAL_CODES = (
    "already_cancelled",
    "closed",
    "started",
    "other_type",
    "passed",
    "notice",
    "horizon",
    "out_of_service",
    "taken",
    "not_found",
    "something_new",
)


def every_reply(clinic):
    """Each sentence bot/patient/replies/ can say, in every language the clinic serves, filled with
    long but typical values, as the SMS channel sends it."""
    for language in i18n.LANGUAGES:
        with i18n.speaking(language):
            for name, text in _replies(clinic):
                yield f"{language}:{name}", segments.for_sms(text)


def _replies(clinic):
    samples = {**SAMPLES, "kind": clinic.appointment_types[0], "provider": clinic.providers[2]}
    for name, function in inspect.getmembers(replies, inspect.isfunction):
        if not function.__module__.startswith(replies.__name__ + "."):
            continue
        parameters = inspect.signature(function).parameters
        if name == "booking_refused":
            for code in REFUSAL_CODES:
                yield f"{name}({code})", function(SchedulingError("x", code=code), clinic)
            continue
        values = {
            p: (clinic if p == "clinic" else samples[p])
            for p, spec in parameters.items()
            if p != "zone" and spec.default is spec.empty
        }
        if "zone" in parameters:
            values["zone"] = clinic.zone
        if name == "emergency":  # the crisis line's own words too
            yield "emergency(self_harm)", function(clinic, "self_harm")
        if name == "not_understood":
            for step in (
                None,
                "ask_type",
                "ask_day",
                "offer_slots",
                "confirm_cancel",
                "pick_appointment",
                "ask_name",
                "ask_attendee",
            ):
                yield f"{name}({step})", function(step)
            continue
        if name == "type_names":
            yield name, "\n".join(function(clinic))
            continue
        if name == "provider_name_of":
            yield name, function(clinic, "moreau", SAMPLES["provider_name"])
            continue
        yield name, function(**values)


def test_where_the_clinic_is_without_an_address_gives_the_phone(demo_clinic):
    import dataclasses

    reply = replies.where_we_are(dataclasses.replace(demo_clinic, address=None))
    assert "(212) 555-0100" in reply and "Maple Street Family Clinic" in reply
    assert " is at " not in reply


def test_every_reply_in_every_language_is_gsm7_over_sms(demo_clinic):
    for name, text in every_reply(demo_clinic):
        assert segments.is_gsm7(text), name


def test_every_reply_fits_in_two_segments(demo_clinic):
    for name, text in every_reply(demo_clinic):
        assert len(text) <= segments.MAX_CHARS and segments.segments(text) <= 2, name


def test_no_reply_has_a_doubled_stop_or_an_unfilled_placeholder(demo_clinic):
    for name, text in every_reply(demo_clinic):
        assert ".." not in text.replace("...", "") and "{" not in text, (name, text)


def test_spanish_replies_are_spanish_and_english_ones_english(demo_clinic):
    english = dict(_in(demo_clinic, "en"))
    for name, text in _in(demo_clinic, "es"):
        if name == "with_reference":  # "{appointment} (ref #{ref})" in both
            continue
        assert text != english[name], name  # a sentence left untranslated


def _in(clinic, language):
    with i18n.speaking(language):
        return list(_replies(clinic))


@pytest.mark.parametrize(
    "text, count",
    [
        ("", 0),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("[" * 80, 1),
        ("[" * 81, 2),
        ("é" * 160, 1),
        ("😀" * 35, 1),
        ("“quoted”", 1),
        ("ü" + "😀" * 35, 2),
    ],
)
def test_segments_count_like_a_carrier(text, count):
    assert segments.segments(text) == count


def test_long_lists_are_cut_with_reply_more_and_more_shows_the_rest(consented, sessions):
    for day in range(9, 21):
        if date(2026, 3, day).weekday() >= 5:
            continue
        offered = consented.text(f"book a checkup on March {day}")
        if "name" in offered.lower():
            offered = consented.text("Jordan Testperson")
        assert "booked" in consented.text("1")
    count = len(appointments(sessions))
    assert count >= 8
    first = consented.text("my appointments")
    assert len(first) <= segments.MAX_CHARS and first.endswith(segments.MORE_SUFFIX)
    pages = [first]
    while pages[-1].endswith(segments.MORE_SUFFIX):
        pages.append(consented.text("more"))
        assert len(pages[-1]) <= segments.MAX_CHARS
    listed = "\n".join(pages)
    assert all(f"{i}. " in listed for i in range(1, count + 1))
    # Once the list is done, MORE is just an unknown word again.
    assert "didn't catch that" in consented.text("MORE")


def test_another_message_drops_the_rest_of_a_list(consented, sessions):
    from scheduler.models import ConversationSession

    for day in (9, 10, 11, 12, 13, 16, 17, 18):
        offered = consented.text(f"book a checkup on March {day}")
        if "name" in offered.lower():
            consented.text("skip")
        consented.text("1")
    assert consented.text("my appointments").endswith(segments.MORE_SUFFIX)
    consented.text("hi")
    assert "didn't catch that" in consented.text("more")
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(ConversationSession)) == 0


def test_paginate_keeps_every_line_and_cuts_a_long_line_at_a_space():
    lines = [f"{i}. " + "word " * 20 for i in range(1, 12)]
    pages = segments.paginate("\n".join(lines))
    assert all(len(p) <= segments.MAX_CHARS for p in pages)
    assert all(p.endswith(segments.MORE_SUFFIX) for p in pages[:-1])
    rejoined = " ".join(p.removesuffix(segments.MORE_SUFFIX) for p in pages).split()
    assert rejoined == "\n".join(lines).split()
    long_line = "x" * 700
    assert (
        "".join(p.removesuffix("\n" + segments.MORE_SUFFIX) for p in segments.paginate(long_line))
        == long_line
    )


def test_sms_turn_is_one_text(consented):
    replies_ = consented.send("book a checkup tomorrow")
    assert len(replies_) == 1
    replies_ = consented.send("Jordan Testperson")  # "Thanks" and the offer: one text
    assert len(replies_) == 1 and "Thanks, Jordan." in replies_[0].text
    assert "1. " in replies_[0].text and replies_[0].options == ()
    assert len(replies_[0].text) <= segments.MAX_CHARS
