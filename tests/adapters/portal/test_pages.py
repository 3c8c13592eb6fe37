"""The portal's pages: the day and the week as a grid by provider, room and equipment, an
appointment's page, the patient search and a patient's page, the waitlist; their security
headers; and bad input (unknown ids, unreadable dates) answered with a page, never a 500."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest

from scheduler.models import Reminder
from scheduler.waitlist import join
from tests.adapters.portal.conftest import MON, add_patient, book, events, post, text


@pytest.fixture
def booked(services):
    """Rosa Quintero's check-up with Dr. Okafor on Monday 2026-03-09 at 10:00."""
    patient = add_patient(services)
    return patient, book(services, patient, time(10, 0))


def test_the_day_shows_the_grid_by_provider_with_each_appointment_a_link(staff, booked):
    _, appointment = booked
    page = text(staff.get(f"/portal/?date={MON.isoformat()}"))
    assert "Monday, March 9, 2026" in page
    assert f'href="/portal/appointments/{appointment}"' in page
    assert "Rosa Quintero" in page and "General check-up" in page
    for name in ("Dr. Amara Okafor", "Dr. Henrik Lindqvist", "Nurse Practitioner Celine Moreau"):
        assert name in page
    assert re.search(r'<td rowspan="2" class="booked">', page)  # 30 minutes: two rows
    assert ">8:00 AM<" in page and ">8:15 AM<" in page  # 15-minute rows from the first start
    assert 'class="closed"' in page  # someone's break or hours


def test_the_day_by_room_and_by_equipment(staff, services, booked):
    page = text(staff.get(f"/portal/?date={MON.isoformat()}&by=room"))
    assert "Exam Room 1" in page and "Procedure Room" in page
    assert "Rosa Quintero" in page  # the check-up took an exam room
    page = text(staff.get(f"/portal/?date={MON.isoformat()}&by=equipment"))
    assert "Ultrasound scanner" in page
    assert 'rowspan="2" class="booked"' not in page  # a check-up uses no equipment
    assert 'aria-current="true" class="current">Equipment' in page


def test_the_day_pages_back_and_forth_and_has_a_date_picker(staff):
    page = text(staff.get(f"/portal/?date={MON.isoformat()}"))
    assert 'href="/portal/?by=provider&amp;date=2026-03-08"' in page
    assert 'href="/portal/?by=provider&amp;date=2026-03-10"' in page
    assert 'type="date"' in page and 'value="2026-03-09"' in page
    assert 'method="get"' in page


def test_today_is_the_default_and_is_marked(staff):
    page = text(staff.get("/portal/"))
    assert "Wednesday, March 4, 2026" in page and ">Today<" in page
    assert 'data-now-row="5"' in page  # 9:00 is the fifth row from 8:00


def test_a_closed_day_says_so(staff):
    page = text(staff.get("/portal/?date=2026-03-08"))  # a Sunday
    assert "Nobody works on this day" in page


@pytest.mark.parametrize("raw", ["nonsense", "2026-13-45", "99999-01-01", "1800-01-01", "%00"])
def test_an_unreadable_date_says_so_and_shows_today(staff, raw):
    response = staff.get(f"/portal/?date={raw}")
    assert response.status_code == 200
    assert "could not be read" in text(response)
    assert "Wednesday, March 4, 2026" in text(response)


def test_an_unknown_view_falls_back_to_providers(staff):
    response = staff.get("/portal/?by=nonsense")
    assert response.status_code == 200 and "showing providers" in text(response)


def test_the_week_of_one_provider_has_the_days_as_columns(staff, booked):
    page = text(staff.get(f"/portal/week?date={MON.isoformat()}&which=okafor"))
    assert "Week of Mon Mar 9 to Sun Mar 15, 2026" in page
    assert "Dr. Amara Okafor" in page and "Rosa Quintero" in page
    for day in ("Mon Mar 9", "Tue Mar 10", "Wed Mar 11", "Thu Mar 12", "Fri Mar 13"):
        assert day in page
    assert "Not working at all: Sat Mar 14, Sun Mar 15" in page
    assert 'href="/portal/?by=provider&amp;date=2026-03-09"' in page
    assert "1 appointment this week" in page


