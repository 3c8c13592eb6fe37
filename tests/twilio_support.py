"""What the SMS tests share: Twilio's side of the wire, for real.

- `signed_post` signs a webhook exactly as Twilio does (twilio's own
  `RequestValidator.compute_signature` over the URL and every form parameter) and posts it.
- `Phone` texts the app as one patient and reads the TwiML answers.
- `FakeTwilio` is Twilio's REST API on 127.0.0.1 (a server thread): it records every message
  created and answers with what the test scripted (a 429, a 21610, ...), so the app's real
  twilio client, pointed there by TWILIO_API_BASE_URL, is what the tests exercise.
"""

from __future__ import annotations

import json
import threading
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from urllib.parse import parse_qs

from cryptography.fernet import Fernet
from twilio.request_validator import RequestValidator

from bot.settings import Settings
from tests.local_server import LocalServer

TOKEN = "test-auth-token-0123456789abcdef"
ACCOUNT_SID = "AC" + "0" * 32
FROM_NUMBER = "+12125550100"
PUBLIC_BASE_URL = "https://clinic.example.org"
# Wednesday 2026-03-04, 09:00 in New York.
NOW = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)


def sms_settings(tmp_path, *, database_url: str | None = None, **overrides) -> Settings:
    values = dict(
        database_url=database_url or f"sqlite:///{tmp_path / 'sms.db'}",
        log_dir=tmp_path / "logs",
        encryption_keys=(Fernet.generate_key().decode(),),
        secret_key_file=tmp_path / "secret.key",
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=TOKEN,
        twilio_from_number=FROM_NUMBER,
        public_base_url=PUBLIC_BASE_URL,
    )
    values.update(overrides)
    return Settings(**values)


def new_sid(prefix: str = "SM") -> str:
    return prefix + uuid.uuid4().hex


def signature(url: str, params: dict, token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def signed_post(
    client,
    path: str,
    params: dict,
    *,
    base: str = PUBLIC_BASE_URL,
    token: str = TOKEN,
    headers: dict | None = None,
):
    """POST `params` form-encoded with Twilio's signature for `base + path`."""
    all_headers = {"X-Twilio-Signature": signature(base + path, params, token)}
    all_headers.update(headers or {})
    return client.post(path, data=params, headers=all_headers)


def twiml_messages(body: str | bytes) -> list[str]:
    """The text of each <Message> in a TwiML answer."""
    root = ET.fromstring(body)
    assert root.tag == "Response"
    return [element.text or "" for element in root.iter("Message")]


class Phone:
    """One patient's phone texting the clinic through the webhook."""

    def __init__(
        self,
        client,
        number: str = "+12125550123",
        *,
        base: str = PUBLIC_BASE_URL,
        to: str = FROM_NUMBER,
    ):
        self.client, self.number, self.base, self.to = client, number, base, to

    def params(self, body: str, sid: str | None = None, **extra) -> dict:
        params = {
            "MessageSid": new_sid() if sid is None else sid,
            "AccountSid": ACCOUNT_SID,
            "From": self.number,
            "To": self.to,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsStatus": "received",
            "ApiVersion": "2010-04-01",
        }
        params.update(extra)
        return params

    def post(self, body: str, sid: str | None = None, **extra):
        return signed_post(
            self.client, "/twilio/sms", self.params(body, sid, **extra), base=self.base
        )

    def text(self, body: str, sid: str | None = None, **extra) -> str:
        """Send `body`; the answer's messages joined by newlines ("" when it says nothing)."""
        response = self.post(body, sid, **extra)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype in ("application/xml", "text/xml")
        return "\n".join(twiml_messages(response.get_data()))


class FakeTwilio:
    """Twilio's Messages API on 127.0.0.1: records creates, answers as scripted.

    `script` is a list of (status, json body) answers used in order before the default success;
    `messages` holds the form fields of every create request received, in order."""

    def __init__(self):
        self.messages: list[dict] = []
        self.attempts = 0
        self.script: list[tuple[int, dict]] = []
        self.arrived = threading.Condition()
        fake = self

        def answer(path: str, headers, body: bytes):
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            status, reply = fake._answer(path, form)
            return status, json.dumps(reply).encode(), {"Content-Type": "application/json"}

        self._server = LocalServer(answer)
        self.base_url = self._server.url

    def _answer(self, path: str, form: dict) -> tuple[int, dict]:
        with self.arrived:
            self.attempts += 1
            if not path.endswith("/Messages.json"):
                return 404, {"code": 20404, "message": "not found", "status": 404}
            if self.script:
                return self.script.pop(0)
            sid = new_sid()
            self.messages.append({**form, "sid": sid})
            self.arrived.notify_all()
            return 201, {
                "sid": sid,
                "status": "queued",
                "to": form.get("To"),
                "body": form.get("Body"),
                "account_sid": ACCOUNT_SID,
            }

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.messages) >= count, timeout)
            return list(self.messages)

    def close(self) -> None:
        self._server.close()
