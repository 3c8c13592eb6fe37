"""Cursor paging of GET /api/v1/appointments: keyset on (start, id), no repeats, no gaps."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select

from adapters.api import paging
from scheduler.models import Appointment, AppointmentStatus, AppointmentType, Provider
from tests.adapters.api.support import NOW


def seed(services, patient_id, count=120, first_day=1):
    """`count` appointments over a week, ten of them at each start (so ties on start are
    ordered by id), inserted directly: paging, not booking, is under test."""
    with services.sessions.begin() as db:
        provider = db.scalar(select(Provider.id).where(Provider.key == "okafor"))
        kind = db.scalar(select(AppointmentType.id).where(AppointmentType.key == "checkup"))
        rows = []
        for n in range(count):
            start = NOW + timedelta(days=first_day + n // 40, minutes=15 * ((n // 10) % 4))
            rows.append(
                {
                    "patient_id": patient_id,
                    "provider_id": provider,
                    "type_id": kind,
                    "start_at": start,
                    "end_at": start + timedelta(minutes=30),
                    "occupied_until": start + timedelta(minutes=35),
                    "status": AppointmentStatus.BOOKED,
                    "booked_via": "test",
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
        # Shuffled ids: the order must come from (start, id), not from insertion.
        db.execute(insert(Appointment), rows[::2] + rows[1::2])


def test_120_appointments_in_pages_of_50(client, services, staff, patient_id):
    seed(services, patient_id)
    pages, cursor = [], None
    while True:
        query = {"limit": 50, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/v1/appointments", query_string=query, headers=staff)
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [50, 50, 20]
    seen = [(a["start"], a["id"]) for p in pages for a in p]
    with services.sessions() as db:
        expected = [
            (start, row_id)
            for start, row_id in db.execute(
                select(Appointment.start_at, Appointment.id).order_by(
                    Appointment.start_at, Appointment.id
                )
            )
        ]
    assert [row_id for _, row_id in seen] == [row_id for _, row_id in expected]
    assert len(set(seen)) == 120


def test_the_default_page_is_50_and_filters_keep_applying_across_pages(
    client, services, staff, patient_id
):
    seed(services, patient_id)
    first = client.get("/api/v1/appointments", headers=staff).get_json()
    assert len(first["items"]) == 50 and first["next_cursor"]
    day = client.get(
        "/api/v1/appointments",
        query_string={"from": "2026-03-05", "to": "2026-03-05", "limit": 30},
        headers=staff,
    ).get_json()
    assert len(day["items"]) == 30
    rest = client.get(
        "/api/v1/appointments",
        query_string={"from": "2026-03-05", "to": "2026-03-05", "cursor": day["next_cursor"]},
        headers=staff,
    ).get_json()
    assert len(rest["items"]) == 10 and rest["next_cursor"] is None
    assert {a["start"][:10] for a in day["items"] + rest["items"]} == {"2026-03-05"}


def test_a_cursor_survives_bookings_before_it(client, services, staff, patient_id):
    seed(services, patient_id, count=20)
    page = client.get("/api/v1/appointments?limit=10", headers=staff).get_json()
    seed(services, patient_id, count=10, first_day=0)  # ten more, earlier than the cursor
    rest = client.get(
        f"/api/v1/appointments?limit=50&cursor={page['next_cursor']}", headers=staff
    ).get_json()
    with services.sessions() as db:
        in_order = db.scalars(
            select(Appointment.id)
            .where(Appointment.start_at >= NOW + timedelta(days=1))
            .order_by(Appointment.start_at, Appointment.id)
        ).all()
    assert [a["id"] for a in page["items"]] == in_order[:10]
    assert [a["id"] for a in rest["items"]] == in_order[10:]  # not shifted by the earlier ones


def test_cursors_round_trip_and_refuse_what_they_did_not_make():
    start = NOW + timedelta(microseconds=123)
    assert paging.decode(paging.encode(start, 42)) == (start, 42)
    for bad in ("", "x", "bm90IGEgY3Vyc29y", paging.encode(start, 42)[:-3] + "!!!"):
        try:
            paging.decode(bad)
        except Exception as error:  # an ApiProblem: the 422
            assert getattr(error, "status", None) == 422
        else:
            raise AssertionError(bad)