def test_the_week_of_a_room_and_of_unknown_things(staff, booked):
    page = text(staff.get(f"/portal/week?date={MON.isoformat()}&by=room&which=procedure"))
    assert "Procedure Room" in page and "0 appointments this week" in page
    page = text(staff.get("/portal/week?which=nobody"))
    assert "showing the first" in page and "Dr. Amara Okafor" in page


def test_an_appointment_page_shows_everything_and_the_actions(staff, booked):
    patient, appointment = booked
    page = text(staff.get(f"/portal/appointments/{appointment}"))
    assert f'href="/portal/patients/{patient}"' in page and "Rosa Quintero" in page
    for fact in ("General check-up", "Dr. Amara Okafor", "Exam Room", "10:00 AM", "10:30 AM"):
        assert fact in page
    assert "Booked" in page and "slack" in page  # status, booked via
    assert "Move to another time" in page and "Cancel the appointment" in page
    assert "Mark attended" not in page  # not started yet


@pytest.mark.parametrize("path", ["/portal/appointments/999", "/portal/appointments/99999999999"])
def test_an_unknown_appointment_is_a_404_page(staff, path):
    response = staff.get(path)
    assert response.status_code == 404 and "no appointment" in text(response)


def test_an_unknown_page_is_a_404_page(staff):
    response = staff.get("/portal/no/such/page")
    assert response.status_code == 404 and "no such page" in text(response)
    assert response.headers["X-Frame-Options"] == "DENY"


def test_a_patient_search_by_name_and_by_phone(staff, services, booked):
    patient, _ = booked
    add_patient(services, "+12125550150", "Tomas Quintero")
    by_name = text(post(staff, "/portal/patients", {"query": "quintero"}))
    assert "Rosa Quintero" in by_name and "Tomas Quintero" in by_name
    assert f'href="/portal/patients/{patient}"' in by_name
    by_both = text(post(staff, "/portal/patients", {"query": "Rosa Quintero"}))
    assert "Rosa Quintero" in by_both and "Tomas" not in by_both
    by_phone = text(post(staff, "/portal/patients", {"query": "(212) 555-0123"}))
    assert "Rosa Quintero" in by_phone and "Tomas" not in by_phone
    nobody = text(post(staff, "/portal/patients", {"query": "Zzyzx"}))
    assert "Nobody found" in nobody
    assert len(events(services, "patient_looked_up")) == 4


def test_the_patient_search_is_a_post_so_names_stay_out_of_addresses(staff):
    page = text(staff.get("/portal/patients"))
    assert re.search(r'<form method="post" action="/portal/patients"', page)


def test_a_patients_page_shows_visits_consent_language_and_reminders(
    staff, services, booked, clock
):
    patient, appointment = booked
    with services.sessions.begin() as db:
        reminder = db.query(Reminder).filter_by(appointment_id=appointment).first()
        reminder.status, reminder.sent_at = "sent", clock() + timedelta(minutes=1)
        join(
            db,
            services.clinic,
            patient_id=patient,
            type_key="checkup",
            provider_key=None,
            earliest=None,
            latest=None,
            priority="urgent",
            now=clock(),
            created_by="staff:clerk",
        )
    page = text(staff.get(f"/portal/patients/{patient}"))
    assert "Rosa Quintero" in page and "(212) 555-0123" in page
    assert "Upcoming visits (1)" in page and f"/portal/appointments/{appointment}" in page
    assert "Receives texts" in page and "Not known yet" in page
    assert "Appointment reminder" in page and "Sent" in page and "Waiting to be sent" in page
    assert "On the waitlist" in page and "Urgent" in page
    assert "Reminder:" not in page  # never a text's wording
    (shown,) = events(services, "patient_contact_shown")
    assert shown.actor == "staff:clerk" and shown.patient_id == patient


