"""What the Slack tests share: Slack's side of the wire, for real.

- `SlackClient` posts to /slack/events exactly as Slack does: slash commands and interactivity
  form-encoded, events as JSON, each signed with slack_sdk's own `SignatureVerifier` over the
  raw body and a timestamp (`X-Slack-Signature`, `X-Slack-Request-Timestamp`).
- `FakeSlack` is Slack's Web API on 127.0.0.1 (a server thread; slack_sdk speaks urllib, so
  `responses` cannot stand in): it records every call, answers like Slack (auth.test names the
  workspace, views get ids, uploads get URLs on the fake itself), and also takes the posts made
  to `response_url`s, which the tests point at it.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode

from cryptography.fernet import Fernet
from slack_sdk.signature import SignatureVerifier

from bot.settings import Settings
from tests.local_server import LocalServer

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-test-token"
TEAM = "T0CLINIC"
OTHER_TEAM = "T0OTHER"
BOT_USER = "U0BOT"
STAFF_CHANNEL = "C0STAFF"
ADMIN, STAFF, STRANGER = "U0ADMIN", "U0STAFF", "U0STRANGER"
# Wednesday 2026-03-04, 09:00 in New York.
NOW = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)


def slack_settings(tmp_path, fake: FakeSlack | None = None, **overrides) -> Settings:
    values = dict(
        database_url=f"sqlite:///{tmp_path / 'slack.db'}",
        log_dir=tmp_path / "logs",
        encryption_keys=(Fernet.generate_key().decode(),),
        secret_key_file=tmp_path / "secret.key",
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_staff_channel=STAFF_CHANNEL,
        slack_api_url=(fake.base_url + "/api/") if fake else None,
    )
    values.update(overrides)
    return Settings(**values)


@contextmanager
def slack_app(
    tmp_path, fake: FakeSlack, clock: Callable[[], datetime], users: dict[str, str]
) -> Iterator:
    """The app wired to the fake Slack, with the staff `users` (Slack id -> role) added; its Slack
    adapter closed afterwards."""
    from adapters import slack as slack_adapter
    from app import create_app, services_of
    from scheduler import staff_users

    app = create_app({"SETTINGS": slack_settings(tmp_path, fake), "CLOCK": clock, "TESTING": True})
    with services_of(app).sessions.begin() as db:
        for user, role in users.items():
            staff_users.add_user(db, user, role, added_by="test", now=NOW)
    try:
        yield app
    finally:
        app.extensions[slack_adapter.EXTENSION].close()


def sign(body: str, *, timestamp: int | None = None, secret: str = SECRET) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature}


class SlackClient:
    """Slack calling the app: signed slash commands, clicks, modal submissions and events."""

    def __init__(self, client, fake: FakeSlack, team: str = TEAM):
        self.client, self.fake, self.team = client, fake, team
        self._ids = itertools.count(1)

    def post(self, body: str, content_type: str, headers: dict | None = None, **signing):
        all_headers = {"Content-Type": content_type, **sign(body, **signing)}
        all_headers.update(headers or {})
        return self.client.post("/slack/events", data=body.encode(), headers=all_headers)

    def command(
        self, user: str, command: str, text: str = "", *, team: str | None = None, **signing
    ):
        """Run a slash command; returns (HTTP response, the response_url it was given)."""
        response_url = self.fake.response_url()
        form = {
            "token": "legacy",
            "team_id": team or self.team,
            "team_domain": "clinic",
            "channel_id": "C0FRONT",
            "channel_name": "front-desk",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0APP",
            "response_url": response_url,
            "trigger_id": f"trigger.{next(self._ids)}",
        }
        return self.post(
            urlencode(form), "application/x-www-form-urlencoded", **signing
        ), response_url

    def click(
        self,
        user: str,
        action_id: str,
        value: str | None = None,
        *,
        selected: str | None = None,
        view: dict | None = None,
        message_ts: str = "1.1",
        team: str | None = None,
    ):
        """Click a button (or pick from a select menu) in a message, or in a modal (`view`)."""
        response_url = self.fake.response_url()
        action = {
            "action_id": action_id,
            "block_id": "choices",
            "type": "button",
            "action_ts": "2.2",
        }
        if selected is not None:
            action.update(
                type="static_select",
                selected_option={"text": {"type": "plain_text", "text": "x"}, "value": selected},
            )
        else:
            action["value"] = value
        payload = {
            "type": "block_actions",
            "team": {"id": team or self.team},
            "user": {"id": user, "team_id": team or self.team},
            "api_app_id": "A0APP",
            "trigger_id": f"trigger.{next(self._ids)}",
            "actions": [action],
        }
        if view is not None:
            payload.update(container={"type": "view", "view_id": view["id"]}, view=view)
        else:
            payload.update(
                container={
                    "type": "message",
                    "message_ts": message_ts,
                    "channel_id": "C0FRONT",
                    "is_ephemeral": True,
                },
                channel={"id": "C0FRONT"},
                response_url=response_url,
            )
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded"), response_url

    def submit(self, user: str, view: dict, values: dict):
        """Submit a modal with {block_id: text} answers."""
        state = {
            "values": {
                block: {"value": {"type": "plain_text_input", "value": text}}
                for block, text in values.items()
            }
        }
        payload = {
            "type": "view_submission",
            "team": {"id": self.team},
            "user": {"id": user, "team_id": self.team},
            "api_app_id": "A0APP",
            "trigger_id": f"trigger.{next(self._ids)}",
            "view": {**view, "state": state},
        }
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded")

    def event(
        self,
        event: dict,
        *,
        event_id: str | None = None,
        retry: int | None = None,
        team: str | None = None,
    ):
        body = json.dumps(
            {
                "token": "legacy",
                "team_id": team or self.team,
                "api_app_id": "A0APP",
                "type": "event_callback",
                "event_id": event_id or f"Ev{next(self._ids):08d}",
                "event_time": int(time.time()),
                "event": event,
            }
        )
        headers = (
            {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
            if retry
            else None
        )
        return self.post(body, "application/json", headers)

    def dm(self, user: str, text: str, **kwargs):
        return self.event(
            {
                "type": "message",
                "channel_type": "im",
                "channel": f"D{user}",
                "user": user,
                "text": text,
                "ts": f"{time.time():.6f}",
            },
            **kwargs,
        )


class FakeSlack:
    """Slack's Web API and response URLs on 127.0.0.1; `calls` holds (method, params) in order."""

    def __init__(self, team: str = TEAM):
        self.team = team
        self.calls: list[tuple[str, dict]] = []
        self.failures: dict[str, str] = {}  # method -> Slack error to answer with
        self.delays: dict[str, float] = {}  # method -> seconds to wait before answering
        # method -> an Event the call waits for (at most 10 s) before it is recorded and answered
        self.holds: dict[str, threading.Event] = {}
        self.arrived = threading.Condition()
        self._ids = itertools.count(1)
        fake = self

        def answer(path: str, headers, body: bytes):
            status, reply = fake._answer(path, headers.get("Content-Type", ""), body)
            if isinstance(reply, str):
                return status, reply.encode(), {"Content-Type": "text/plain"}
            return status, json.dumps(reply).encode(), {"Content-Type": "application/json"}

        self._server = LocalServer(answer)
        self.base_url = self._server.url

    def response_url(self) -> str:
        return f"{self.base_url}/respond/{next(self._ids)}"

    @staticmethod
    def _params(content_type: str, raw: bytes) -> dict:
        text = raw.decode("utf-8", "replace")
        if "json" in content_type:
            return json.loads(text or "{}")
        if "x-www-form-urlencoded" in content_type:
            return {k: v[0] for k, v in parse_qs(text).items()}
        return {"raw": text}

    def _answer(self, path: str, content_type: str, raw: bytes):
        params = self._params(content_type, raw)
        if path.startswith("/respond/"):
            self._record("respond", {**params, "url": self.base_url + path})
            return 200, "ok"
        if path.startswith("/upload/"):
            self._record("upload", {"content": raw.decode("utf-8", "replace"), "path": path})
            return 200, "OK - 1"
        method = path.split("?")[0].rsplit("/", 1)[-1]
        time.sleep(self.delays.get(method, 0))
        if method in self.holds:
            self.holds[method].wait(10)
        self._record(method, params)
        if method in self.failures:
            return 200, {"ok": False, "error": self.failures[method]}
        answers = {
            "auth.test": {
                "ok": True,
                "team_id": self.team,
                "team": "Clinic",
                "user": "bot",
                "user_id": BOT_USER,
                "bot_id": "B0BOT",
                "url": "https://clinic/",
            },
            "chat.postMessage": {
                "ok": True,
                "channel": params.get("channel"),
                "ts": f"{time.time():.6f}",
            },
            "chat.postEphemeral": {"ok": True, "message_ts": f"{time.time():.6f}"},
            "conversations.open": {"ok": True, "channel": {"id": f"D{params.get('users')}"}},
            "files.getUploadURLExternal": {
                "ok": True,
                "file_id": "F0EXPORT",
                "upload_url": f"{self.base_url}/upload/F0EXPORT",
            },
            "files.completeUploadExternal": {
                "ok": True,
                "files": [{"id": "F0EXPORT", "title": "export"}],
            },
        }
        if method in ("views.open", "views.update", "views.publish"):
            view = params.get("view")
            view = json.loads(view) if isinstance(view, str) else (view or {})
            view_id = params.get("view_id") or f"V{next(self._ids):06d}"
            return 200, {"ok": True, "view": {**view, "id": view_id}}
        return 200, answers.get(method, {"ok": True})

    def _record(self, method: str, params: dict) -> None:
        with self.arrived:
            self.calls.append((method, params))
            self.arrived.notify_all()

    def of(self, method: str) -> list[dict]:
        with self.arrived:
            return [params for name, params in self.calls if name == method]

    def wait_for(
        self, method: str, count: int = 1, timeout: float = 10.0, where=lambda params: True
    ) -> list[dict]:
        """The calls of `method` (matching `where`) once there are `count` of them."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                found = [p for name, p in self.calls if name == method and where(p)]
                left = deadline - time.monotonic()
                if len(found) >= count or left <= 0:
                    return found
                self.arrived.wait(left)

    def answer_to(self, response_url: str, timeout: float = 10.0) -> dict:
        """What the app posted to one response_url (waits for it)."""
        found = self.wait_for("respond", where=lambda p: p["url"] == response_url, timeout=timeout)
        assert found, f"nothing was posted to {response_url}"
        return found[-1]

    def close(self) -> None:
        self._server.close()


def text_of(posted: dict) -> str:
    """All the text a posted answer shows: its blocks' texts, button labels and options."""
    parts = [posted.get("text") or ""]
    blocks = posted.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    if isinstance(posted.get("view"), (dict, str)):
        view = posted["view"] if isinstance(posted["view"], dict) else json.loads(posted["view"])
        blocks = blocks + view.get("blocks", [])
    for block in blocks:
        if isinstance(block.get("text"), dict):
            parts.append(block["text"].get("text", ""))
        for element in block.get("elements", []):
            if isinstance(element.get("text"), dict):
                parts.append(element["text"].get("text", ""))
            elif isinstance(element.get("text"), str):
                parts.append(element["text"])
            for option in element.get("options", []):
                parts.append(option["text"]["text"])
    return "\n".join(parts)


def elements(posted: dict) -> list[dict]:
    """The interactive elements (buttons, selects) of a posted answer or view."""
    blocks = posted.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    view = posted.get("view")
    if isinstance(view, str):
        view = json.loads(view)
    if isinstance(view, dict):
        blocks = blocks + view.get("blocks", [])
    return [e for b in blocks if b.get("type") == "actions" for e in b.get("elements", [])]
