"""The urgent queue in the portal (/portal/urgent), over the app's HTTP interface: staff and
admins see who waits urgent, then soon (routine folded away below), the longest waiting first
within a level, with how long each has waited; a level changed with a reason is audited with who,
from, to and why ("urgency_changed", channel "portal"); a missing reason, an unknown level or
entry, an entry no longer waiting or a missing CSRF token is refused with a message, and nothing
changes; anyone not signed in is sent to sign in. Invented names and 555-01xx numbers only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.tools import Caller, SchedulingTools
from scheduler.models import WaitlistEntry
from tests.adapters.portal.conftest import add_patient, csrf_of, events, post, text

# (name, phone, type, level, waiting since: minutes before the clock's now, 09:00)
PEOPLE = {
    "routine": ("Odile Fernsby", "+12125550161", "checkup", "routine", 300),
    "urgent_long": ("Bartholomew Quist", "+12125550162", "sick-visit", "urgent", 200),
    "soon_long": ("Carmen Ylvisaker", "+12125550163", "checkup", "soon", 360),
    "urgent_new": ("Desmond Ahlgrenn", "+12125550164", "sick-visit", "urgent", 25),
    "soon_new": ("Esperanza Tollefsrud", "+12125550165", "vaccination", "soon", 60),
}


@pytest.fixture
def queue(services) -> dict[str, int]:
    """Five waiting entries, joined through the tools as Slack staff at their own times; their
    ids by the keys of PEOPLE."""
    ids = {}
    for key, (name, phone, kind, level, minutes) in PEOPLE.items():
        patient = add_patient(services, phone, name)
        joined_at = services.clock() - timedelta(minutes=minutes)
        caller = Caller(role="staff", channel="slack", staff_id="U1")
        with services.sessions.begin() as db:
            tools = SchedulingTools(db, services.clinic, services.audit, caller, joined_at)
            entry, _ = tools.join_waitlist(kind, patient_id=patient, priority=level)
            ids[key] = entry.id
    return ids


def levels(services) -> dict[int, str]:
    with services.sessions() as db:
        return {e.id: e.priority for e in db.scalars(select(WaitlistEntry))}


def change(client, entry_id, level: str, reason: str):
    return post(
        client,
        f"/portal/urgent/{entry_id}",
        {"level": level, "reason": reason},
        token_from="/portal/urgent",
    )


def test_staff_see_urgent_then_soon_longest_waiting_first_with_the_time_waited(staff, queue):
    page = staff.get("/portal/urgent")
    assert page.status_code == 200
    html = text(page)
    assert "<h1>Urgent queue</h1>" in html
    order = ["urgent_long", "urgent_new", "soon_long", "soon_new", "routine"]
    positions = [html.index(f'id="entry-{queue[key]}"') for key in order]
    assert positions == sorted(positions)
    assert "Urgent: today or tomorrow (2)" in html and "Soon: within a week (2)" in html
    # Routine waits below, folded away.
    assert html.index("<details") < positions[-1]
    assert "Bartholomew Quist" in html and "Sick visit, Any provider" in html
    assert "Waiting <strong>3 h 20 min</strong>" in html
    assert "Waiting <strong>6 h</strong>" in html and "Waiting <strong>25 min</strong>" in html
    # A level form on each row, with the entry's own level chosen.
    assert html.count('name="reason"') == 5
    assert f'action="/portal/urgent/{queue["soon_new"]}"' in html
    assert '<option value="soon" selected>Soon</option>' in html
    # The menu leads here from every page.
    assert '<a href="/portal/urgent">Urgent</a>' in text(staff.get("/portal/waitlist"))
    assert '<a href="/portal/urgent" aria-current="page">Urgent</a>' in html


def test_an_admin_sees_the_queue_too_and_an_empty_level_says_so(admin, services):
    html = text(admin.get("/portal/urgent"))
    assert "Urgent: today or tomorrow (0)" in html
    assert html.count("Nobody is waiting at this level.") == 3


def test_a_change_of_level_is_audited_with_who_from_to_and_why(staff, services, queue):
    entry = queue["soon_new"]
    answer = change(staff, entry, "urgent", "  fever since last night,  per phone call ")
    assert answer.status_code == 303 and answer.headers["Location"] == "/portal/urgent"
    html = text(staff.get("/portal/urgent"))
    assert "Esperanza Tollefsrud is now urgent (was soon); your reason is recorded." in html
    assert levels(services)[entry] == "urgent"
    # Within its new level it keeps its place by time waiting (an hour: after 3 h 20 min).
    assert html.index(f'id="entry-{queue["urgent_long"]}"') < html.index(f'id="entry-{entry}"')
    assert html.index(f'id="entry-{entry}"') < html.index(f'id="entry-{queue["urgent_new"]}"')
    [event] = events(services, "urgency_changed")
    assert (event.actor, event.channel) == ("staff:clerk", "portal")
    assert event.detail == {"entry": entry, "from": "soon", "to": "urgent", "by": "staff:clerk"}
    assert services.vault.decrypt(event.text_enc) == "fever since last night, per phone call"

    change(staff, entry, "routine", "seen at the walk-in this morning")
    assert levels(services)[entry] == "routine"
    assert [e.detail["to"] for e in events(services, "urgency_changed")] == ["urgent", "routine"]


def test_the_same_level_again_is_recorded_and_said_plainly(staff, services, queue):
    answer = change(staff, queue["routine"], "routine", "checked: no change needed")
    html = text(staff.get(answer.headers["Location"]))
    assert "Odile Fernsby stays routine; your reason is recorded." in html
    [event] = events(services, "urgency_changed")
    assert (event.detail["from"], event.detail["to"]) == ("routine", "routine")


@pytest.mark.parametrize(
    "target, level, reason, message",
    [
        ("soon_new", "urgent", "", "Say why the level changes. Nothing was changed."),
        ("soon_new", "urgent", "   ", "Say why the level changes. Nothing was changed."),
        ("soon_new", "urgent", "x" * 301, "Say why in at most 300 characters."),
        ("soon_new", "emergency", "chest pain", "Choose the level: urgent, soon or routine."),
        ("soon_new", "", "chest pain", "Choose the level: urgent, soon or routine."),
        (999999, "urgent", "fever", "There is no waitlist entry 999999. Nothing was changed."),
        ("abc", "urgent", "fever", "There is no such waitlist entry. Nothing was changed."),
        ("0", "urgent", "fever", "There is no such waitlist entry. Nothing was changed."),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_changes(
    staff, services, queue, target, level, reason, message
):
    before = levels(services)
    answer = change(staff, queue.get(target, target), level, reason)
    assert answer.status_code == 303
    html = text(staff.get("/portal/urgent"))
    assert f'<p class="message message-problem">{message}' in html
    assert levels(services) == before
    assert events(services, "urgency_changed") == []


def test_an_entry_no_longer_waiting_is_refused_and_nothing_changes(staff, services, queue):
    entry = queue["urgent_new"]
    caller = Caller(role="staff", channel="slack", staff_id="U1")
    with services.sessions.begin() as db:
        SchedulingTools(
            db, services.clinic, services.audit, caller, services.clock()
        ).leave_waitlist(entry)
    answer = change(staff, entry, "soon", "feeling better")
    html = text(staff.get(answer.headers["Location"]))
    assert "That entry is removed, not waiting. Nothing was changed." in html
    assert levels(services)[entry] == "urgent"
    assert f'id="entry-{entry}"' not in html  # only waiting entries are listed
    assert events(services, "urgency_changed") == []


def test_a_change_without_the_form_token_is_refused(staff, services, queue):
    answer = staff.post(
        f"/portal/urgent/{queue['routine']}", data={"level": "urgent", "reason": "fever"}
    )
    assert answer.status_code == 400
    assert "security token" in text(answer)
    assert levels(services)[queue["routine"]] == "routine"


def test_anyone_not_signed_in_is_sent_to_sign_in_and_changes_nothing(app, services, queue):
    client = app.test_client()
    page = client.get("/portal/urgent")
    assert page.status_code == 303
    assert page.headers["Location"] == "/login?next=/portal/urgent"
    token = csrf_of(client.get("/login"))  # a real form token, but nobody signed in
    refused = client.post(
        f"/portal/urgent/{queue['routine']}",
        data={"level": "urgent", "reason": "fever", "csrf_token": token},
    )
    assert refused.status_code == 303 and refused.headers["Location"].startswith("/login")
    assert levels(services)[queue["routine"]] == "routine"
    assert events(services, "urgency_changed") == []
