"""Changing the schedule through the portal, end to end over the app's HTTP interface: find a
time, choose or add the patient, book; move with a confirmation; cancel with a confirmation;
mark attended or a no-show once the visit has started. Each is audited with the signed-in user
("staff:clerk", channel "portal"); a refused change (a taken or past time, unknown ids, a
missing CSRF token) says why on the page and changes nothing."""

from __future__ import annotations

import re
from datetime import time
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from scheduler.models import Appointment, AppointmentStatus, Patient, Reminder
from tests.adapters.portal.conftest import (
    MON,
    add_patient,
    book,
    csrf_of,
    events,
    post,
    sign_in,
    text,
)


def appointment_row(services, appointment_id):
    with services.sessions() as db:
        return db.get(Appointment, appointment_id)


def count(services, model) -> int:
    with services.sessions() as db:
        return db.scalar(select(func.count()).select_from(model))


def first_slot_link(page: str, endpoint: str) -> str:
    found = re.search(rf'href="({re.escape(endpoint)}[^"]+)"', page)
    assert found, f"no link to {endpoint}"
    return found.group(1).replace("&amp;", "&")


def test_find_a_time_choose_a_patient_and_book(staff, services):
    patient = add_patient(services)
    page = text(staff.get(f"/portal/find?type=checkup&provider=okafor&date={MON.isoformat()}"))
    assert "Open times" in page and '<h3 class="slot-day">Monday, March 9, 2026</h3>' in page
    assert '<span class="slot-when">8:00 AM</span>' in page
    choose = first_slot_link(page, "/portal/book?")
    args = parse_qs(urlsplit(choose).query)
    assert args["type"] == ["checkup"] and args["provider"] == ["okafor"]
    patient_page = staff.get(choose)
    assert "Who is it for?" in text(patient_page)
    hidden = {k: v[0] for k, v in args.items()}
    found = staff.post(
        "/portal/book/search",
        data={**hidden, "query": "Rosa", "csrf_token": csrf_of(patient_page)},
    )
    assert "Rosa Quintero" in text(found)
    confirm = first_slot_link(text(found), "/portal/book/confirm?")
    assert f"patient={patient}" in confirm
    confirm_page = staff.get(confirm)
    assert "Book this appointment?" in text(confirm_page) and "Rosa Quintero" in text(confirm_page)
    done = staff.post(
        "/portal/book/confirm",
        data={**hidden, "patient": str(patient), "csrf_token": csrf_of(confirm_page)},
    )
    assert done.status_code == 303
    shown = staff.get(done.headers["Location"])
    assert "Booked: General check-up on Mon Mar 9, 8:00 AM" in text(shown)
    (event,) = events(services, "appointment_booked")
    assert event.actor == "staff:clerk" and event.channel == "portal"
    assert event.patient_id == patient
    with services.sessions() as db:
        booked = db.scalar(select(Appointment))
        assert booked.booked_via == "portal" and booked.patient_id == patient
        assert db.scalar(select(func.count()).select_from(Reminder)) >= 1  # reminders planned
    day = text(staff.get(f"/portal/?date={MON.isoformat()}"))
    assert f'href="/portal/appointments/{booked.id}"' in day


def test_a_new_patient_is_added_with_phone_and_name_then_booked(staff, services):
    page = text(staff.get("/portal/find?type=vaccination"))
    choose = first_slot_link(page, "/portal/book?")
    hidden = {k: v[0] for k, v in parse_qs(urlsplit(choose).query).items()}
    form = staff.get(choose)
    added = staff.post(
        "/portal/book/new-patient",
        data={
            **hidden,
            "phone": "(212) 555-0177",
            "name": "  Ingrid   Solberg ",
            "csrf_token": csrf_of(form),
        },
    )
    assert added.status_code == 303
    assert "555" not in added.headers["Location"] and "Ingrid" not in added.headers["Location"]
    confirm = staff.get(added.headers["Location"])
    assert "Ingrid Solberg" in text(confirm) and "(212) 555-0177" in text(confirm)
    (event,) = events(services, "patient_added")
    assert event.actor == "staff:clerk"
    # The same number again is the same patient, not a second one.
    again = staff.post(
        "/portal/book/new-patient",
        data={
            **hidden,
            "phone": "212-555-0177",
            "name": "Someone Else",
            "csrf_token": csrf_of(form),
        },
    )
    assert again.status_code == 303
    assert count(services, Patient) == 1
    assert "already Ingrid Solberg" in text(staff.get(again.headers["Location"]))


