"""Who may be texted, and when: SMS consent, carrier keywords and the per-number rate limit.

Applies to the "sms" channel only (the web chat and the console are demo channels). The engine
asks `SmsPolicy` twice per inbound text, in this order:

1. `screen`: the carrier keywords and abuse limits, before anything else is read.
   - Opt-out keywords (`OPT_OUT`, or Twilio's `OptOutType=STOP`, or a clear "stop texting me")
     record the opt-out and get one confirmation; an opted-out number then gets silence (reminders
     included: senders check `Patient.opted_out_at`), except for an opt-in keyword or HELP.
   - More than `RATE_LIMIT` texts from one number within `RATE_WINDOW` get one polite notice,
     then silence until the window has passed. The count is the number of `message_receipts`
     rows the SMS webhook claimed for that number (it stores the sender's blind index), so every
     web process and worker sees the same count; a retried webhook adds no row.
   - HELP and INFO answer with the clinic's name and phone number, consented or not.
2. `require_consent` (after red-flag triage, so an emergency is always answered): a number that
   never said YES gets the consent request; what it asks until then is remembered (encrypted, in
   the conversation state) and carried on once it replies YES (or START, UNSTOP; once it has
   the request, also "Y", "yes please", "OK", ...).

Keywords are matched as Twilio matches them: the whole body, case-insensitive, with surrounding
spaces and punctuation ignored. "CANCEL" alone opts out; "cancel my appointment" is a request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from bot.messages import InboundMessage
from bot.patient import replies
from bot.patient.dialogue import Reply
from bot.sessions import SessionStore
from scheduler.clinic import Clinic
from scheduler.crypto import Vault, index_match
from scheduler.models import MessageReceipt, Patient
from scheduler.patients import patient_name

CHANNEL = "sms"
# Twilio's and the CTIA's keywords, and their Spanish ones (ALTO, BAJA; AYUDA).
OPT_OUT = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "ALTO", "BAJA"}
)
OPT_IN = frozenset({"START", "YES", "UNSTOP"})
HELP = frozenset({"HELP", "INFO", "AYUDA"})
# Besides YES (and START, UNSTOP), how people answer the consent request once they have it.
CONSENT = frozenset(
    {
        "Y",
        "YEAH",
        "YEP",
        "YUP",
        "YES PLEASE",
        "SURE",
        "OK",
        "OKAY",
        "AGREE",
        "I AGREE",
        "SI",
        "SÍ",
        "CLARO",
        "DE ACUERDO",
        "ACEPTO",
        "VALE",
    }
)
HELD_MAX = 1000  # characters of held-back request kept (the engine reads no more)
# Twilio's Advanced Opt-Out names the kind of keyword it matched (in any configured language).
OPT_OUT_TYPES = {"STOP": "opt_out", "START": "opt_in", "HELP": "help"}

RATE_LIMIT = 20
RATE_WINDOW = timedelta(minutes=10)

_EDGES = re.compile(r"^[\W_]+|[\W_]+$")


def bare_word(text: str | None) -> str:
    """The whole message as one upper-case word, without surrounding space and punctuation."""
    return _EDGES.sub("", text or "").upper()


def keyword(text: str | None, opt_out_type: str | None = None) -> str | None:
    """ "opt_out", "opt_in", "help" or None, as Twilio reads the message."""
    if opt_out_type:
        found = OPT_OUT_TYPES.get(opt_out_type.strip().upper())
        if found:
            return found
    word = bare_word(text)
    if word in OPT_OUT:
        return "opt_out"
    if word in OPT_IN:
        return "opt_in"
    if word in HELP:
        return "help"
    return None


@dataclass
class Verdict:
    """What the policy decided for one text. `replies` empty and `proceed` false is silence
    (`reason` says why); `proceed` hands `text` on to the dialogue after `replies`."""

    replies: list[Reply] = field(default_factory=list)
    proceed: bool = False
    text: str = ""
    reason: str | None = None


class SmsPolicy:
    def __init__(
        self,
        clinic: Clinic,
        vault: Vault,
        store: SessionStore,
        *,
        rate_limit: int = RATE_LIMIT,
        rate_window: timedelta = RATE_WINDOW,
    ):
        self.clinic, self.vault, self.store = clinic, vault, store
        self.rate_limit, self.rate_window = rate_limit, rate_window
        self._recent = (
            select(func.count())
            .select_from(MessageReceipt)
            .where(
                MessageReceipt.channel == CHANNEL,
                index_match(MessageReceipt.sender_index, vault.key_count),
                MessageReceipt.created_at > bindparam("since"),
            )
        )

    def recent_messages(self, db: Session, sender: str, now: datetime) -> int:
        """Texts received from `sender` within the rate window, this one included."""
        # Core on the turn's connection: the ORM's execution path costs more than the count.
        return (
            db.connection()
            .execute(
                self._recent, {**self.vault.index_params(sender), "since": now - self.rate_window}
            )
            .scalar()
            or 0
        )

    def screen(
        self,
        db: Session,
        message: InboundMessage,
        text: str,
        patient: Patient,
        now: datetime,
        *,
        intent: str | None = None,
    ) -> Verdict | None:
        """Keywords, opt-out and rate limit; None when the text goes on to triage and consent."""
        kind = keyword(text, message.keyword)
        if kind is None and intent == "stop":
            kind = "opt_out"  # "stop texting me": a clear request to stop is honoured too
        if kind == "opt_out":
            self.store.end(db, CHANNEL, message.sender)
            if patient.opted_out_at is not None:
                return Verdict(reason="opted_out")
            patient.opted_out_at = now
            return Verdict(
                [
                    Reply(
                        replies.opted_out(self.clinic, said_cancel=bare_word(text) == "CANCEL"),
                        kind="opt_out",
                    )
                ]
            )

        if patient.opted_out_at is not None and kind not in ("opt_in", "help"):
            return Verdict(reason="opted_out")

        count = self.recent_messages(db, message.sender, now)
        if count > self.rate_limit:
            if count == self.rate_limit + 1:
                return Verdict([Reply(replies.rate_limited(self.clinic), kind="notice")])
            return Verdict(reason="rate_limited")

        if patient.opted_out_at is not None and kind == "opt_in":
            patient.opted_out_at = None
            patient.consented_at = patient.consented_at or now
            return self._carry_on(
                db, message, patient, now, Reply(replies.opted_in(self.clinic), kind="opt_in")
            )
        if kind == "help":
            return Verdict([Reply(replies.sms_help(self.clinic), kind="help")])
        return None

    def require_consent(
        self, db: Session, message: InboundMessage, text: str, patient: Patient, now: datetime
    ) -> Verdict:
        """Hold everything from a number that has not said YES; carry its first request on."""
        if patient.consented_at is not None:
            return Verdict(proceed=True, text=text)
        state = self.store.load(db, CHANNEL, message.sender, now=now)
        pending = state.get("pending")
        asked = pending is not None  # the consent request went out
        if keyword(text, message.keyword) == "opt_in" or (asked and bare_word(text) in CONSENT):
            patient.consented_at = now
            return self._carry_on(
                db, message, patient, now, Reply(replies.consent_given(self.clinic), kind="consent")
            )
        # What it asked is remembered (encrypted with the conversation state) and carried on
        # after YES; what a later text adds before YES is added to it ("hi", then the request).
        held = " ".join(t for t in (pending, text) if t and bare_word(t) not in CONSENT)
        self.store.save(db, CHANNEL, message.sender, {"pending": held[:HELD_MAX]}, now=now)
        if asked:
            return Verdict([Reply(replies.consent_reminder(self.clinic), kind="consent")])
        return Verdict([Reply(replies.consent_request(self.clinic), kind="consent")])

    def _carry_on(
        self, db: Session, message: InboundMessage, patient: Patient, now: datetime, first: Reply
    ) -> Verdict:
        """After YES: the request held back at the first message, or a greeting."""
        state = self.store.load(db, CHANNEL, message.sender, now=now)
        pending = state.get("pending") or ""
        self.store.end(db, CHANNEL, message.sender)
        if pending and keyword(pending) is None:
            return Verdict([first], proceed=True, text=pending)
        name = patient_name(self.vault, patient)
        return Verdict([first, Reply(replies.greeting(self.clinic, name))])
