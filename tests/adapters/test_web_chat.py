"""The web chat adapter: the page, the demo identity, the JSON API's refusals and its dedupe."""

from __future__ import annotations

import re
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from adapters import web_chat
from app import create_app
from bot.messages import InboundMessage
from bot.settings import Settings
from scheduler.models import AuditEvent, MessageReceipt
from scheduler.patients import find_patient

NOW = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)
STATIC = Path(web_chat.__file__).parent / "static"
TEMPLATES = Path(web_chat.__file__).parent / "templates"
PHONE = "+12125550123"


@pytest.fixture
def app(tmp_path):
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'web.db'}",
        log_dir=tmp_path / "logs",
        encryption_keys=(Fernet.generate_key().decode(),),
        secret_key_file=tmp_path / "secret.key",
    )
    return create_app({"SETTINGS": settings, "CLOCK": lambda: NOW, "TESTING": True})


@pytest.fixture
def client(app):
    client = app.test_client()
    assert client.post("/chat/phone", json={"phone": "+12125550123"}).status_code == 200
    return client


def message(text="hi", message_id=None):
    return {"text": text, "message_id": message_id or str(uuid.uuid4())}


def audit_count(services):
    with services.sessions() as db:
        return db.scalar(select(func.count()).select_from(AuditEvent))


def test_page_names_the_clinic_says_it_is_a_demo_and_prefills_a_fictional_number(app, services):
    response = app.test_client().get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert services.clinic.name in page
    assert "Demo patient channel" in page and "fake" in page
    prefilled = re.search(r'id="phone"[^>]*value="([^"]+)"', page).group(1)
    assert re.fullmatch(r"\+121255501\d\d", prefilled)


def test_page_loads_nothing_from_other_sites(app):
    response = app.test_client().get("/")
    page = response.get_data(as_text=True)
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    with app.test_client().get("/chat/static/chat.js") as script:  # closes the file it sends
        assert script.status_code == 200


def test_page_script_renders_text_without_innerhtml():
    script = (STATIC / "chat.js").read_text()
    assert ".innerHTML" not in script and ".outerHTML" not in script
    assert "insertAdjacentHTML" not in script and "document.write" not in script
    assert "textContent" in script


def test_demo_number_is_kept_across_reloads(app):
    client = app.test_client()
    first = re.search(r'value="(\+1\d+)"', client.get("/").get_data(as_text=True)).group(1)
    again = re.search(r'value="(\+1\d+)"', client.get("/").get_data(as_text=True)).group(1)
    assert first == again


def test_chosen_phone_is_normalized_and_kept_in_the_session(app):
    client = app.test_client()
    response = client.post("/chat/phone", json={"phone": "(212) 555-0142"})
    assert response.get_json() == {"phone": "+12125550142"}
    assert 'value="+12125550142"' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("phone", ["banana", "", "12", 12125550123, None, "+1 212 555 01" * 5])
def test_invalid_phone_is_a_400_with_a_clear_error(app, phone):
    response = app.test_client().post("/chat/phone", json={"phone": phone})
    assert response.status_code == 400
    assert "phone" in response.get_json()["error"]


def test_real_looking_number_is_refused_because_the_demo_cannot_verify_it(app):
    # 999 is an unassigned area code: a well-formed number that is not a fictional 555 one.
    response = app.test_client().post("/chat/phone", json={"phone": "+1 999 234 5678"})
    assert response.status_code == 400
    assert "555" in response.get_json()["error"]


@pytest.mark.parametrize(
    "phone",
    ["+1 415 555 1212", "+1 212 555 0000", "+1 212 555 8801", "+1 212 555 0200", "+1 212 555 0099"],
)
def test_only_the_fictional_555_0100_to_0199_range_may_be_chosen(app, phone):
    response = app.test_client().post("/chat/phone", json={"phone": phone})
    assert response.status_code == 400
    assert "555-0100 to 555-0199" in response.get_json()["error"]


@pytest.mark.parametrize("phone", ["+1 212 555 0100", "+1 415 555 0199"])
def test_the_ends_of_the_fictional_range_may_be_chosen(app, phone):
    assert app.test_client().post("/chat/phone", json={"phone": phone}).status_code == 200


def test_message_reply_carries_text_options_and_kind(client):
    replies = client.post("/chat/messages", json=message("book")).get_json()["replies"]
    assert replies and all(set(r) == {"text", "options", "kind"} for r in replies)
    assert all(isinstance(r["options"], list) for r in replies)


def test_message_before_choosing_a_phone_is_refused(app, services):
    response = app.test_client().post("/chat/messages", json=message())
    assert response.status_code == 400
    assert "phone" in response.get_json()["error"]
    assert audit_count(services) == 0