@pytest.mark.parametrize(
    ("phone", "name", "says"),
    [
        ("not a phone", "Ingrid Solberg", "does not look like a phone number"),
        ("", "Ingrid Solberg", "needs a phone number and a name"),
        ("212-555-0177", "", "needs a phone number and a name"),
    ],
)
def test_a_bad_new_patient_is_refused_with_the_reason(staff, services, phone, name, says):
    page = text(staff.get("/portal/find?type=vaccination"))
    choose = first_slot_link(page, "/portal/book?")
    hidden = {k: v[0] for k, v in parse_qs(urlsplit(choose).query).items()}
    answer = staff.post(
        "/portal/book/new-patient",
        data={**hidden, "phone": phone, "name": name, "csrf_token": csrf_of(staff.get(choose))},
    )
    assert answer.status_code == 400 and says in text(answer)
    assert count(services, Patient) == 0


def _confirm(staff, patient, start, provider="okafor", type_key="checkup"):
    query = f"type={type_key}&provider={provider}&start={start}&patient={patient}"
    page = staff.get(f"/portal/book/confirm?{query}")
    return staff.post(
        "/portal/book/confirm",
        data={
            "type": type_key,
            "provider": provider,
            "start": start,
            "patient": str(patient),
            "csrf_token": csrf_of(page)
            if page.status_code == 200
            else csrf_of(staff.get("/portal/")),
        },
    )


def test_a_taken_time_is_refused_with_alternatives_and_nothing_booked(staff, services):
    patient = add_patient(services)
    other = add_patient(services, "+12125550150", "Tomas Quintero")
    book(services, other, time(10, 0))
    answer = _confirm(staff, patient, "2026-03-09T10:00:00-04:00")
    assert answer.status_code == 409
    assert "no longer available" in text(answer) and "Nothing was booked" in text(answer)
    assert "Nearest open times" in text(answer)
    assert count(services, Appointment) == 1
    (refused,) = events(services, "request_refused")
    assert refused.actor == "staff:clerk" and refused.detail["action"] == "book"


def test_a_past_time_is_refused(staff, services):
    patient = add_patient(services)
    answer = _confirm(staff, patient, "2026-03-03T10:00:00-05:00")
    assert answer.status_code == 409 and "already passed" in text(answer)
    assert count(services, Appointment) == 0


@pytest.mark.parametrize(
    "query",
    [
        "type=nonsense&provider=okafor&start=2026-03-09T10:00:00-04:00&patient=1",
        "type=checkup&provider=nobody&start=2026-03-09T10:00:00-04:00&patient=1",
        "type=checkup&provider=okafor&start=yesterday&patient=1",
        "type=checkup&provider=okafor&start=2026-03-09T10:00:00&patient=1",
        "type=checkup&provider=okafor&start=2026-03-09T10:00:00-04:00&patient=999",
        "type=checkup&provider=okafor&start=2026-03-09T10:00:00-04:00&patient=99999999999999",
        "type=checkup&provider=okafor&start=2026-03-09T10:00:00-04:00&patient=x",
    ],
)
def test_bad_booking_links_send_back_with_a_message(staff, services, query):
    add_patient(services)
    answer = staff.get(f"/portal/book/confirm?{query}")
    assert answer.status_code == 303
    follow = staff.get(answer.headers["Location"])
    assert follow.status_code == 200 and 'class="message message-problem"' in text(follow)
    assert count(services, Appointment) == 0


def test_find_refuses_an_unknown_type_and_a_provider_who_does_not_offer_it(staff):
    page = text(staff.get("/portal/find?type=nonsense"))
    assert "not one the clinic offers" in page
    page = text(staff.get("/portal/find?type=vaccination&provider=tanaka"))
    assert "does not offer this kind of visit" in page and "Open times" in page


