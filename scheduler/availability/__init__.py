"""Slot search: which start times an appointment type can be booked at, and whether one still can.

Owns the rules of a bookable time: the provider's weekly hours, breaks and days off; rooms of the
kind the type needs and the shared equipment; existing appointments widened by their buffers;
minimum notice and the booking horizon; all in the clinic's zone, across daylight-saving changes.
`booking` books what `is_bookable` / `resolve_slot` accept, so search and booking agree exactly.

How a time is judged, in three layers:

* Candidates (clinic-derived, cached per `Clinic` object): for a type, provider and local date,
  the start instants on the `slot_step_minutes` grid counted from the start of the working range,
  whose visit [start, start + duration) lies inside the range and clear of breaks. Computed in
  wall time and converted with zoneinfo; a wall time that does not exist (spring forward) is
  skipped, a repeated one (fall back) gives two distinct instants.
* Busy time (database): one query per block of searched days for the active appointments of
  just the relevant providers, rooms and equipment, as integer epoch seconds.
* Cells: a visit holds every `CELL_MINUTES` cell of [start, end + buffer), exactly the rows
  `Occupancy` gets when it is booked; a candidate is free when none of its cells is busy.

Reserved capacity (the clinic file's `[[reserved]]`): times kept for urgent patients until their
release, busy to any other search or booking; which times, and for whom, in reserved.py.

In five modules: grid.py (candidates), reserved.py (the times kept for urgent patients), busy.py
(busy time and cells), search.py (the search and the alternatives to a refused slot),
bookable.py (the check of one slot that booking relies on), week.py (several types searched at
once: one provider's window for the FHIR Slot search, each type's first free time for the
dashboard).
What the rest of the code uses is importable from here.
"""

from __future__ import annotations

from .bookable import ResolvedSlot, held_for_urgent, is_bookable, refresh, resolve_slot
from .busy import Directory, cells, provider_holder, read_directory, resource_holder
from .grid import CELL_SECONDS, PARTS_OF_DAY, Slot
from .search import alternatives, find_slots
from .week import first_free_by_type

__all__ = [
    "CELL_SECONDS",
    "PARTS_OF_DAY",
    "Directory",
    "ResolvedSlot",
    "Slot",
    "alternatives",
    "cells",
    "find_slots",
    "first_free_by_type",
    "held_for_urgent",
    "is_bookable",
    "provider_holder",
    "read_directory",
    "refresh",
    "resolve_slot",
    "resource_holder",
]
