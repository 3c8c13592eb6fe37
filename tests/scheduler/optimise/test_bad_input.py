"""Bad instances refused by the command line: exit 2, one line on stderr naming the field."""

from __future__ import annotations

import copy

import pytest

from scheduler.optimise import InstanceError, parse
from tests.scheduler.optimise.builders import at, instance, request, run_cli, span

GOOD = instance(request("q1", 30, 10), request("q2", 30, 5))


def changed(change) -> dict:
    data = copy.deepcopy(GOOD)
    change(data)
    return data


def _set(path: list, value):
    def change(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


CASES = {
    "unknown specialty": (_set(["requests", 0, "specialty"], "neuro"), "requests[0].specialty"),
    "unknown room kind": (_set(["requests", 1, "room_kind"], "theatre"), "requests[1].room_kind"),
    "unknown equipment kind": (
        _set(["requests", 0, "equipment_kind"], "mri"),
        "requests[0].equipment_kind",
    ),
    "window ends before it starts": (
        _set(["requests", 1, "windows"], [span("10:00", "09:00")]),
        "requests[1].windows[0]: ends before it starts",
    ),
    "availability ends before it starts": (
        _set(["rooms", 0, "available"], [span("12:00", "08:00")]),
        "rooms[0].available[0]: ends before it starts",
    ),
    "zero duration": (_set(["requests", 0, "duration_minutes"], 0), "requests[0].duration_minutes"),
    "negative duration": (
        _set(["requests", 1, "duration_minutes"], -15),
        "requests[1].duration_minutes",
    ),
    "duration longer than any availability": (
        _set(["requests", 0, "duration_minutes"], 150),
        "requests[0].duration_minutes",
    ),
    "duplicate provider id": (_set(["providers", 1, "id"], "p1"), "providers[1].id"),
    "duplicate request id": (_set(["requests", 1, "id"], "q1"), "requests[1].id"),
    "no providers": (_set(["providers"], []), "providers"),
    "zero slot": (_set(["slot_minutes"], 0), "slot_minutes"),
    "slot not a number": (_set(["slot_minutes"], "15"), "slot_minutes"),
    "malformed time": (
        _set(["providers", 0, "available", 0, 0], "08:00 Monday"),
        "providers[0].available[0][0]",
    ),
    "time without offset": (
        _set(["providers", 0, "available", 0, 1], "2026-03-02T10:00:00"),
        "providers[0].available[0][1]",
    ),
    "weight not a number": (_set(["requests", 0, "weight"], "ten"), "requests[0].weight"),
    "windows not a list": (_set(["requests", 0, "windows"], at("08:00")), "requests[0].windows"),
    "missing specialty": (lambda d: d["requests"][0].pop("specialty"), "requests[0].specialty"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_instance_names_the_field(tmp_path, name):
    change, field = CASES[name]
    data = changed(change)
    with pytest.raises(InstanceError) as caught:
        parse(data)
    assert str(caught.value).startswith(field)
    result = run_cli(tmp_path, data)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("raw", "words"), [("{not json", "not JSON"), ("[1, 2]", "must be an object")]
)
def test_not_an_instance(tmp_path, raw, words):
    result = run_cli(tmp_path, None, raw=raw)
    assert result.returncode == 2 and words in result.stderr
    assert "Traceback" not in result.stderr


def test_unreadable_file(tmp_path):
    import subprocess
    import sys

    from tests.scheduler.optimise.builders import ROOT

    result = subprocess.run(
        [sys.executable, "-m", "scheduler.optimise", str(tmp_path / "missing.json")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 2
    assert "cannot read" in result.stderr and "Traceback" not in result.stderr