def test_move_with_a_confirmation(staff, services):
    patient = add_patient(services)
    appointment = book(services, patient, time(10, 0))
    page = text(staff.get(f"/portal/appointments/{appointment}/move?date=2026-03-10"))
    assert "Open times" in page and "Tuesday, March 10, 2026" in page
    confirm = first_slot_link(page, f"/portal/appointments/{appointment}/move/confirm?")
    confirm_page = staff.get(confirm)
    assert "Move appointment" in text(confirm_page) and "Yes, move it" in text(confirm_page)
    assert appointment_row(services, appointment).start_at.day == 9  # nothing yet
    args = {k: v[0] for k, v in parse_qs(urlsplit(confirm).query).items()}
    done = staff.post(
        f"/portal/appointments/{appointment}/move/confirm",
        data={
            "provider": args["provider"],
            "start": args["start"],
            "csrf_token": csrf_of(confirm_page),
        },
    )
    assert done.status_code == 303
    assert "Moved to Tue Mar 10" in text(staff.get(done.headers["Location"]))
    assert appointment_row(services, appointment).start_at.day == 10
    (event,) = events(services, "appointment_rescheduled")
    assert event.actor == "staff:clerk" and event.channel == "portal"


def test_a_move_to_a_taken_time_keeps_the_old_one(staff, services):
    patient = add_patient(services)
    other = add_patient(services, "+12125550150", "Tomas Quintero")
    appointment = book(services, patient, time(10, 0))
    book(services, other, time(11, 0))
    confirm = staff.get(
        f"/portal/appointments/{appointment}/move/confirm?provider=okafor"
        "&start=2026-03-09T11:00:00-04:00"
    )
    answer = staff.post(
        f"/portal/appointments/{appointment}/move/confirm",
        data={
            "provider": "okafor",
            "start": "2026-03-09T11:00:00-04:00",
            "csrf_token": csrf_of(confirm),
        },
    )
    assert answer.status_code == 409 and "Nothing was changed" in text(answer)
    assert appointment_row(services, appointment).start_at.hour == 14  # 10:00 in New York


def test_cancel_with_a_confirmation(staff, services):
    patient = add_patient(services)
    appointment = book(services, patient, time(10, 0))
    confirm = staff.get(f"/portal/appointments/{appointment}/cancel")
    assert "Cancel appointment" in text(confirm) and "Yes, cancel it" in text(confirm)
    assert appointment_row(services, appointment).status == AppointmentStatus.BOOKED
    done = staff.post(
        f"/portal/appointments/{appointment}/cancel", data={"csrf_token": csrf_of(confirm)}
    )
    assert done.status_code == 303
    assert "is cancelled" in text(staff.get(done.headers["Location"]))
    assert appointment_row(services, appointment).status == AppointmentStatus.CANCELLED
    (event,) = events(services, "appointment_cancelled")
    assert event.actor == "staff:clerk" and event.channel == "portal"
    again = staff.post(
        f"/portal/appointments/{appointment}/cancel", data={"csrf_token": csrf_of(confirm)}
    )
    assert again.status_code == 409 and "already cancelled" in text(again)
    page = text(staff.get(f"/portal/appointments/{appointment}"))
    assert "Move to another time" not in page and "Nothing can be changed" in page
    assert f'href="/portal/appointments/{appointment}"' not in text(
        staff.get(f"/portal/week?date={MON.isoformat()}")
    )


