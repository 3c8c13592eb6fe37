"""A rolling restart: the first node of a new release runs its expand migration; the nodes still
on the old release stay ready (their schema was only added to), and a node behind is not."""

from __future__ import annotations

from sqlalchemy import text

from app import services_of
from tests.test_app import make_app


def test_an_old_node_stays_ready_when_a_newer_release_migrated_the_database(tmp_path):
    app = make_app(tmp_path)
    with services_of(app).engine.begin() as connection:
        # A revision this code does not know: a newer release's expand migration.
        connection.execute(text("UPDATE alembic_version SET version_num = 'from_the_future'"))
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 200
    assert answer.get_json()["checks"]["migrations"] == "ahead"


def test_a_node_whose_database_is_behind_is_not_ready(tmp_path):
    app = make_app(tmp_path)
    with services_of(app).engine.begin() as connection:
        previous = connection.scalar(text("SELECT version_num FROM alembic_version"))
        connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    answer = app.test_client().get("/readyz")
    assert previous != "0001"
    assert answer.status_code == 503
    assert answer.get_json()["checks"]["migrations"] == "pending"
