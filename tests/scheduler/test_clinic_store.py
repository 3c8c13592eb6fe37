"""The clinic in the database: loading is upsert, and what was installed reads back."""

import copy
import tomllib

import pytest
from sqlalchemy import select

from scheduler.clinic_file import DEMO_CLINIC, parse_clinic
from scheduler.clinic_store import install_clinic, installed_clinic
from scheduler.models import Provider


@pytest.fixture
def raw():
    with open(DEMO_CLINIC, "rb") as handle:
        return tomllib.load(handle)


def test_reloading_deactivates_providers_removed_from_the_file(sessions, raw):
    smaller = copy.deepcopy(raw)
    removed = smaller["providers"].pop()["key"]
    for kind in smaller["appointment_types"]:
        if kind.get("specialty") == "imaging":
            kind["specialty"] = "cardiology"
    with sessions.begin() as db:
        install_clinic(db, parse_clinic(smaller))
    with sessions() as db:
        active = {p.key: p.active for p in db.scalars(select(Provider))}
        assert active[removed] is False and sum(active.values()) == 3
        assert installed_clinic(db).name == raw["clinic"]["name"]
