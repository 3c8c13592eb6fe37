"""`python -m scheduler.optimise INSTANCE.json [--time-limit SECONDS] [--greedy]`

The solution's JSON on stdout (`../shared/INTERFACE.md`, "Batch assignment instances"), exit 0.
An unreadable file or a bad instance: one line on stderr naming the field, exit 2. What the solver
simplified (a thinned grid, a fallback) goes to stderr as `note: ...` lines.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from . import InstanceError, load, solve


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scheduler.optimise",
        description="Assign a batch of requests to start times, providers, rooms and equipment.",
    )
    parser.add_argument("instance", help="the instance's JSON file")
    parser.add_argument(
        "--time-limit",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="wall-clock limit for the whole solve (default 10)",
    )
    parser.add_argument(
        "--greedy", action="store_true", help="only the weight-per-minute-first greedy pass"
    )
    arguments = parser.parse_args(argv)
    if not arguments.time_limit > 0:
        print("error: --time-limit: must be positive", file=sys.stderr)
        return 2
    try:
        instance = load(arguments.instance)
    except InstanceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    solution = solve(instance, time_limit=arguments.time_limit, greedy_only=arguments.greedy)
    for note in solution.notes:
        print(f"note: {note}", file=sys.stderr)
    json.dump(solution.to_json(), sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
