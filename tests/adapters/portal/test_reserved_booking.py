"""Booking a time kept for urgent patients from the portal: the find page's "Urgent patient" box
opens the reserved times (Nurse Practitioner Moreau's 11:30 and 14:30 on Wednesday 2026-03-04,
as tests/scheduler/test_reserved.py works them out), every later step carries it, and the booking
is made and audited at the urgent level. Without the box the reserved times are never shown, and
a link forged to one is refused with alternatives and books nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.tools import Caller, SchedulingTools
from scheduler.availability import Slot
from scheduler.models import Appointment
from tests.adapters.portal.conftest import (
    add_patient,
    csrf_of,
    events,
    make_app,
    text,
)
from tests.adapters.portal.test_changes import count, first_slot_link
from tests.reserved_support import reserving_clinic_file

FIND = "/portal/find?type=sick-visit&provider=moreau&date=2026-03-04"
KEPT = "2026-03-04T14:30:00-05:00"
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def app(tmp_path, database_url, clock):
    clinic_file = reserving_clinic_file(tmp_path)
    app = make_app(tmp_path, database_url, clock, clinic_config=clinic_file)
    yield app
    app.extensions["clinic_scheduler"].engine.dispose()


def shown_times(page: str) -> list[str]:
    return [
        parse_qs(urlsplit(link.replace("&amp;", "&")).query)["start"][0]
        for link in page.split('href="')[1:]
        if link.startswith("/portal/book?")
    ]


def test_an_urgent_booking_from_the_portal_takes_a_reserved_time(staff, services):
    patient = add_patient(services)
    routine = text(staff.get(FIND))
    assert KEPT not in shown_times(routine) and 'name="urgent"' in routine
    page = text(staff.get(FIND + "&urgent=1"))
    assert KEPT in shown_times(page) and 'name="urgent" type="checkbox" value="1" checked' in page
    choose = first_slot_link(page, "/portal/book?")
    args = {k: v[0] for k, v in parse_qs(urlsplit(choose).query).items()}
    assert args["urgent"] == "1"
    hidden = {**args, "start": KEPT}  # the reserved 14:30, as its link names it
    chosen = staff.get("/portal/book", query_string=hidden)
    assert 'name="urgent" type="hidden" value="1"' in text(chosen)
    found = staff.post(
        "/portal/book/search", data={**hidden, "query": "Rosa", "csrf_token": csrf_of(chosen)}
    )
    confirm = first_slot_link(text(found), "/portal/book/confirm?")
    assert "urgent=1" in confirm
    confirm_page = staff.get(confirm)
    assert "Urgent (may use a time kept for urgent patients)" in text(confirm_page)
    done = staff.post(
        "/portal/book/confirm",
        data={**hidden, "patient": str(patient), "csrf_token": csrf_of(confirm_page)},
    )
    assert done.status_code == 303, text(done)
    (event,) = events(services, "appointment_booked")
    assert (event.actor, event.channel, event.detail["urgency"]) == (
        "staff:clerk",
        "portal",
        "urgent",
    )
    with services.sessions() as db:
        booked = db.scalar(select(Appointment))
        assert booked.start_at.isoformat() == "2026-03-04T19:30:00+00:00"


def test_without_the_box_a_reserved_time_is_refused_and_nothing_booked(staff, services):
    patient = add_patient(services)
    hidden = {"type": "sick-visit", "provider": "moreau", "start": KEPT}
    confirm_page = staff.get("/portal/book/confirm", query_string={**hidden, "patient": patient})
    refused = staff.post(
        "/portal/book/confirm",
        data={**hidden, "patient": str(patient), "csrf_token": csrf_of(confirm_page)},
    )
    assert refused.status_code == 409
    assert "Nothing was booked" in text(refused) and "Nearest open times" in text(refused)
    assert count(services, Appointment) == 0
    assert events(services, "appointment_booked") == []


def test_an_urgent_move_from_the_portal_takes_a_reserved_time(staff, services):
    patient = add_patient(services)
    with services.sessions.begin() as db:
        desk = Caller(role="staff", channel="slack", staff_id="U1")
        tools = SchedulingTools(db, services.clinic, services.audit, desk, services.clock())
        later = datetime(2026, 3, 6, 10, 0, tzinfo=NEW_YORK).astimezone(UTC)
        slot = Slot("sick-visit", "moreau", later, later + timedelta(minutes=20), None, None)
        appointment_id = tools.book_appointment(slot, patient_id=patient).id
    move = f"/portal/appointments/{appointment_id}/move?provider=moreau&date=2026-03-04"
    reserved_shown = '<span class="slot-when">11:30 AM</span>'
    assert reserved_shown not in text(staff.get(move))
    page = text(staff.get(move + "&urgent=1"))
    assert reserved_shown in page and 'type="checkbox" value="1" checked' in page
    confirm_at = f"/portal/appointments/{appointment_id}/move/confirm"
    hidden = {"provider": "moreau", "start": KEPT, "urgent": "1"}
    confirm = staff.get(confirm_at, query_string=hidden)
    assert "Urgent (may use a time kept for urgent patients)" in text(confirm)
    done = staff.post(confirm_at, data={**hidden, "csrf_token": csrf_of(confirm)})
    assert done.status_code == 303, text(done)
    # Without the box, a move into the other reserved time (11:30) is refused.
    routine = {"provider": "moreau", "start": "2026-03-04T11:30:00-05:00"}
    confirm = staff.get(confirm_at, query_string=routine)
    refused = staff.post(confirm_at, data={**routine, "csrf_token": csrf_of(confirm)})
    assert refused.status_code == 409 and "Nothing was changed" in text(refused)
    with services.sessions() as db:
        moved = db.get(Appointment, appointment_id).start_at.astimezone(NEW_YORK)
        assert f"{moved:%Y-%m-%d %H:%M}" == "2026-03-04 14:30"
