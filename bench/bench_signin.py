"""Benchmark: what one sign-in costs (scheduler/accounts.py's argon2id parameters).

Target (issue 16): about 50 ms a sign-in on this machine, so that a guessed password costs an
attacker that much per try while staff do not notice it. Measured: the argon2id verification at
`accounts.HASHER`'s parameters alone, and a whole `accounts.sign_in` (the user's row read and
updated in a SQLite transaction); baseline in the same run: OWASP's floor for argon2id (19 MiB,
2 passes, 1 lane), which the chosen parameters must not be below.

    .venv/bin/python bench/bench_signin.py [--rounds 40]
    .venv/bin/python bench/bench_signin.py --smoke     # 2 rounds, for `make test`
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from argon2 import PasswordHasher, Type

from scheduler import accounts, staff_users
from scheduler.db import make_engine, session_factory, upgrade

PASSWORD = "plum-orbit-candle-42"
NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


def _median_ms(run, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--smoke", action="store_true", help="2 rounds")
    args = parser.parse_args(argv)
    if args.smoke:
        args.rounds = 2

    floor = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1, type=Type.ID)
    floor_hash = floor.hash(PASSWORD)
    chosen_hash = accounts.HASHER.hash(PASSWORD)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/signin.db"
        upgrade(url)
        engine = make_engine(url)
        sessions = session_factory(engine)
        with sessions.begin() as db:
            staff_users.add_user(
                db, None, "staff", added_by="bench", now=NOW, username="bench", password=PASSWORD
            )

        def sign_in() -> None:
            with sessions.begin() as db:
                accounts.sign_in(db, "bench", PASSWORD, NOW)

        baseline = _median_ms(lambda: floor.verify(floor_hash, PASSWORD), args.rounds)
        verify = _median_ms(lambda: accounts.HASHER.verify(chosen_hash, PASSWORD), args.rounds)
        whole = _median_ms(sign_in, args.rounds)
        engine.dispose()
    h = accounts.HASHER
    print(
        f"argon2id t={h.time_cost} m={h.memory_cost} KiB p={h.parallelism}, "
        f"median of {args.rounds} rounds"
    )
    print(f"  baseline (OWASP floor t=2 m=19456 KiB p=1): verify {baseline:.1f} ms")
    print(
        f"  verify at the chosen parameters: {verify:.1f} ms ({verify / baseline:.2f}x the floor)"
    )
    print(
        f"  a whole sign-in (row read, verify, row updated, commit): {whole:.1f} ms (target ~50 ms)"
    )


if __name__ == "__main__":
    main()
