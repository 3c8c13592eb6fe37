"""The OpenAPI document and the Swagger UI page: generated, complete, served by the app itself."""

from __future__ import annotations

import re

from adapters.api.docs import CONTENT_SECURITY_POLICY


def test_the_document_lists_every_operation_with_the_bearer_scheme(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.content_type == "application/json"
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    assert document["security"] == [{"bearerAuth": []}]
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    operations = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert operations == {
        ("GET", "/api/v1/appointments"),
        ("POST", "/api/v1/appointments"),
        ("GET", "/api/v1/appointments/{appointment_id}"),
        ("PUT", "/api/v1/appointments/{appointment_id}"),
        ("PATCH", "/api/v1/appointments/{appointment_id}"),
        ("DELETE", "/api/v1/appointments/{appointment_id}"),
        ("GET", "/api/v1/slots"),
        ("GET", "/api/v1/providers"),
        ("GET", "/api/v1/appointment-types"),
        ("GET", "/api/v1/patients"),
        ("POST", "/api/v1/patients"),
        ("GET", "/api/v1/patients/{patient_id}"),
        ("GET", "/api/v1/waitlist"),
        ("POST", "/api/v1/waitlist"),
        ("DELETE", "/api/v1/waitlist/{entry_id}"),
        ("PATCH", "/api/v1/waitlist/{entry_id}"),
        ("GET", "/api/v1/analytics"),
    }
    post = document["paths"]["/api/v1/appointments"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in post["parameters"]]
    assert set(
        post["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1:]
    ) == {"Booking"}
    for status in ("401", "403", "404", "409", "413", "422", "default"):
        assert status in post["responses"], status
    problem = document["components"]["responses"]["CONFLICT"]["content"]
    assert list(problem) == ["application/problem+json"]
    schemas = document["components"]["schemas"]
    assert set(schemas["Problem"]["required"]) == {"type", "title", "status", "detail"}
    assert schemas["Appointment"]["properties"]["start"]["format"] == "date-time"


def test_the_docs_page_runs_no_inline_script_and_loads_nothing_from_elsewhere(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    html = page.get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all(
        'src="/api/v1/docs/' in attrs and not body.strip() for attrs, body in scripts
    )
    assert "http" not in html.replace('charset="utf-8"', "")
    assert 'data-spec-url="/api/v1/openapi.json"' in html
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        with client.get(url) as asset:  # a file, streamed: closed here
            assert asset.status_code == 200, url
            assert asset.get_data()
    with client.get("/api/v1/docs/api-docs.js") as asset:
        init = asset.get_data(as_text=True)
    assert "SwaggerUIBundle" in init and "data-spec-url" in init
