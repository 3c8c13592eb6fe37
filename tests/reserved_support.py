"""The demo clinic with capacity kept for urgent patients, as a clinic file for a test's app: two
same-day and one next-day sick-visit times per provider, released two hours ahead (for Nurse
Practitioner Moreau on Wednesday 2026-03-04: 09:00, 11:30 and 14:30, worked out in
tests/scheduler/test_reserved.py)."""

from __future__ import annotations

from pathlib import Path

from scheduler.clinic_file import DEMO_CLINIC

RESERVED = """
[[reserved]]
appointment_type = "sick-visit"
same_day = 2
next_day = 1
release_hours = 2
"""


def reserving_clinic_file(folder: Path) -> Path:
    """The clinic file, written in `folder`."""
    path = folder / "clinic.toml"
    path.write_text(DEMO_CLINIC.read_text() + RESERVED)
    return path
