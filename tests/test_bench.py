"""The benchmarks run apart from `make test`, so a moved module or a changed schema would break
them unnoticed (bench_booking's TRUNCATE did, once): each one must import against the tree as it
is, and each one's `--smoke` mode (a tiny size, seconds, its figures printed, no timing asserted,
its correctness checks kept) must run to the end.

Each smoke run is a process of its own, as `make bench` starts them. Those that need PostgreSQL
are given the server of the tests (TEST_DATABASE_URL) and make a database of their own there
(bench/smoke.py), so two test workers never share one.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bench.machine import PROBE, machine
from deploy.cluster import nginx_binary

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BENCHMARKS = sorted(p.stem for p in BENCH.glob("bench_*.py"))

# name: (what its PostgreSQL options are given: None, "url" or "server"; text its output shows)
SMOKES = {
    "bench_analytics": ("url", "PostgreSQL: dashboard p95"),
    "bench_api": ("url", "ratio: the API books at"),
    "bench_booking": ("url", "collisions correctly refused 20/20"),
    "bench_cluster": ("server", "texts/s a node"),
    "bench_ehr_webhook": (None, "duplicates 0, missing 0"),
    "bench_engine": (None, "telling the language"),
    "bench_fhir_slots": ("url", "FHIR slot search p50"),
    "bench_flood": (None, "the flood:"),
    "bench_llm": (None, "completed bookings: 2/2"),
    "bench_optimise": (None, "average CP-SAT/FCFS"),
    "bench_reminders": ("server", "2 worker(s):"),
    "bench_signin": (None, "a whole sign-in"),
    "bench_slots": (None, "30 of 30 found 3 slots"),
    "bench_sms": (None, "ours booked"),
    "bench_sms_postgres": ("url", "ours booked"),
}
# The benchmarks whose figures are compared across sessions: their output says how fast the
# machine was when they ran (bench/machine.py).
WITH_MACHINE_LINE = {
    "bench_analytics",
    "bench_api",
    "bench_booking",
    "bench_cluster",
    "bench_fhir_slots",
    "bench_flood",
    "bench_reminders",
    "bench_sms",
    "bench_sms_postgres",
}


@pytest.mark.parametrize("name", sorted(p.stem for p in BENCH.glob("*.py")))
def test_each_benchmark_imports(name):
    importlib.import_module(f"bench.{name}")


@pytest.mark.parametrize("name", BENCHMARKS)
def test_each_benchmark_has_a_smoke_run(name):
    assert name in SMOKES, f"give {name} a --smoke mode and add it to SMOKES"


def _smoke(name: str, postgres: str | None) -> subprocess.CompletedProcess:
    options, _ = SMOKES[name]
    command = [sys.executable, "-m", f"bench.{name.removesuffix('_postgres')}", "--smoke"]
    if options == "url":
        command += ["--database-url", postgres or ""]
    elif options == "server":
        command += ["--server-url", postgres or ""]
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TWILIO_", "SLACK_", "AWS_", "BEDROCK_", "EHR_"))
        and key not in ("DATABASE_URL", "LLM_ENGINE", "PUBLIC_BASE_URL")
    }
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=100, check=False
    )


def _check(name: str, run: subprocess.CompletedProcess) -> None:
    shown = run.stdout[-3000:] + "\n" + run.stderr[-3000:]
    assert run.returncode == 0, shown
    assert SMOKES[name][1] in run.stdout, shown
    if name in WITH_MACHINE_LINE:
        assert f" us a {PROBE}" in run.stdout, shown


def test_the_machine_line_gives_the_speed_measured_when_it_is_made():
    line = machine()
    speed = re.search(rf"; load [\d., ]+; (\d+\.\d) us a {re.escape(PROBE)}$", line)
    assert speed is not None, line
    assert 0 < float(speed.group(1)) < 10_000


@pytest.mark.parametrize("name", sorted(n for n, (pg, _) in SMOKES.items() if pg is None))
def test_smoke_run(name):
    _check(name, _smoke(name, None))


@pytest.mark.postgres
@pytest.mark.parametrize(
    "name", sorted(n for n, (pg, _) in SMOKES.items() if pg is not None and n != "bench_cluster")
)
def test_smoke_run_on_postgresql(name, postgres_url):
    # The server the tests use; the benchmark makes (and drops) a database of its own there.
    server = make_url(postgres_url).set(database="bench").render_as_string(hide_password=False)
    _check(name, _smoke(name, server))


@pytest.mark.postgres
def test_smoke_run_of_the_cluster(postgres_url):
    """`make cluster`'s network with one web node; it needs nginx as tests/cluster do."""
    if nginx_binary() is None:
        if os.environ.get("REQUIRE_CLUSTER") == "1":
            pytest.fail("nginx is not installed and REQUIRE_CLUSTER=1")
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    server = make_url(postgres_url).set(database="postgres").render_as_string(False)
    _check("bench_cluster", _smoke("bench_cluster", server))
