"""Small instances for the optimiser's tests, as the raw JSON of INTERFACE.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

DAY = "2026-03-02"
ROOT = Path(__file__).resolve().parents[3]


def at(hhmm: str, offset: str = "-05:00", day: str = DAY) -> str:
    return f"{day}T{hhmm}:00{offset}"


def span(a: str, b: str) -> list[str]:
    return [at(a), at(b)]


def request(rid: str, minutes: int, weight: int, *windows: list[str], **extra: Any) -> dict:
    item = {
        "id": rid,
        "duration_minutes": minutes,
        "specialty": "gp",
        "room_kind": "exam",
        "equipment_kind": None,
        "weight": weight,
        "windows": list(windows) or [span("08:00", "12:00")],
    }
    item.update(extra)
    return item


def instance(*requests: dict, slot: int = 15) -> dict:
    """Two providers (p1 08-10, p2 09-11, both gp; p2 also cardio), one exam room 08-12, one
    ultrasound 08-12."""
    return {
        "slot_minutes": slot,
        "providers": [
            {"id": "p1", "specialties": ["gp"], "available": [span("08:00", "10:00")]},
            {"id": "p2", "specialties": ["gp", "cardio"], "available": [span("09:00", "11:00")]},
        ],
        "rooms": [{"id": "r1", "kind": "exam", "available": [span("08:00", "12:00")]}],
        "equipment": [{"id": "e1", "kind": "ultrasound", "available": [span("08:00", "12:00")]}],
        "requests": list(requests),
    }


def run_cli(tmp_path: Path, data: Any, *args: str, raw: str | None = None):
    path = tmp_path / "instance.json"
    path.write_text(raw if raw is not None else json.dumps(data), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "scheduler.optimise", str(path), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
