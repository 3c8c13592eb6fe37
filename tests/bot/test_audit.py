"""The audit chain: every event links to the one before; edits and deletions are found."""

import json
from datetime import timedelta

from cryptography.fernet import Fernet
from sqlalchemy import delete, func, select, update

from bot import logfiles
from bot.audit.chain import GENESIS
from bot.audit.trail import AuditTrail
from scheduler.crypto import Vault
from scheduler.models import AuditEvent


def _record_three(sessions, audit, now):
    with sessions.begin() as db:
        for i in range(3):
            audit.record(
                db,
                "message_in",
                at=now + timedelta(seconds=i),
                channel="web",
                actor="patient:1",
                patient_id=1,
                text_=f"hello number {i}",
            )


def test_events_are_chained_from_genesis(sessions, vault, now):
    audit = AuditTrail(vault)
    _record_three(sessions, audit, now)
    with sessions() as db:
        rows = db.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [r.seq for r in rows] == [1, 2, 3]
    assert rows[0].prev_hash == GENESIS
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    assert audit.verify(sessions()).ok


def test_text_is_stored_encrypted(sessions, vault, now):
    audit = AuditTrail(vault)
    _record_three(sessions, audit, now)
    with sessions() as db:
        row = db.get(AuditEvent, 1)
    assert b"hello" not in row.text_enc
    assert vault.decrypt(row.text_enc) == "hello number 0"


def test_an_edited_field_is_named_by_verify(sessions, vault, now):
    audit = AuditTrail(vault)
    _record_three(sessions, audit, now)
    with sessions.begin() as db:
        db.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(kind="message_out"))
    result = audit.verify(sessions())
    assert not result.ok and result.first_broken_seq == 2


def test_an_edited_text_is_named_by_verify(sessions, vault, now):
    audit = AuditTrail(vault)
    _record_three(sessions, audit, now)
    with sessions.begin() as db:
        db.execute(
            update(AuditEvent)
            .where(AuditEvent.seq == 3)
            .values(text_enc=vault.encrypt("something else"))
        )
    result = audit.verify(sessions())
    assert not result.ok and result.first_broken_seq == 3


def test_a_deleted_event_is_found(sessions, vault, now):
    audit = AuditTrail(vault)
    _record_three(sessions, audit, now)
    with sessions.begin() as db:
        db.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    result = audit.verify(sessions())
    assert not result.ok and result.first_broken_seq == 2 and "missing" in result.reason


def test_rotating_the_key_keeps_the_chain_valid(sessions, now):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    old = Vault([old_key])
    _record_three(sessions, AuditTrail(old), now)
    newer = Vault([new_key, old_key])
    with sessions.begin() as db:
        for row in db.scalars(select(AuditEvent)):
            row.text_enc = newer.rotate(row.text_enc)
    assert AuditTrail(Vault([new_key])).verify(sessions()).ok


def test_audit_log_file_has_ids_and_hashes_but_no_text(sessions, vault, now, tmp_path):
    logfiles.configure(tmp_path)
    audit = AuditTrail(vault)
    _record_three(sessions, audit, now)
    lines = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    # One transaction's events are written at once, still one JSON line each.
    assert [line["seq"] for line in lines] == [1, 2, 3]
    assert all(len(line["hash"]) == 64 for line in lines)
    assert {(line["event"], line["chain"]) for line in lines} == {("audit_event", lines[0]["hash"])}
    assert "hello" not in (tmp_path / "audit.log").read_text()


