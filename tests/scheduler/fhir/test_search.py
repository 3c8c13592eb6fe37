"""The FHIR search grammar the facade reads (scheduler/fhir/search.py) and its Slot ids
(scheduler/fhir/slots.py): what each value means, and a clear refusal of what it cannot."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from scheduler.fhir.search import (
    SearchError,
    count_of,
    date_bounds,
    date_interval,
    reference_ids,
    token_codes,
)
from scheduler.fhir.slots import parse_slot_id, slot_id

ZONE = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    "text, start, end",
    [
        ("2026", utc(2026, 1, 1, 5), utc(2027, 1, 1, 5)),
        ("2026-03", utc(2026, 3, 1, 5), utc(2026, 4, 1, 4)),  # DST begins inside March
        ("2026-12", utc(2026, 12, 1, 5), utc(2027, 1, 1, 5)),
        ("2026-03-08", utc(2026, 3, 8, 5), utc(2026, 3, 9, 4)),  # a 23-hour day
        ("2026-03-05T10:00", utc(2026, 3, 5, 15), utc(2026, 3, 5, 15, 1)),
        ("2026-03-05T10:00:00Z", utc(2026, 3, 5, 10), utc(2026, 3, 5, 10, 0, 1)),
        ("2026-03-05T10:00:00+01:00", utc(2026, 3, 5, 9), utc(2026, 3, 5, 9, 0, 1)),
        (
            "2026-03-05T10:00:00 01:00",
            utc(2026, 3, 5, 9),
            utc(2026, 3, 5, 9, 0, 1),
        ),  # "+" unescaped
    ],
)
def test_a_value_covers_the_interval_of_its_precision(text, start, end):
    assert date_interval("date", text, ZONE) == (start, end)


def test_prefixes_compare_with_the_interval():
    day = "2026-03-05"
    start, end = utc(2026, 3, 5, 5), utc(2026, 3, 6, 5)
    assert (b := date_bounds("date", [f"ge{day}"], ZONE)).lower == start and b.upper is None
    assert date_bounds("date", [f"gt{day}"], ZONE).lower == end
    assert date_bounds("date", [f"lt{day}"], ZONE).upper == start
    assert date_bounds("date", [f"le{day}"], ZONE).upper == end
    both = date_bounds("date", [day], ZONE)
    assert (both.lower, both.upper) == (start, end)
    narrowed = date_bounds("date", ["ge2026-03-01", "lt2026-03-10", "ge2026-03-05"], ZONE)
    assert (narrowed.lower, narrowed.upper) == (start, utc(2026, 3, 10, 4))
    assert date_bounds("date", ["ge2026-03-10", "lt2026-03-01"], ZONE).empty


@pytest.mark.parametrize(
    "value, said",
    [
        ("tomorrow", "not a FHIR date"),
        ("2026-02-30", "not a real date"),
        ("2026-03-05T25:00", "not a real date"),
        ("2026-03-05T10:00:00+24:00", "not a real date"),
        ("ne2026-03-05", "'ne' is not supported"),
        ("ap2026-03-05", "'ap' is not supported"),
        ("ge2026-03-05,lt2026-03-06", "comma"),
        ("9999", "not a real date"),
        ("", "not a FHIR date"),
    ],
)
def test_what_is_not_a_date_is_refused_naming_the_parameter(value, said):
    with pytest.raises(SearchError) as refused:
        date_bounds("start", [value], ZONE)
    assert said in str(refused.value) and refused.value.parameter == "start"


def test_tokens_references_and_counts():
    system = "urn:medical-ai-scheduler:appointment-type"
    assert token_codes("t", f"checkup,{system}|sick-visit,|x", system) == [
        "checkup",
        "sick-visit",
        "x",
    ]
    assert token_codes("t", "http://other|checkup", system) == []  # another system matches none
    with pytest.raises(SearchError):
        token_codes("t", "checkup,", system)
    assert reference_ids("r", "Schedule/okafor,moreau", "Schedule") == ["okafor", "moreau"]
    assert reference_ids("r", "https://ehr.example.org/fhir/Schedule/a.b", "Schedule") == ["a.b"]
    for bad in ("Practitioner/okafor", "Schedule/", "Schedule/no spaces"):
        with pytest.raises(SearchError):
            reference_ids("r", bad, "Schedule")
    assert count_of(None) == 50 and count_of("0") == 0 and count_of("200") == 200
    for bad in ("201", "-1", "ten", "1.5"):
        with pytest.raises(SearchError):
            count_of(bad)


def test_a_slot_id_names_provider_type_and_start_and_reads_back():
    start = utc(2026, 3, 5, 15, 0)
    ident = slot_id(12, 3, start.astimezone(ZONE))
    assert ident == "12.3.20260305T150000Z"
    assert parse_slot_id(ident) == (12, 3, start)
    longest = slot_id(2**31 - 1, 2**31 - 1, start)
    assert len(longest) <= 64
    for bad in ("0.1.20260305T150000Z", "1.1.20260230T150000Z", "1.1.20260305", "x", "1..2"):
        assert parse_slot_id(bad) is None