def test_attendance_once_the_visit_has_started(staff, services, clock):
    patient = add_patient(services)
    appointment = book(services, patient, time(10, 0))
    early = post(staff, f"/portal/appointments/{appointment}/attendance", {"outcome": "fulfilled"})
    assert "not started yet" in text(staff.get(early.headers["Location"]))
    assert appointment_row(services, appointment).status == AppointmentStatus.BOOKED
    clock.now = clock.now.replace(day=9, hour=14, minute=5)  # Monday 10:05 in New York
    sign_in(staff)  # five days later: the session had ended
    page = text(staff.get(f"/portal/appointments/{appointment}"))
    assert "Mark attended" in page and "Mark a no-show" in page
    assert "Move to another time" not in page
    done = post(staff, f"/portal/appointments/{appointment}/attendance", {"outcome": "noshow"})
    assert "Marked a no-show" in text(staff.get(done.headers["Location"]))
    assert appointment_row(services, appointment).status == AppointmentStatus.NOSHOW
    post(staff, f"/portal/appointments/{appointment}/attendance", {"outcome": "fulfilled"})
    assert appointment_row(services, appointment).status == AppointmentStatus.FULFILLED
    marked = events(services, "attendance_marked")
    assert [e.detail["outcome"] for e in marked] == ["noshow", "fulfilled"]
    assert all(e.actor == "staff:clerk" and e.channel == "portal" for e in marked)
    odd = post(staff, f"/portal/appointments/{appointment}/attendance", {"outcome": "maybe"})
    assert "Choose attended or no-show" in text(staff.get(odd.headers["Location"]))


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/portal/appointments/{a}/cancel", {}),
        ("/portal/appointments/{a}/attendance", {"outcome": "noshow"}),
        (
            "/portal/appointments/{a}/move/confirm",
            {"provider": "okafor", "start": "2026-03-10T10:00:00-04:00"},
        ),
        (
            "/portal/book/confirm",
            {
                "type": "checkup",
                "provider": "okafor",
                "start": "2026-03-10T10:00:00-04:00",
                "patient": "{p}",
            },
        ),
        (
            "/portal/book/new-patient",
            {
                "phone": "212-555-0188",
                "name": "Noor Haddad",
                "type": "checkup",
                "provider": "okafor",
                "start": "2026-03-10T10:00:00-04:00",
            },
        ),
    ],
)
@pytest.mark.parametrize("token", [None, "forged-token", "IjEi.ZZZZ.forged"])
def test_a_change_without_or_with_a_forged_csrf_token_is_400_and_changes_nothing(
    staff, services, clock, path, data, token
):
    patient = add_patient(services)
    appointment = book(services, patient, time(10, 0))
    clock.now = clock.now.replace(day=9, hour=14, minute=5)  # attendance could be marked
    sign_in(staff)
    before = appointment_row(services, appointment)
    audit_before = len(events(services, "appointment_booked"))
    form = {k: v.format(p=patient) for k, v in data.items()}
    if token is not None:
        form["csrf_token"] = token
    answer = staff.post(path.format(a=appointment), data=form)
    assert answer.status_code == 400 and "security token" in text(answer)
    after = appointment_row(services, appointment)
    assert (after.status, after.start_at) == (before.status, before.start_at)
    assert count(services, Appointment) == 1 and count(services, Patient) == 1
    assert len(events(services, "appointment_booked")) == audit_before
    assert events(services, "attendance_marked") == []


def test_an_unknown_appointment_cannot_be_changed(staff):
    for path in ("cancel", "move", "move/confirm"):
        assert staff.get(f"/portal/appointments/4242/{path}").status_code == 404
    answer = post(staff, "/portal/appointments/4242/attendance", {"outcome": "noshow"})
    assert answer.status_code == 404


def test_a_move_link_with_a_bad_time_goes_back_with_a_message(staff, services):
    patient = add_patient(services)
    appointment = book(services, patient, time(10, 0))
    answer = staff.get(
        f"/portal/appointments/{appointment}/move/confirm?provider=okafor&start=soon"
    )
    assert answer.status_code == 303
    assert "could not be read" in text(staff.get(answer.headers["Location"]))


def test_a_moved_appointment_still_is_the_same_row_and_its_day_list_shows_it(staff, services):
    patient = add_patient(services)
    appointment = book(services, patient, time(10, 0))
    confirm = staff.get(
        f"/portal/appointments/{appointment}/move/confirm?provider=okafor"
        "&start=2026-03-09T11:00:00-04:00"
    )
    staff.post(
        f"/portal/appointments/{appointment}/move/confirm",
        data={
            "provider": "okafor",
            "start": "2026-03-09T11:00:00-04:00",
            "csrf_token": csrf_of(confirm),
        },
    )
    day = text(staff.get(f"/portal/?date={MON.isoformat()}"))
    assert "11:00 - 11:30 AM" in day
    assert count(services, Appointment) == 1
