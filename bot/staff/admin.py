"""The admin desk: `/appt-admin`, running the clinic from Slack. Framework-free.

Users and roles (scheduler/staff_users.py), the audit trail (recent events, redacted to kinds,
ids and times; the hash-chain check), reminders, and one patient's data: an export for the admin
alone, and an erasure that only happens after a confirmation click. Export and erasure share
their implementation with the shell's `flask --app app patient ...` (scheduler/records.py).
The optimiser's plan for a day of the waiting list: previewed, and applied as offers with a
click (bot/staff/optimise.py).

Every change is audited with the admin as the actor; the caller must already be authorized as
an admin (`StaffDesk.authorize(..., admin=True)`), and the adapter checks again at each click.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.audit.trail import AuditTrail
from bot.staff import admin_replies, ehr, optimise
from bot.staff import replies as say
from bot.staff.answers import Confirmation, ExportFile, StaffAnswer
from bot.staff.choices import parse_action, plain_token
from bot.staff.commands import MAX_COMMAND
from bot.staff.fields import leading_phone
from bot.tools import Caller
from scheduler import records, reminders, staff_users
from scheduler.clinic import Clinic
from scheduler.crypto import Vault
from scheduler.errors import StaffUserError
from scheduler.models import AuditEvent, Patient
from scheduler.patients import find_patient
from scheduler.staff_users import ROLES

DEFAULT_LOGS = 20
MAX_LOGS = 50
# "<@U012ABC>" or "<@U012ABC|jordan>" (Slack escapes mentions so), or a bare member id.
_MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,30})(?:\|[^>]*)?>$|^@?([UW][A-Z0-9]{2,30})$")


def mentioned_user(word: str) -> str | None:
    match = _MENTION.match(word or "")
    return (match.group(1) or match.group(2)) if match else None


class AdminDesk:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        clinic: Clinic,
        vault: Vault,
        audit: AuditTrail,
        clock: Callable,
        audit_mirror: Path | None = None,
    ):
        self.sessions, self.clinic, self.vault = sessions, clinic, vault
        self.audit, self.clock = audit, clock
        self.audit_mirror = audit_mirror  # logs/audit.log, which anchors the chain's end

    def command(self, caller: Caller, text: str) -> StaffAnswer:
        """One `/appt-admin` command (its text after the command name)."""
        if len(text or "") > MAX_COMMAND:
            return StaffAnswer(say.too_long(MAX_COMMAND), ok=False)
        words = (text or "").split()
        word = words[0].lower() if words else ""
        args = words[1:]
        if word in ("", "help"):
            return StaffAnswer(admin_replies.admin_help(self.clinic))
        handler = {
            "users": self._users,
            "logs": self._logs,
            "audit": self._audit,
            "reminders": self._reminders,
            "patient": self._patient,
            "optimise": self._optimise,
            "ehr": lambda caller, args: ehr.command(self, caller, args),
        }.get(word)
        if handler is None:
            return StaffAnswer(
                say.unknown_command(word, list(admin_replies.ADMIN_USAGE.values())), ok=False
            )
        return handler(caller, args)

    def _record(self, db: Session, caller: Caller, kind: str, **fields) -> None:
        self.audit.record(
            db, kind, at=self.clock(), channel=caller.channel, actor=caller.actor, **fields
        )

    # --- users ---------------------------------------------------------------------------------

    def _users(self, caller: Caller, args: list[str]) -> StaffAnswer:
        usage = say.usage(admin_replies.ADMIN_USAGE["users"])
        sub = args[0].lower() if args else "list"
        if sub == "list" and len(args) <= 1:
            with self.sessions() as db:
                users = staff_users.list_users(db)
                lines = [
                    admin_replies.user_line(u.name, u.role, u.added_at, u.added_by) for u in users
                ]
            return StaffAnswer(admin_replies.users_listed(lines))
        expected = {"add": 3, "role": 3, "remove": 2}.get(sub)
        if expected is None or len(args) != expected:
            return StaffAnswer(usage, ok=False)
        user = mentioned_user(args[1])
        if user is None:
            return StaffAnswer(admin_replies.bad_user() + " " + usage, ok=False)
        role = args[2].lower() if expected == 3 else None
        if role is not None and role not in ROLES:
            return StaffAnswer(usage, ok=False)
        try:
            with self.sessions.begin() as db:
                if sub == "add":
                    assert role is not None  # "add" takes three words, the third the role
                    staff_users.add_user(db, user, role, added_by=caller.actor, now=self.clock())
                    self._record(
                        db, caller, "staff_user_added", detail={"slack_user_id": user, "role": role}
                    )
                    return StaffAnswer(admin_replies.user_added(user, role))
                if sub == "role":
                    assert role is not None  # "role" takes three words, the third the role
                    old = staff_users.set_role(db, user, role)
                    self._record(
                        db,
                        caller,
                        "staff_user_role_changed",
                        detail={"slack_user_id": user, "old_role": old, "role": role},
                    )
                    return StaffAnswer(admin_replies.user_role_changed(user, old, role))
                old = staff_users.remove_user(db, user)
                self._record(
                    db, caller, "staff_user_removed", detail={"slack_user_id": user, "role": old}
                )
                return StaffAnswer(admin_replies.user_removed(user))
        except StaffUserError as exc:
            return StaffAnswer(admin_replies.user_refused(str(exc)), ok=False)

    # --- the audit trail --------------------------------------------------------------------------

    def _logs(self, caller: Caller, args: list[str]) -> StaffAnswer:
        count = DEFAULT_LOGS
        if args:
            if len(args) != 1 or not args[0].isdigit() or not 1 <= int(args[0]) <= MAX_LOGS:
                return StaffAnswer(
                    say.usage(
                        admin_replies.ADMIN_USAGE["logs"], admin_replies.logs_count_range(MAX_LOGS)
                    ),
                    ok=False,
                )
            count = int(args[0])
        with self.sessions.begin() as db:
            rows = db.execute(
                select(
                    AuditEvent.seq,
                    AuditEvent.at,
                    AuditEvent.kind,
                    AuditEvent.channel,
                    AuditEvent.actor,
                    AuditEvent.patient_id,
                    AuditEvent.appointment_id,
                )
                .order_by(AuditEvent.seq.desc())
                .limit(count)
            ).all()
            self._record(db, caller, "audit_log_viewed", detail={"events": len(rows)})
        lines = [admin_replies.log_line(*row) for row in rows]
        return StaffAnswer("\n".join([admin_replies.logs_header(len(rows))] + lines))

    def _audit(self, caller: Caller, args: list[str]) -> StaffAnswer:
        if [a.lower() for a in args] != ["verify"]:
            return StaffAnswer(say.usage(admin_replies.ADMIN_USAGE["audit"]), ok=False)
        with self.sessions() as db:
            result = self.audit.verify(db, mirror=self.audit_mirror)
        with self.sessions.begin() as db:
            self._record(
                db,
                caller,
                "audit_verified",
                detail={
                    "ok": result.ok,
                    "checked": result.checked,
                    "first_broken_seq": result.first_broken_seq,
                },
            )
        if result.ok:
            return StaffAnswer(admin_replies.audit_ok(result.checked))
        return StaffAnswer(
            admin_replies.audit_broken(result.first_broken_seq, result.reason, result.checked),
            ok=False,
        )

    def _reminders(self, caller: Caller, args: list[str]) -> StaffAnswer:
        which = args[0].lower() if args else "pending"
        if len(args) > 1 or which not in ("pending", "failed"):
            return StaffAnswer(say.usage(admin_replies.ADMIN_USAGE["reminders"]), ok=False)
        zone = self.clinic.zone
        with self.sessions() as db:
            total = reminders.count_by_status(db, which)
            rows = reminders.reminders_listing(db, which)
            lines = [admin_replies.reminder_line(r, which, zone) for r in rows]
        if not total:
            return StaffAnswer(admin_replies.no_reminders(which))
        head = admin_replies.reminders_header(total, which, len(rows))
        return StaffAnswer("\n".join([head] + lines))

    # --- one patient's data --------------------------------------------------------------------------

    def _patient(self, caller: Caller, args: list[str]) -> StaffAnswer:
        usage = admin_replies.ADMIN_USAGE["patient"]
        sub = args[0].lower() if args else ""
        if sub not in ("export", "erase") or len(args) < 2:
            return StaffAnswer(say.usage(usage), ok=False)
        phone, rest, _ = leading_phone(" ".join(args[1:]))
        if phone is None or rest:
            return StaffAnswer(say.usage(usage, say.bad_phone()), ok=False)
        if sub == "export":
            return self.export(caller, phone)
        with self.sessions() as db:
            patient = find_patient(db, self.vault, phone)
            if patient is None:
                return StaffAnswer(say.no_such_patient(), ok=False)
            name = self.vault.decrypt(patient.name_enc) if patient.name_enc else None
            label = say.patient_label(name, patient.id, False)
            patient_id = patient.id
        return StaffAnswer(
            admin_replies.confirm_erase(label, patient_id),
            confirmation=Confirmation(
                admin_replies.erase_button(patient_id),
                plain_token("erase", patient_id),
                admin_replies.erase_question(),
            ),
        )

    def export(self, caller: Caller, phone: str) -> StaffAnswer:
        with self.sessions.begin() as db:
            patient = find_patient(db, self.vault, phone)
            if patient is None:
                return StaffAnswer(say.no_such_patient(), ok=False)
            data = records.export_patient(db, self.vault, patient, audit=self.audit)
            self._record(db, caller, "patient_exported", patient_id=patient.id)
            patient_id = patient.id
        content = json.dumps(data, indent=2, ensure_ascii=False)
        return StaffAnswer(
            admin_replies.export_sent(patient_id),
            export=ExportFile(f"patient-{patient_id}.json", content),
        )

    # --- the optimiser's plan ------------------------------------------------------------------------

    def _optimise(self, caller: Caller, args: list[str]) -> StaffAnswer:
        return optimise.preview(self, caller, args)

    def act(self, caller: Caller, token: object) -> StaffAnswer:
        """The erase confirmation button, or the Apply button of an optimiser plan."""
        if optimise.is_token(token):
            return optimise.apply(self, caller, token)
        action = parse_action(token)
        if action is None or action.op != "erase":
            return StaffAnswer(say.invalid_action(), ok=False)
        now = self.clock()
        with self.sessions.begin() as db:
            patient = db.get(Patient, action.target)
            if patient is None:
                return StaffAnswer(say.invalid_action(), ok=False)
            if patient.erased_at is not None or patient.phone_enc is None:
                return StaffAnswer(admin_replies.already_erased(patient.id), ok=False)
            phone = self.vault.decrypt(patient.phone_enc)
            assert phone is not None  # phone_enc is set (checked above): it decrypts to text
            erasure = records.erase_patient(
                db, self.vault, patient, phone, now=now, audit=self.audit
            )
            self._record(
                db, caller, "patient_erased", patient_id=patient.id, detail=erasure.as_detail()
            )
        return StaffAnswer(
            admin_replies.erased(
                erasure.patient_id,
                erasure.sessions,
                erasure.outbox_messages,
                erasure.receipts,
                erasure.audit_texts,
                erasure.appointments_kept,
            )
        )
