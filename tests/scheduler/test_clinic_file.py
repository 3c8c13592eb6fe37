"""The clinic file: the demo is valid, every error is named by its field."""

import copy
import tomllib

import pytest

from scheduler.clinic_file import DEMO_CLINIC, ClinicConfigError, parse_clinic


@pytest.fixture
def raw():
    with open(DEMO_CLINIC, "rb") as handle:
        return tomllib.load(handle)


def test_demo_clinic_has_what_the_issue_asks(demo_clinic):
    assert len(demo_clinic.providers) >= 4
    assert len(demo_clinic.appointment_types) >= 5
    assert len(demo_clinic.rooms) >= 3
    users = [t.key for t in demo_clinic.appointment_types if t.equipment == "ultrasound"]
    assert len(users) >= 2, "one piece of equipment is shared by two types"
    assert demo_clinic.phone.startswith("+1") and demo_clinic.timezone == "America/New_York"


def test_every_error_is_named_by_its_field(raw):
    bad = copy.deepcopy(raw)
    bad["clinic"]["timezone"] = "Mars/Olympus"
    bad["providers"][1]["hours"]["mon"] = "17:00-09:00"
    bad["providers"][2]["days_off"] = ["2026-02-30"]
    bad["appointment_types"][0]["duration_minutes"] = 32
    bad["appointment_types"][3]["equipment"] = "mri"
    bad["rooms"][1]["key"] = "exam-1"
    with pytest.raises(ClinicConfigError) as caught:
        parse_clinic(bad)
    fields = {e.split(":")[0] for e in caught.value.errors}
    assert fields == {
        "clinic.timezone",
        "providers[1].hours.mon",
        "providers[2].days_off[0]",
        "appointment_types[0].duration_minutes",
        "appointment_types[3].equipment",
        "rooms[1].key",
    }


def test_the_address_is_optional_one_line_and_checked(raw):
    assert parse_clinic(raw).address == "12 Maple Street, 2nd floor, New York, NY 10001"
    folded = copy.deepcopy(raw)
    folded["clinic"]["address"] = "  12 Maple Street,\n  New York  "
    assert parse_clinic(folded).address == "12 Maple Street, New York"
    del folded["clinic"]["address"]
    assert parse_clinic(folded).address is None
    for bad in ("", "x" * 121, 12):
        folded["clinic"]["address"] = bad
        with pytest.raises(ClinicConfigError, match=r"clinic.address"):
            parse_clinic(folded)


def test_missing_sections_are_reported(raw):
    with pytest.raises(ClinicConfigError) as caught:
        parse_clinic({"clinic": {"name": "X"}})
    text = str(caught.value)
    for field in ("clinic.phone", "clinic.timezone", "providers", "appointment_types"):
        assert field in text


def test_a_type_needing_a_specialty_no_provider_has_is_refused(raw):
    bad = copy.deepcopy(raw)
    bad["appointment_types"][0]["specialty"] = "dermatology"
    with pytest.raises(ClinicConfigError, match=r"appointment_types\[0\].specialty"):
        parse_clinic(bad)
