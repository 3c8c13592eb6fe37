"""What the FHIR facade's tests share: every answer checked as FHIR R4 (fhir.resources' R4B
models, entries of a Bundle each as its own type), a test client that checks each one, the app
served over real HTTP for a FHIR client library, and a free Slot to book.

All names and numbers are invented (555-01xx numbers).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from werkzeug.serving import make_server

BASE = "/fhir/r4"
FHIR_JSON = "application/fhir+json"
THURSDAY = "2026-03-05"  # the day after the test clock's Wednesday 2026-03-04 09:00 New York


def valid(resource: dict[str, Any]) -> dict[str, Any]:
    """`resource` if fhir.resources' R4B model of its type takes it (raises otherwise); a
    Bundle's entries are each checked as their own type too."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    for entry in resource.get("entry", []) if resource["resourceType"] == "Bundle" else []:
        valid(entry["resource"])
    return resource


def outcome_text(response) -> str:
    """The diagnostics of an OperationOutcome answer (checked as FHIR)."""
    body = valid(response.get_json())
    assert body["resourceType"] == "OperationOutcome", body
    return " ".join(issue.get("diagnostics", "") for issue in body["issue"])


class FhirClient:
    """The app's test client under /fhir/r4, with a token, checking every answer: FHIR JSON,
    valid as FHIR R4, never a 500."""

    def __init__(self, client, headers: dict[str, str]):
        self.client, self.headers = client, headers

    def _checked(self, response):
        assert response.status_code < 500, response.get_data(as_text=True)
        assert response.mimetype == FHIR_JSON, (response.status_code, response.mimetype)
        valid(json.loads(response.get_data()))
        return response

    def get(self, path: str, **kwargs):
        kwargs["headers"] = {**self.headers, **kwargs.get("headers", {})}
        return self._checked(self.client.get(BASE + path, **kwargs))

    def send(self, method: str, path: str, body: Any = None, *, content_type=FHIR_JSON, **kw):
        headers = {**self.headers, "Content-Type": content_type, **kw.pop("headers", {})}
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return self._checked(
            self.client.open(BASE + path, method=method, data=data, headers=headers, **kw)
        )

    def search(self, path: str, **query) -> dict[str, Any]:
        response = self.get(path, query_string=query)
        assert response.status_code == 200, response.get_json()
        return response.get_json()


def entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry["resource"] for entry in bundle.get("entry", [])]


def booking(slot_id: str, patient_id: int, **extra) -> dict[str, Any]:
    """The Appointment that books a Slot for a patient."""
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": f"Slot/{slot_id}"}],
        "participant": [{"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"}],
        **extra,
    }


def free_slots(fhir: FhirClient, day: str = THURSDAY, **query) -> list[dict[str, Any]]:
    bundle = fhir.search(
        "/Slot", start=[f"ge{day}", f"le{day}"], status="free", _count="200", **query
    )
    return entries(bundle)


class ValidatingApp:
    """WSGI middleware: every answer under /fhir/r4 must be FHIR JSON and valid FHIR R4, and no
    answer a 500; what is wrong is kept in `problems` for the test to assert empty."""

    def __init__(self, app):
        self.app = app
        self.problems: list[str] = []
        self.checked = 0

    def __call__(self, environ, start_response):
        seen: dict[str, Any] = {}

        def remember(status, headers, exc_info=None):
            seen["status"], seen["headers"] = status, dict(headers)
            return start_response(status, headers, exc_info)

        body = b"".join(self.app(environ, remember))
        if environ.get("PATH_INFO", "").startswith(BASE):
            self._check(seen, body)
        return [body]

    def _check(self, seen: dict[str, Any], body: bytes) -> None:
        self.checked += 1
        status = int(seen["status"].split()[0])
        kind = seen["headers"].get("Content-Type", "")
        try:
            assert status < 500, f"{status}: {body[:200]!r}"
            assert kind.startswith(FHIR_JSON), kind
            valid(json.loads(body))
        except Exception as error:  # kept for the test, which asserts there are none
            self.problems.append(f"{type(error).__name__}: {error}")


class LiveServer:
    """The app on 127.0.0.1 in a server thread, so a FHIR client talks to it over HTTP."""

    def __init__(self, app):
        self.checker = ValidatingApp(app)
        self.server = make_server("127.0.0.1", 0, self.checker, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def statuses(resources: Iterable[dict[str, Any]]) -> set[str]:
    return {r["status"] for r in resources}
