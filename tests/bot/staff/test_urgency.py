"""The urgent queue and staff's override in Slack, over HTTP: `/appt urgent [all]` and
`/appt urgency <waitlist id> <level> <why...>`, through real signed requests into the real app
with Slack's Web API faked on 127.0.0.1 and a clock the test moves; and the tool under them
(`SchedulingTools.set_urgency`): staff only, audited with who, from, to and why."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.tools import Caller, SchedulingTools
from scheduler.errors import NotAllowed, NotFound, SchedulingError
from scheduler.models import AuditEvent, WaitlistEntry
from tests.clock import Clock
from tests.slack_support import NOW, STAFF, STRANGER, SlackClient, slack_app

ROUTINE, URGENT, SOON = "+12125550171", "+12125550172", "+12125550173"


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
    answer = fake_slack.answer_to(url)
    assert answer["response_type"] == "ephemeral"
    return answer["text"]


@pytest.fixture
def waiting(slack, fake_slack, clock):
    """Three entries: a routine check-up (09:00), an urgent sick visit (09:30) and a check-up
    (10:00) to be made "soon"; returns their ids in that order."""
    assert "(routine)" in run(slack, fake_slack, STAFF, f"waitlist {ROUTINE} checkup")
    clock.advance(minutes=30)
    assert "(urgent)" in run(slack, fake_slack, STAFF, f"waitlist {URGENT} sick visit urgent")
    clock.advance(minutes=30)
    run(slack, fake_slack, STAFF, f"waitlist {SOON} checkup")
    return 1, 2, 3


def levels(services):
    with services.sessions() as db:
        return {e.id: e.priority for e in db.scalars(select(WaitlistEntry))}


def changes(services):
    with services.sessions() as db:
        return db.scalars(
            select(AuditEvent).where(AuditEvent.kind == "urgency_changed").order_by(AuditEvent.seq)
        ).all()


def test_help_lists_the_urgent_queue_and_the_override(slack, fake_slack):
    text = run(slack, fake_slack, STAFF, "help")
    assert "/appt urgent [all]" in text
    assert "/appt urgency &lt;waitlist id&gt; &lt;urgent|soon|routine&gt; &lt;why...&gt;" in text


def test_staff_change_a_level_and_it_is_audited_with_who_from_to_and_why(
    slack, fake_slack, services, waiting
):
    routine, urgent, later = waiting
    answer = run(slack, fake_slack, STAFF, f"urgency #{later} soon  ear pain for 4 days, per call")
    assert answer == (
        f"Waitlist #{later} (patient #3, General check-up) is now soon (was routine). "
        "Recorded with your reason."
    )
    run(slack, fake_slack, STAFF, f"urgency {urgent} ROUTINE seen at the walk-in already")
    assert levels(services) == {routine: "routine", urgent: "routine", later: "soon"}
    first, second = changes(services)
    assert first.detail == {
        "entry": later,
        "from": "routine",
        "to": "soon",
        "by": f"staff:{STAFF}",
    }
    assert (first.actor, first.channel, first.patient_id) == (f"staff:{STAFF}", "slack", 3)
    # The reason is kept, encrypted like every audited text, never in the clear detail.
    assert services.vault.decrypt(first.text_enc) == "ear pain for 4 days, per call"
    assert (second.detail["from"], second.detail["to"]) == ("urgent", "routine")


def test_the_urgent_queue_lists_urgent_then_soon_oldest_first_with_the_time_waited(
    slack, fake_slack, waiting, clock
):
    routine, urgent, later = waiting
    run(slack, fake_slack, STAFF, f"urgency {later} soon rash since monday")
    run(slack, fake_slack, STAFF, f"urgency {routine} soon cough for two weeks")
    clock.advance(hours=3, minutes=20)  # 13:20: the urgent entry joined at 09:30
    lines = run(slack, fake_slack, STAFF, "urgent").splitlines()
    assert lines[0] == "Waiting urgent or soon (3), most urgent and longest waiting first:"
    assert lines[1:4] == [
        f"  #{urgent}  urgent  patient #2: Sick visit, waiting 3 h 50 min",
        f"  #{routine}  soon  patient #1: General check-up, waiting 4 h 20 min",
        f"  #{later}  soon  patient #3: General check-up, waiting 3 h 20 min",
    ]
    clock.advance(days=1)
    everyone = run(slack, fake_slack, STAFF, "urgent all")
    assert "waiting 1 day 3 h" in everyone


def test_routine_entries_are_listed_only_when_all_are_asked_for(slack, fake_slack, waiting):
    routine, urgent, _ = waiting
    queue = run(slack, fake_slack, STAFF, "urgent")
    assert f"#{urgent}  urgent" in queue and f"#{routine} " not in queue
    everyone = run(slack, fake_slack, STAFF, "urgent all")
    assert f"#{routine}  routine  patient #1: General check-up" in everyone
    assert everyone.index(f"#{urgent} ") < everyone.index(f"#{routine} ")


def test_an_empty_queue_says_so(slack, fake_slack):
    assert run(slack, fake_slack, STAFF, "urgent") == "Nobody is waiting urgent or soon."


@pytest.mark.parametrize(
    "text, expected",
    [
        ("urgency", "Usage: /appt urgency &lt;waitlist id&gt;"),
        ("urgency 424242 urgent fever of 39", "There is no waitlist entry #424242."),
        ("urgency twelve urgent fever", "Waitlist ids are numbers, like 12 or #12."),
        ("urgency 1 asap fever", "The level is one of urgent, soon, routine."),
        ("urgency 1 emergency chest pain", "The level is one of urgent, soon, routine."),
        ("urgency 1 urgent", "Say why the level changes."),
        ("urgency 1 urgent    ", "Say why the level changes."),
        ("urgent today", "Usage: /appt urgent [all]"),
    ],
)
def test_bad_input_gets_a_clear_answer_and_changes_nothing(
    slack, fake_slack, services, waiting, text, expected
):
    before = levels(services)
    assert expected in run(slack, fake_slack, STAFF, text)
    assert levels(services) == before
    assert changes(services) == []


def test_a_closed_entry_is_refused(slack, fake_slack, services, waiting):
    routine, _, _ = waiting
    with services.sessions.begin() as db:
        tools = SchedulingTools(
            db, services.clinic, services.audit, Caller("staff", "slack", staff_id=STAFF), NOW
        )
        tools.leave_waitlist(routine)
    answer = run(slack, fake_slack, STAFF, f"urgency {routine} urgent worse today")
    assert "that entry is removed, not waiting" in answer
    assert changes(services) == []


def test_a_stranger_cannot_change_a_level(slack, fake_slack, services, waiting):
    _, urgent, _ = waiting
    assert "not authorized" in run(slack, fake_slack, STRANGER, f"urgency {urgent} routine meh")
    assert levels(services)[urgent] == "urgent" and changes(services) == []


def tools_for(services, db, caller):
    return SchedulingTools(db, services.clinic, services.audit, caller, NOW)


def test_the_tool_is_staff_only_and_refusals_are_audited(services, waiting):
    _, urgent, _ = waiting
    patient = Caller("patient", "sms", patient_id=2)
    with services.sessions.begin() as db:
        with pytest.raises(NotAllowed):
            tools_for(services, db, patient).set_urgency(urgent, "routine", "I feel fine")
    staff = Caller("staff", "portal", staff_id="nurse1")
    for entry_id, level, reason, error in (
        (urgent, "soon", " \n ", SchedulingError),  # no reason
        (urgent, "soon", "x" * 301, SchedulingError),  # a reason too long
        (urgent, "later", "because", SchedulingError),
        (999, "soon", "because", NotFound),
    ):
        with services.sessions.begin() as db, pytest.raises(error):
            tools_for(services, db, staff).set_urgency(entry_id, level, reason)
    assert levels(services)[urgent] == "urgent" and changes(services) == []
    with services.sessions() as db:
        refused = db.scalars(
            select(AuditEvent).where(AuditEvent.kind == "request_refused").order_by(AuditEvent.seq)
        ).all()
    assert [e.detail["reason"] for e in refused if e.detail["action"] == "set_urgency"] == [
        "NotAllowed",
        "SchedulingError",
        "SchedulingError",
        "SchedulingError",
        "NotFound",
    ]
