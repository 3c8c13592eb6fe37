"""The reminder benchmark's baseline worker: the raw claim-and-mark of PostgreSQL, nothing else.

Run as a process of its own by bench/bench_reminders.py, beside other copies of itself: batch
after batch, in one transaction, `SELECT id ... FOR UPDATE SKIP LOCKED` the due reminders the
way the real claim picks them (pending, due, oldest first, `LIMIT batch`), then mark those ids
sent through the primary key, and commit; until a claim finds nothing. It imports psycopg alone
and prints how many rows it marked, so the bench can check that no row was marked twice.

    python bench/raw_claims.py postgresql://postgres@127.0.0.1:5432/bench_reminders 500
"""

from __future__ import annotations

import sys

import psycopg

# Instants are stored as naive UTC timestamps (scheduler/models/base.py).
CLAIM = (
    "SELECT id FROM reminders WHERE status = 'pending' AND due_at <= now() AT TIME ZONE 'UTC' "
    "ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED"
)
MARK = "UPDATE reminders SET status = 'sent', sent_at = now() AT TIME ZONE 'UTC' WHERE id = ANY(%s)"


def drain(url: str, batch: int) -> int:
    """Claim and mark until nothing is due; the number of rows this worker marked."""
    marked = 0
    with psycopg.connect(url) as connection:
        while True:
            with connection.transaction():
                ids = [row[0] for row in connection.execute(CLAIM, (batch,))]
                if not ids:
                    return marked
                marked += connection.execute(MARK, (ids,)).rowcount
    return marked


if __name__ == "__main__":
    print(drain(sys.argv[1], int(sys.argv[2])))
