"""Behind nginx (TRUSTED_PROXY_HOPS=1): a proxy passing a forged X-Forwarded-Host (or Host, or
scheme) changes nothing; Twilio's signatures are checked against PUBLIC_BASE_URL only."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app import create_app, services_of
from scheduler.models import AuditEvent, MessageReceipt, Patient
from tests.twilio_support import NOW, PUBLIC_BASE_URL, Phone, signed_post, sms_settings

FORGED = "https://evil.example.net"
FORGED_HEADERS = {
    "Host": "evil.example.net",
    "X-Forwarded-Host": "evil.example.net",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-For": "203.0.113.9",
}


def make_app(tmp_path, public_base_url):
    settings = sms_settings(tmp_path, public_base_url=public_base_url, trusted_proxy_hops=1)
    return create_app({"SETTINGS": settings, "CLOCK": lambda: NOW, "TESTING": True})


def stored(app) -> tuple[int, int, int]:
    with services_of(app).sessions() as db:
        return tuple(
            db.scalar(select(func.count()).select_from(table))
            for table in (MessageReceipt, Patient, AuditEvent)
        )


@pytest.mark.parametrize("path", ["/twilio/sms", "/twilio/status"])
def test_a_signature_over_the_forged_host_is_refused_and_stores_nothing(tmp_path, path):
    app = make_app(tmp_path, PUBLIC_BASE_URL)
    before = stored(app)
    params = Phone(app.test_client(), "+12125550142").params("book a checkup")
    params["MessageStatus"] = "delivered"
    answer = signed_post(app.test_client(), path, params, base=FORGED, headers=FORGED_HEADERS)
    assert answer.status_code == 403
    assert stored(app) == before


def test_the_public_url_signature_is_accepted_whatever_host_the_proxy_claims(tmp_path):
    app = make_app(tmp_path, PUBLIC_BASE_URL)
    phone = Phone(app.test_client(), "+12125550142")
    answer = signed_post(
        app.test_client(), "/twilio/sms", phone.params("hi"), headers=FORGED_HEADERS
    )
    assert answer.status_code == 200 and "Reply YES" in answer.get_data(as_text=True)


def test_without_a_public_url_the_forwarded_host_is_not_trusted_either(tmp_path):
    # The app signs over the request's own URL then; ProxyFix trusts X-Forwarded-For only, so a
    # proxy's X-Forwarded-Host cannot pick the URL a forged signature was made for.
    app = make_app(tmp_path, None)
    params = Phone(app.test_client(), "+12125550142").params("hi")
    headers = {"X-Forwarded-Host": "evil.example.net", "X-Forwarded-Proto": "https"}
    forged = signed_post(app.test_client(), "/twilio/sms", params, base=FORGED, headers=headers)
    assert forged.status_code == 403
    own = signed_post(app.test_client(), "/twilio/sms", params, base="http://localhost")
    assert own.status_code == 200
