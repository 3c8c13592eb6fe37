"""Signing in to the portal: `/login`, `/logout`, and who is asking on every page.

- `GET /login` shows the form (username, password, csrf_token); `POST /login` checks it with
  scheduler.accounts.sign_in. A success clears the old Flask session and starts a new portal
  session (accounts.start_session), whose secret is the one value the signed session cookie
  carries under `SESSION_KEY`: the session id changes at every sign-in. It then goes to `next`
  when that is a path inside the portal (never another site). Any failure is the same 401 page
  with one sentence, whatever the reason (unknown name, wrong password, locked login), audited.
- Five failures in a row lock the login for 15 minutes (accounts does it). More than
  `ADDRESS_LIMIT` failed sign-ins from one address within `ADDRESS_WINDOW` (counted in the audit
  trail, so every process sees the same count) get the 429 page without the password being
  checked; each is counted as a refused request of the address (adapters/refusals.py).
- `POST /logout` ends the portal session (audited) and clears the cookie.
- `signed_in(role)` guards a view: anonymous, idle longer than SESSION_TIMEOUT_MINUTES or signed
  in for more than 12 hours -> 303 to /login?next=<path>; a staff user on an admin page -> the
  403 page. It sets `g.user` (the StaffUser) and `g.caller` (the scheduling tools' Caller,
  channel "portal", actor "staff:<name>" or "admin:<name>").

Audit events (channel "portal"): "sign_in", "sign_out", "sign_in_failed" (detail: whether the
name is known, the reason for a known one, the address), "sign_in_locked" (the failure that
locked it). The typed password and an unknown typed name are never recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import quote, urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from adapters import refusals
from bot.messages import is_role
from bot.tools import Caller
from scheduler import accounts
from scheduler.models import AuditEvent, StaffUser

from .security import protect
from .shared import TEMPLATES, error_page, now, services

CHANNEL = "portal"
SESSION_KEY = "portal_session"
ADDRESS_LIMIT = 20
ADDRESS_WINDOW = timedelta(minutes=15)
FAILED_KINDS = ("sign_in_failed", "sign_in_locked")
REFUSED = "That username and password do not match, or the account is locked for a while."
DEFAULT_NEXT = "/portal/"

blueprint = protect(Blueprint("portal_login", __name__, template_folder=TEMPLATES))

View = TypeVar("View", bound=Callable[..., Any])


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])
    next = HiddenField()


class SignOutForm(FlaskForm):
    """The Sign out button: nothing but the CSRF token."""


@contextmanager
def portal_db() -> Iterator[Session]:
    """A database session in one transaction, committed when the block ends without an error."""
    with services().sessions.begin() as db:
        yield db


def actor_of(user: StaffUser) -> str:
    return f"{user.role}:{user.name}"


def caller_of(user: StaffUser) -> Caller:
    role = user.role
    if not is_role(role) or role == "patient":
        raise ValueError(f"a staff user has role {role!r}")  # the table allows only two roles
    return Caller(role=role, channel=CHANNEL, staff_id=user.name)


def _audit(db: Session, kind: str, at: datetime, actor: str | None, **detail: Any) -> None:
    services().audit.record(db, kind, at=at, channel=CHANNEL, actor=actor, detail=detail)


def safe_next(target: str | None) -> str:
    """`target` if it is a path inside the portal, else the day's schedule (no open redirect:
    never another host, scheme, protocol-relative or backslashed address)."""
    if not target or len(target) > 500:
        return DEFAULT_NEXT
    if "\\" in target or any(ord(c) < 33 or ord(c) == 127 for c in target):
        return DEFAULT_NEXT
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/portal/"):
        return DEFAULT_NEXT
    return target


def source_address() -> str:
    """The client's address (behind proxies, ProxyFix with TRUSTED_PROXY_HOPS makes it so)."""
    return (request.remote_addr or "unknown")[:64]


def recent_failures(db: Session, source: str, at: datetime) -> int:
    """Failed sign-ins from `source` in the last `ADDRESS_WINDOW`, across every process."""
    return (
        db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.kind.in_(FAILED_KINDS),
                AuditEvent.at >= at - ADDRESS_WINDOW,
                AuditEvent.detail["source"].as_string() == source,
            )
        )
        or 0
    )


