"""The reminder benchmark's ceiling worker: what sending a reminder through the outbox must store,
with the least Python there can be around it (psycopg and cryptography; of ours only the audit
chain's hash function, so that its events are hashed exactly as the product hashes them).

Run as a process of its own by bench/bench_reminders.py, beside other copies of itself. Batch
after batch, in one transaction each:

1. claim the due reminders the way bench/raw_claims.py does (`FOR UPDATE SKIP LOCKED`, 500);
2. read what a text needs: the patient's stored number (its ciphertext and blind index, kept as
   they are: no decryption), the patient's opt-out and the visit's start, in one join;
3. per reminder: a text with the visit's time, encrypted with Fernet, one outbox row, the "sent"
   mark, and one audit event chained as bot/audit/chain.py chains them (its hash function, and
   the bench checks the result with `audit verify`'s own walk), under the same advisory lock;
   the rows go in with COPY;
4. the events mirrored as JSON lines to the audit log, one write per batch.

It leaves out what the product does beyond the rows: the sweep, the lease held between claim and
send, the patient's language and zone, the quiet hours, the ORM and the app's start-up. It prints
how many reminders it sent.

    python bench/reminder_ceiling.py URL BATCH FERNET_KEY AUDIT_LOG
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from cryptography.fernet import Fernet
from psycopg.types.json import Json

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.raw_claims import CLAIM  # the same claim as the baseline
from bot.audit.chain import _digest  # the same hash as the chain's

LOAD = (
    "SELECT r.id, r.patient_id, p.phone_index, p.phone_enc, a.start_at FROM reminders r "
    "JOIN patients p ON p.id = r.patient_id JOIN appointments a ON a.id = r.appointment_id "
    "WHERE r.id = ANY(%s) AND p.opted_out_at IS NULL AND p.phone_enc IS NOT NULL ORDER BY r.id"
)
# Rows go in with COPY, PostgreSQL's fastest way in (about 30 % cheaper a row here than
# executemany's pipeline of INSERTs): the ceiling is the best storing can do.
OUTBOX = (
    "COPY outbox (channel, recipient_index, recipient_enc, text_enc, kind, created_at) FROM STDIN"
)
MARK = (
    "UPDATE reminders SET status = 'sent', sent_at = %s, lease_owner = NULL, lease_until = NULL "
    "WHERE id = ANY(%s)"
)
LOCK = "SELECT pg_advisory_xact_lock(7210001)"  # bot/audit/chain.py's append lock
TAIL = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
AUDIT = (
    "COPY audit_events (seq, at, kind, channel, actor, patient_id, detail, prev_hash, hash) "
    "FROM STDIN"
)
EVENT = ("reminder_sent", "sms", "bot")  # kind, channel, actor
TEXT = "Reminder: your visit is on {:%a %d %b at %H:%M}. Reply C to cancel or R to reschedule."


def digest(seq: int, at: datetime, patient_id: int, detail: dict, prev: str) -> str:
    """The chain's own hash (bot/audit/chain.py) of a reminder_sent event with no text."""
    return _digest(
        {
            "seq": seq,
            "kind": "reminder_sent",
            "channel": "sms",
            "actor": "bot",
            "patient_id": patient_id,
            "appointment_id": None,
            "message_id": None,
            "detail": detail,
            "prev_hash": prev,
            "at": at,
        },
        None,
    )


def drain(url: str, batch: int, fernet: Fernet, log_path: str) -> int:
    sent = 0
    with psycopg.connect(url) as connection, open(log_path, "a", encoding="utf-8") as log:
        while True:
            lines = []
            with connection.transaction():
                ids = [row[0] for row in connection.execute(CLAIM, (batch,))]
                if not ids:
                    return sent
                rows = connection.execute(LOAD, (ids,)).fetchall()
                at = datetime.now(UTC)
                naive = at.replace(tzinfo=None)  # instants are stored as naive UTC
                with connection.cursor() as cursor, cursor.copy(OUTBOX) as copy:
                    for _, _, index, phone_enc, start in rows:
                        text_enc = fernet.encrypt(TEXT.format(start).encode())
                        copy.write_row(("sms", index, phone_enc, text_enc, "reminder", naive))
                connection.execute(MARK, (naive, [row[0] for row in rows]))
                connection.execute(LOCK)
                tail = connection.execute(TAIL).fetchone()
                seq, prev = tail if tail else (0, "0" * 64)
                events = []
                for reminder_id, patient_id, *_ in rows:
                    seq += 1
                    detail = {"reminder_id": reminder_id}
                    hashed = digest(seq, at, patient_id, detail, prev)
                    events.append((seq, naive, *EVENT, patient_id, Json(detail), prev, hashed))
                    lines.append(
                        json.dumps(
                            {"event": "audit_event", "seq": seq, "hash": hashed, "prev_hash": prev},
                            sort_keys=True,
                        )
                    )
                    prev = hashed
                with connection.cursor() as cursor, cursor.copy(AUDIT) as copy:
                    for event in events:
                        copy.write_row(event)
                sent += len(rows)
            log.write("\n".join(lines) + "\n")
            log.flush()


if __name__ == "__main__":
    url, size, key, log_path = sys.argv[1:5]
    print(drain(url, int(size), Fernet(key.encode()), log_path))
