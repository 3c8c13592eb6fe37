"""The Slack adapter over HTTP: real signed requests into the real Flask app, Slack's Web API faked
on 127.0.0.1. Signatures, the 3-second ack, retries, roles, Block Kit, modals, App Home, notices
and bad input."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from adapters import slack as slack_adapter
from app import create_app, services_of
from bot.messages import InboundMessage
from bot.staff import desk as staff_module
from scheduler import staff_users
from scheduler.models import AuditEvent, MessageReceipt
from tests.slack_support import (
    ADMIN,
    BOT_USER,
    NOW,
    OTHER_TEAM,
    STAFF,
    STAFF_CHANNEL,
    STRANGER,
    SlackClient,
    elements,
    slack_settings,
    text_of,
)

PHONE = "+12125550177"


@pytest.fixture
def app(tmp_path, fake_slack):
    app = create_app(
        {"SETTINGS": slack_settings(tmp_path, fake_slack), "CLOCK": lambda: NOW, "TESTING": True}
    )
    services = services_of(app)
    with services.sessions.begin() as db:
        staff_users.add_user(db, ADMIN, "admin", added_by="test", now=NOW)
        staff_users.add_user(db, STAFF, "staff", added_by="test", now=NOW)
    yield app
    slack_app(app).close()


def slack_app(app) -> slack_adapter.SlackStaffApp:
    return app.extensions[slack_adapter.EXTENSION]


@pytest.fixture
def slack(app, fake_slack):
    return SlackClient(app.test_client(), fake_slack)


def run(slack, fake_slack, user, command, text=""):
    """A slash command's status and what it answered through its response_url."""
    response, url = slack.command(user, command, text)
    assert response.status_code == 200, response.data
    return fake_slack.answer_to(url)


def count(services, model, *where):
    with services.sessions() as db:
        return db.scalar(select(func.count()).select_from(model).where(*where))


def refusals(services):
    with services.sessions() as db:
        return [
            (e.actor, e.detail.get("action"), e.detail.get("reason"))
            for e in db.scalars(select(AuditEvent).where(AuditEvent.kind == "request_refused"))
        ]


# --- the door -----------------------------------------------------------------------------------


def test_slack_off_answers_503_and_the_rest_of_the_app_runs(tmp_path):
    app = create_app(
        {
            "SETTINGS": slack_settings(tmp_path, slack_bot_token=None, slack_signing_secret=None),
            "CLOCK": lambda: NOW,
            "TESTING": True,
        }
    )
    client = app.test_client()
    response = client.post("/slack/events", data="x")
    assert response.status_code == 503 and b"SLACK_SIGNING_SECRET" in response.data
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    "signing",
    [
        {"secret": "not-the-secret"},
        {"age": 301},  # outside the 5-minute replay window
        {"age": -400},  # from the future
    ],
)
def test_forged_or_stale_requests_are_401_and_store_nothing(slack, fake_slack, services, signing):
    if "age" in signing:  # taken from the clock when the test runs, not when it is collected
        signing = {"timestamp": int(time.time()) - signing["age"]}
    before = count(services, AuditEvent)
    response, _ = slack.command(
        STAFF, "/appt", "book +12125550177 checkup tomorrow 10am", **signing
    )
    assert response.status_code == 401
    time.sleep(0.2)
    assert count(services, AuditEvent) == before and count(services, MessageReceipt) == 0
    assert fake_slack.calls == []


@pytest.mark.parametrize("timestamp", ["abc", "1e3", "-", "", " 1700000000", "１２３"])
def test_a_malformed_timestamp_is_401_stores_nothing_and_logs_no_traceback(
    slack, fake_slack, services, caplog, timestamp
):
    before = count(services, AuditEvent)
    body = "command=%2Fappt&text=help&user_id=U0STAFF&team_id=T0CLINIC"
    response = slack.client.post(
        "/slack/events",
        data=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": "v0=" + "0" * 64,
        },
    )
    assert response.status_code == 401
    time.sleep(0.2)
    assert count(services, AuditEvent) == before and count(services, MessageReceipt) == 0
    assert fake_slack.calls == []
    assert not [r for r in caplog.records if r.exc_info or r.levelname == "ERROR"]


