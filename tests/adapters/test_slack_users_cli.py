"""`flask --app app users ...`: the first admin is made from the shell; every change audited."""

from __future__ import annotations

from cryptography.fernet import Fernet
from sqlalchemy import select

from app import create_app, services_of
from bot.settings import Settings
from scheduler.models import AuditEvent
from tests.slack_support import NOW


def make_app(tmp_path):
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'cli.db'}",
        log_dir=tmp_path / "logs",
        encryption_keys=(Fernet.generate_key().decode(),),
        secret_key_file=tmp_path / "secret.key",
    )
    return create_app({"SETTINGS": settings, "CLOCK": lambda: NOW, "TESTING": True})


def invoke(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_users_add_list_role_remove(tmp_path):
    app = make_app(tmp_path)
    assert "no staff users yet" in invoke(app, "users", "list").output
    added = invoke(app, "users", "add", "--slack-id", "U0ADMIN", "--role", "admin")
    assert added.exit_code == 0 and "U0ADMIN added as admin" in added.output
    invoke(app, "users", "add", "--slack-id", "U0STAFF", "--role", "staff")
    listed = invoke(app, "users", "list").output
    assert "U0ADMIN  admin" in listed and "U0STAFF  staff" in listed
    assert invoke(app, "users", "role", "--slack-id", "U0STAFF", "--role", "admin").exit_code == 0
    assert invoke(app, "users", "remove", "--slack-id", "U0STAFF").exit_code == 0
    with services_of(app).sessions() as db:
        events = db.scalars(
            select(AuditEvent).where(AuditEvent.kind.like("staff_user_%")).order_by(AuditEvent.seq)
        ).all()
    assert [(e.kind, e.actor, e.detail.get("slack_user_id")) for e in events] == [
        ("staff_user_added", "operator:cli", "U0ADMIN"),
        ("staff_user_added", "operator:cli", "U0STAFF"),
        ("staff_user_role_changed", "operator:cli", "U0STAFF"),
        ("staff_user_removed", "operator:cli", "U0STAFF"),
    ]


def test_users_errors_are_clear_and_exit_1(tmp_path):
    app = make_app(tmp_path)
    invoke(app, "users", "add", "--slack-id", "U0ADMIN", "--role", "admin")
    last = invoke(app, "users", "remove", "--slack-id", "U0ADMIN")
    assert last.exit_code == 1 and "last admin" in last.output
    twice = invoke(app, "users", "add", "--slack-id", "U0ADMIN", "--role", "staff")
    assert twice.exit_code == 1 and "already" in twice.output
    bad = invoke(app, "users", "add", "--slack-id", "jordan", "--role", "staff")
    assert bad.exit_code == 1 and "not a Slack user id" in bad.output
    role = invoke(app, "users", "add", "--slack-id", "U0X", "--role", "owner")
    assert role.exit_code == 2 and "Traceback" not in role.output
