"""`/appt-admin optimise [date]` over HTTP: real signed Slack requests into the real Flask app,
Slack's Web API faked on 127.0.0.1. The preview names who would be offered which time and changes
nothing; an admin's Apply makes the offers (audited with who applied), skipping what is no longer
valid; bad dates, past days, staff and forged buttons are refused with nothing changed."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from scheduler import waitlist
from scheduler.models import AuditEvent, Reminder, WaitlistOffer
from scheduler.patients import find_or_create_patient, set_patient_name
from tests.clock import Clock
from tests.jobs_support import Desk
from tests.slack_support import (
    ADMIN,
    NOW,
    STAFF,
    SlackClient,
    elements,
    slack_app,
    text_of,
)

DAY = "2026-03-09"  # a Monday; the clock is Wednesday 2026-03-04 09:00 in New York


@pytest.fixture
def app(tmp_path, fake_slack):
    with slack_app(tmp_path, fake_slack, lambda: NOW, {ADMIN: "admin", STAFF: "staff"}) as app:
        yield app


@pytest.fixture
def slack(app, fake_slack):
    return SlackClient(app.test_client(), fake_slack)


@pytest.fixture
def waiting(services):
    """Two patients waiting: Ana Example (urgent, a sick visit) and Ben Sample (a check-up)."""
    ids = []
    for phone, name, type_key, level in (
        ("+12125550191", "Ana Example", "sick-visit", "urgent"),
        ("+12125550192", "Ben Sample", "checkup", "routine"),
    ):
        with services.sessions.begin() as db:
            patient = find_or_create_patient(db, services.vault, phone, now=NOW)
            patient.consented_at = NOW
            set_patient_name(services.vault, patient, name)
            entry, _ = waitlist.join(
                db,
                services.clinic,
                patient_id=patient.id,
                type_key=type_key,
                now=NOW,
                created_by="test",
                priority=level,
            )
            ids.append(entry.id)
    return ids


def run(slack, fake_slack, user, text):
    response, url = slack.command(user, "/appt-admin", text)
    assert response.status_code == 200, response.data
    return fake_slack.answer_to(url)


def count(services, model, *where) -> int:
    with services.sessions() as db:
        return db.scalar(select(func.count()).select_from(model).where(*where))


def audited(services, kind):
    with services.sessions() as db:
        return [
            (e.actor, e.detail)
            for e in db.scalars(select(AuditEvent).where(AuditEvent.kind == kind))
        ]


def test_the_preview_names_who_gets_which_time_and_apply_offers_them(
    slack, fake_slack, services, waiting
):
    preview = run(slack, fake_slack, ADMIN, f"optimise {DAY}")
    shown = text_of(preview)
    assert "Optimiser plan for Mon Mar 9: 2 of 2 waiting would be offered a time" in shown
    assert "served weight 11 of 11" in shown
    assert "Sick visit with" in shown and "Ana Example (urgent)" in shown
    assert "General check-up with" in shown and "Ben Sample (routine)" in shown
    assert preview["response_type"] == "ephemeral"
    [button] = elements(preview)
    assert button["action_id"] == "optimise_apply" and button["style"] == "primary"
    assert button["confirm"]["confirm"]["text"] == "Send offers"
    assert count(services, WaitlistOffer) == 0  # a preview changes nothing

    _, url = slack.click(ADMIN, "optimise_apply", button["value"])
    assert "Sent 2 offers from the plan for Mon Mar 9." in fake_slack.answer_to(url)["text"]
    with services.sessions() as db:
        offers = db.scalars(select(WaitlistOffer).order_by(WaitlistOffer.entry_id)).all()
        assert [(o.entry_id, o.status) for o in offers] == [
            (waiting[0], "offered"),
            (waiting[1], "offered"),
        ]
        assert all(o.slot["start"].startswith(DAY) for o in offers)
    assert count(services, Reminder, Reminder.kind == "offer", Reminder.status == "pending") == 2
    [(actor, detail)] = audited(services, "optimise_applied")
    assert actor == f"admin:{ADMIN}" and detail == {"day": DAY, "offered": 2, "planned": 2}
    assert [a for a, _ in audited(services, "optimise_previewed")] == [f"admin:{ADMIN}"]

    # A second click finds every entry already offered: nothing more is sent.
    _, url = slack.click(ADMIN, "optimise_apply", button["value"])
    assert "Sent 0 offers" in fake_slack.answer_to(url)["text"]
    assert count(services, WaitlistOffer) == 2


def test_apply_skips_a_time_booked_since_the_preview(slack, fake_slack, services, waiting):
    [button] = elements(run(slack, fake_slack, ADMIN, f"optimise {DAY}"))
    # The button carries the plan: "o:<day>:<entry>.<start epoch>.<provider>.<room>:...".
    entry, epoch, provider, _ = button["value"].split(":")[2].split(".")
    start = datetime.fromtimestamp(int(epoch), services.clinic.zone)
    desk = Desk(services.sessions, services.clinic, services.vault, services.audit, Clock(NOW))
    type_key = "sick-visit" if int(entry) == waiting[0] else "checkup"
    desk.book(
        desk.patient("+12125550199"),
        start.date(),
        start.time(),
        type_key=type_key,
        provider=provider,
    )
    _, url = slack.click(ADMIN, "optimise_apply", button["value"])
    answer = fake_slack.answer_to(url)["text"]
    assert "Sent 1 offer from the plan" in answer and "1 no longer valid" in answer
    with services.sessions() as db:
        [offer] = db.scalars(select(WaitlistOffer)).all()
    assert offer.entry_id != int(entry)


@pytest.mark.parametrize(
    "text, says",
    [
        ("optimise 2026-02-30", "'2026-02-30' is not a date"),
        ("optimise next-week", "'next-week' is not a date"),
        ("optimise 2026-03-03", "Tue Mar 3 has passed"),
        ("optimise 2026-03-09 2026-03-10", "Usage: /appt-admin optimise"),
    ],
)
def test_bad_dates_are_refused_and_nothing_changes(
    slack, fake_slack, services, waiting, text, says
):
    answer = run(slack, fake_slack, ADMIN, text)
    assert says in answer["text"] and elements(answer) == []
    assert count(services, WaitlistOffer) == 0 and audited(services, "optimise_previewed") == []


def test_staff_can_neither_preview_nor_apply_and_forged_buttons_do_nothing(
    slack, fake_slack, services, waiting
):
    assert "only clinic admins" in run(slack, fake_slack, STAFF, f"optimise {DAY}")["text"]
    [button] = elements(run(slack, fake_slack, ADMIN, f"optimise {DAY}"))
    _, url = slack.click(STAFF, "optimise_apply", button["value"])
    assert "only clinic admins" in fake_slack.answer_to(url)["text"]
    for forged in ("o:2026-03-09", "o:2026-03-09:x", "o:2026-13-09:1.1772719200.okafor.", "o:"):
        _, url = slack.click(ADMIN, "optimise_apply", forged)
        assert "no longer valid" in fake_slack.answer_to(url)["text"]
    _, url = slack.click(ADMIN, "optimise_apply", button["value"].replace(DAY, "2026-03-02"))
    assert "which has passed. Nothing was offered." in fake_slack.answer_to(url)["text"]
    assert count(services, WaitlistOffer) == 0
    with services.sessions() as db:
        refused = [
            e.detail
            for e in db.scalars(select(AuditEvent).where(AuditEvent.kind == "request_refused"))
        ]
    assert {"action": "optimise_apply", "reason": "not_admin"} in refused