def test_forged_requests_are_counted_into_one_event_and_cut_off_past_the_limit(
    app, slack, fake_slack, services
):
    from adapters.refusals import ledger_of
    from jobs.maintenance import close_refusal_tallies

    statuses = [
        slack.command(STAFF, "/appt", "today", secret="not-the-secret")[0].status_code
        for _ in range(35)
    ]
    assert statuses == [401] * 30 + [429] * 5
    assert count(services, AuditEvent) == 0 and fake_slack.calls == []
    ledger_of(app).flush(everything=True)
    with services.sessions.begin() as db:
        close_refusal_tallies(db, services.audit, now=NOW + timedelta(minutes=3))
    with services.sessions() as db:
        [event] = db.scalars(select(AuditEvent).where(AuditEvent.kind == "security")).all()
    assert event.detail["refused"] == 35
    assert event.detail["by"] == {"slack:bad_signature": 30, "any:rate_limited": 5}


def test_unsigned_request_is_401(app):
    response = app.test_client().post(
        "/slack/events", data="command=%2Fappt", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 401


def test_url_verification_is_answered_with_the_challenge(slack):
    body = json.dumps({"type": "url_verification", "token": "legacy", "challenge": "abc123"})
    response = slack.post(body, "application/json")
    assert response.status_code == 200 and response.get_json() == {"challenge": "abc123"}


# --- within 3 seconds, exactly once ------------------------------------------------------------------


def test_ack_comes_within_3_seconds_while_the_engine_takes_5(
    app, slack, fake_slack, services, monkeypatch
):
    engine, desk = services.conversation, slack_app(app).desk
    slow_handle, slow_command = engine.handle, desk.command

    def handle(message, **kwargs):
        time.sleep(5)
        return slow_handle(message, **kwargs)

    def command(caller, text):
        time.sleep(5)
        return slow_command(caller, text)

    monkeypatch.setattr(engine, "handle", handle)
    monkeypatch.setattr(desk, "command", command)
    started = time.monotonic()
    dm = slack.dm(STAFF, "show the schedule for today")
    dm_acked = time.monotonic() - started
    response, url = slack.command(STAFF, "/appt", "today")
    both_acked = time.monotonic() - started
    assert dm.status_code == 200 and response.status_code == 200
    assert dm_acked < 3 and both_acked < 3, (dm_acked, both_acked)
    assert "Maple Street" in text_of(fake_slack.answer_to(url, timeout=15))
    [posted] = fake_slack.wait_for("chat.postMessage", timeout=15)
    assert posted["channel"] == f"D{STAFF}" and "Wed Mar 4" in posted["text"]


def test_a_retried_event_runs_the_engine_once_and_posts_once(
    app, slack, fake_slack, services, monkeypatch
):
    calls = []
    handle = services.conversation.handle

    def counted(message, **kwargs):
        calls.append(message.message_id)
        time.sleep(0.5)  # the retry arrives while the first delivery is still running
        return handle(message, **kwargs)

    monkeypatch.setattr(services.conversation, "handle", counted)
    first = slack.dm(STAFF, "help", event_id="Ev0RETRY")
    retry = slack.dm(STAFF, "help", event_id="Ev0RETRY", retry=1)
    later = slack.dm(STAFF, "help", event_id="Ev0RETRY", retry=2)
    assert {first.status_code, retry.status_code, later.status_code} == {200}
    slack_app(app).close()
    assert calls == ["Ev0RETRY"]
    assert len(fake_slack.of("chat.postMessage")) == 1


@pytest.mark.parametrize(
    "event",
    [
        {
            "type": "message",
            "channel_type": "im",
            "channel": "D1",
            "subtype": "bot_message",
            "bot_id": "B9",
            "text": "hi",
        },
        {
            "type": "message",
            "channel_type": "im",
            "channel": "D1",
            "subtype": "message_changed",
            "message": {"user": STAFF, "text": "book"},
        },
        {"type": "message", "channel_type": "im", "channel": "D1", "subtype": "message_deleted"},
        {"type": "message", "channel_type": "im", "channel": "D1", "user": BOT_USER, "text": "hi"},
        {
            "type": "message",
            "channel_type": "im",
            "channel": "D1",
            "user": STAFF,
            "bot_id": "B1",
            "text": "hi",
        },
        {
            "type": "message",
            "channel_type": "channel",
            "channel": "C1",
            "user": STAFF,
            "text": "hi",
        },
        {"type": "reaction_added", "user": STAFF, "reaction": "tada"},
    ],
)
def test_bot_messages_edits_own_and_other_events_are_acked_and_ignored(
    app, slack, fake_slack, services, event
):
    response = slack.event(event)
    assert response.status_code == 200
    slack_app(app).close()
    assert [name for name, _ in fake_slack.calls if name != "auth.test"] == []
    assert count(services, MessageReceipt) == 0


# --- who ------------------------------------------------------------------------------------------


def test_a_stranger_is_told_not_authorized_everywhere_and_it_is_audited(
    app, slack, fake_slack, services
):
    answer = run(slack, fake_slack, STRANGER, "/appt", "today")
    assert "not authorized" in answer["text"] and answer["response_type"] == "ephemeral"
    slack.dm(STRANGER, "book a checkup")
    [ephemeral] = fake_slack.wait_for("chat.postEphemeral")
    assert ephemeral["user"] == STRANGER and "not authorized" in ephemeral["text"]
    _, url = slack.click(STRANGER, "appointment_cancel", "c:1")
    assert "not authorized" in fake_slack.answer_to(url)["text"]
    slack_app(app).close()
    assert refusals(services) == [
        ("slack:U0STRANGER", "appt today", "not_authorized"),
        ("slack:U0STRANGER", "slack_dm", "not_authorized"),
        ("slack:U0STRANGER", "slack_action", "not_authorized"),
    ]
    assert "Maple" not in json.dumps(fake_slack.calls)


def test_another_workspace_is_refused_with_a_clear_answer(app, slack, fake_slack, services):
    response, _ = slack.command(ADMIN, "/appt", "today", team=OTHER_TEAM)
    assert response.status_code == 200
    assert (
        response.get_json()["text"] == "This app belongs to another Slack workspace; it "
        "cannot be used from here."
    )
    other = slack.dm(ADMIN, "help", team=OTHER_TEAM)
    assert other.status_code == 200
    slack_app(app).close()
    assert fake_slack.of("respond") == [] and fake_slack.of("chat.postMessage") == []
    assert [r[2] for r in refusals(services)] == ["other_workspace", "other_workspace"]


# The authorization matrix: every command, every role.
STAFF_COMMANDS = [
    "help",
    "today",
    "slots checkup tomorrow",
    "book +12125550177 checkup friday",
    "cancel 1",
    "move 1 friday",
    "find +12125550177",
    "waitlist",
    "attended 1",
    "noshow 1",
]
ADMIN_COMMANDS = [
    "help",
    "users list",
    "logs 3",
    "audit verify",
    "reminders pending",
    "patient export +12125550177",
    "patient erase +12125550177",
]


@pytest.mark.parametrize("user, allowed", [(STRANGER, False), (STAFF, True), (ADMIN, True)])
@pytest.mark.parametrize("text", STAFF_COMMANDS)
def test_authorization_matrix_appt(slack, fake_slack, user, allowed, text):
    answer = run(slack, fake_slack, user, "/appt", text)
    assert ("not authorized" in answer["text"]) is not allowed, answer["text"]


@pytest.mark.parametrize(
    "user, refusal", [(STRANGER, "not authorized"), (STAFF, "only clinic admins"), (ADMIN, None)]
)
@pytest.mark.parametrize("text", ADMIN_COMMANDS)
def test_authorization_matrix_appt_admin(slack, fake_slack, user, refusal, text):
    answer = run(slack, fake_slack, user, "/appt-admin", text)
    if refusal:
        assert refusal in answer["text"]
    else:
        assert "not authorized" not in answer["text"] and "only clinic admins" not in answer["text"]


def test_staff_cannot_click_the_erase_button(slack, fake_slack, services):
    _, url = slack.click(STAFF, "patient_erase", "e:1")
    assert "only clinic admins" in fake_slack.answer_to(url)["text"]


# --- what staff see ---------------------------------------------------------------------------------


def test_slot_choices_are_a_select_menu_past_five_and_buttons_up_to_five(
    slack, fake_slack, monkeypatch
):
    many = run(slack, fake_slack, STAFF, "/appt", "book +12125550177 checkup friday")
    [select_menu] = elements(many)
    assert select_menu["type"] == "static_select" and len(select_menu["options"]) == 8
    assert all(
        len(o["value"]) <= 150 and len(o["text"]["text"]) <= 75 for o in select_menu["options"]
    )
    monkeypatch.setattr(staff_module, "CHOICES", 4)
    few = run(slack, fake_slack, STAFF, "/appt", "slots checkup friday")
    buttons = elements(few)
    assert [b["type"] for b in buttons] == ["button"] * 4
    assert [b["action_id"] for b in buttons] == ["slot_1", "slot_2", "slot_3", "slot_4"]


def test_choosing_from_the_menu_books_and_the_confirmation_has_cancel_and_reschedule(
    slack, fake_slack, services
):
    offer = run(slack, fake_slack, STAFF, "/appt", "book +12125550177 checkup friday")
    option = elements(offer)[0]["options"][1]
    response, url = slack.click(STAFF, "slot_select", selected=option["value"], message_ts="9.1")
    assert response.status_code == 200
    confirmation = fake_slack.answer_to(url)
    assert confirmation["replace_original"] is True
    assert "Booked #1" in confirmation["text"] and "Fri Mar 6 at 8:15 AM" in confirmation["text"]
    buttons = {b["action_id"]: b for b in elements(confirmation)}
    assert buttons["appointment_cancel"]["value"] == "c:1"
    assert buttons["appointment_cancel"]["confirm"]["confirm"]["text"] == "Cancel it"
    assert buttons["appointment_reschedule"]["value"] == "r:1"
    # A second pick from the same menu is refused: one booking per offer.
    response, url = slack.click(
        STAFF, "slot_select", selected=elements(offer)[0]["options"][5]["value"], message_ts="9.1"
    )
    assert "already used" in fake_slack.answer_to(url)["text"]
    response, url = slack.click(STAFF, "appointment_cancel", "c:1")
    assert "Cancelled #1" in fake_slack.answer_to(url)["text"]


def test_reschedule_opens_a_loading_modal_at_once_then_fills_in_times(slack, fake_slack, services):
    run(slack, fake_slack, STAFF, "/appt", "book +12125550177 checkup tomorrow 10am")
    response, _ = slack.click(STAFF, "appointment_reschedule", "r:1")
    assert response.status_code == 200
    [opened] = fake_slack.wait_for("views.open")
    assert "Working on it" in text_of(opened)
    [updated] = fake_slack.wait_for("views.update")
    view = updated["view"]
    assert updated["view_id"] and "new time for appointment #1" in text_of(updated)
    choice = elements(updated)[0]["options"][0]["value"]
    slack.click(STAFF, "slot_select", selected=choice, view={"id": updated["view_id"], **view})
    moved = fake_slack.wait_for("views.update", count=2)[-1]
    assert "Moved #1" in text_of(moved)


def test_a_free_slot_is_booked_through_a_modal_asking_for_the_patient(slack, fake_slack, services):
    offer = run(slack, fake_slack, STAFF, "/appt", "slots vaccination tomorrow")
    token = elements(offer)[0]["options"][0]["value"]
    slack.click(STAFF, "slot_select", selected=token)
    [opened] = fake_slack.wait_for("views.open")
    view = {"id": "V0BOOK", **opened["view"]}
    assert view["callback_id"] == "book_patient" and view["private_metadata"] == token
    bad = slack.submit(STAFF, view, {"phone": "call me", "name": ""})
    assert bad.status_code == 200 and bad.get_json()["response_action"] == "errors"
    good = slack.submit(STAFF, view, {"phone": "+1 212 555 0166", "name": "Casey Examplename"})
    assert good.get_json()["response_action"] == "update"
    [done] = fake_slack.wait_for("views.update")
    assert (
        done["view_id"] == "V0BOOK"
        and "Booked #1" in text_of(done)
        and "Casey Examplename" in text_of(done)
    )


def test_app_home_shows_todays_schedule_with_booked_and_open_counts(slack, fake_slack):
    run(slack, fake_slack, STAFF, "/appt", "book +12125550177 sick visit today 3pm okafor")
    slack.event({"type": "app_home_opened", "user": STAFF, "tab": "home", "channel": "D1"})
    [published] = fake_slack.wait_for("views.publish")
    home = text_of(published)
    assert published["user_id"] == STAFF and published["view"]["type"] == "home"
    assert "Dr. Amara Okafor: 1 booked" in home and "open" in home and "3:00 PM" in home
    slack.event({"type": "app_home_opened", "user": STRANGER, "tab": "home", "channel": "D2"})
    stranger = fake_slack.wait_for("views.publish", count=2)[-1]
    assert "Ask a clinic admin" in text_of(stranger) and "Okafor" not in text_of(stranger)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("frobnicate", "I don't know the command 'frobnicate'"),
        ("cancel", "Usage: /appt cancel &lt;id&gt;"),
        ("cancel 424242", "There is no appointment #424242"),
        ("move 1", "Usage: /appt move &lt;id&gt; &lt;when&gt;"),
        ("slots", "Usage: /appt slots"),
        ("contact", "Usage: /appt contact &lt;patient id&gt;"),
        ("contact twelve", "Usage: /appt contact &lt;patient id&gt;"),
        ("contact 424242", "No patient has that number"),
        ("x" * 3000, "too long"),
    ],
)
def test_bad_commands_get_a_clear_ephemeral_answer(slack, fake_slack, text, expected):
    answer = run(slack, fake_slack, STAFF, "/appt", text)
    assert expected in answer["text"] and answer["response_type"] == "ephemeral"


