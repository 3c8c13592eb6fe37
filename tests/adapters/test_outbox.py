"""The outbox: the sender when no SMS provider is configured."""

import pytest
from sqlalchemy import func, select

from adapters.outbox import Outbox
from bot.messages import OutboundMessage, RecipientOptedOut
from scheduler.models import OutboxMessage
from scheduler.patients import find_or_create_patient

PHONE, OTHER = "+12125550123", "+12125550124"


@pytest.fixture
def outbox(sessions, vault, now):
    return Outbox(sessions, vault, lambda: now)


def test_messages_are_stored_encrypted_and_shown_only_to_their_recipient(outbox, sessions):
    outbox.send(OutboundMessage("sms", PHONE, "Your visit is tomorrow", kind="reminder"))
    outbox.send(OutboundMessage("sms", OTHER, "Someone else's text"))
    mine = outbox.messages_for(PHONE)
    assert [(m.text, m.kind) for m in mine] == [("Your visit is tomorrow", "reminder")]
    with sessions() as db:
        row = db.scalars(select(OutboxMessage)).first()
    assert b"tomorrow" not in row.text_enc and PHONE.encode() not in row.recipient_enc


def test_nothing_is_sent_to_a_number_that_opted_out(outbox, sessions, vault, now):
    with sessions.begin() as db:
        find_or_create_patient(db, vault, PHONE, now=now).opted_out_at = now
    with pytest.raises(RecipientOptedOut):
        outbox.send(OutboundMessage("sms", PHONE, "A reminder"))
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_an_opt_out_earlier_in_the_same_transaction_is_honoured(sessions, vault, now):
    outbox = Outbox(sessions, vault, lambda: now)
    with sessions.begin() as db:
        patient = find_or_create_patient(db, vault, "+12125550123", now=now)
        patient.opted_out_at = now  # not flushed yet
        sealed = outbox.seal(OutboundMessage("sms", "+12125550123", "Reminder"))
        assert outbox.record(db, [sealed]) == [False]
    assert outbox.messages_for("+12125550123") == []
