"""The console: chat with the bot in a terminal, as a patient (`--phone`) or as staff (`--staff`).

    python -m adapters.console [--phone +12125550123 | --staff]

Each line typed is one message; the bot's replies are printed with options numbered (answer with
the number). `/quit` or end of input (Ctrl-D, or the end of a pipe) leaves. Works on a pipe, so
a whole conversation can be scripted. Uses the same database and settings as the web app.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import TextIO

from bot.messages import InboundMessage, OutboundMessage, Role
from scheduler.patients import InvalidPhoneNumber, normalize_phone

CHANNEL = "console"
STAFF_SENDER = "console-staff"
DEFAULT_PHONE = "+12125550123"  # fictional (555): the demo patient
QUIT = "/quit"


def render(message: OutboundMessage) -> str:
    """One reply as terminal text: options numbered, an emergency impossible to miss."""
    body = message.as_text()
    if message.kind == "emergency":
        return f"bot> !!! URGENT !!!\n{body}\n!!!!!!!!!!!!!!!!"
    return "bot> " + body.replace("\n", "\n     ")


def _lines(stdin: TextIO, stdout: TextIO, prompt: bool) -> Iterator[str]:
    while True:
        if prompt:
            stdout.write("you> ")
            stdout.flush()
        line = stdin.readline()
        if not line:
            return
        yield line.rstrip("\r\n")


def chat(
    handle: Callable[[InboundMessage], list[OutboundMessage]],
    clock: Callable[[], datetime],
    *,
    sender: str,
    role: Role,
    stdin: TextIO,
    stdout: TextIO,
    prompt: bool = False,
) -> None:
    """Read messages from `stdin` until EOF or /quit, printing each reply to `stdout`."""
    for line in _lines(stdin, stdout, prompt):
        if line.strip() == QUIT:
            return
        if not line.strip():
            continue
        inbound = InboundMessage(
            channel=CHANNEL,
            sender=sender,
            text=line,
            message_id=uuid.uuid4().hex,
            received_at=clock(),
            role=role,
        )
        for reply in handle(inbound):
            stdout.write(render(reply) + "\n")
        stdout.flush()


def _phone(raw: str) -> str:
    try:
        return normalize_phone(raw)
    except InvalidPhoneNumber:
        raise argparse.ArgumentTypeError("not a phone number; give one like +12125550123") from None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m adapters.console", description="Chat with the clinic's scheduling bot."
    )
    who = parser.add_mutually_exclusive_group()
    who.add_argument(
        "--phone",
        type=_phone,
        default=DEFAULT_PHONE,
        help="chat as the patient with this phone number (default: a demo number)",
    )
    who.add_argument("--staff", action="store_true", help="chat as clinic staff")
    return parser.parse_args(argv)


def main(
    argv: Sequence[str] | None = None, *, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> int:
    args = parse_args(argv)  # exits with status 2 and a message on a bad argument
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    from app import services_from_env  # late: keeps `--help` and argument errors fast

    services = services_from_env()
    if services is None:
        return 2

    interactive = stdin.isatty()
    if interactive:
        who = "staff" if args.staff else "a patient"
        stdout.write(
            f"{services.clinic.name}: chatting as {who}. Type {QUIT} or press Ctrl-D to leave.\n"
        )
    role: Role
    sender, role = (STAFF_SENDER, "staff") if args.staff else (args.phone, "patient")
    try:
        chat(
            services.conversation.handle,
            services.clock,
            sender=sender,
            role=role,
            stdin=stdin,
            stdout=stdout,
            prompt=interactive,
        )
    except KeyboardInterrupt:
        stdout.write("\n")
    finally:
        services.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
