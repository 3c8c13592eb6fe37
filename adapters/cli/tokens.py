"""`flask --app app tokens ...`: the REST API's bearer tokens. A token carries its user's role, is
shown once when it is made and kept only as a digest (scheduler/accounts.py); each change is
audited."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from scheduler import accounts, staff_users
from scheduler.errors import StaffUserError
from scheduler.models import StaffUser

from .context import ACTOR, app_services, fail

tokens_group = AppGroup("tokens", help="Bearer tokens of the REST API (/api/v1).")


@tokens_group.command("create")
@click.option("--username", required=True, help="whose token: it acts with their role")
@click.option(
    "--label",
    "--name",
    "label",
    default="api",
    show_default=True,
    help="what uses it, e.g. 'call centre'",
)
def tokens_create(username: str, label: str) -> None:
    """Make a token for USERNAME and print it once (it cannot be shown again)."""
    services = app_services()
    try:
        with services.sessions.begin() as db:
            user = staff_users.get_user(db, username)
            if user is None or user.username is None:
                raise StaffUserError(f"{username} has no login (add one with `users add`)")
            token, secret = accounts.create_token(db, user, label, services.clock())
            services.audit.record(
                db,
                "api_token_created",
                at=services.clock(),
                channel="cli",
                actor=ACTOR,
                detail={"user": user.name, "token_id": token.id},
            )
            token_id = token.id
    except StaffUserError as exc:
        fail(str(exc))
    click.echo(f"token {token_id} for {username} (copy it now; it is not shown again):", err=True)
    click.echo(secret)


@tokens_group.command("list")
def tokens_list() -> None:
    """Every token: id, user, name, its last four characters, created, last used, revoked."""
    with app_services().sessions() as db:
        tokens = accounts.list_tokens(db)
        if not tokens:
            click.echo(
                "no tokens yet; make one with `tokens create --username NAME [--label WHAT]`"
            )
        for token in tokens:
            user = db.get(StaffUser, token.user_id)
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
            click.echo(
                f"{token.id}  {user.name if user else '?'}  {token.label!r}  …{token.hint}  "
                f"created {token.created_at:%Y-%m-%d}  used {used}  {state}"
            )


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    """Revoke token TOKEN_ID: from the next request on, it is refused (401)."""
    services = app_services()
    try:
        with services.sessions.begin() as db:
            accounts.revoke_token(db, token_id, services.clock())
            services.audit.record(
                db,
                "api_token_revoked",
                at=services.clock(),
                channel="cli",
                actor=ACTOR,
                detail={"token_id": token_id},
            )
    except StaffUserError as exc:
        fail(str(exc))
    click.echo(f"token {token_id} revoked")
