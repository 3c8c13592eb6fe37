"""What a request, a command or a job needs, built once per app (app.py `build_services`).

Typed here, below the app, so that the channels (adapters/) and the jobs (jobs/) can name what they
are given without importing the application that wires them. `services_of(app)` reads them from a
Flask app's extensions (any object with an `extensions` mapping: bot/ imports no web framework).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.audit.trail import AuditTrail
from bot.engine.conversation import ConversationEngine
from bot.messages import Sender
from bot.settings import Settings
from scheduler.clinic import Clinic
from scheduler.crypto import Vault

EXTENSION = "clinic_scheduler"


@dataclass
class Services:
    """Everything a request, a command or a job needs, built once per app."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    readers: sessionmaker[Session]  # transactions that only read (scheduler/db.py)
    vault: Vault
    clinic: Clinic
    audit: AuditTrail
    conversation: ConversationEngine
    sender: Sender  # TwilioSender when Twilio is configured, else the Outbox
    clock: Callable[[], datetime]


class HasExtensions(Protocol):
    # Read-only, so that a Flask app (whose `extensions` is a `dict[str, Any]`) is one.
    @property
    def extensions(self) -> Mapping[str, Any]: ...


def services_of(app: HasExtensions) -> Services:
    return app.extensions[EXTENSION]
