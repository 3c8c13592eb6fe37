"""`flask --app app audit ...`: the hash-chained audit trail, verified link by link and held
against its mirror (logs/audit.log) and signed checkpoints; a checkpoint of its head, signed,
printed and posted to the staff channel."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from bot.audit.anchors import Checkpoint, audit_mirror, checkpoint_notice

from .context import app_services, fail

audit_group = AppGroup("audit", help="The hash-chained audit trail.")


@audit_group.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_text",
    default=None,
    metavar="TEXT",
    help='a checkpoint line as the staff channel shows it ("audit checkpoint ...")',
)
def audit_verify(checkpoint_text: str | None) -> None:
    """Check every link of the audit chain, and that none is missing from its end (against
    logs/audit.log and the checkpoint given); exit 1 at the first problem."""
    services = app_services()
    checkpoints: list[Checkpoint] = []
    if checkpoint_text is not None:
        checkpoint = Checkpoint.parse(checkpoint_text)
        if checkpoint is None:
            fail(
                'that is not a checkpoint line ("audit checkpoint <time> event <n> hash '
                '<hex> sig <hex>")'
            )
        if not services.audit.signed_by_us(checkpoint):
            fail(
                "BROKEN: the checkpoint's signature does not match ENCRYPTION_KEYS (forged, "
                "or made with a key no longer listed)"
            )
        checkpoints.append(checkpoint)
    with services.sessions() as db:
        result = services.audit.verify(
            db, mirror=audit_mirror(services.settings), checkpoints=checkpoints
        )
    if result.ok:
        click.echo(f"OK: {result.checked} audit events verified")
        return
    fail(
        f"BROKEN at event seq {result.first_broken_seq}: {result.reason} "
        f"({result.checked} events before it verified)"
    )


@audit_group.command("checkpoint")
def audit_checkpoint() -> None:
    """Record a signed checkpoint of the chain's head, print it, and post it to the staff
    channel (when Slack is configured): keep it where the database's admins cannot edit it."""
    services = app_services()
    with services.sessions.begin() as db:
        checkpoint = services.audit.checkpoint(db, now=services.clock())
    if checkpoint is None:
        fail("the audit trail is empty: nothing to checkpoint yet")
    from ..slack import staff_channel_poster  # loads slack_sdk only now

    post = staff_channel_poster(services.settings)
    if post is not None:
        post(checkpoint_notice(checkpoint))
    click.echo(checkpoint.text())
