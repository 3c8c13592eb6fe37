"""The line a benchmark prints about the machine it ran on: what it is, how busy, how fast.

How fast is `python -m timeit "sum(range(1000))"`'s figure, measured when the line is made. On the
development container it drifts within an hour (10.3 to 14.6 us in one session, BENCHMARKS.md
"Session 16"), and a run's throughputs move with it: a figure printed without it cannot be set
beside another session's.
"""

from __future__ import annotations

import os
import platform
import timeit

PROBE = "sum(range(1000))"


def speed() -> float:
    """Microseconds one `sum(range(1000))` takes here now, best of three runs of 10,000 (about a
    third of a second; `python -m timeit` gives the same figure, best of five)."""
    loops = 10_000
    return min(timeit.repeat(PROBE, number=loops, repeat=3)) / loops * 1e6


def machine() -> str:
    """What, how busy, how fast; e.g. "x86_64, 2 CPUs, Python 3.11.7, Linux 6.1; load 0.5, 0.4,
    0.2; 10.4 us a sum(range(1000))"."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; load {load}; {speed():.1f} us a {PROBE}"
    )
