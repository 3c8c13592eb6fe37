"""The real app over HTTP: SQLite in tmp_path, a throwaway key, the demo clinic, a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet

from app import create_app
from bot.settings import Settings

# Wednesday 2026-03-04, 09:00 in New York.
NOW = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path):
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'e2e.db'}",
        log_dir=tmp_path / "logs",
        encryption_keys=(Fernet.generate_key().decode(),),
        secret_key_file=tmp_path / "secret.key",
    )


@pytest.fixture
def app(settings):
    return create_app({"SETTINGS": settings, "CLOCK": lambda: NOW, "TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()
