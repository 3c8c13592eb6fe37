"""No double booking through the facade: the same Slot asked for at once by two EHR requests, or
by an EHR and a patient texting, over real HTTP, is booked once (the database refuses the
second; scheduler/booking.py)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import select

from app import create_app, services_of
from scheduler.models import Appointment, AppointmentStatus
from tests.adapters.api.support import add_patient, bearer, make_user
from tests.adapters.fhir.support import BASE, FHIR_JSON, THURSDAY, LiveServer, booking, valid
from tests.twilio_support import NOW, new_sid, signature, sms_settings, twiml_messages

PHONE = "+12125550123"


def active(services) -> list[Appointment]:
    with services.sessions() as db:
        return list(
            db.scalars(select(Appointment).where(Appointment.status == AppointmentStatus.BOOKED))
        )


def slot_at(url: str, headers: dict, local_time: str) -> dict:
    response = requests.get(
        f"{url}{BASE}/Slot",
        params={
            "schedule": "Schedule/okafor",
            "service-type": "checkup",
            "start": f"eq{THURSDAY}T{local_time}",
        },
        headers=headers,
        timeout=30,
    )
    [entry] = valid(response.json())["entry"]
    return entry["resource"]


def post(url: str, headers: dict, body: dict, barrier: threading.Barrier) -> requests.Response:
    with requests.Session() as session:
        barrier.wait()
        return session.post(
            f"{url}{BASE}/Appointment",
            json=body,
            headers={**headers, "Content-Type": FHIR_JSON},
            timeout=60,
        )


def test_two_ehr_requests_for_one_slot_book_it_once(live, services, users):
    patients = [add_patient(services, f"+1212555014{i}", f"Robin Testperson{i}") for i in range(2)]
    slot = slot_at(live.url, users.staff, "10:00")
    barrier = threading.Barrier(2)
    with ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(
                lambda p: post(live.url, users.staff, booking(slot["id"], p), barrier), patients
            )
        )
    assert sorted(a.status_code for a in answers) == [201, 409]
    [won] = active(services)
    assert won.start_at.isoformat() == "2026-03-05T15:00:00+00:00"
    assert live.checker.problems == []


def text(url: str, session: requests.Session, body: str) -> str:
    params = {"MessageSid": new_sid(), "From": PHONE, "To": "+12125550100", "Body": body}
    params["NumMedia"] = "0"
    address = url + "/twilio/sms"
    response = session.post(
        address, data=params, headers={"X-Twilio-Signature": signature(address, params)}, timeout=60
    )
    assert response.status_code == 200, response.text
    return "\n".join(twiml_messages(response.content))


def test_an_ehr_and_a_patient_texting_for_one_slot_book_it_once(tmp_path, database_url):
    settings = sms_settings(tmp_path, database_url=database_url, public_base_url=None)
    app = create_app({"SETTINGS": settings, "CLOCK": lambda: NOW, "TESTING": True})
    services = services_of(app)
    staff = bearer(make_user(services, "frontdesk", "staff"))
    other = add_patient(services, "+12125550177", "Blake Otherperson")
    live = LiveServer(app)
    try:
        with requests.Session() as session:
            text(live.url, session, "book a checkup with dr okafor tomorrow at 10am")
            text(live.url, session, "YES")
            offer = text(live.url, session, "skip")
        assert "1. Thu Mar 5 at 10:00 AM with Dr. Amara Okafor" in offer
        slot = slot_at(live.url, staff, "10:00")
        barrier = threading.Barrier(2)

        def by_sms() -> str:
            with requests.Session() as session:
                barrier.wait()
                return text(live.url, session, "1")

        with ThreadPoolExecutor(2) as pool:
            sms = pool.submit(by_sms)
            ehr = pool.submit(post, live.url, staff, booking(slot["id"], other), barrier)
            answer, response = sms.result(), ehr.result()
        assert live.checker.problems == []
    finally:
        live.close()
        services.engine.dispose()
    [won] = active(services)
    assert won.start_at.isoformat() == "2026-03-05T15:00:00+00:00"
    if response.status_code == 201:
        assert won.booked_via == "fhir" and "You're booked" not in answer
    else:
        assert response.status_code == 409
        assert won.booked_via == "sms" and "You're booked" in answer