def _login_page(form: LoginForm, status: int = 200, error: str | None = None):
    return render_template("portal/login.html", form=form, error=error), status


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    if request.method == "GET":
        target = safe_next(request.args.get("next"))
        if session.get(SESSION_KEY) and current_user() is not None:
            return redirect(target, code=303)  # already signed in
        form.next.data = target
        return _login_page(form)
    if not form.validate():
        # CSRF was checked before the view; what is left is an empty or too long field.
        return _login_page(form, 401, REFUSED)
    source = source_address()
    at = now()
    with portal_db() as db:
        limited = recent_failures(db, source, at) >= ADDRESS_LIMIT
        secret = None if limited else _check(db, form, source, at)
    if limited:
        refusals.ledger_of(current_app).refused(source, "login", "rate_limited")
        page = error_page(
            429,
            "There were too many failed sign-ins from this computer. Wait 15 minutes, then try "
            "again, or ask an admin for help.",
        )
        response = current_app.make_response(page)
        response.headers["Retry-After"] = str(int(ADDRESS_WINDOW.total_seconds()))
        return response
    if secret is None:
        return _login_page(form, 401, REFUSED)
    old = session.get(SESSION_KEY)
    if old:
        with portal_db() as db:
            accounts.end_session(db, old)
    session.clear()
    session[SESSION_KEY] = secret
    return redirect(safe_next(form.next.data), code=303)


def _check(db: Session, form: LoginForm, source: str, at: datetime) -> str | None:
    """The new session's secret, or None after auditing why not."""
    try:
        user = accounts.sign_in(db, form.username.data or "", form.password.data or "", at)
    except accounts.SignInRefused as refused:
        known = refused.user
        kind = "sign_in_locked" if refused.reason == "locked_now" else "sign_in_failed"
        detail: dict[str, Any] = {"username_known": known is not None, "source": source}
        if known is not None:
            detail["reason"] = refused.reason
            if refused.reason == "locked_now" and known.locked_until is not None:
                detail["locked_until"] = known.locked_until.isoformat()
        _audit(db, kind, at, actor_of(known) if known is not None else None, **detail)
        return None
    secret = accounts.start_session(db, user, at)
    _audit(db, "sign_in", at, actor_of(user), source=source)
    return secret


@blueprint.post("/logout")
def logout() -> ResponseReturnValue:
    secret = session.get(SESSION_KEY)
    if secret:
        at = now()
        with portal_db() as db:
            signed = accounts.session_user(db, secret, at, idle=services().settings.session_timeout)
            if signed is not None:
                _audit(db, "sign_out", at, actor_of(signed.user))
            accounts.end_session(db, secret)
    session.clear()
    flash("You are signed out.", "info")
    return redirect("/login", code=303)


def current_user() -> StaffUser | None:
    """Who holds this request's portal session (marking it seen), or None."""
    secret = session.get(SESSION_KEY)
    if not secret or not isinstance(secret, str):
        return None
    with portal_db() as db:
        signed = accounts.session_user(db, secret, now(), idle=services().settings.session_timeout)
    if signed is None:
        session.pop(SESSION_KEY, None)
        flash("Your session ended. Please sign in again.", "info")
        return None
    return signed.user


def signed_in(role: str = "staff") -> Callable[[View], View]:
    """Guard a view: signed in (303 to the sign-in page otherwise) with `role` ("admin": staff
    get the 403 page). Sets `g.user` and `g.caller`."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                target = request.full_path if request.method == "GET" else DEFAULT_NEXT
                target = safe_next(target.rstrip("?"))
                return redirect(f"/login?next={quote(target, safe='/')}", code=303)
            if role == "admin" and user.role != "admin":
                return error_page(403, "This page is for admins. Ask an admin if you need it.")
            g.user = user
            g.caller = caller_of(user)
            return view(*args, **kwargs)

        return cast(View, guarded)

    return decorate
