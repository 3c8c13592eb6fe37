"""The app as a load balancer and an operator see it: health, readiness and configuration errors."""

from __future__ import annotations

from datetime import UTC, datetime

import flask
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from app import create_app, services_of
from bot.settings import Settings, SettingsError

NOW = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)


def make_app(tmp_path, **overrides):
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'app.db'}",
        log_dir=tmp_path / "logs",
        encryption_keys=(Fernet.generate_key().decode(),),
        secret_key_file=tmp_path / "secret.key",
        **overrides,
    )
    return create_app({"SETTINGS": settings, "CLOCK": lambda: NOW, "TESTING": True})


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


def test_healthz_answers_200_while_the_process_runs(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_is_200_on_a_migrated_database(app):
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"]["migrations"] == "current"


def test_readyz_is_503_while_a_migration_is_pending(app):
    with services_of(app).engine.begin() as connection:
        connection.execute(text("DELETE FROM alembic_version"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["migrations"] == "pending"


def test_readyz_is_503_when_the_database_is_unreachable(app):
    services = services_of(app)
    services.engine = create_engine(
        "postgresql+psycopg://nobody@127.0.0.1:9/none", connect_args={"connect_timeout": 2}
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == "unavailable"


def test_a_request_without_a_session_cookie_builds_no_signer(app, monkeypatch):
    """The signed-cookie sessions of the portal still load and refuse cookies as Flask's do,
    but a request that carries none (a webhook, an API call) builds no signer for it."""
    interface = app.session_interface
    real, built = interface.get_signing_serializer, []
    monkeypatch.setattr(interface, "get_signing_serializer", lambda a: built.append(a) or real(a))
    with app.test_request_context("/twilio/sms", method="POST"):
        assert dict(flask.session) == {} and built == []
    cookie = {"Cookie": f"session={real(app).dumps({'user': 7})}"}
    with app.test_request_context("/portal", headers=cookie):
        assert dict(flask.session) == {"user": 7} and len(built) == 1
    with app.test_request_context("/portal", headers={"Cookie": "session=forged.value"}):
        assert dict(flask.session) == {}


def test_web_chat_is_served_where_sms_goes_to_the_outbox(app):
    assert app.test_client().get("/").status_code == 200


def test_web_chat_is_off_when_twilio_is_configured_unless_asked_for(tmp_path):
    twilio = dict(
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="t" * 32,
        twilio_from_number="+12125550100",
    )
    assert make_app(tmp_path, **twilio).test_client().get("/").status_code == 404
    assert make_app(tmp_path, web_chat=True, **twilio).test_client().get("/").status_code == 200


@pytest.mark.parametrize(
    "name, value",
    [
        ("PORT", "abc"),
        ("PORT", "70000"),
        ("QUIET_HOURS", "xx"),
        ("QUIET_HOURS", "25:00-08:00"),
        ("LLM_ENGINE", "gpt"),
        ("SESSION_TIMEOUT_MINUTES", "0"),
        ("JOBS_IN_PROCESS", "maybe"),
        ("REMINDER_OFFSETS", "tomorrow"),
        ("DATABASE_URL", "mysql://db"),
        ("CLINIC_CONFIG", "/no/such/clinic.toml"),
        ("SLACK_API_URL", "ftp://slack"),
        ("TRUSTED_PROXY_HOPS", "-1"),
        ("TRUSTED_PROXY_HOPS", "many"),
    ],
)
def test_bad_setting_is_refused_naming_the_variable(name, value):
    with pytest.raises(SettingsError) as error:
        Settings.from_env({name: value})
    assert name in str(error.value)


def test_trusted_proxy_hops_is_read():
    assert Settings.from_env({"TRUSTED_PROXY_HOPS": "1"}).trusted_proxy_hops == 1
    assert Settings.from_env({}).trusted_proxy_hops == 0


def test_secrets_are_masked_in_repr_and_describe():
    settings = Settings.from_env(
        {"TWILIO_AUTH_TOKEN": "tok-secret-value", "ENCRYPTION_KEYS": Fernet.generate_key().decode()}
    )
    assert "tok-secret-value" not in repr(settings)
    assert settings.describe()["twilio_auth_token"] == "set"
    assert settings.describe()["encryption_keys"] == "set"


# --- a long-lived process's start-up heap -----------------------------------------------------


def _in_a_process(code: str, **env: str) -> str:
    """Run `code` in a fresh interpreter (freezing the test process's heap would keep every
    later test's garbage) from the checkout; its standard output."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_a_gunicorn_worker_moves_its_start_up_objects_out_of_the_collectors_sight():
    # deploy/gunicorn.conf.py's post_worker_init hook: what the worker built is frozen, so a
    # full collection no longer walks it (100-150 ms each on this machine, in someone's request).
    out = _in_a_process(
        "import gc, runpy; conf = runpy.run_path('deploy/gunicorn.conf.py');"
        "before = gc.get_freeze_count(); conf['post_worker_init'](None);"
        "print(before, gc.get_freeze_count(), *gc.get_threshold())"
    )
    before, after, *thresholds = map(int, out.split())
    assert before == 0 and after > 10_000
    assert thresholds == [10_000, 10, 100]  # collections less often than Python's 700, 10, 10


def test_a_job_worker_settles_its_heap_before_its_first_job(tmp_path):
    out = _in_a_process(
        "import gc, jobs.__main__ as worker; rc = worker.main(['--once']);"
        "print(rc, gc.get_freeze_count())",
        DATABASE_URL=f"sqlite:///{tmp_path / 'jobs.db'}",
        LOG_DIR=str(tmp_path / "logs"),
        ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        JOBS_IN_PROCESS="false",
    )
    rc, frozen = map(int, out.split()[-2:])
    assert rc == 0 and frozen > 10_000
