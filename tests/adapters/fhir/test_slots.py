"""Slots are the scheduler's real availability, computed on each request: free exactly where
`find_slots` is, busy where a booking holds the time, a Slot id valid while its time is free;
searches by start range, status and type; and `next` links that page without repeats."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from urllib.parse import urlsplit

from scheduler.availability import find_slots
from tests.adapters.api.support import NEW_YORK, NOW, add_patient, book_earlier
from tests.adapters.fhir.support import BASE, THURSDAY, booking, entries, free_slots

OKAFOR = {"schedule": "Schedule/okafor"}


def starts(resources) -> list[str]:
    return [
        datetime.fromisoformat(r["start"]).astimezone(NEW_YORK).strftime("%H:%M") for r in resources
    ]


def code(slot) -> str:
    return slot["serviceType"][0]["coding"][0]["code"]


def test_free_slots_are_the_schedulers_own_search(fhir, services):
    found = free_slots(fhir, **OKAFOR, **{"service-type": "checkup"})
    with services.sessions() as db:
        expected = find_slots(
            db,
            services.clinic,
            "checkup",
            now=NOW,
            start_date=date(2026, 3, 5),
            end_date=date(2026, 3, 5),
            provider_key="okafor",
            limit=500,
        )
    assert [r["start"] for r in found] == [
        s.start.astimezone(NEW_YORK).isoformat() for s in expected
    ]
    assert starts(found)[:3] == ["08:00", "08:15", "08:30"] and "12:00" not in starts(found)
    assert all(re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", r["id"]) for r in found)
    assert {code(r) for r in found} == {"checkup"}


def test_a_booking_makes_its_time_busy_and_a_cancellation_frees_it(fhir, services, patient_id):
    [ten] = [
        s
        for s in free_slots(fhir, **OKAFOR, **{"service-type": "checkup"})
        if starts([s]) == ["10:00"]
    ]
    sick_at_ten = [
        s
        for s in free_slots(fhir, **OKAFOR, **{"service-type": "sick-visit"})
        if starts([s]) == ["10:00"]
    ]
    assert len(sick_at_ten) == 1  # another type's Slot at the same time
    booked = fhir.send("POST", "/Appointment", booking(ten["id"], patient_id)).get_json()

    busy = entries(fhir.search("/Slot", start=THURSDAY, status="busy", **OKAFOR))
    assert [(b["id"], b["status"]) for b in busy] == [(ten["id"], "busy")]
    free = free_slots(fhir, **OKAFOR)
    assert not {"10:00", "10:15"} & set(starts(free))  # held, with the buffer
    assert fhir.get(f"/Slot/{sick_at_ten[0]['id']}").status_code == 404  # taken by another visit
    both = fhir.search("/Slot", start=THURSDAY, status="free,busy", **OKAFOR)
    assert both["total"] == len(free) + 1

    fhir.send("PATCH", f"/Appointment/{booked['id']}", {"status": "cancelled"})
    assert fhir.get(f"/Slot/{ten['id']}").get_json()["status"] == "free"
    assert fhir.get(f"/Slot/{sick_at_ten[0]['id']}").get_json()["status"] == "free"
    assert fhir.search("/Slot", start=THURSDAY, status="busy", **OKAFOR)["total"] == 0


def test_start_prefixes_compare_instants_and_dates_as_fhir_says(fhir):
    checkups = {"service-type": "checkup", **OKAFOR}
    window = fhir.search(
        "/Slot", start=[f"gt{THURSDAY}T10:00:00-05:00", f"le{THURSDAY}T11:00:00-05:00"], **checkups
    )
    assert starts(entries(window)) == ["10:15", "10:30", "10:45", "11:00"]
    utc = fhir.search(
        "/Slot", start=[f"ge{THURSDAY}T15:00:00Z", f"lt{THURSDAY}T16:00Z"], **checkups
    )
    assert starts(entries(utc)) == ["10:00", "10:15", "10:30", "10:45"]
    local = fhir.search("/Slot", start=[f"ge{THURSDAY}T10:00", f"lt{THURSDAY}T10:30"], **checkups)
    assert starts(entries(local)) == ["10:00", "10:15"]  # no offset: the clinic's time
    after_thursday = entries(fhir.search("/Slot", start=f"gt{THURSDAY}", _count="1", **checkups))
    assert after_thursday[0]["start"].startswith("2026-03-06T08:00")


def test_without_a_start_a_search_covers_the_week_from_today(fhir):
    found = fhir.search("/Slot", _count="0", **OKAFOR, **{"service-type": "checkup"})
    assert "entry" not in found and found["total"] > 0
    days = {
        r["start"][:10]
        for r in entries(
            fhir.search("/Slot", _count="200", **OKAFOR, **{"service-type": "checkup"})
        )
    }
    assert min(days) == "2026-03-04" and max(days) == "2026-03-10"  # 7 days from today


def test_offsets_follow_daylight_saving(fhir):
    """Spring forward on Sunday 2026-03-08: Friday's Slots are at -05:00, Monday's at -04:00, and
    their ids name the right UTC instants."""
    friday = free_slots(fhir, "2026-03-06", **OKAFOR)[0]
    monday = free_slots(fhir, "2026-03-09", **OKAFOR)[0]
    assert friday["start"] == "2026-03-06T08:00:00-05:00" and friday["id"].endswith("T130000Z")
    assert monday["start"] == "2026-03-09T08:00:00-04:00" and monday["id"].endswith("T120000Z")
    assert fhir.get(f"/Slot/{monday['id']}").get_json()["start"] == monday["start"]


def follow(fhir, path: str, **query) -> tuple[list[dict], list[str]]:
    """Every resource of a search, following `next` links; and the links followed."""
    bundle = fhir.search(path, **query)
    found, followed = entries(bundle), []
    while nxt := next((k["url"] for k in bundle["link"] if k["relation"] == "next"), None):
        followed.append(nxt)
        parts = urlsplit(nxt)
        assert parts.path.startswith(BASE)
        response = fhir.get(parts.path.removeprefix(BASE) + "?" + parts.query)
        assert response.status_code == 200
        bundle = response.get_json()
        found += entries(bundle)
    return found, followed


def test_appointments_page_by_next_links_without_repeats(fhir, services):
    ids = []
    for hour in (8, 9, 10, 11):
        for provider in ("okafor", "moreau"):
            patient = add_patient(services, f"+121255501{hour:02d}", "Casey Testperson")
            ids.append(book_earlier(services, patient, date(2026, 3, 6), time(hour), provider))
    found, followed = follow(fhir, "/Appointment", date="2026-03-06", _count="3")
    assert sorted(int(a["id"]) for a in found) == sorted(ids)
    assert len(followed) == 2 and all("_cursor=" in url for url in followed)
    assert [a["start"] for a in found] == sorted(a["start"] for a in found)
    by_provider = fhir.search(
        "/Appointment", practitioner="Practitioner/moreau", date="2026-03-06", status="booked"
    )
    assert by_provider["total"] == 4
    assert fhir.search("/Appointment", date="2026-03-06", status="cancelled")["total"] == 0


def test_slots_page_by_next_links_without_repeats(fhir):
    everything = fhir.search("/Slot", start=THURSDAY, _count="200", **OKAFOR)
    found, followed = follow(fhir, "/Slot", start=THURSDAY, _count="7", **OKAFOR)
    assert [s["id"] for s in found] == [s["id"] for s in entries(everything)]
    assert len(followed) == (everything["total"] - 1) // 7
