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


GOOD = "plum-orbit-candle-42\n"


def test_a_portal_login_is_added_with_its_password_on_standard_input(tmp_path):
    app = make_app(tmp_path)
    runner = app.test_cli_runner()
    added = runner.invoke(
        args=["users", "add", "--username", "FrontDesk", "--role", "admin", "--password-stdin"],
        input=GOOD,
    )
    assert added.exit_code == 0 and "frontdesk added as admin" in added.output
    assert "plum-orbit" not in added.output
    both = runner.invoke(
        args=[
            "users",
            "add",
            "--username",
            "lead",
            "--slack-id",
            "U0LEAD",
            "--role",
            "staff",
            "--password-stdin",
        ],
        input=GOOD,
    )
    assert both.exit_code == 0
    listed = invoke(app, "users", "list").output
    assert "frontdesk  admin  login frontdesk" in listed
    assert "Slack U0LEAD, login lead" in listed
    weak = runner.invoke(
        args=["users", "add", "--username", "weak", "--role", "staff", "--password-stdin"],
        input="password1234\n",
    )
    assert weak.exit_code == 1 and "common" in weak.output
    nopass = invoke(app, "users", "add", "--username", "nopass", "--role", "staff")
    assert nopass.exit_code == 1 and "--password-stdin" in nopass.output
    passwd = runner.invoke(
        args=["users", "passwd", "--username", "lead", "--password-stdin"],
        input="quiet-harbor-lantern-7\n",
    )
    assert passwd.exit_code == 0 and "sessions have ended" in passwd.output
    assert invoke(app, "users", "remove", "--username", "lead").exit_code == 0
    with services_of(app).sessions() as db:
        events = db.scalars(
            select(AuditEvent).where(AuditEvent.kind.like("staff_user_%")).order_by(AuditEvent.seq)
        ).all()
        assert [(e.kind, e.detail.get("username")) for e in events] == [
            ("staff_user_added", "frontdesk"),
            ("staff_user_added", "lead"),
            ("staff_user_password_changed", "lead"),
            ("staff_user_removed", "lead"),
        ]
        assert not any("plum" in str(e.detail) or "harbor" in str(e.detail) for e in events)


def test_tokens_are_created_once_listed_without_the_token_and_revoked(tmp_path):
    from scheduler import accounts

    app = make_app(tmp_path)
    app.test_cli_runner().invoke(
        args=["users", "add", "--username", "callcentre", "--role", "staff", "--password-stdin"],
        input=GOOD,
    )
    created = invoke(app, "tokens", "create", "--username", "callcentre", "--label", "call centre")
    assert created.exit_code == 0
    token = created.output.strip().splitlines()[-1]
    assert token.startswith("mas_")
    listed = invoke(app, "tokens", "list").output
    assert "callcentre  'call centre'" in listed and token not in listed and "active" in listed
    with services_of(app).sessions() as db:
        assert accounts.token_user(db, token, NOW) is not None
    assert invoke(app, "tokens", "revoke", "1").exit_code == 0
    assert "revoked" in invoke(app, "tokens", "list").output
    with services_of(app).sessions() as db:
        assert accounts.token_user(db, token, NOW) is None
    unknown = invoke(app, "tokens", "create", "--username", "nobody", "--name", "x")
    assert unknown.exit_code == 1 and "no login" in unknown.output
    assert invoke(app, "tokens", "revoke", "99").exit_code == 1