def test_a_3000_character_dm_gets_a_clear_answer(slack, fake_slack):
    slack.dm(STAFF, "book " * 600)
    [posted] = fake_slack.wait_for("chat.postMessage")
    assert "too long" in posted["text"]


@pytest.mark.parametrize(
    "action_id, value",
    [
        ("slot_1", "b:1:checkup:okafor:99999999999:"),
        ("slot_1", "DROP TABLE"),
        ("appointment_cancel", "c:abc"),
        ("appointment_cancel", None),
        ("slot_9", ""),
        ("something_else", "x"),
    ],
)
def test_block_actions_with_unexpected_values_get_a_clear_answer(
    slack, fake_slack, action_id, value
):
    response, url = slack.click(STAFF, action_id, value)
    assert response.status_code == 200
    assert "no longer valid" in fake_slack.answer_to(url)["text"]


def test_a_malformed_payload_is_400_signed_and_401_unsigned_never_a_500(app, slack):
    response = slack.post("payload=%7Bnot-json", "application/x-www-form-urlencoded")
    assert response.status_code == 400
    unsigned = app.test_client().post(
        "/slack/events", data="{not json", content_type="application/json"
    )
    assert unsigned.status_code == 401


def test_names_typed_by_staff_cannot_become_slack_markup(slack, fake_slack):
    offer = run(slack, fake_slack, STAFF, "/appt", "slots vaccination tomorrow")
    token = elements(offer)[0]["options"][0]["value"]
    slack.click(STAFF, "slot_select", selected=token)
    [opened] = fake_slack.wait_for("views.open")
    slack.submit(
        STAFF, {"id": "V1", **opened["view"]}, {"phone": "+12125550166", "name": "Bob <!channel>"}
    )
    [answer] = fake_slack.wait_for("views.update")
    assert "<!channel>" not in json.dumps(answer) and "booked" not in text_of(answer).lower()


