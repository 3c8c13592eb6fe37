"""The console adapter: lines in, numbered replies out, /quit and end of input, staff or patient."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from adapters import console
from bot.messages import OutboundMessage

NOW = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)


class RecordingEngine:
    """Stands in for the conversation engine: records what it was handed, answers fixed replies."""

    def __init__(self, *replies: OutboundMessage):
        self.received = []
        self.replies = list(replies) or [OutboundMessage("console", "x", "ok")]

    def handle(self, inbound):
        self.received.append(inbound)
        return self.replies


def run(text, engine, **kwargs):
    out = io.StringIO()
    kwargs.setdefault("sender", "+12125550123")
    kwargs.setdefault("role", "patient")
    console.chat(engine.handle, lambda: NOW, stdin=io.StringIO(text), stdout=out, **kwargs)
    return out.getvalue()


def test_each_line_is_one_console_message_with_its_own_id():
    engine = RecordingEngine()
    run("hi\nbook a checkup\n", engine)
    assert [m.text for m in engine.received] == ["hi", "book a checkup"]
    assert {m.channel for m in engine.received} == {"console"}
    assert {m.sender for m in engine.received} == {"+12125550123"}
    assert {m.role for m in engine.received} == {"patient"}
    assert {m.received_at for m in engine.received} == {NOW}
    assert len({m.message_id for m in engine.received}) == 2


def test_options_are_printed_numbered_under_the_reply():
    engine = RecordingEngine(
        OutboundMessage("console", "x", "These times are open.", ("Thu 9:00 AM", "Thu 9:15 AM"))
    )
    assert (
        run("book\n", engine) == "bot> These times are open.\n     1. Thu 9:00 AM\n"
        "     2. Thu 9:15 AM\n"
    )


def test_emergency_reply_stands_out():
    engine = RecordingEngine(OutboundMessage("console", "x", "Call 911 now.", kind="emergency"))
    output = run("chest pain\n", engine)
    assert "URGENT" in output and "Call 911 now." in output


def test_quit_stops_reading_and_blank_lines_are_skipped():
    engine = RecordingEngine()
    run("\n   \nhi\n/quit\nbook\n", engine)
    assert [m.text for m in engine.received] == ["hi"]


def test_end_of_input_without_newline_is_still_read():
    engine = RecordingEngine()
    run("hi", engine)
    assert [m.text for m in engine.received] == ["hi"]


def test_staff_messages_carry_the_staff_role():
    engine = RecordingEngine()
    run("schedule\n", engine, sender=console.STAFF_SENDER, role="staff")
    assert engine.received[0].role == "staff" and engine.received[0].sender == "console-staff"


def test_prompt_is_shown_only_when_interactive():
    assert "you> " not in run("hi\n", RecordingEngine())
    assert run("hi\n", RecordingEngine(), prompt=True).startswith("you> bot> ok\n")


def test_phone_argument_is_normalized():
    assert console.parse_args(["--phone", "(212) 555-0142"]).phone == "+12125550142"
    assert console.parse_args([]).phone == console.DEFAULT_PHONE


@pytest.mark.parametrize("argv", [["--phone", "banana"], ["--phone", "+12125550123", "--staff"]])
def test_bad_arguments_exit_with_code_2_and_a_message(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        console.parse_args(argv)
    assert exit_.value.code == 2
    assert "--phone" in capsys.readouterr().err


def test_configuration_error_names_the_variable_and_exits_2(monkeypatch, capsys):
    monkeypatch.setenv("SESSION_TIMEOUT_MINUTES", "soon")
    assert console.main([], stdin=io.StringIO("")) == 2
    assert "SESSION_TIMEOUT_MINUTES" in capsys.readouterr().err