def test_post_without_json_content_type_is_refused_without_running_the_engine(client, services):
    form = client.post("/chat/messages", data={"text": "hi", "message_id": "abc"})
    plain = client.post(
        "/chat/messages", data='{"text": "hi", "message_id": "abc"}', content_type="text/plain"
    )
    assert form.status_code == plain.status_code == 415
    assert "application/json" in form.get_json()["error"]
    assert client.post("/chat/phone", data={"phone": "+12125550111"}).status_code == 415
    assert audit_count(services) == 0


@pytest.mark.parametrize(
    "body",
    [
        [],
        "hi",
        {"message_id": "abc"},
        {"text": 5, "message_id": "abc"},
        {"text": None, "message_id": "abc"},
        {"text": "hi"},
        {"text": "hi", "message_id": 7},
        {"text": "hi", "message_id": ""},
        {"text": "hi", "message_id": "x" * 101},
        {"text": "hi", "message_id": "has space"},
        {"text": "hi", "message_id": "../../etc"},
    ],
)
def test_malformed_message_is_a_400_json_error(client, services, body):
    response = client.post("/chat/messages", json=body)
    assert response.status_code == 400
    assert response.is_json and response.get_json()["error"]
    assert audit_count(services) == 0


def test_very_long_message_is_still_answered_politely(client):
    response = client.post("/chat/messages", json=message("book " * 4000))
    assert response.status_code == 200
    assert response.get_json()["replies"][0]["text"]


def test_body_over_the_size_limit_is_a_413_json_error(client):
    response = client.post("/chat/messages", json=message("x" * 300_000))
    assert response.status_code == 413
    assert response.is_json


def test_stored_reply_is_encrypted_and_its_key_does_not_contain_the_phone(client, services):
    message_id = str(uuid.uuid4())
    replies = client.post("/chat/messages", json=message("hi", message_id)).get_json()["replies"]
    with services.sessions() as db:
        [receipt] = db.scalars(select(MessageReceipt)).all()
    assert receipt.channel == "web" and receipt.external_id.endswith(":" + message_id)
    assert "5550123" not in receipt.external_id
    assert replies[0]["text"].encode() not in receipt.reply_enc


def test_simultaneous_double_submit_runs_the_engine_once(app, client, services, monkeypatch):
    real_handle, calls = services.conversation.handle, []

    def slow_handle(inbound):
        calls.append(inbound.message_id)
        time.sleep(0.3)  # the second submit arrives while the first is answered
        return real_handle(inbound)

    monkeypatch.setattr(services.conversation, "handle", slow_handle)
    body, results = message("hi"), []
    cookie = client.get_cookie("session").value

    def submit():
        other = app.test_client()
        other.set_cookie("session", cookie)
        results.append(other.post("/chat/messages", json=body))

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [r.status_code for r in results] == [200, 200]
    assert results[0].get_json() == results[1].get_json()
    assert calls == [body["message_id"]]


def test_repeat_of_a_message_still_being_answered_is_a_409(client, services, monkeypatch):
    monkeypatch.setattr(web_chat, "REPEAT_WAIT_SECONDS", 0.1)
    message_id = str(uuid.uuid4())
    key = f"{services.vault.index('+12125550123')[:16]}:{message_id}"
    with services.sessions.begin() as db:
        db.add(MessageReceipt(channel="web", external_id=key, created_at=NOW))
    response = client.post("/chat/messages", json=message("hi", message_id))
    assert response.status_code == 409
    assert audit_count(services) == 0


def test_engine_failure_is_a_json_500_and_the_retry_runs_again(client, services, monkeypatch):
    real_handle = services.conversation.handle
    monkeypatch.setattr(
        services.conversation, "handle", lambda inbound: (_ for _ in ()).throw(RuntimeError("boom"))
    )
    message_id = str(uuid.uuid4())
    failed = client.post("/chat/messages", json=message("hi", message_id))
    assert failed.status_code == 500
    assert "ref" in failed.get_json()["error"] and "boom" not in failed.get_data(as_text=True)

    monkeypatch.setattr(services.conversation, "handle", real_handle)
    retried = client.post("/chat/messages", json=message("hi", message_id))
    assert retried.status_code == 200 and retried.get_json()["replies"]


def test_outbox_cursor_must_be_a_whole_number(client):
    for after in ("abc", "-1", "1.5", "9" * 40):
        response = client.get(f"/chat/outbox?after={after}")
        assert response.status_code == 400 and response.is_json


def test_outbox_needs_a_chosen_phone(app):
    response = app.test_client().get("/chat/outbox")
    assert response.status_code == 400 and response.is_json


def test_page_greets_and_suggests_what_to_try_and_labels_the_clinic_texts(app, services):
    page = app.test_client().get("/").get_data(as_text=True)
    words = " ".join(page.split())
    assert f"Hello! I can book, move or cancel a visit at {services.clinic.name}." in words
    for suggestion in ("Book a visit", "My appointments", "Hablo español"):
        assert f'data-say="{suggestion}"' in page
    assert 'lang="es">Hablo español' in page
    assert '<h2 id="clinic-texts-title">Texts from the clinic</h2>' in page
    assert 'aria-labelledby="clinic-texts-title"' in page
    assert '<ol id="conversation" aria-live="polite"' in page
    assert '<label for="message"' in page and '<label for="phone"' in page


