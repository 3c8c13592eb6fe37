"""`python -m jobs`: a job worker process (reminders and maintenance) for multi-process deployments.

Run as many as needed beside the web processes (set JOBS_IN_PROCESS=false there). Each sends due
reminders as they come (the claim is safe across workers); maintenance runs in one at a time.
`--once` runs every job once, draining the reminders due now, and exits.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from datetime import UTC


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--once", action="store_true", help="run every job once (drain the due reminders) and exit"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    from app import job_runner, services_from_env, settle_heap  # the app wires the jobs' parts

    services = services_from_env()
    if services is None:
        return 2
    jobs = job_runner(services, in_process=False)
    settle_heap()
    if args.once:
        jobs.run_all_once()
        return 0
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(timezone=UTC)
    jobs.schedule(scheduler)
    logging.getLogger("scheduler.jobs").info("job worker %s started", jobs.owner)
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