def test_an_opted_out_patient_is_shown_as_such(staff, services, booked, clock):
    from scheduler.models import Patient

    patient, _ = booked
    with services.sessions.begin() as db:
        row = db.get(Patient, patient)
        row.opted_out_at, row.language = clock(), "es"
    page = text(staff.get(f"/portal/patients/{patient}"))
    assert "Opted out" in page and "Spanish" in page


def test_an_unknown_patient_is_a_404_page(staff):
    assert staff.get("/portal/patients/4242").status_code == 404


def test_the_waitlist_lists_who_waits(staff, services, booked, clock):
    patient, _ = booked
    with services.sessions.begin() as db:
        join(
            db,
            services.clinic,
            patient_id=patient,
            type_key="checkup",
            provider_key="okafor",
            earliest=None,
            latest=None,
            priority="routine",
            now=clock(),
            created_by="staff:clerk",
        )
    page = text(staff.get("/portal/waitlist"))
    assert "Waitlist (1)" in page and "Rosa Quintero" in page and "Dr. Amara Okafor" in page


PAGES = [
    "/portal/",
    "/portal/?by=room",
    "/portal/week",
    "/portal/find",
    "/portal/find?type=checkup",
    "/portal/patients",
    "/portal/waitlist",
    "/portal/appointments/{appointment}",
    "/portal/appointments/{appointment}/move",
    "/portal/appointments/{appointment}/cancel",
    "/portal/patients/{patient}",
    "/portal/nowhere",
    "/login",
]


def test_every_portal_page_has_the_security_headers(staff, booked, app):
    patient, appointment = booked
    for path in PAGES:
        for client in (staff, app.test_client()):
            response = client.get(path.format(patient=patient, appointment=appointment))
            headers = response.headers
            csp = headers["Content-Security-Policy"]
            assert "default-src 'self'" in csp and "script-src 'self'" in csp, path
            assert "style-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
            assert "unsafe-inline" not in csp
            assert headers["X-Frame-Options"] == "DENY", path
            assert headers["Referrer-Policy"] in ("same-origin", "no-referrer"), path
            assert headers["X-Content-Type-Options"] == "nosniff", path
            assert headers["Cache-Control"] == "no-store", path


def test_pages_have_no_inline_script_or_style_and_nothing_from_elsewhere(staff, booked):
    patient, appointment = booked
    for path in PAGES:
        page = text(staff.get(path.format(patient=patient, appointment=appointment)))
        assert "<style" not in page and " style=" not in page, path
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), path
        assert not re.search(r" on[a-z]+=", page), path
        assert not re.search(r'(src|href|action)="(https?:)?//', page), path


def test_the_static_files_are_served_and_may_be_cached(staff):
    for name in ("portal.css", "portal.js"):
        with staff.get(f"/portal/static/{name}") as response:
            assert response.status_code == 200
            assert response.headers.get("Cache-Control") != "no-store"
            assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_layout_has_the_menu_skip_link_and_sign_out(staff, admin):
    page = text(staff.get("/portal/"))
    assert 'class="skip-link" href="#content"' in page
    for label in ("Day", "Week", "Find a time", "Waitlist", "Patients"):
        assert f">{label}</a>" in page
    assert ">Admin</a>" not in page
    assert re.search(r'<form method="post" action="/logout"', page)
    assert ">Admin</a>" in text(admin.get("/portal/"))


def test_times_are_the_clinics_across_daylight_saving(staff, services):
    # New York springs forward on Sunday 2026-03-08; Monday's 10:00 is 14:00 UTC.
    patient = add_patient(services)
    appointment = book(services, patient, time(10, 0))
    page = text(staff.get(f"/portal/appointments/{appointment}"))
    assert "10:00 AM" in page
    with services.sessions() as db:
        from scheduler.models import Appointment

        assert db.get(Appointment, appointment).start_at == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