def test_page_has_no_inline_script_or_style_for_the_content_security_policy():
    page = (TEMPLATES / "chat.html").read_text()
    assert re.findall(r"<script\b[^>]*>", page) == [
        "<script src=\"{{ url_for('web_chat.static', filename='chat.js') }}\" defer></script>"[:-9]
    ]
    assert "<style" not in page and not re.search(r"\sstyle=", page)
    assert not re.search(r"\son[a-z]+=", page)  # no inline event handlers
    script = (STATIC / "chat.js").read_text()
    assert ".style" not in script and '"style"' not in script and "eval(" not in script


def say(client, text, message_id=None):
    response = client.post("/chat/messages", json=message(text, message_id))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["replies"]


def history(client):
    response = client.get("/chat/history")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["messages"]


def test_history_shows_the_conversation_again_as_it_was_answered(client):
    expected = []
    for text in ("book a checkup tomorrow", "Jordan Testperson"):
        replies = say(client, text)
        expected += [{"from": "you", "text": text, "options": [], "kind": "message"}]
        expected += [{"from": "bot", **reply} for reply in replies]
    shown = history(client)
    assert shown == expected
    assert any(m["options"] for m in shown if m["from"] == "bot")  # the offer, with its choices


def test_history_is_empty_for_a_number_that_has_not_chatted(client, app):
    say(client, "book a checkup tomorrow")
    other = app.test_client()
    assert other.post("/chat/phone", json={"phone": "+12125550188"}).status_code == 200
    assert history(other) == []


def test_history_never_shows_another_numbers_conversation(client, app):
    say(client, "book a checkup for Avery Madeup")
    other = app.test_client()
    other.post("/chat/phone", json={"phone": "+12125550188"})
    say(other, "my appointments")
    assert [m["text"] for m in history(other) if m["from"] == "you"] == ["my appointments"]
    assert "Avery" not in json_text(history(other))
    assert [m["text"] for m in history(client) if m["from"] == "you"] == [
        "book a checkup for Avery Madeup"
    ]


def json_text(messages):
    return "\n".join(m["text"] for m in messages)


def test_history_never_shows_the_sms_patient_with_the_same_number(app, services):
    services.conversation.handle(
        InboundMessage("sms", PHONE, "book a checkup for Riley Inventedname", "SM1", NOW)
    )
    with services.sessions() as db:
        assert find_patient(db, services.vault, PHONE) is not None  # the SMS patient is there
        assert find_patient(db, services.vault, PHONE, scope="web") is None
    browser = app.test_client()
    browser.post("/chat/phone", json={"phone": PHONE})
    assert history(browser) == []
    say(browser, "hi")
    shown = history(browser)
    assert [m["text"] for m in shown if m["from"] == "you"] == ["hi"]
    assert "Riley" not in json_text(shown)


def test_history_needs_a_chosen_fictional_phone(app):
    fresh = app.test_client()
    response = fresh.get("/chat/history")
    assert response.status_code == 400 and response.is_json
    assert "phone" in response.get_json()["error"]
    with fresh.session_transaction() as session:
        session[web_chat.PHONE_KEY] = "+14155551212"  # not fictional: never looked up
    response = fresh.get("/chat/history")
    assert response.status_code == 400 and response.is_json


def test_history_is_read_only(client):
    response = client.post("/chat/history", json={})
    assert response.status_code == 405 and "GET" in response.headers["Allow"]


def test_history_without_the_stored_replies_shows_the_audited_texts(client, services):
    replies = say(client, "book a checkup tomorrow") + say(client, "Jordan Testperson")
    with services.sessions.begin() as db:  # as the retention job clears stored replies
        for receipt in db.scalars(select(MessageReceipt)):
            receipt.reply_enc = None
    shown = [m for m in history(client) if m["from"] == "bot"]
    assert [m["text"] for m in shown] == [r["text"] for r in replies]
    assert all(m["options"] == [] for m in shown)


def test_history_leaves_out_removed_texts(client, services):
    say(client, "book a checkup for Avery Madeup")
    with services.sessions.begin() as db:
        services.audit.remove_texts(db, AuditEvent.channel == "web", now=NOW, reason="erasure")
    assert history(client) == []


def test_history_shows_the_latest_messages_from_the_start_of_a_turn(client, monkeypatch):
    for text in ("hi", "book a checkup tomorrow", "Jordan Testperson"):
        say(client, text)
    monkeypatch.setattr(web_chat, "HISTORY_EVENTS", 4)
    shown = history(client)
    assert shown[0]["from"] == "you"
    assert [m["text"] for m in shown if m["from"] == "you"] == ["Jordan Testperson"]
