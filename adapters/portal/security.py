"""The portal's defences that every page shares: CSRF on every POST form, and its headers.

- CSRF: Flask-WTF's `CSRFProtect` is initialised with `WTF_CSRF_CHECK_DEFAULT=False`, so it checks
  nothing by itself (the Twilio and Slack webhooks, the web chat and `/api/v1` have defences of
  their own and send no form token); `protect(blueprint)` makes the portal's blueprints (the
  pages, the sign-in, the admin pages) check every POST before its view runs. A missing, forged or
  stale token is the 400 page and nothing is changed.
- Headers on every portal and sign-in response: a strict Content-Security-Policy (no inline script
  or style, nothing from another site, no framing), `X-Frame-Options: DENY`, `Referrer-Policy:
  same-origin` (the CSRF check over https compares the Referer with the host, so same-origin
  requests must keep it), `X-Content-Type-Options: nosniff`, and `Cache-Control: no-store` on
  every page (they show patients' names), not on the static files.
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from flask_wtf.csrf import CSRFProtect

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

csrf = CSRFProtect()


def check_csrf() -> None:
    """Refuse a POST (PUT, PATCH, DELETE) without this session's CSRF token: `CSRFError`, a 400."""
    csrf.protect()


def security_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if not (request.endpoint or "").endswith(".static"):
        response.headers["Cache-Control"] = "no-store"
        response.headers.setdefault("Pragma", "no-cache")
    return response


def protect(blueprint: Blueprint) -> Blueprint:
    """CSRF on the blueprint's POSTs and the headers on its responses (call before it is
    registered on an app; the hooks then apply in every app it is registered on)."""
    blueprint.before_request(check_csrf)
    blueprint.after_request(security_headers)
    return blueprint
