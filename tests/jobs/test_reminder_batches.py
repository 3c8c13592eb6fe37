"""The outbox's batch path: a claimed batch of reminders is recorded with a few statements, and an
opted-out number still never gets a text."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import select, update

from adapters.outbox import Outbox
from bench.statements import statements_sent
from bot.messages import OutboundMessage
from scheduler.models import OutboxMessage, Patient, Reminder

MON = date(2026, 3, 9)
SUNDAY_EVENING = datetime(2026, 3, 9, 0, 0, tzinfo=UTC)  # Sunday 20:00 EDT
PHONES = [f"+1212555015{n}" for n in range(8)]


def reminder_statuses(sessions):
    with sessions() as db:
        return {
            (row.patient_id, row.status, row.last_error_code)
            for row in db.execute(
                select(Reminder.patient_id, Reminder.status, Reminder.last_error_code).where(
                    Reminder.status != "pending"
                )
            )
        }


def test_a_batch_never_records_a_text_to_a_number_that_opted_out(desk, outbox, sessions, clock):
    desk.patient(PHONES[1], opted_out_at=clock.now)
    with sessions.begin() as db:
        recorded = outbox.record(
            db,
            [
                outbox.seal(
                    OutboundMessage("sms", phone, "Your visit is tomorrow", kind="reminder")
                )
                for phone in PHONES[:3]
            ],
        )
    assert recorded == [True, False, True]
    assert [len(outbox.messages_for(phone)) for phone in PHONES[:3]] == [1, 0, 1]


class OptingOutOutbox(Outbox):
    """The patient texts STOP after their reminder was claimed and loaded, just before it goes."""

    def __init__(self, sessions, vault, clock, patient_id):
        super().__init__(sessions, vault, clock)
        self.patient_id = patient_id

    def record(self, session, messages):
        session.execute(
            update(Patient).where(Patient.id == self.patient_id).values(opted_out_at=self.clock())
        )
        return super().record(session, messages)


def test_a_patient_who_opts_out_while_the_batch_is_sent_gets_nothing(
    desk, sessions, vault, clock, make_sender, outbox
):
    staying, leaving = desk.patient(PHONES[0]), desk.patient(PHONES[1])
    desk.book(staying, MON, time(9, 0))
    desk.book(leaving, MON, time(10, 0))
    clock.now = SUNDAY_EVENING
    result = make_sender(OptingOutOutbox(sessions, vault, clock, leaving)).run()
    assert (result.sent, result.skipped) == (1, 1)
    assert reminder_statuses(sessions) == {
        (staying, "sent", None),
        (leaving, "cancelled", "opted_out"),
    }
    assert outbox.messages_for(PHONES[1]) == [] and len(outbox.messages_for(PHONES[0])) == 1


def test_a_reminder_keeps_the_stored_number_and_is_found_by_the_number(
    desk, sessions, vault, clock, make_sender, outbox
):
    # The same number as an SMS patient and as the web chat's own patient (a scope of its own).
    sms, web = desk.patient(PHONES[0]), desk.patient(PHONES[0], scope="web")
    desk.book(sms, MON, time(9, 0))
    desk.book(web, MON, time(10, 0))
    clock.now = SUNDAY_EVENING
    assert make_sender(outbox).run().sent == 2
    assert len(outbox.messages_for(PHONES[0])) == 2
    with sessions() as db:
        stored = db.scalar(select(Patient.phone_enc).where(Patient.id == sms))
        rows = db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert {vault.decrypt(row.recipient_enc) for row in rows} == {PHONES[0]}
        assert {row.recipient_index for row in rows} == {vault.index(PHONES[0])}
        # The SMS patient's number is kept as stored, not decrypted and encrypted again.
        assert stored in {row.recipient_enc for row in rows}


def test_the_web_chats_patient_gets_no_reminder_when_the_number_opted_out_by_sms(
    desk, sessions, clock, make_sender, outbox
):
    desk.patient(PHONES[0], opted_out_at=clock.now)
    web = desk.patient(PHONES[0], scope="web")
    desk.book(web, MON, time(10, 0))
    clock.now = SUNDAY_EVENING
    result = make_sender(outbox).run()
    assert (result.sent, result.skipped) == (0, 1)
    assert reminder_statuses(sessions) == {(web, "cancelled", "opted_out")}
    assert outbox.messages_for(PHONES[0]) == []


def statements_to_send(sessions, sender) -> tuple[int, int]:
    """(reminders sent, SQL statements executed) for one pass of `sender`."""
    with statements_sent(sessions.kw["bind"]) as sent:
        reminders = sender.run().sent
    return reminders, len(sent)


def test_a_batch_costs_the_same_statements_whatever_its_size(desk, sessions, clock, make_sender):
    for day, phones in ((MON, PHONES[:2]), (date(2026, 3, 10), PHONES[2:])):
        for hour, phone in zip((9, 10, 11, 13, 14, 15), phones, strict=False):
            desk.book(desk.patient(phone), day, time(hour, 0))
    clock.now = SUNDAY_EVENING
    small = statements_to_send(sessions, make_sender())
    clock.advance(days=1)
    large = statements_to_send(sessions, make_sender())
    assert small[0] == 2 and large[0] == 6
    assert small[1] == large[1]  # no statement per text
    with sessions() as db:
        assert len(db.scalars(select(OutboxMessage)).all()) == 8
