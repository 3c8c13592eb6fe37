"""Benchmark: texts per second through the clinic network of `make cluster` (issue 20), with 1, 2
and 3 web nodes on this machine.

Each size is a cluster of its own, started as `make cluster` starts one (deploy/cluster.py: web
nodes of gunicorn with deploy/gunicorn.conf.py, one gthread worker of four threads each; the two
job workers; nginx in front, `least_conn`), on a fresh PostgreSQL database. The load is
bench_sms's: signed Twilio webhooks of its 10-text script (consent, help, lists, a slot search,
a choice that books), a new MessageSid each, sent to nginx over `--connections` closed-loop
connections; after a warm-up, `--requests` texts are timed. Checked: every request answered 200
with TwiML, and one booking for each text that chose an opening.

The machine has 2 cores shared by the load generator, nginx, the nodes and PostgreSQL, so the
figures say what one more node costs or gains here, and per node, what a node of a larger
machine may be planned for (BENCHMARKS.md, "A clinic network").

    .venv/bin/python bench/bench_cluster.py [--nodes 1,2,3] [--requests 3000] [--connections 16]
    .venv/bin/python bench/bench_cluster.py --smoke     # one node, 60 texts, for `make test`
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.bench_sms import TOKEN, describe, free_port, load, signed_requests
from bench.machine import machine
from deploy.cluster import Cluster, ensure_database, nginx_binary
from scheduler.db import make_engine

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def measure(server: str, database: str, nodes: int, args: argparse.Namespace) -> dict:
    """One cluster of `nodes` web nodes: started, loaded, stopped, its database dropped."""
    url, _ = ensure_database(server, database, fresh=True)
    port = free_port()
    names = [f"web{n}" for n in range(1, nodes + 1)]
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as folder:
        cluster = Cluster.create(
            Path(folder),
            port=port,
            node_ports={name: free_port() for name in names},
            database_url=url,
            env={
                "TWILIO_AUTH_TOKEN": TOKEN,
                "QUIET_HOURS": "00:00-00:00",
                "WEB_ACCESS_LOG": "",  # nginx's access log says which node answered
            },
        )
        cluster.save()
        try:
            cluster.migrate()
            cluster.start_all()
            base = f"http://127.0.0.1:{port}"
            warm = load(port, signed_requests(base, args.warmup, args.connections, 0), 60)
            lanes = signed_requests(base, args.requests, args.connections, args.warmup)
            result = load(port, lanes, args.time_limit)
            result["choices"] += warm["choices"]  # the bookings counted below include its
            served = _served_by(Path(folder) / "logs" / "nginx-access.log")
        finally:
            cluster.stop_all()
    engine = make_engine(url)
    with engine.connect() as connection:
        result["booked"] = connection.execute(text("SELECT count(*) FROM appointments")).scalar()
    engine.dispose()
    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    admin.dispose()
    result["served"] = served
    return result


def _served_by(access_log: Path) -> dict[str, int]:
    """How many texts each node answered, from nginx's access log (its `$upstream_addr`)."""
    counts: dict[str, int] = {}
    for line in access_log.read_text().splitlines():
        if "/twilio/sms" in line:
            upstream = line.split()[-2]
            counts[upstream] = counts.get(upstream, 0) + 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", default="1,2,3", help="web node counts to measure")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument(
        "--server-url",
        default=DEFAULT_SERVER,
        help="the PostgreSQL server (its database is only used to connect)",
    )
    parser.add_argument("--smoke", action="store_true", help="one node, 60 texts, 4 connections")
    args = parser.parse_args(argv)
    if nginx_binary() is None:
        print("nginx is not installed (Debian: apt-get install nginx-light)")
        return 2
    if args.smoke:
        args.nodes, args.requests, args.warmup, args.connections = "1", 60, 20, 4
    database = f"bench_cluster_{os.getpid()}" if args.smoke else "bench_cluster"
    print(
        f"clinic network on this machine ({machine()}): {args.connections} connections "
        "through nginx"
    )
    server = make_url(args.server_url).set(database="postgres").render_as_string(False)
    failed = False
    for nodes in (int(n) for n in args.nodes.split(",")):
        result = measure(server, database, nodes, args)
        print(f"{nodes} web node(s):")
        print(describe("texts", result))
        print(
            f"    {result['rps'] / nodes:.1f} texts/s a node; answered (warm-up included) by "
            + ", ".join(f"{k}: {v}" for k, v in sorted(result["served"].items()))
            + f"; booked {result['booked']} for the {result['choices']} texts that chose an opening"
        )
        failed |= bool(result["failures"]) or result["booked"] != result["choices"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
