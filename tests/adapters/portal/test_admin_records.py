"""The admin pages of records: API tokens (shown once, revoked with a confirmation), the audit
trail (by patient and kind, paged, "Verify the chain") and failed reminders."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import text

from bot.tools import Caller, SchedulingTools
from scheduler.accounts import token_user
from scheduler.models import ApiToken, Reminder
from tests.adapters.portal.conftest import add_patient, post
from tests.adapters.portal.conftest import text as page
from tests.adapters.portal.test_admin_support import events

_SECRET = re.compile(r'value="(mas_[A-Za-z0-9_-]+)"')


def _create_token(people, label: str = "EHR bridge"):
    answer = post(people.admin, "/portal/admin/tokens", {"user": str(people.clerk), "label": label})
    assert answer.status_code == 200, page(answer)
    return answer, _SECRET.search(page(answer)).group(1)


def test_a_new_token_is_shown_once_and_works(people, services):
    answer, secret = _create_token(people)
    assert "Copy it now: it will not be shown again." in page(answer)
    assert answer.headers["Cache-Control"] == "no-store"
    with services.sessions.begin() as db:
        user, token = token_user(db, secret, services.clock())
        assert (user.username, token.label) == ("clerk", "EHR bridge")
    listing = page(people.admin.get("/portal/admin/tokens"))
    assert "EHR bridge" in listing and f"…{secret[-4:]}" in listing
    assert secret not in listing and secret[4:-4] not in listing  # never shown again
    (event,) = events(services, "api_token_created")
    assert event.actor == "admin:boss" and event.detail == {
        "token_id": token.id,
        "username": "clerk",
    }
    assert secret not in str(event.detail)


def test_a_token_needs_a_label_and_a_listed_user(people, services):
    answer = post(people.admin, "/portal/admin/tokens", {"user": str(people.clerk), "label": " "})
    assert answer.status_code == 422 and "A token needs a name" in page(answer)
    answer = post(people.admin, "/portal/admin/tokens", {"user": "99999", "label": "x"})
    assert answer.status_code == 422
    assert "mas_" not in page(answer)
    with services.sessions() as db:
        assert db.query(ApiToken).count() == 0


def test_revoking_asks_first_and_the_token_is_then_refused(people, services):
    _, secret = _create_token(people)
    with services.sessions() as db:
        token_id = db.query(ApiToken).one().id
    confirm = people.admin.get(f"/portal/admin/tokens/{token_id}/revoke")
    assert confirm.status_code == 200 and "Yes, revoke it" in page(confirm)
    with services.sessions.begin() as db:
        assert token_user(db, secret, services.clock()) is not None  # asking revokes nothing
    answer = post(people.admin, f"/portal/admin/tokens/{token_id}/revoke")
    assert answer.status_code == 303
    assert "is now revoked" in page(people.admin.get(answer.headers["Location"]))
    with services.sessions.begin() as db:
        assert token_user(db, secret, services.clock()) is None
    (event,) = events(services, "api_token_revoked")
    assert event.actor == "admin:boss" and event.detail["token_id"] == token_id
    again = post(people.admin, f"/portal/admin/tokens/{token_id}/revoke")
    assert "was already revoked" in page(people.admin.get(again.headers["Location"]))
    assert len(events(services, "api_token_revoked")) == 1
    assert people.admin.get("/portal/admin/tokens/99999/revoke").status_code == 404


def _record(services, kind: str, patient_id: int | None, count: int = 1, **detail):
    with services.sessions.begin() as db:
        for _ in range(count):
            services.audit.record(
                db,
                kind,
                at=services.clock(),
                channel="sms",
                actor=f"patient:{patient_id}" if patient_id else "system",
                patient_id=patient_id,
                detail=detail,
                text_="I need to see a doctor about my secret rash",
            )


def _seqs(html: str) -> list[str]:
    return re.findall(r"<tr>\s*<td>(\d+)</td>", html)


def test_the_audit_search_finds_a_patients_events_and_only_theirs(people, services):
    rivera = add_patient(services, "+12125550142", "Alex Rivera")
    other = add_patient(services, "+12125550177", "Sam Okonkwo")
    _record(services, "message_in", rivera, 2, chars=12)
    _record(services, "message_in", other, 3, chars=7)
    for query in (str(rivera), "(212) 555-0142", "rivera", "Alex Rivera"):
        answer = people.admin.get("/portal/admin/audit", query_string={"patient": query})
        html = page(answer)
        assert answer.status_code == 200
        rows = re.findall(r'<a href="/portal/admin/audit\?patient=(\d+)">\1</a>', html)
        assert rows and set(rows) == {str(rivera)}, query
        assert "secret rash" not in html and "chars" in html
    views = events(services, "audit_log_viewed")
    assert views[-1].patient_id == rivera and views[-1].actor == "admin:boss"


def test_the_audit_search_by_kind_and_no_match(people, services):
    patient = add_patient(services, "+12125550143", "Robin Example")
    _record(services, "message_in", patient, 2)
    _record(services, "reminder_sent", patient, 1, reminder_id=7)
    html = page(
        people.admin.get(
            "/portal/admin/audit", query_string={"patient": str(patient), "kind": "reminder_sent"}
        )
    )
    assert html.count('<th scope="row">reminder_sent</th>') == 1
    assert '<th scope="row">message_in</th>' not in html and "reminder_id" in html
    nobody = page(people.admin.get("/portal/admin/audit", query_string={"patient": "Nobody"}))
    assert "No patient has that phone number or name" in nobody
    unknown = people.admin.get("/portal/admin/audit", query_string={"kind": "no_such_kind"})
    assert unknown.status_code == 404


def test_a_name_several_patients_share_offers_the_choice(people, services):
    first = add_patient(services, "+12125550144", "Casey Sharedname")
    second = add_patient(services, "+12125550145", "Jamie Sharedname")
    html = page(people.admin.get("/portal/admin/audit", query_string={"patient": "sharedname"}))
    assert "More than one patient fits" in html
    assert f"patient={first}" in html and f"patient={second}" in html
    assert "Casey Sharedname" in html and "Jamie Sharedname" in html


def test_the_audit_trail_is_newest_first_50_a_page(people, services):
    patient = add_patient(services, "+12125550146", "Pat Pager")
    _record(services, "message_in", patient, 120)
    first = page(people.admin.get("/portal/admin/audit", query_string={"patient": str(patient)}))
    seqs = [int(s) for s in _seqs(first)]
    assert len(seqs) == 50 and seqs == sorted(seqs, reverse=True)
    older = re.search(r'href="([^"]*before=(\d+)[^"]*)"', first)
    assert "Newer events" not in first and int(older.group(2)) == seqs[-1]
    second = page(people.admin.get(older.group(1).replace("&amp;", "&")))
    seqs2 = [int(s) for s in _seqs(second)]
    assert len(seqs2) == 50 and max(seqs2) == seqs[-1] - 1
    newer = re.search(r'href="([^"]*after=\d+[^"]*)"', second).group(1).replace("&amp;", "&")
    back = [int(s) for s in _seqs(page(people.admin.get(newer)))]
    assert back == seqs
    third = page(
        people.admin.get(
            re.search(r'href="([^"]*before=\d+[^"]*)"', second).group(1).replace("&amp;", "&")
        )
    )
    assert len(_seqs(third)) == 20 and "Older events" not in third


def test_verify_the_chain_reports_ok_then_the_break_after_a_row_is_altered(people, services):
    patient = add_patient(services, "+12125550147", "Drew Chain")
    _record(services, "message_in", patient, 5)
    answer = post(people.admin, "/portal/admin/audit/verify", token_from="/portal/admin/audit")
    assert answer.status_code == 200
    assert "OK: the chain is intact." in page(answer)
    broken = events(services, "message_in")[2].seq
    with services.engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_events SET actor = 'admin:mallory' WHERE seq = :seq"),
            {"seq": broken},
        )
    answer = post(people.admin, "/portal/admin/audit/verify", token_from="/portal/admin/audit")
    html = page(answer)
    assert f"BROKEN at event {broken}:" in html and "content does not match its hash" in html
    verified = events(services, "audit_verified")
    assert [e.detail["ok"] for e in verified] == [True, False]
    assert verified[-1].detail["first_broken_seq"] == broken and verified[-1].actor == "admin:boss"


def test_verify_the_chain_needs_a_post_with_the_csrf_token(people, services):
    assert people.admin.get("/portal/admin/audit/verify").status_code in (404, 405)
    assert people.admin.post("/portal/admin/audit/verify").status_code == 400
    assert not events(services, "audit_verified")


def _booked(services, patient_id: int) -> int:
    caller = Caller(role="staff", channel="portal", staff_id="clerk")
    with services.sessions.begin() as db:
        tools = SchedulingTools(db, services.clinic, services.audit, caller, services.clock())
        slot = tools.find_slots("checkup", limit=1)[0]
        return tools.book_appointment(slot, patient_id).id


def test_failed_reminders_are_listed_with_the_stuck_ones_newest_first(people, services, clock):
    patient = add_patient(services, "+12125550148", "Quinn Reminded")
    appointment = _booked(services, patient)
    at = clock()
    with services.sessions.begin() as db:
        db.query(Reminder).delete()  # the booking's own, pending: not failures
        db.add_all(
            [
                Reminder(
                    kind="reminder",
                    appointment_id=appointment,
                    patient_id=patient,
                    due_at=at - timedelta(hours=3),
                    status="failed",
                    attempts=3,
                    last_error_code="21610",
                ),
                Reminder(
                    kind="offer",
                    offer_id=41,
                    patient_id=patient,
                    due_at=at - timedelta(hours=1),
                    status="sending",
                    attempts=1,
                    lease_owner="worker-1",
                    lease_until=at - timedelta(minutes=1),
                ),
                Reminder(
                    kind="reminder",
                    appointment_id=appointment,
                    patient_id=patient,
                    due_at=at - timedelta(hours=2),
                    status="sending",
                    attempts=1,
                    lease_owner="worker-2",
                    lease_until=at + timedelta(minutes=4),
                ),
                Reminder(
                    kind="reminder",
                    appointment_id=appointment,
                    patient_id=patient,
                    due_at=at + timedelta(hours=2),
                    status="pending",
                ),
                Reminder(
                    kind="reminder",
                    appointment_id=appointment,
                    patient_id=patient,
                    due_at=at - timedelta(hours=5),
                    status="sent",
                    attempts=1,
                ),
            ]
        )
    html = page(people.admin.get("/portal/admin/reminders"))
    assert "2 in all" in html
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</tr>", html, re.S)
    assert len(rows) == 2
    assert "waitlist offer 41" in rows[0] and "stuck sending" in rows[0]  # newest due first
    assert "21610" in rows[1] and "failed" in rows[1] and "General check-up" in rows[1]
    assert "Quinn Reminded" in html and f"/portal/patients/{patient}" in html
    assert people.staff.get("/portal/admin/reminders").status_code == 403


def test_no_failed_reminders_says_so(people):
    assert "No failed reminders" in page(people.admin.get("/portal/admin/reminders"))