# --- the staff channel ---------------------------------------------------------------------------------


def test_patient_bookings_red_flags_and_failed_texts_are_told_to_the_staff_channel(
    app, fake_slack, services
):
    handle = services.conversation.handle
    phone = "+12125550123"
    for i, text in enumerate(["book a checkup tomorrow at 10am", "Jordan Testperson", "1"]):
        handle(InboundMessage("web", phone, text, f"w{i}", NOW))
    handle(InboundMessage("web", phone, "I have crushing chest pain", "w9", NOW))
    with services.sessions.begin() as db:
        services.audit.record(
            db,
            "sms_failed",
            at=NOW,
            channel="sms",
            actor="bot",
            patient_id=1,
            detail={"kind": "reminder", "code": 30006},
        )
    posts = fake_slack.wait_for("chat.postMessage", count=3)
    texts = [p["text"] for p in posts]
    assert all(p["channel"] == STAFF_CHANNEL for p in posts)
    assert texts[0].startswith("New booking #1 by patient #1 (web chat): Thu Mar 5 at 10:00 AM")
    assert texts[1].startswith("EMERGENCY red flag from patient #1 (web chat) at 9:00 AM")
    assert "could not be delivered" in texts[2] and "30006" in texts[2]
    joined = json.dumps(posts)
    assert phone[2:] not in joined and "Jordan" not in joined and "chest" not in joined


