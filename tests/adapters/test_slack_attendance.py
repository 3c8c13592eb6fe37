"""Attendance in Slack over HTTP: `/appt attended` and `/appt noshow`, and the Attended / No-show
buttons of the day's schedule (`/appt today` and the App Home), through real signed requests into
the real app with Slack's Web API faked on 127.0.0.1 and a clock the test moves."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from adapters import slack as slack_adapter
from scheduler.models import Appointment, AppointmentStatus, AuditEvent
from tests.clock import Clock
from tests.slack_support import NOW, STAFF, STRANGER, SlackClient, elements, slack_app, text_of


@pytest.fixture
def clock():
    return Clock(NOW)


@pytest.fixture
def app(tmp_path, fake_slack, clock):
    with slack_app(tmp_path, fake_slack, clock, {STAFF: "staff"}) as app:
        yield app


@pytest.fixture
def slack(app, fake_slack):
    return SlackClient(app.test_client(), fake_slack)


def run(slack, fake_slack, user, text):
    response, url = slack.command(user, "/appt", text)
    assert response.status_code == 200, response.data
    return fake_slack.answer_to(url)


@pytest.fixture
def visit(slack, fake_slack):
    """A sick visit with Dr. Okafor today (Wednesday) at 3 PM, booked at 9 AM."""
    answer = run(slack, fake_slack, STAFF, "book +12125550177 sick visit today 3pm okafor")
    assert "Booked #1" in answer["text"], answer["text"]
    return 1


def status_of(services, appointment_id):
    with services.sessions() as db:
        return db.get(Appointment, appointment_id).status


def events(services, kind):
    with services.sessions() as db:
        return db.scalars(
            select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.seq)
        ).all()


def attendance_buttons(posted):
    return {
        e["action_id"]: e["value"]
        for e in elements(posted)
        if e["action_id"].startswith(("attended_", "noshow_"))
    }


def test_help_lists_attended_and_noshow(slack, fake_slack):
    text = run(slack, fake_slack, STAFF, "help")["text"]
    assert "/appt attended &lt;id&gt;" in text and "/appt noshow &lt;id&gt;" in text


def test_the_command_marks_a_started_visit_audited_with_the_staff_member(
    slack, fake_slack, services, visit, clock
):
    early = run(slack, fake_slack, STAFF, f"attended {visit}")
    assert "has not started yet (Wed Mar 4 at 3:00 PM)" in early["text"]
    assert early["response_type"] == "ephemeral"
    assert status_of(services, visit) == AppointmentStatus.BOOKED
    clock.advance(hours=6, minutes=10)  # 3:10 PM
    done = run(slack, fake_slack, STAFF, f"noshow {visit}")
    assert done["text"].startswith(f"Marked #{visit} a no-show: Sick visit for patient #1")
    assert status_of(services, visit) == AppointmentStatus.NOSHOW
    fixed = run(slack, fake_slack, STAFF, f"attended #{visit}")
    assert fixed["text"].startswith(f"Marked #{visit} attended:")
    assert status_of(services, visit) == AppointmentStatus.FULFILLED
    marked = events(services, "attendance_marked")
    assert [e.detail["outcome"] for e in marked] == ["noshow", "fulfilled"]
    assert all((e.actor, e.channel) == (f"staff:{STAFF}", "slack") for e in marked)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("attended 424242", "There is no appointment #424242."),
        ("noshow", "Usage: /appt noshow &lt;id&gt;"),
        ("attended soon", "Appointment ids are numbers"),
    ],
)
def test_an_unknown_or_unreadable_id_gets_a_polite_answer(slack, fake_slack, text, expected):
    answer = run(slack, fake_slack, STAFF, text)
    assert expected in answer["text"] and answer["response_type"] == "ephemeral"


def test_a_stranger_cannot_mark_by_command_or_button_and_it_is_audited(
    app, slack, fake_slack, services, visit, clock
):
    clock.advance(hours=6, minutes=10)
    assert "not authorized" in run(slack, fake_slack, STRANGER, f"attended {visit}")["text"]
    _, url = slack.click(STRANGER, f"noshow_{visit}", f"n:{visit}")
    assert "not authorized" in fake_slack.answer_to(url)["text"]
    app.extensions[slack_adapter.EXTENSION].close()
    assert status_of(services, visit) == AppointmentStatus.BOOKED
    assert events(services, "attendance_marked") == []
    refused = [(e.actor, e.detail["action"]) for e in events(services, "request_refused")]
    assert refused == [
        (f"slack:{STRANGER}", "appt attended"),
        (f"slack:{STRANGER}", "slack_action"),
    ]


def test_the_days_schedule_has_buttons_for_started_visits_and_a_click_marks(
    slack, fake_slack, services, visit, clock
):
    later = run(slack, fake_slack, STAFF, "book +12125550188 sick visit today 4:30pm okafor")
    assert "Booked #2" in later["text"]
    assert attendance_buttons(run(slack, fake_slack, STAFF, "today")) == {}  # nothing started
    clock.advance(hours=6, minutes=10)
    schedule = run(slack, fake_slack, STAFF, "today")
    buttons = attendance_buttons(schedule)
    assert buttons == {f"attended_{visit}": f"f:{visit}", f"noshow_{visit}": f"n:{visit}"}
    labels = [e["text"]["text"] for e in elements(schedule)]
    assert labels == [f"#{visit} Attended", f"#{visit} No-show"]

    response, url = slack.click(STAFF, f"attended_{visit}", buttons[f"attended_{visit}"])
    assert response.status_code == 200
    answer = fake_slack.answer_to(url)
    assert answer["replace_original"] is True
    blocks = json.loads(answer["blocks"]) if isinstance(answer["blocks"], str) else answer["blocks"]
    assert blocks[0]["text"]["text"].startswith(f"Marked #{visit} attended:")
    assert f"#{visit} Sick visit, patient #1 - attended" in text_of(answer)
    assert attendance_buttons(answer) == {}  # marked: its buttons are gone
    assert status_of(services, visit) == AppointmentStatus.FULFILLED
    [marked] = events(services, "attendance_marked")
    assert (marked.actor, marked.channel, marked.detail["outcome"]) == (
        f"staff:{STAFF}",
        "slack",
        "fulfilled",
    )


def test_a_click_on_a_visit_not_started_yet_is_refused_politely(slack, fake_slack, services, visit):
    _, url = slack.click(STAFF, f"attended_{visit}", f"f:{visit}")
    answer = fake_slack.answer_to(url)
    assert f"#{visit} has not started yet" in answer["text"]
    assert status_of(services, visit) == AppointmentStatus.BOOKED
    _, url = slack.click(STAFF, "attended_424242", "f:424242")
    assert "There is no appointment #424242." in fake_slack.answer_to(url)["text"]


def test_app_home_offers_the_buttons_and_a_click_publishes_it_again(
    slack, fake_slack, services, visit, clock
):
    clock.advance(hours=6, minutes=10)
    slack.event({"type": "app_home_opened", "user": STAFF, "tab": "home", "channel": "D1"})
    [home] = fake_slack.wait_for("views.publish")
    assert attendance_buttons(home) == {
        f"attended_{visit}": f"f:{visit}",
        f"noshow_{visit}": f"n:{visit}",
    }
    view = {"id": "V0HOME", **home["view"]}
    response, _ = slack.click(STAFF, f"noshow_{visit}", f"n:{visit}", view=view)
    assert response.status_code == 200
    again = fake_slack.wait_for("views.publish", count=2)[-1]
    published = again["view"] if isinstance(again["view"], dict) else json.loads(again["view"])
    assert again["user_id"] == STAFF and published["type"] == "home"
    assert f"Marked #{visit} a no-show" in text_of(again) and "- no-show" in text_of(again)
    assert attendance_buttons(again) == {}
    assert status_of(services, visit) == AppointmentStatus.NOSHOW
    [marked] = events(services, "attendance_marked")
    assert marked.actor == f"staff:{STAFF}"
