"""What every operator command shares: the app's services, the name it acts under in the
audit trail, and how it fails (the reason on standard error, exit status 1)."""

from __future__ import annotations

import sys
from typing import NoReturn

import click
from flask import current_app

from bot.services import Services, services_of

ACTOR = "operator:cli"


def app_services() -> Services:
    return services_of(current_app)


def fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(1)
