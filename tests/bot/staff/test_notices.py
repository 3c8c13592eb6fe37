"""Staff notices: told after commit, never on rollback, ids and times only, Slack-free."""

from __future__ import annotations

import threading

from bot.audit.trail import AuditTrail
from bot.staff import notice_replies as staff_replies
from bot.staff.notices import StaffNotice, StaffNotifier


def test_notices_go_out_after_commit_and_never_for_a_rolled_back_turn(
    sessions, vault, now, demo_clinic
):
    posted, done = [], threading.Event()

    def post(notice):
        posted.append(notice)
        done.set()

    audit = AuditTrail(vault)
    notifier = StaffNotifier(post)
    notifier.watch(audit)
    try:
        with sessions.begin() as db:
            audit.record(
                db,
                "red_flag",
                at=now,
                channel="sms",
                actor="patient:7",
                patient_id=7,
                detail={"category": "cardiac"},
            )
            raise RuntimeError("the turn failed")
    except RuntimeError:
        pass
    with sessions.begin() as db:
        audit.record(
            db,
            "appointment_booked",
            at=now,
            channel="sms",
            actor="staff:U0STAFF",
            patient_id=7,
            appointment_id=3,
            detail={"start": now.isoformat()},
        )
        audit.record(
            db,
            "red_flag",
            at=now,
            channel="sms",
            actor="patient:7",
            patient_id=7,
            detail={"category": "cardiac"},
        )
        assert posted == []  # not before the commit
    assert done.wait(5)
    notifier.drain()
    assert posted == [StaffNotice("red_flag", at=now, channel="sms", patient_id=7)]
    text = staff_replies.notice(posted[0], demo_clinic)
    assert "patient #7" in text and "cardiac" not in text


def test_without_a_poster_nothing_is_watched(vault):
    audit = AuditTrail(vault)
    StaffNotifier().watch(audit)
    assert audit.observers == []


def test_a_failing_poster_is_logged_not_raised(sessions, vault, now, caplog):
    def post(notice):
        raise ConnectionError("slack is down")

    audit = AuditTrail(vault)
    notifier = StaffNotifier(post)
    notifier.watch(audit)
    with sessions.begin() as db:
        audit.record(
            db,
            "sms_failed",
            at=now,
            channel="sms",
            actor="bot",
            patient_id=2,
            detail={"kind": "reminder", "code": 30003},
        )
    notifier.drain()
    assert "staff notice not posted (undelivered, patient 2" in caplog.text


def test_a_waitlist_entry_ranked_urgent_by_triage_is_told_without_the_symptom(
    sessions, vault, now, demo_clinic
):
    posted = []
    audit = AuditTrail(vault)
    notifier = StaffNotifier(posted.append)
    notifier.watch(audit)
    with sessions.begin() as db:
        audit.record(
            db,
            "waitlist_joined",
            at=now,
            channel="sms",
            actor="patient:7",
            patient_id=7,
            detail={"type": "checkup", "priority": "urgent", "triage": "swelling"},
        )
        audit.record(
            db,
            "waitlist_joined",
            at=now,
            channel="sms",
            actor="patient:8",
            patient_id=8,
            detail={"type": "checkup", "priority": "routine", "triage": None},
        )
        audit.record(
            db,
            "waitlist_joined",
            at=now,
            channel="slack",
            actor="staff:U0STAFF",
            patient_id=9,
            detail={"type": "checkup", "priority": "urgent"},
        )
    notifier.drain()
    assert posted == [
        StaffNotice(
            "urgent_waitlist", at=now, channel="sms", patient_id=7, appointment_type="checkup"
        )
    ]
    text = staff_replies.notice(posted[0], demo_clinic)
    assert "Patient #7 (SMS)" in text and "urgent" in text and "swelling" not in text
    assert demo_clinic.appointment_type("checkup").name in text
