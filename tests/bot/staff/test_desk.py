"""The staff desk without Slack: /appt commands, action tokens, roles and the staff's scope."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.audit.trail import AuditTrail
from bot.staff.admin import AdminDesk, mentioned_user
from bot.staff.choices import parse_action, slot_token
from bot.staff.desk import StaffDesk
from bot.tools import Caller
from scheduler import staff_users
from scheduler.availability import Slot
from scheduler.models import Appointment, AppointmentStatus, AuditEvent, Patient, WaitlistEntry
from scheduler.patients import find_patient

STAFF, ADMIN = "U0STAFF", "U0ADMIN"
PHONE = "+12125550177"


@pytest.fixture
def audit(vault):
    return AuditTrail(vault)


@pytest.fixture
def desk(sessions, demo_clinic, vault, audit, clock):
    with sessions.begin() as db:
        staff_users.add_user(db, STAFF, "staff", added_by="test", now=clock())
        staff_users.add_user(db, ADMIN, "admin", added_by="test", now=clock())
    return StaffDesk(sessions=sessions, clinic=demo_clinic, vault=vault, audit=audit, clock=clock)


@pytest.fixture
def admin_desk(sessions, demo_clinic, vault, audit, clock, desk):
    return AdminDesk(sessions=sessions, clinic=demo_clinic, vault=vault, audit=audit, clock=clock)


@pytest.fixture
def staff(desk):
    return desk.authorize(STAFF, "test")


def events(sessions, kind):
    with sessions() as db:
        return db.scalars(select(AuditEvent).where(AuditEvent.kind == kind)).all()


def test_only_listed_slack_users_are_staff_and_refusals_are_audited(desk, sessions):
    assert desk.authorize(STAFF, "appt today") == Caller("staff", "slack", staff_id=STAFF)
    assert desk.authorize(ADMIN, "appt-admin logs", admin=True).role == "admin"
    assert desk.authorize("U0NOBODY", "appt today") is None
    assert desk.authorize(STAFF, "appt-admin logs", admin=True) is None
    refused = events(sessions, "request_refused")
    assert [(e.actor, e.detail["reason"]) for e in refused] == [
        ("slack:U0NOBODY", "not_authorized"),
        ("slack:U0STAFF", "not_admin"),
    ]


def test_book_by_phone_creates_the_patient_and_books_an_exact_free_time(
    desk, staff, sessions, vault
):
    answer = desk.command(staff, "book +1 212 555 0177 checkup tomorrow 10am")
    assert answer.ok and answer.appointment_id is not None, answer.text
    assert "Booked #" in answer.text and "Thu Mar 5 at 10:00 AM" in answer.text
    with sessions() as db:
        patient = find_patient(db, vault, PHONE)
        appointment = db.get(Appointment, answer.appointment_id)
        assert appointment.patient_id == patient.id and appointment.booked_via == "slack"
    [booked] = events(sessions, "appointment_booked")
    assert booked.actor == f"staff:{STAFF}"


def test_book_without_a_time_offers_choices_that_book_when_taken(desk, staff, sessions):
    answer = desk.command(staff, "book 212-555-0177 checkup friday")
    assert len(answer.choices) == 8 and "Fri Mar 6" in answer.choices[0].label
    action = parse_action(answer.choices[2].token)
    assert action.op == "book" and action.target is not None
    done = desk.act(staff, answer.choices[2].token, once="C1:1.1")
    assert done.ok and done.appointment_id
    again = desk.act(staff, answer.choices[3].token, once="C1:1.1")
    assert not again.ok and "already used" in again.text
    with sessions() as db:
        assert len(db.scalars(select(Appointment)).all()) == 1


def test_slots_needs_a_known_type_and_says_how(desk, staff):
    answer = desk.command(staff, "slots banana tuesday")
    assert not answer.ok and "Usage: /appt slots <type> [provider] [when]" in answer.text
    found = desk.command(staff, "slots echo tanaka next tuesday")
    assert found.ok and found.choices and all("Tanaka" in c.label for c in found.choices)
    assert all(parse_action(c.token).op == "slot" for c in found.choices)


def test_move_and_cancel_by_id(desk, staff, sessions):
    booked = desk.command(staff, "book +12125550177 checkup tomorrow 10am")
    moved = desk.command(staff, f"move #{booked.appointment_id} friday 11am")
    assert moved.ok and "Fri Mar 6 at 11:00 AM" in moved.text, moved.text
    cancelled = desk.command(staff, f"cancel {booked.appointment_id}")
    assert cancelled.ok and f"Cancelled #{booked.appointment_id}" in cancelled.text
    with sessions() as db:
        assert db.get(Appointment, booked.appointment_id).status == AppointmentStatus.CANCELLED
    again = desk.command(staff, f"cancel {booked.appointment_id}")
    assert not again.ok and "already cancelled" in again.text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("cancel", "Usage: /appt cancel <id>"),
        ("cancel twelve", "Appointment ids are numbers"),
        ("cancel 999", "There is no appointment #999"),
        ("move 999 friday", "There is no appointment #999"),
        ("move 5", "Usage: /appt move <id> <when>"),
        ("book", "Usage: /appt book"),
        ("book 12 checkup friday", "Usage: /appt book"),
        ("book 123-4567-8901-2345 checkup friday", "does not look like a phone number"),
        ("book +12125550177 friday", "Which kind of visit?"),
        ("book +12125550177 checkup", "Usage: /appt book"),
        ("book +12125550177 checkup february 30", "doesn't exist"),
        ("find", "Usage: /appt find <phone>"),
        ("find +12125550100", "No patient has that phone number"),
        ("today dr nobody", "I don't know that provider"),
        ("frobnicate", "I don't know the command 'frobnicate'"),
        ("waitlist", "Usage: /appt waitlist"),
        ("waitlist +12125550177", "Which kind of visit?"),
        ("x" * 3000, "too long"),
    ],
)
def test_bad_commands_get_a_usage_line_not_an_error(desk, staff, text, expected):
    answer = desk.command(staff, text)
    assert not answer.ok and expected in answer.text


def test_staff_put_a_patient_on_the_waitlist_with_priority(desk, staff, sessions):
    answer = desk.command(staff, "waitlist +12125550177 checkup okafor from friday urgent")
    assert (
        answer.ok and "on the waitlist for a General check-up with Dr. Amara Okafor" in answer.text
    )
    assert "from Fri Mar 6" in answer.text and "(urgent)" in answer.text
    again = desk.command(staff, "waitlist +12125550177 checkup")
    assert again.ok and "already on the waitlist" in again.text
    with sessions() as db:
        [entry] = db.scalars(select(WaitlistEntry)).all()
        kinds = db.scalars(select(AuditEvent.kind)).all()
    assert (entry.type_key, entry.provider_key, entry.priority) == ("checkup", "okafor", "urgent")
    assert entry.earliest.isoformat() == "2026-03-06" and entry.created_by == f"staff:{STAFF}"
    assert kinds.count("waitlist_joined") == 1


def test_today_lists_each_provider_with_booked_and_open_counts(desk, staff, clock):
    desk.command(staff, "book +12125550177 sick visit today 3pm okafor")
    answer = desk.command(staff, "today")
    okafor = next(e for e in answer.schedule if e.key == "okafor")
    assert okafor.booked == 1 and okafor.free > 0 and okafor.working
    assert next(e for e in answer.schedule if e.key == "lindqvist").working is False
    assert "3:00 PM" in answer.text and "patient #1" in answer.text
    only = desk.command(staff, "today okafor")
    assert [e.key for e in only.schedule] == ["okafor"]


def test_find_shows_the_patient_and_is_audited(desk, staff, sessions):
    desk.command(staff, "book +12125550177 checkup tomorrow 10am")
    answer = desk.command(staff, "find (212) 555-0177")
    assert "patient #1" in answer.text and "Thu Mar 5 at 10:00 AM" in answer.text
    [looked] = events(sessions, "patient_looked_up")
    assert looked.patient_id == 1 and looked.actor == f"staff:{STAFF}"


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "x",
        "b",
        "b:1",
        "b:abc:checkup:okafor:1772719200:",
        "c",
        "c:1:checkup:okafor:1:",
        "b:1:Checkup:okafor:1772719200:",
        "z:1",
        "b:1:checkup:okafor:1772719200:exam-1:extra",
        "s:1:checkup:okafor:1772719200:",
        "e:1",
        "b:1:nosuchtype:okafor:1772719200:",
        "c:" + "9" * 13,
        "b:1:checkup:nobody:1772719200:",
        {"value": 1},
        "b:99999:checkup:okafor:1772719200:",
    ],
)
def test_unexpected_action_values_are_refused_cleanly(desk, staff, token):
    answer = desk.act(staff, token)
    assert not answer.ok and "no longer valid" in answer.text


def test_a_slot_token_round_trips_and_is_checked_again_when_used(desk, staff, demo_clinic, now):
    start = now + timedelta(days=1)
    token = slot_token("book", 7, Slot("checkup", "okafor", start, start, "exam-1", None))
    assert len(token) <= 150
    action = parse_action(token)
    assert action.slot == ("checkup", "okafor", int(start.timestamp()), "exam-1")
    # 14:00 UTC tomorrow is 9:00 in New York, a real slot; an hour off the grid is refused.
    desk.command(staff, "book +12125550177 checkup tomorrow 10am")
    off_grid = slot_token(
        "book", 1, Slot("checkup", "okafor", start + timedelta(minutes=7), start, None, None)
    )
    refused = desk.act(staff, off_grid)
    assert not refused.ok and "does not see patients at that time" in refused.text
    assert refused.choices, "alternatives are offered"


def test_booking_a_free_slot_for_a_new_patient_by_phone_and_name(desk, staff, sessions, vault):
    slot = desk.command(staff, "slots vaccination tomorrow").choices[0]
    answer = desk.book_new_patient(staff, slot.token, "+1 212 555 0166", "Casey Examplename")
    assert answer.ok and "Casey Examplename" in answer.text
    with sessions() as db:
        patient = find_patient(db, vault, "+12125550166")
        assert vault.decrypt(patient.name_enc) == "Casey Examplename"
    assert not desk.book_new_patient(staff, slot.token, "12", None).ok
    assert not desk.book_new_patient(staff, slot.token, "+12125550155", "R2D2 <script>").ok
    assert not desk.book_new_patient(staff, "b:1", "+12125550155", None).ok


def test_admin_users_commands_manage_roles(admin_desk, desk, sessions):
    admin = desk.authorize(ADMIN, "test", admin=True)
    assert "U0STAFF staff" in admin_desk.command(admin, "users list").text
    assert admin_desk.command(admin, "users add <@U0NEW|newbie> staff").ok
    assert desk.authorize("U0NEW", "test") is not None
    assert admin_desk.command(admin, "users role <@U0NEW> admin").ok
    assert desk.authorize("U0NEW", "test", admin=True) is not None
    assert admin_desk.command(admin, "users remove U0NEW").ok
    assert desk.authorize("U0NEW", "test") is None
    refused = admin_desk.command(admin, "users remove <@U0ADMIN>")
    assert not refused.ok and "last admin" in refused.text
    assert not admin_desk.command(admin, "users add @someone staff").ok
    assert not admin_desk.command(admin, "users add <@U0X> boss").ok
    assert not admin_desk.command(admin, "users add <@U0STAFF> staff").ok
    kinds = [e.kind for e in events(sessions, "staff_user_added")]
    assert kinds == ["staff_user_added"]


def test_admin_logs_are_redacted_and_audit_verify_names_the_broken_event(
    admin_desk, desk, sessions, vault
):
    admin = desk.authorize(ADMIN, "test", admin=True)
    staff = desk.authorize(STAFF, "test")
    desk.command(staff, "book +12125550177 checkup tomorrow 10am")
    logs = admin_desk.command(admin, "logs 5")
    assert "appointment_booked" in logs.text and "+1212" not in logs.text
    assert "Usage" in admin_desk.command(admin, "logs 500").text
    assert admin_desk.command(admin, "audit verify").text.startswith("OK")
    with sessions.begin() as db:
        event = db.scalars(select(AuditEvent).where(AuditEvent.kind == "appointment_booked")).one()
        event.detail = {**event.detail, "provider": "someone-else"}
        seq = event.seq
    broken = admin_desk.command(admin, "audit verify")
    assert not broken.ok and f"BROKEN at audit event #{seq}" in broken.text


def test_admin_reminders_read_the_reminder_store(admin_desk, desk):
    admin = desk.authorize(ADMIN, "test", admin=True)
    assert "No failed reminders" in admin_desk.command(admin, "reminders failed").text
    assert "Usage" in admin_desk.command(admin, "reminders sometimes").text


def test_mentions_are_read_as_slack_user_ids():
    assert mentioned_user("<@U012ABC|jordan>") == "U012ABC"
    assert mentioned_user("<@U012ABC>") == "U012ABC"
    assert mentioned_user("W012ABC") == "W012ABC"
    assert mentioned_user("@jordan") is None and mentioned_user("<#C012|general>") is None


def test_patients_cannot_reach_staff_scope(sessions, demo_clinic, audit, now):
    from bot.tools import SchedulingTools
    from scheduler.errors import NotAllowed

    with sessions.begin() as db:
        db.add(Patient(id=5, phone_index="x", created_at=now))
        db.add(Patient(id=6, phone_index="y", created_at=now))
    with sessions.begin() as db:
        tools = SchedulingTools(db, demo_clinic, audit, Caller("patient", "sms", patient_id=5), now)
        with pytest.raises(NotAllowed):
            tools.list_appointments(6)
