"""The audit trail: every inbound and outbound message, booking change and refusal, hash-chained.

Each event stores its text encrypted and carries the hash of the event before it, so an edit or a
deletion anywhere breaks the chain; the chain's head is anchored outside the table too, so events
cut off the end are found as well. In three modules:

    trail.py     `AuditTrail`, what the rest of the code uses: `record` an event in the caller's
                 transaction, `remove_texts` (retention, erasure), `verify`, `checkpoint`
    chain.py     the hash chain: how an event is hashed and linked, appended under the append
                 lock just before its transaction commits, mirrored to logs/audit.log, and
                 verified (`verify_chain`)
    anchors.py   what anchors the chain's end: the mirror in logs/audit.log (`audit_mirror`) and
                 the daily signed `Checkpoint` (`checkpoint_notice`, for the staff channel)

What it may import: bot.logfiles, scheduler (the `AuditEvent` model, the `Vault`) and SQLAlchemy;
nothing else of `bot`, and never adapters, jobs or app. This file imports nothing.
"""
