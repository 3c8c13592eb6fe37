"""create_app(): settings, database, clinic, engine, adapters and jobs wired into one Flask app.

`python app.py` (or `make run`) migrates the database, loads the demo clinic into an empty one and
serves on 127.0.0.1:$PORT. Production runs `gunicorn 'app:create_app()'`.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime

from flask import Flask, Request, Response, jsonify
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix

from adapters import refusals
from adapters.outbox import Outbox
from adapters.twilio_sender import TwilioSender
from bot import i18n, logfiles
from bot.audit.trail import AuditTrail
from bot.engine.conversation import ConversationEngine
from bot.messages import Sender
from bot.services import EXTENSION, Services, services_of
from bot.sessions import SessionStore
from bot.settings import Settings, SettingsError
from scheduler.clinic import Clinic
from scheduler.clinic_file import load_clinic
from scheduler.clinic_store import install_clinic, installed_clinic
from scheduler.crypto import Vault
from scheduler.db import (
    UNAVAILABLE,
    make_engine,
    migration_state,
    reader_factory,
    session_factory,
    upgrade,
)
from scheduler.patients import index_missing_names

log = logging.getLogger("scheduler.app")


def utc_clock() -> datetime:
    return datetime.now(UTC)


def build_services(
    settings: Settings, *, clock: Callable[[], datetime] = utc_clock, migrate: bool = True
) -> Services:
    """Migrate, make sure a clinic is installed, and wire the conversation engine."""
    if migrate:
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    factory = session_factory(engine)
    vault = Vault.from_settings(settings.encryption_keys, settings.secret_key_file)
    with factory.begin() as session:
        clinic = installed_clinic(session)
        if clinic is None:
            clinic = load_clinic(settings.clinic_config)
            install_clinic(session, clinic)
        # Names stored before the name index existed (migration 0010), indexed once.
        index_missing_names(session, vault)
    i18n.check_catalogs()  # a missing translation stops the start, not a patient's turn
    audit = AuditTrail(vault)
    # Patients' bookings, red flags and undelivered texts, told to SLACK_STAFF_CHANNEL after
    # commit (a no-op without Slack). Imported here: adapters/slack/ loads slack_sdk.
    from adapters import slack

    slack.staff_notifier(settings, clinic).watch(audit)
    if settings.ehr_webhook_url:
        # Every appointment change queued for the EHR in its own transaction (bot/ehr_notices.py).
        from bot.ehr_notices import EhrNotices

        EhrNotices(clinic, vault).watch(audit)
    store = SessionStore(vault, settings.session_timeout)
    conversation = ConversationEngine(
        sessions=factory,
        clinic=clinic,
        vault=vault,
        audit=audit,
        store=store,
        clock=clock,
        llm=_llm(settings, clinic),
        reminder_policy=settings.reminder_policy(),
    )
    sender: Sender
    if settings.twilio_configured:
        sender = TwilioSender(settings, factory, vault, audit, clock)
    else:
        sender = Outbox(factory, vault, clock)
    return Services(
        settings,
        engine,
        factory,
        reader_factory(engine),
        vault,
        clinic,
        audit,
        conversation,
        sender,
        clock,
    )


def _llm(settings: Settings, clinic: Clinic):
    """The Bedrock engine when LLM_ENGINE and the AWS settings select it, else None (local).
    Imported only then, so a local-only deployment never loads boto3."""
    settings.check_engine()
    if not settings.uses_bedrock:
        return None
    from bot.model.bedrock import engine_from_settings

    return engine_from_settings(settings, clinic)


def settle_heap() -> None:
    """Once a long-lived process is ready to serve (gunicorn's `post_worker_init` in
    deploy/gunicorn.conf.py, `python -m jobs`): what it built at start-up (the imported
    libraries, the app, the clinic) lives as long as it does, so it is moved out of the garbage
    collector's sight (`gc.freeze`); before, every full collection walked it again, 100-150 ms
    on this project's 2-core machine, taken out of whichever request was running. Then the
    collections come less often: the youngest at 10,000 new containers instead of 700 (most of
    a request's objects are freed by their counts before one sees them), a full one after 100
    middle ones instead of 10 (it still walks the caches that grow while serving, 10-20 ms).
    Measured on the FHIR Slot search: p99 94-130 ms before, 23-24 ms after (BENCHMARKS.md, "The
    garbage collector in a long-lived process")."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 100)


def job_runner(services: Services, *, in_process: bool):
    """The jobs, given what reaches outside them: the staff channel's poster (Slack) and the
    sender of SMS replies a stopped process left unsent."""
    from adapters.slack import staff_channel_poster
    from adapters.twilio_sms.stranded import send_stranded_replies
    from jobs.runner import Jobs

    return Jobs(
        services,
        in_process=in_process,
        post_digest=staff_channel_poster(services.settings),
        resend_stranded=lambda: send_stranded_replies(services),
    )


def services_from_env() -> Services | None:
    """Settings from the environment, logs configured, services built: what the console and job
    workers start with. None (after saying which variable is wrong) when a setting is bad."""
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return None
    logfiles.configure(settings.log_dir)
    return build_services(settings)


class _CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions (the portal's sign-in), except that a request without the
    cookie, as every webhook and API call is, gets its empty session without a signer built for
    it (Flask's own builds one for every request: 0.5 % of an SMS turn's instructions)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def create_app(test_config: dict | None = None) -> Flask:
    """The app factory. `test_config` may carry "SETTINGS" (a Settings), "CLOCK", "START_JOBS"
    (start the in-process job scheduler although SETTINGS was given), and any
    upper-case Flask config (e.g. "TWILIO_REPLY_BUDGET_SECONDS", the SMS webhook's engine budget)."""
    test_config = test_config or {}
    settings = test_config.get("SETTINGS") or Settings.from_env()
    logfiles.configure(settings.log_dir)
    services = build_services(settings, clock=test_config.get("CLOCK", utc_clock))

    app = Flask(__name__)
    app.session_interface = _CookieSessions()
    app.config.update(
        SECRET_KEY=services.vault.index("flask-session-secret"),
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        MAX_CONTENT_LENGTH=256 * 1024,
    )
    app.config.update({k: v for k, v in test_config.items() if k.isupper()})
    app.extensions[EXTENSION] = services
    if settings.trusted_proxy_hops:
        # The client's address (the refusal counts' key) from the proxies' X-Forwarded-For.
        # Flask's documented way to wrap its WSGI app; mypy sees a method being replaced.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxy_hops)  # type: ignore[method-assign]
    app.extensions[refusals.EXTENSION] = refusals.RefusalLedger(services.sessions, services.clock)

    def database_unavailable(exc: Exception):
        # The database out of reach (a restart, a failover, dropped connections): a 503 that
        # Twilio, Slack and API clients retry, never a 500 page. The pool reconnects by itself.
        log.warning("database unavailable: %s", type(exc).__name__)
        return Response(
            "the database is unavailable for a moment; try again\n",
            status=503,
            mimetype="text/plain",
            headers={"Retry-After": "5"},
        )

    for unavailable in UNAVAILABLE:
        app.register_error_handler(unavailable, database_unavailable)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz():
        checks: dict[str, object] = {"engine": services.conversation.engine_status}
        try:
            with services.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            checks["database"] = "ok"
            # "ahead": a newer node's expand migration ran (a rolling restart); still ready.
            checks["migrations"] = state = migration_state(services.engine)
        except Exception as exc:  # any database failure means "not ready", never a 500
            log.warning("readiness check failed: %s", type(exc).__name__)
            checks["database"] = "unavailable"
            state = "unknown"
        ready = checks["database"] == "ok" and state in ("current", "ahead")
        return jsonify(
            status="ready" if ready else "not ready", checks=checks
        ), 200 if ready else 503

    from adapters import api, cli, fhir, portal, slack, twilio_sms, web_chat

    # Always there: without TWILIO_AUTH_TOKEN it answers 503 and says why.
    twilio_sms.init_app(app, services)
    if settings.web_chat_enabled:
        web_chat.init_app(app, services)
    # Always there: without SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET it answers 503.
    slack.init_app(app, services)
    cli.init_app(app, services)
    api.init_app(app, services)
    fhir.init_app(app, services)
    portal.init_app(app, services)

    # The in-process job scheduler (jobs/runner.py): with JOBS_IN_PROCESS, and in tests only
    # when asked ("START_JOBS"); tests call the jobs directly with their own clock.
    # Never for an operator command (`flask --app app ...`: the flask CLI sets the variable).
    wanted = "SETTINGS" not in test_config and os.environ.get("FLASK_RUN_FROM_CLI") != "true"
    if settings.jobs_in_process and test_config.get("START_JOBS", wanted):
        from jobs.runner import start_in_process

        app.extensions["job_scheduler"] = start_in_process(job_runner(services, in_process=True))
    return app


def main() -> None:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        sys.exit(f"configuration error: {exc}")
    app = create_app({"SETTINGS": settings, "START_JOBS": True})
    base = f"http://127.0.0.1:{settings.port}"
    if settings.web_chat_enabled:
        sender = "texts through Twilio" if settings.twilio_configured else "messages to the outbox"
        engine = services_of(app).conversation.engine_status
        print(f"Medical-AI-Scheduler: chat with the bot at {base}/ ({engine} engine, {sender})")
    print(
        f"Medical-AI-Scheduler: the analytics dashboard at {base}/portal/dashboard (demo data: "
        "flask --app app demo history; a login: flask --app app users add --username NAME "
        "--role admin --password-stdin)"
    )
    if settings.twilio_auth_token:
        print(
            f"Medical-AI-Scheduler: Twilio SMS webhook at {base}/twilio/sms "
            f"(set {settings.public_base_url or 'your public URL'}/twilio/sms in Twilio)"
        )
    app.run(host="127.0.0.1", port=settings.port)


if __name__ == "__main__":
    main()
