"""What staff read: usage and help cover every command and the clinic's own types and providers,
a patient is named the same way everywhere, and /appt-admin answers in its own sentences. The
staff channel's notices are test_notice_replies.py's."""

from __future__ import annotations

import pytest

from bot.audit.trail import AuditTrail
from bot.staff import admin_replies
from bot.staff import replies as say
from bot.staff.admin import AdminDesk
from bot.tools import Caller

# --- usage and help ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "usage, help_text",
    [(say.APPT_USAGE, say.appt_help), (admin_replies.ADMIN_USAGE, admin_replies.admin_help)],
)
def test_help_shows_the_usage_line_of_every_command(demo_clinic, usage, help_text):
    shown = help_text(demo_clinic)
    assert [word for word, line in usage.items() if line not in shown] == ["help"]


@pytest.mark.parametrize("usage", [say.APPT_USAGE, admin_replies.ADMIN_USAGE])
def test_an_unknown_command_lists_every_usage_line(usage):
    text = say.unknown_command("frobnicate", list(usage.values()))
    assert text.startswith("I don't know the command 'frobnicate'.")
    assert all(f"  {line}" in text.splitlines() for line in usage.values())


def test_an_unknown_command_is_shown_cut_short():
    text = say.unknown_command("x" * 40, list(say.APPT_USAGE.values()))
    assert f"'{'x' * 20}...'" in text and "x" * 21 not in text


def test_help_names_the_clinics_types_and_providers(demo_clinic):
    text = say.appt_help(demo_clinic)
    types = ", ".join(t.key for t in demo_clinic.appointment_types)
    providers = ", ".join(p.key for p in demo_clinic.providers)
    assert f"Types: {types}. Providers: {providers}." in text
    assert text.startswith(f"{demo_clinic.name} scheduling for staff:")


def test_an_unknown_type_or_provider_lists_the_clinics_own(demo_clinic):
    unknown_type = say.unknown_type(demo_clinic)
    unknown_provider = say.unknown_provider(demo_clinic)
    assert all(f"{t.key} ({t.name})" in unknown_type for t in demo_clinic.appointment_types)
    assert all(f"{p.key} ({p.name})" in unknown_provider for p in demo_clinic.providers)


def test_a_usage_line_follows_the_problem_when_there_is_one():
    assert say.usage(say.APPT_USAGE["find"]) == "Usage: /appt find <phone>"
    assert say.usage(say.APPT_USAGE["find"], say.bad_phone()) == (
        "That does not look like a phone number (try +1 212 555 0123). Usage: /appt find <phone>"
    )


# --- how staff see a patient ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, language, expected",
    [
        ("Ana Example", "es", "Ana Example (speaks Spanish)"),
        ("Ana Example", "en", "Ana Example"),
        ("Ana Example", None, "Ana Example"),
        ("Ana Example", "xx", "Ana Example"),  # a language staff have no name for
        (None, "es", "patient #12 (speaks Spanish)"),
        (None, None, "patient #12"),
    ],
)
def test_a_patient_is_named_with_the_language_they_are_served_in(name, language, expected):
    assert say.patient_label(name, 12, False, language) == expected


def test_an_erased_patient_is_only_their_id():
    assert say.patient_label("Ana Example", 12, True, "es") == "patient #12 (erased)"


def test_a_visit_for_someone_else_names_them_after_the_patient():
    assert say.for_attendee("Ana Example", "Leo") == "Ana Example, for Leo"
    assert say.for_attendee("Ana Example", None) == "Ana Example"


# --- /appt-admin ------------------------------------------------------------------------------------


def test_admin_answers_about_reminders_and_logs_in_their_own_sentences(
    sessions, demo_clinic, vault, clock
):
    admin = AdminDesk(
        sessions=sessions, clinic=demo_clinic, vault=vault, audit=AuditTrail(vault), clock=clock
    )
    caller = Caller(role="admin", channel="slack", staff_id="U0ADMIN")
    assert admin.command(caller, "reminders").text == "No pending reminders."
    assert admin.command(caller, "reminders failed").text == "No failed reminders."
    assert admin.command(caller, "logs 99").text == (
        "n is a number from 1 to 50. Usage: /appt-admin logs [n]"
    )
