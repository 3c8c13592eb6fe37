"""The migrations build exactly the schema the models declare, on SQLite and on PostgreSQL: a
column, index or constraint added to one and not the other fails here, not in production."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from scheduler.db import make_engine
from scheduler.models import Base


def test_migrated_schema_matches_the_models(database_url):
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_migration_0016_gives_each_existing_turn_its_clinic_local_date(tmp_path):
    # Late-evening turns in New York are the next day in UTC: the backfill uses the clinic's zone.
    from alembic import command
    from sqlalchemy import text

    from scheduler.db import alembic_config

    url = f"sqlite:///{tmp_path / 'turns.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0015")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO clinic (id, name, timezone, config, loaded_at)"
                    " VALUES (1, 'Test clinic', 'America/New_York', '{}', '2026-03-01 00:00:00')"
                )
            )
            for n, at in enumerate(("2026-03-05 02:30:00", "2026-03-05 15:00:00")):
                connection.execute(
                    text(
                        "INSERT INTO engine_turns (at, channel, engine, fallback, latency_ms,"
                        " model_calls, input_tokens, output_tokens, conversation)"
                        f" VALUES ('{at}', 'sms', 'local', 0, 5.0, 0, 0, 0, 'c{n}')"
                    )
                )
        command.upgrade(config, "0016")
        with engine.connect() as connection:
            days = connection.execute(text("SELECT day FROM engine_turns ORDER BY at")).scalars()
            assert list(days) == ["2026-03-04", "2026-03-05"]
        command.downgrade(config, "0015")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM engine_turns")).scalar() == 2
    finally:
        engine.dispose()