def test_staff_bookings_are_not_announced_and_slack_errors_never_touch_patients(
    app, slack, fake_slack, services
):
    run(slack, fake_slack, STAFF, "/appt", "book +12125550177 checkup tomorrow 10am")
    fake_slack.failures["chat.postMessage"] = "channel_not_found"
    replies = services.conversation.handle(
        InboundMessage("web", "+12125550123", "cancel my appointment", "w1", NOW)
    )
    assert replies and replies[0].text
    slack_app(app).close()
    assert [p["channel"] for p in fake_slack.of("chat.postMessage")] == []


def test_a_slow_staff_channel_never_delays_the_patient(app, fake_slack, services):
    fake_slack.holds["chat.postMessage"] = release = threading.Event()  # Slack not answering
    replies = services.conversation.handle(
        InboundMessage("web", "+12125550123", "I can't breathe", "w1", NOW)
    )
    # The patient was answered while the staff channel's post was still held.
    assert replies[0].kind == "emergency" and fake_slack.of("chat.postMessage") == []
    release.set()
    [notice] = fake_slack.wait_for("chat.postMessage")
    assert notice["text"].startswith("EMERGENCY red flag from patient #1")


# --- the manifest -------------------------------------------------------------------------------


def test_manifest_declares_the_commands_events_and_one_url():
    yaml = pytest.importorskip("yaml")
    from pathlib import Path

    manifest = yaml.safe_load((Path(__file__).parents[2] / "manifest.yml").read_text())
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert set(commands) == {"/appt", "/appt-admin"}
    settings = manifest["settings"]
    urls = {c["url"] for c in commands.values()} | {
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    }
    assert urls == {"https://YOUR-PUBLIC-HOST/slack/events"}
    assert set(settings["event_subscriptions"]["bot_events"]) == {"app_home_opened", "message.im"}
    assert {"commands", "chat:write", "im:history", "im:write", "files:write"} <= set(
        manifest["oauth_config"]["scopes"]["bot"]
    )
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
