"""A visit nobody marked: still booked more than a day after its end, the day grid, the day's list,
the appointment page and the patient's page say "Unmarked" (never attended), with the buttons to
mark it; once marked it says what was marked."""

from __future__ import annotations

import re
from datetime import time

import pytest

from tests.adapters.portal.conftest import MON, add_patient, book, post, sign_in, text

DAY = f"/portal/?date={MON.isoformat()}"


@pytest.fixture
def patient(services):
    """Rosa Quintero."""
    return add_patient(services)


@pytest.fixture
def visit(services, patient):
    """Rosa Quintero's check-up with Dr. Okafor on Monday March 9, 10:00 to 10:30."""
    return book(services, patient, time(10, 0))


def at(clock, staff, day: int, hour: int, minute: int = 0) -> None:
    """Move the clinic's clock (hours in UTC; New York is UTC-4 from March 8) and sign in again."""
    clock.now = clock.now.replace(day=day, hour=hour, minute=minute)
    sign_in(staff)


def grid_status(page: str, appointment: int) -> str | None:
    """The status a visit's grid cell shows, if it shows one."""
    found = re.search(
        rf'<a class="visit (status-[a-z-]+)" href="/portal/appointments/{appointment}">(.*?)</a>',
        page,
        re.S,
    )
    assert found, "the visit is not in the grid"
    status = re.search(r'<span class="visit-status">([^<]+)</span>', found.group(2))
    return f"{found.group(1)}: {status.group(1)}" if status else found.group(1)


def test_a_visit_still_booked_a_day_after_its_end_is_unmarked_everywhere(
    staff, services, clock, visit
):
    at(clock, staff, 10, 15, 0)  # Tuesday 11:00 in New York: ended a day and half an hour ago
    page = text(staff.get(DAY))
    assert grid_status(page, visit) == "status-unmarked: Unmarked"
    assert '<span class="status status-unmarked">Unmarked</span>' in page  # the day's list
    assert "Attended" not in page
    one = text(staff.get(f"/portal/appointments/{visit}"))
    assert '<span class="status status-unmarked">Unmarked</span>' in one
    assert "nobody has marked whether the patient came" in one
    assert "Mark attended" in one and "Mark a no-show" in one


def patient_card(staff, patient: int, appointment: int) -> str:
    """The visit's card on the patient's page."""
    page = text(staff.get(f"/portal/patients/{patient}"))
    found = re.search(
        rf'<li class="card [^"]+"><a class="card-link" href="/portal/appointments/{appointment}">'
        r".*?</li>",
        page,
        re.S,
    )
    assert found, "the visit is not on the patient's page"
    return found.group(0)


def test_the_patient_s_page_says_unmarked_too(staff, clock, patient, visit):
    at(clock, staff, 10, 14, 0)  # within a day of its end: booked still
    card = patient_card(staff, patient, visit)
    assert 'class="card status-booked"' in card
    assert '<span class="status status-booked">Booked</span>' in card
    at(clock, staff, 10, 15, 0)  # a day and half an hour after its end
    card = patient_card(staff, patient, visit)
    assert 'class="card status-unmarked"' in card
    assert '<span class="status status-unmarked">Unmarked</span>' in card


def test_within_a_day_of_its_end_it_is_still_booked(staff, clock, visit):
    at(clock, staff, 10, 14, 0)  # Tuesday 10:00: 23.5 hours after it ended
    assert grid_status(text(staff.get(DAY)), visit) == "status-booked"
    one = text(staff.get(f"/portal/appointments/{visit}"))
    assert "Unmarked" not in one and ">Booked</span>" in one
    assert "Mark attended" in one  # it has started: it may be marked already


def test_once_marked_it_says_what_was_marked_and_never_unmarked(staff, services, clock, visit):
    at(clock, staff, 12, 15, 0)  # Thursday
    post(staff, f"/portal/appointments/{visit}/attendance", {"outcome": "fulfilled"})
    page = text(staff.get(DAY))
    assert grid_status(page, visit) == "status-fulfilled: Attended"
    assert "Unmarked" not in page
    one = text(staff.get(f"/portal/appointments/{visit}"))
    assert "Unmarked" not in one and ">Attended</span>" in one
    post(staff, f"/portal/appointments/{visit}/attendance", {"outcome": "noshow"})
    assert grid_status(text(staff.get(DAY)), visit) == "status-noshow: No-show"


def test_a_cancelled_visit_is_never_unmarked(staff, services, clock, visit):
    post(staff, f"/portal/appointments/{visit}/cancel")
    at(clock, staff, 12, 15, 0)
    one = text(staff.get(f"/portal/appointments/{visit}"))
    assert "Unmarked" not in one and ">Cancelled</span>" in one
