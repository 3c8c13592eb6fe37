"""A reminder worker in its own process, for the crash and concurrency tests.

    python tests/jobs/worker_process.py URL KEY OWNER LEASE_SECONDS [HANG_AFTER READY_FILE]

Sends the reminders due now through the outbox (which records instead of texting). With
HANG_AFTER, the worker claims, sends that many, then hangs inside the next send (a carrier that
never answers) after writing READY_FILE, so the test can kill it while it holds claims.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from adapters.outbox import Outbox  # noqa: E402
from bot.audit.trail import AuditTrail  # noqa: E402
from jobs.reminders.sender import ReminderSender  # noqa: E402
from scheduler.clinic_store import installed_clinic  # noqa: E402
from scheduler.crypto import Vault  # noqa: E402
from scheduler.db import make_engine, session_factory  # noqa: E402
from scheduler.reminders import ReminderPolicy  # noqa: E402


def clock() -> datetime:
    return datetime.now(UTC)


class Hanging:
    def __init__(self, inner, after: int, ready: Path):
        self.inner, self.after, self.ready, self.sent = inner, after, ready, 0

    def send(self, message):
        if self.sent >= self.after:
            self.ready.write_text("hung")
            time.sleep(3600)
        self.sent += 1
        return self.inner.send(message)


def main(argv: list[str]) -> int:
    url, key, owner, lease = argv[0], argv[1], argv[2], float(argv[3])
    engine = make_engine(url)
    sessions = session_factory(engine)
    vault = Vault([key])
    with sessions() as db:
        clinic = installed_clinic(db)
    sender = Outbox(sessions, vault, clock)
    if len(argv) > 4:
        sender = Hanging(sender, int(argv[4]), Path(argv[5]))
    worker = ReminderSender(
        sessions,
        clinic,
        vault,
        AuditTrail(vault),
        sender,
        clock=clock,
        owner=owner,
        lease=timedelta(seconds=lease),
        batch=50,
        policy=ReminderPolicy(quiet_hours=None),
    )  # the test runs any hour
    result = worker.run()
    print(result.sent)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
