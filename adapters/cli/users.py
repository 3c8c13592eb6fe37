"""`flask --app app users ...`: clinic staff and admins, reached by a Slack user id, a portal
login (username and password) or both; each change in one transaction, audited. A password is
read from standard input (`--password-stdin`, one line), never from the command line, where
`ps` and the shell's history would keep it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime

import click
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from scheduler import staff_users
from scheduler.errors import StaffUserError
from scheduler.staff_users import ROLES

from .context import ACTOR, app_services, fail

users_group = AppGroup(
    "users", help="Clinic staff and admins: by Slack user id, by portal login, or both."
)

_slack_id = click.option(
    "--slack-id",
    "slack_id",
    help="the person's Slack user id (U...; in Slack: profile, More, Copy member ID)",
)
_username = click.option("--username", help="their portal login (lower case, e.g. frontdesk)")
_role = click.option("--role", type=click.Choice(ROLES), required=True)
_password_stdin = click.option(
    "--password-stdin", is_flag=True, help="read the password from standard input (one line)"
)


def _who(slack_id: str | None, username: str | None) -> str:
    if bool(slack_id) == bool(username):
        fail("name the person with --slack-id or --username (one of them)")
    return slack_id or (username or "").strip().lower()


def _password(password_stdin: bool) -> str:
    if not password_stdin:
        fail("a login needs a password: give --password-stdin and type it on standard input")
    if sys.stdin.isatty():  # typed at a terminal: hidden, and asked twice
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        fail("no password on standard input")
    return password


def _key(who: str) -> str:
    return "slack_user_id" if staff_users.valid_slack_user_id(who) else "username"


def _change_users(
    action: str, who: str, change: Callable[[Session, datetime], dict[str, object]]
) -> None:
    """Run one change to the staff list in a transaction, audited; exit 1 with the reason."""
    services = app_services()
    try:
        with services.sessions.begin() as db:
            detail = change(db, services.clock())
            services.audit.record(
                db,
                f"staff_user_{action}",
                at=services.clock(),
                channel="cli",
                actor=ACTOR,
                detail={_key(who): who, **detail},
            )
    except StaffUserError as exc:
        fail(str(exc))


@users_group.command("list")
def users_list() -> None:
    """Everyone who may use the staff tools (Slack, portal, API)."""
    with app_services().sessions() as db:
        users = staff_users.list_users(db)
        if not users:
            click.echo(
                "no staff users yet; add the first admin with "
                "`users add --username NAME --role admin --password-stdin`"
            )
        for user in users:
            ways = ", ".join(
                way
                for way in (
                    f"Slack {user.slack_user_id}" if user.slack_user_id else None,
                    f"login {user.username}" if user.username else None,
                )
                if way
            )
            click.echo(
                f"{user.name}  {user.role:<5}  {ways}; added {user.added_at:%Y-%m-%d} "
                f"by {user.added_by or '?'}"
            )


@users_group.command("add")
@_slack_id
@_username
@_role
@_password_stdin
def users_add(slack_id: str | None, username: str | None, role: str, password_stdin: bool) -> None:
    """Add someone: a Slack user (--slack-id), a portal login (--username with
    --password-stdin), or both at once for one person with one role."""
    if not slack_id and not username:
        fail("give --slack-id, --username, or both")
    password = _password(password_stdin) if username else None
    who = username.strip().lower() if username else (slack_id or "")

    def add(db: Session, now: datetime) -> dict[str, object]:
        staff_users.add_user(
            db, slack_id, role, added_by=ACTOR, now=now, username=username, password=password
        )
        return {"role": role, "slack": bool(slack_id), "login": bool(username)}

    _change_users("added", who, add)
    click.echo(f"{who} added as {role}")


@users_group.command("passwd")
@_username
@_password_stdin
def users_passwd(username: str | None, password_stdin: bool) -> None:
    """Set a new password for a login (read from standard input); it signs them out everywhere."""
    who = _who(None, username)
    password = _password(password_stdin)

    def change(db: Session, now: datetime) -> dict[str, object]:
        staff_users.change_password(db, who, password, now)
        return {}

    _change_users("password_changed", who, change)
    click.echo(f"new password set for {who}; their portal sessions have ended")


@users_group.command("role")
@_slack_id
@_username
@_role
def users_role(slack_id: str | None, username: str | None, role: str) -> None:
    """Change the role of a listed user."""
    who = _who(slack_id, username)
    _change_users(
        "role_changed",
        who,
        lambda db, now: {"old_role": staff_users.set_role(db, who, role), "role": role},
    )
    click.echo(f"{who} is now {role}")


@users_group.command("remove")
@_slack_id
@_username
def users_remove(slack_id: str | None, username: str | None) -> None:
    """Take someone off the staff list: they lose access at once (Slack, portal sessions and
    API tokens alike)."""
    who = _who(slack_id, username)
    _change_users("removed", who, lambda db, now: {"role": staff_users.remove_user(db, who)})
    click.echo(f"{who} removed")
