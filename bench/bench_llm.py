"""Benchmark: turns answered by the Bedrock engine, against a fake Converse endpoint that answers
after 1 s (issue 5).

Figures: model calls per completed booking, input tokens per turn (estimated from what is sent,
as performance.log records it), and the overhead the project adds to a turn beyond the model's own
latency (target: under 20 ms median): the turn's wall time in `ConversationEngine.handle` minus
the endpoint's delay for each model call the turn made.

Each patient books the way a model does it with tools: "checkup on <day>" (find_slots, then the
offer), the choice (book_appointment, then the confirmation), "thanks" (an answer). Everything
real runs: the app's boto3 client (signing, HTTP to 127.0.0.1, parsing), the tool loop, the
scheduling tools on SQLite, the audit trail, the encrypted session, the three log files.
Baseline, measured in the same run: a bare `converse` call with the same client to the same
endpoint (what signing, HTTP and parsing cost without the project), same delay subtracted.

Then `--concurrent` patients at once, one model call each (their turns overlap when no
transaction is held through a model call), and one patient's 30-turn conversation with tool
rounds (tests/bedrock_support.THIRTY_TURNS, no delay): the input tokens of each turn's requests
together (target: under 3,000), and how many earlier exchanges went in full.

    .venv/bin/python bench/bench_llm.py [--patients 6] [--delay 1.0] [--database-url URL]
    .venv/bin/python bench/bench_llm.py --smoke     # 2 patients, a 10 ms model, for `make test`
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.fernet import Fernet

from app import build_services
from bot import logfiles
from bot.messages import InboundMessage
from bot.settings import Settings
from tests.bedrock_support import (
    MODEL,
    THIRTY_TURNS,
    FakeBedrock,
    Issued,
    answer,
    tool_use,
)

NOW = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def tokens_per_turn(perf: list[dict]) -> list[int]:
    """Estimated input tokens of each turn's model calls together, from performance.log lines."""
    turns: dict[str, int] = {}
    for call in perf:
        if call["event"] == "model_call":
            turns[call["turn"]] = turns.get(call["turn"], 0) + call["estimated_input_tokens"]
    return list(turns.values())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=6)
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--database-url", help="an empty database (default: SQLite in a temp dir)")
    parser.add_argument(
        "--concurrent",
        type=int,
        default=4,
        help="patients answering at the same moment, for the last figure",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="2 patients, 2 at once, a model answering in 10 ms"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.patients, args.delay, args.concurrent = 2, 0.01, 2

    workdir = Path(tempfile.mkdtemp(prefix="bench-llm-"))
    fake = FakeBedrock(delay=args.delay)
    settings = Settings(
        database_url=args.database_url or f"sqlite:///{workdir / 'bench.db'}",
        log_dir=workdir / "logs",
        secret_key_file=workdir / "secret.key",
        encryption_keys=(Fernet.generate_key().decode(),),
        llm_engine="bedrock",
        aws_region="us-east-1",
        aws_access_key_id="AKIDBENCH",
        aws_secret_access_key="bench-secret",
        bedrock_model_id=MODEL,
        bedrock_endpoint_url=fake.url,
    )
    logfiles.configure(settings.log_dir)
    services = build_services(settings, clock=lambda: NOW)
    engine = services.conversation
    client = engine.llm.client

    # Baseline: the bare SDK call, same client, same endpoint, same delay.
    bare = []
    for _ in range(3):
        fake.script(answer("Hello!"))
        started = time.perf_counter()
        client.converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "hi"}]}])
        bare.append((time.perf_counter() - started - args.delay) * 1000)

    turns: list[tuple[float, int]] = []  # (overhead ms, model calls)
    bookings = 0
    for n in range(args.patients):
        phone = f"+1212555{200 + n:04d}"
        day = (NOW + timedelta(days=1 + n % 5)).date().isoformat()
        script = [
            (
                "checkup on " + day + " please",
                [
                    tool_use(("find_slots", {"appointment_type": "checkup", "date": day})),
                    answer("I have 8:00, 8:15 or 8:30 AM. Which one?"),
                ],
            ),
            (
                "the second one",
                [
                    tool_use(("book_appointment", {"slot_id": "slot-2"})),
                    answer("You're booked for 8:15 AM."),
                ],
            ),
            ("thanks!", [answer("You're welcome. See you then!")]),
        ]
        for i, (text, steps) in enumerate(script):
            fake.script(*steps)
            before = len(fake.requests)
            message = InboundMessage("web", phone, text, f"bench-{n}-{i}", NOW)
            started = time.perf_counter()
            replies = engine.handle(message)
            wall = (time.perf_counter() - started) * 1000
            calls = len(fake.requests) - before
            turns.append((wall - calls * args.delay * 1000, calls))
            if "booked" in replies[0].text:
                bookings += 1

    # Several patients at once, one model call each: do their turns overlap?
    fake.script(*[answer("You're welcome!")] * args.concurrent)
    threads = [
        threading.Thread(
            target=engine.handle,
            args=(
                InboundMessage(
                    "web", f"+1212555{200 + n:04d}", "thanks again", f"bench-c-{n}", NOW
                ),
            ),
        )
        for n in range(args.concurrent)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    concurrent_s = time.perf_counter() - started

    log = settings.log_dir / "performance.log"
    perf = [json.loads(line) for line in log.read_text().splitlines()]

    # One patient's 30-turn conversation with tool rounds (tokens only: no delay needed).
    fake.delay = 0
    first_call = len(fake.requests)
    talk: list[int] = []  # the index of each turn's first request
    for i, (text, steps) in enumerate(THIRTY_TURNS):
        talk.append(len(fake.requests))
        fake.script(*steps(Issued([r["body"] for r in fake.requests[first_call:]])))
        engine.handle(InboundMessage("web", "+12125550199", text, f"bench-talk-{i}", NOW))
    fake.close()
    talk_tokens = tokens_per_turn(
        [json.loads(line) for line in log.read_text().splitlines()[len(perf) :]]
    )
    # Earlier exchanges the model saw in full in each turn's first request.
    history = [(len(fake.requests[first]["body"]["messages"]) - 1) // 2 for first in talk]
    tools_used = sum(b - a > 1 for a, b in zip(talk, [*talk[1:], len(fake.requests)], strict=True))

    llm_turns = [p for p in perf if p["event"] == "llm_turn"]
    model_calls = [p for p in perf if p["event"] == "model_call"]
    per_turn_tokens = tokens_per_turn(perf)
    overheads = [o for o, _ in turns]
    sdk = statistics.median(bare)
    ours = [o - calls * sdk for o, calls in turns]
    booking_calls = sum(calls for i, (_, calls) in enumerate(turns) if i % 3 < 2)
    estimates = [c["estimated_input_tokens"] for c in model_calls]

    print(
        f"Bedrock engine against a fake Converse endpoint answering after {args.delay:g} s "
        f"({args.patients} patients, {len(turns)} turns, {len(model_calls)} model calls)"
    )
    print(
        f"  completed bookings: {bookings}/{args.patients}; model calls per completed booking: "
        f"{booking_calls / max(bookings, 1):.1f}"
    )
    print(
        f"  input tokens per model call (estimated): median {statistics.median(estimates):.0f},"
        f" max {max(estimates)}"
    )
    print(
        f"  input tokens per turn, all its calls together: median "
        f"{statistics.median(per_turn_tokens):.0f}, max {max(per_turn_tokens)}"
    )
    print(
        f"  overhead per turn beyond the model's latency: median "
        f"{statistics.median(overheads):.1f} ms, p90 {percentile(overheads, 90):.1f} ms, "
        f"max {max(overheads):.1f} ms (target: median < 20 ms)"
    )
    print(
        f"  baseline, a bare converse call's own overhead (SDK signing, HTTP, parsing): median "
        f"{sdk:.1f} ms per call"
    )
    print(
        f"  so the project's part, without the SDK's per call: median "
        f"{statistics.median(ours):.1f} ms per turn; LLM pipeline alone (prompt, tools, checks,"
        f" logs): median {statistics.median(t['overhead_ms'] for t in llm_turns):.1f} ms"
    )
    print(
        f"  30-turn conversation ({tools_used} turns with a tool round): input tokens per "
        f"turn, all its calls together: median {statistics.median(talk_tokens):.0f}, max "
        f"{max(talk_tokens)} (target: < 3,000); "
        f"earlier exchanges sent in full: median {statistics.median(history):g}, "
        f"min {min(history)}, max {max(history)}"
    )
    print(
        f"  {args.concurrent} patients at once, one model call each: {concurrent_s:.2f} s "
        f"(overlapping: {args.delay:g} s; one after another: {args.concurrent * args.delay:g} s)"
    )
    print("  target met" if statistics.median(overheads) < 20 else "  TARGET MISSED")


if __name__ == "__main__":
    main()
