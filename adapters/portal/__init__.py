"""The staff portal: the clinic's schedule on the web, server-rendered, for staff and admins.

Owns its pages and its sign-in; may import bot (the scheduling tools, the audit trail, the
services) and scheduler (accounts, patients, availability), never another channel. Everything it
changes goes through bot.tools.SchedulingTools with a portal Caller, audited as "staff:<name>" or
"admin:<name>". See docs/portal.md.

    security.py      CSRF on every POST form, the security headers
    auth.py          /login, /logout, `signed_in` (who is asking), `portal_db`
    shared.py        the "portal" blueprint (/portal), times and names for people, safe ids
    grid.py          the calendar grid: rows of 15 minutes, columns, appointments in cells
    schedule.py      the day and the week pages
    appointments.py  one appointment: move, cancel, mark attended or not
    booking.py       find a time, choose or add the patient, book
    patients.py      patient search, a patient's page, the waitlist
    urgent.py        the urgent queue (urgent and soon first), and changing a level with a reason
    dashboard.py     the analytics dashboard and its CSV (dashboard_parts, _visits, _contact,
                     _csv: its sections, charts, tables and files)
    admin.py         the admin pages (blueprint "portal_admin", /portal/admin)
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from bot.services import Services, services_of

from . import appointments, booking, dashboard, patients, schedule, urgent  # noqa: F401  (routes)
from .admin import blueprint as admin_blueprint
from .auth import blueprint as login_blueprint
from .auth import signed_in
from .security import csrf, protect
from .shared import blueprint, error_page, http_error


def _csrf_refused(error: CSRFError) -> ResponseReturnValue:
    return error_page(
        400,
        "This form's security token is missing or out of date, so nothing was changed. "
        "Go back, reload the page and try again.",
        "The form could not be used",
    )


NAV = (
    ("Day", "portal.day", ("portal.day",)),
    ("Week", "portal.week", ("portal.week",)),
    ("Find a time", "portal.find", ("portal.find", "portal.book", "portal.book_confirm")),
    ("Urgent", "portal.urgent", ("portal.urgent",)),
    ("Waitlist", "portal.waiting_list", ("portal.waiting_list",)),
    ("Patients", "portal.patients", ("portal.patients", "portal.patient")),
    ("Dashboard", "portal.dashboard", ("portal.dashboard",)),
)


def _page_context() -> dict[str, Any]:
    """What base.html needs on every portal page: the clinic's name and the menu."""
    found = services_of(current_app)
    endpoint = request.endpoint or ""
    nav = [
        {"label": label, "url": url_for(target), "active": endpoint in active}
        for label, target, active in NAV
    ]
    user = g.get("user")
    if user is not None and user.role == "admin":
        nav.append(
            {
                "label": "Admin",
                "url": "/portal/admin/",
                "active": endpoint.startswith("portal_admin."),
            }
        )
    return {
        "portal_clinic_name": found.clinic.name,
        "portal_nav": nav,
        "portal_idle_minutes": int(found.settings.session_timeout.total_seconds() // 60),
    }


@blueprint.route("/<path:unknown>", methods=["GET", "POST"])
@signed_in()
def not_found(unknown: str) -> ResponseReturnValue:
    return error_page(404, "There is no such page. Use the menu above to find what you need.")


protect(admin_blueprint)
for _blueprint in (blueprint, login_blueprint, admin_blueprint):
    _blueprint.context_processor(_page_context)
    if _blueprint is admin_blueprint and _blueprint.error_handler_spec.get(None):
        continue  # the admin pages answer their own errors
    _blueprint.register_error_handler(CSRFError, _csrf_refused)
    _blueprint.register_error_handler(HTTPException, http_error)


def init_app(app: Flask, services: Services) -> None:
    """Serve /login, /logout, /portal/ and /portal/admin/ with CSRF checked on their POSTs only."""
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # only the portal's blueprints check
    # A form's token lasts as long as the portal session (ended by idle time and sign-out).
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = (services.settings.public_base_url or "").startswith(
        "https://"
    )
    csrf.init_app(app)
    app.register_blueprint(blueprint)
    app.register_blueprint(login_blueprint)
    app.register_blueprint(admin_blueprint)