def test_rolled_back_events_are_not_mirrored(sessions, vault, now, tmp_path):
    logfiles.configure(tmp_path)
    audit = AuditTrail(vault)
    db = sessions()
    db.begin()
    audit.record(db, "message_in", at=now, text_="never committed")
    db.rollback()
    db.close()
    assert not (tmp_path / "audit.log").exists() or (tmp_path / "audit.log").read_text() == ""
    with sessions() as check:
        assert check.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_removed_texts_keep_the_chain_verifiable_and_edits_still_show(sessions, vault, now):
    audit = AuditTrail(vault)
    _record_three(sessions, audit, now)
    with sessions.begin() as db:
        audit.record(
            db,
            "message_in",
            at=now + timedelta(days=200),
            channel="web",
            patient_id=2,
            text_="a recent one",
        )
    later = now + timedelta(days=200, hours=1)
    with sessions.begin() as db:  # the first two events are older than the cutoff
        assert (
            audit.remove_texts(
                db, AuditEvent.at < now + timedelta(seconds=2), now=later, reason="retention"
            )
            == 2
        )
    with sessions.begin() as db:  # done once: nothing left to remove, and nothing audited
        assert (
            audit.remove_texts(
                db, AuditEvent.at < now + timedelta(seconds=2), now=later, reason="retention"
            )
            == 0
        )
    with sessions() as db:
        rows = db.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        texts = [vault.decrypt(r.text_enc) for r in rows]
        assert not any("hello number 0" in t or "hello number 1" in t for t in texts if t)
        assert texts[2] == "hello number 2" and texts[3] == "a recent one"
        assert [r.text_removed_at is not None for r in rows[:4]] == [True, True, False, False]
        assert rows[4].kind == "texts_removed"
        assert rows[4].detail == {"reason": "retention", "events": 2}
        assert audit.verify(db).ok and audit.verify(db).checked == 5
    # A removed event is still covered by its hash: changing what it says breaks the chain.
    with sessions.begin() as db:
        db.execute(update(AuditEvent).where(AuditEvent.seq == 1).values(kind="message_out"))
    with sessions() as db:
        result = audit.verify(db)
    assert not result.ok and result.first_broken_seq == 1


def test_a_removed_text_cannot_be_swapped_for_another(sessions, vault, now):
    audit = AuditTrail(vault)
    _record_three(sessions, audit, now)
    with sessions.begin() as db:
        audit.remove_texts(db, AuditEvent.seq == 1, now=now, reason="erasure")
    with sessions.begin() as db:  # someone with the key puts a different text back
        db.execute(
            update(AuditEvent)
            .where(AuditEvent.seq == 1)
            .values(text_enc=vault.encrypt("hello number 9"))
        )
    with sessions() as db:
        result = audit.verify(db)
    assert not result.ok and result.first_broken_seq == 1


def test_a_backlog_of_texts_is_removed_a_limited_number_at_a_time(sessions, vault, now):
    audit = AuditTrail(vault)
    for _ in range(3):
        _record_three(sessions, audit, now)  # nine events with text
    old = AuditEvent.at < now + timedelta(days=1)
    with sessions.begin() as db:
        assert audit.remove_texts(db, old, now=now, reason="retention", batch=2, limit=5) == 5
    with sessions.begin() as db:
        assert audit.remove_texts(db, old, now=now, reason="retention", batch=2, limit=5) == 4
    with sessions() as db:
        kept = db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.kind == "message_in", AuditEvent.text_removed_at.is_(None))
        )
        assert kept == 0 and audit.verify(db).ok


def test_the_mirror_head_is_found_in_a_long_log_whose_lines_interleave(
    sessions, vault, now, tmp_path
):
    audit = AuditTrail(vault)
    _record_three(sessions, audit, now)
    with sessions() as db:
        chain = db.get(AuditEvent, 1).hash
        rows = {r.seq: r.hash for r in db.scalars(select(AuditEvent))}
    mirror = tmp_path / "audit.log"
    lines = [
        {
            "ts": f"t{seq}",
            "event": "audit_event",
            "chain": "another-chain",
            "seq": seq,
            "hash": "f" * 64,
        }
        for seq in range(1, 3000)
    ]  # another database's
    lines += [
        {
            "ts": f"t{seq}",
            "event": "audit_event",
            "chain": chain,
            "seq": seq,
            "hash": rows.get(seq, "e" * 64),
        }
        for seq in (1, 2, 3, 5, 4)
    ]  # two processes
    mirror.write_text("\n".join(json.dumps(line) for line in lines) + "\nnot json\n")
    assert len(mirror.read_bytes()) > 3 * 64 * 1024

    with sessions() as db:
        result = audit.verify(db, mirror=mirror)
    assert not result.ok and result.first_broken_seq == 4
    assert result.reason.startswith(
        "2 events missing from the end (events 4 to 5, which audit.log names), after event 3 of "
    )
    assert result.reason.endswith("event 4 was written at t4")
    with sessions() as db:
        assert audit.verify(db, mirror=tmp_path / "no-such.log").ok
