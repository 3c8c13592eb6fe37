"""`make cluster`: a clinic network on this machine, for trying it and for tests/cluster/.

    python deploy/cluster.py start [--dir DIR] [--port 8700] [--database NAME] [--fresh]
    python deploy/cluster.py stop [--dir DIR]
    python deploy/cluster.py status [--dir DIR]
    python deploy/cluster.py text PHONE MESSAGE [--dir DIR]

Three web nodes (gunicorn with deploy/gunicorn.conf.py, one worker of four threads each: they share
this machine's cores), two job workers (`python -m jobs`) and nginx in front (Debian's package),
all on a PostgreSQL database of their own (`scheduler_cluster` on 127.0.0.1:5432, or the server
in CLUSTER_DATABASE_SERVER), made and migrated when missing and kept between runs (`--fresh`
starts it over). nginx listens on 127.0.0.1:PORT and the nodes on PORT+1 to PORT+3. SMS goes to
the outbox (no Twilio account), so `text` signs a text as Twilio would and prints the answer; the
web chat is at http://127.0.0.1:PORT/. Logs, the nginx configuration written from
deploy/nginx/scheduler-proxy.conf, and cluster.json (ports, process ids, the generated encryption
key and Twilio token: mode 0600) are under DIR (default: $TMPDIR/medical-ai-scheduler-cluster).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = Path(tempfile.gettempdir()) / "medical-ai-scheduler-cluster"
SERVER = os.environ.get(
    "CLUSTER_DATABASE_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
WEB_NODES = ("web1", "web2", "web3")
JOB_WORKERS = ("jobs1", "jobs2")
# What each kind of process's command line holds: `stop` signals a recorded pid only if it is
# still the process started (a pid is reused once its process is gone).
_MARKS = {"web": "gunicorn", "jobs": "jobs", "nginx": "nginx"}

NGINX_CONF = """# Written by deploy/cluster.py for one machine; production's is deploy/nginx/scheduler.conf.
daemon off;
worker_processes 1;
pid {dir}/nginx/nginx.pid;
error_log {dir}/logs/nginx-error.log warn;
{user}
events {{ worker_connections 512; }}
http {{
    log_format scheduler '$remote_addr [$time_iso8601] "$request_method $uri" $status '
                         '$body_bytes_sent $request_time $upstream_addr $upstream_status';
    access_log {dir}/logs/nginx-access.log scheduler;
    client_body_temp_path {dir}/nginx/body;
    proxy_temp_path {dir}/nginx/proxy;
    fastcgi_temp_path {dir}/nginx/fastcgi;
    uwsgi_temp_path {dir}/nginx/uwsgi;
    scgi_temp_path {dir}/nginx/scgi;
    upstream scheduler_web {{
        least_conn;
{servers}
        keepalive 16;
        keepalive_timeout 60s;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            include {root}/deploy/nginx/scheduler-proxy.conf;
            proxy_pass http://scheduler_web;
        }}
    }}
}}
"""


class ClusterError(RuntimeError):
    pass


def nginx_binary() -> str | None:
    """nginx, on PATH or where Debian puts it (/usr/sbin, off a normal user's PATH)."""
    return shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"]))


@dataclass
class Cluster:
    """One machine's clinic network: where it runs, its settings, its processes' ids."""

    run_dir: Path
    port: int
    node_ports: dict[str, int]
    database_url: str
    env: dict[str, str]
    pids: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._children: dict[str, subprocess.Popen] = {}  # what this process started, to reap

    # --- setting up ------------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        run_dir: Path,
        *,
        port: int,
        database_url: str,
        node_ports: dict[str, int] | None = None,
        public_url: str | None = None,
        env: dict[str, str] | None = None,
    ) -> Cluster:
        """The cluster's directories and settings (a new key and token); nothing started."""
        run_dir = Path(run_dir).resolve()
        for sub in ("logs/app", "nginx"):
            (run_dir / sub).mkdir(parents=True, exist_ok=True)
        from cryptography.fernet import Fernet

        ports = node_ports or {name: port + i for i, name in enumerate(WEB_NODES, start=1)}
        settings = {
            "DATABASE_URL": database_url,
            "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
            "PUBLIC_BASE_URL": public_url or f"http://127.0.0.1:{port}",
            "TRUSTED_PROXY_HOPS": "1",
            "JOBS_IN_PROCESS": "false",
            "LLM_ENGINE": "local",
            "LOG_DIR": str(run_dir / "logs" / "app"),
            "WEB_WORKERS": "1",
            "WEB_THREADS": "4",
        }
        settings.update(env or {})
        return cls(run_dir, port, ports, database_url, settings)

    @classmethod
    def load(cls, run_dir: Path) -> Cluster:
        path = Path(run_dir).resolve() / "cluster.json"
        if not path.exists():
            raise ClusterError(f"no cluster in {run_dir} (start one with `make cluster`)")
        state = json.loads(path.read_text())
        state["run_dir"] = Path(state["run_dir"])
        return cls(**state)

    def save(self) -> None:
        path = self.run_dir / "cluster.json"
        state = asdict(self) | {"run_dir": str(self.run_dir)}
        path.touch(mode=0o600)
        path.write_text(json.dumps(state, indent=2) + "\n")

    def migrate(self) -> None:
        """Migrate and install the clinic once, before any node starts (three nodes migrating at
        once would race): `flask --app app db upgrade` does both."""
        done = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
            cwd=ROOT,
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise ClusterError(f"db upgrade failed:\n{done.stdout}{done.stderr}")

    # --- the processes ---------------------------------------------------------------------------
    def _env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, **self.env, **extra}

    def _command(self, name: str) -> tuple[list[str], dict[str, str]]:
        if name in self.node_ports:
            conf = str(ROOT / "deploy" / "gunicorn.conf.py")
            command = [sys.executable, "-m", "gunicorn", "-c", conf, "app:create_app()"]
            return command, self._env(WEB_BIND=f"127.0.0.1:{self.node_ports[name]}")
        if name in JOB_WORKERS:
            return [sys.executable, "-m", "jobs"], self._env()
        if name == "nginx":
            binary = nginx_binary()
            if binary is None:
                raise ClusterError("nginx is not installed (Debian: apt-get install nginx-light)")
            conf = self._write_nginx_conf()
            log = str(self.run_dir / "logs" / "nginx-error.log")
            return [binary, "-e", log, "-p", str(self.run_dir / "nginx"), "-c", conf], self._env()
        raise ClusterError(f"no process named {name}")

    def _write_nginx_conf(self) -> str:
        servers = "\n".join(
            f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;"
            for port in self.node_ports.values()
        )
        # As root, nginx's workers would otherwise be `nobody`, shut out of DIR's temp paths.
        user = "user root;" if os.geteuid() == 0 else ""
        path = self.run_dir / "nginx" / "nginx.conf"
        path.write_text(
            NGINX_CONF.format(
                dir=self.run_dir, user=user, servers=servers, port=self.port, root=ROOT
            )
        )
        return str(path)

    def start(self, name: str) -> subprocess.Popen:
        """Start one process (its own process group, its output in logs/NAME.log)."""
        if self.alive(name):
            raise ClusterError(f"{name} is already running (pid {self.pids[name]})")
        command, env = self._command(name)
        with open(self.run_dir / "logs" / f"{name}.log", "ab") as log:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pids[name] = process.pid
        self._children[name] = process
        self.save()
        return process

    def start_all(self, *, timeout: float = 90) -> None:
        for name in (*self.node_ports, *JOB_WORKERS):
            self.start(name)
        for name in self.node_ports:
            self.wait_ready(name, timeout=timeout)
        self.start("nginx")
        self._wait_answering(f"http://127.0.0.1:{self.port}/healthz", "nginx", timeout)

    def wait_ready(self, name: str, *, timeout: float = 90) -> None:
        """Until the node's /readyz answers 200 (migrated, database answering)."""
        self._wait_answering(f"http://127.0.0.1:{self.node_ports[name]}/readyz", name, timeout)

    def _wait_answering(self, url: str, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive(name):
                raise ClusterError(f"{name} exited; its log:\n{self.log_tail(name)}")
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.2)
        raise ClusterError(f"{name} not ready within {timeout:.0f} s:\n{self.log_tail(name)}")

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.run_dir / "logs" / f"{name}.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )

    def alive(self, name: str) -> bool:
        pid = self.pids.get(name)
        if pid is None:
            return False
        child = self._children.get(name)
        if child is not None and child.pid == pid:
            return child.poll() is None  # (and reaped once it exited)
        try:  # started by an earlier `cluster.py start`
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        return _MARKS[name.rstrip("0123456789")].encode() in cmdline

    def kill(self, name: str, sig: int = signal.SIGKILL, *, timeout: float = 30) -> None:
        """Signal the process's whole group (a gunicorn master and its workers), and wait until
        it is gone; past `timeout`, SIGKILL."""
        if not self.alive(name):
            return
        pid = self.pids[name]
        os.killpg(pid, sig)
        deadline = time.monotonic() + timeout
        while self.alive(name):
            if time.monotonic() > deadline:
                os.killpg(pid, signal.SIGKILL)
                deadline = time.monotonic() + 5
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):  # a worker its killed master left behind
            os.killpg(pid, signal.SIGKILL)

    def stop_all(self) -> None:
        for name in ("nginx", *self.node_ports, *JOB_WORKERS):
            self.kill(name, signal.SIGTERM)
        self.pids.clear()
        self.save()

    # --- trying it -------------------------------------------------------------------------------
    def text(self, phone: str, message: str, sid: str | None = None) -> tuple[int, str]:
        """Post one SMS through nginx, signed as Twilio signs it: (status, body)."""
        from urllib.parse import urlencode

        from twilio.request_validator import RequestValidator

        params = {"From": phone, "Body": message, "MessageSid": sid or "SM" + secrets.token_hex(16)}
        signed_url = self.env["PUBLIC_BASE_URL"].rstrip("/") + "/twilio/sms"
        signature = RequestValidator(self.env["TWILIO_AUTH_TOKEN"]).compute_signature(
            signed_url, params
        )
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/twilio/sms",
            data=urlencode(params).encode(),
            headers={"X-Twilio-Signature": signature},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")
        except urllib.error.URLError as error:
            raise ClusterError(
                f"nothing answers on port {self.port} ({error.reason}): is it running?"
            ) from None


def ensure_database(server: str, name: str, *, fresh: bool) -> tuple[str, bool]:
    """The URL of database `name` on `server`, and whether it was created now (it is when
    missing, and dropped first when `fresh`)."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from scheduler.db import make_engine

    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            if fresh:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    return url, not exists


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deploy/cluster.py", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop", "status", "text"])
    parser.add_argument("words", nargs="*", help="for text: PHONE MESSAGE")
    parser.add_argument(
        "--dir", type=Path, default=Path(os.environ.get("CLUSTER_DIR", DEFAULT_DIR))
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("CLUSTER_PORT", 8700)))
    parser.add_argument("--database", default="scheduler_cluster")
    parser.add_argument("--fresh", action="store_true", help="drop the cluster's database first")
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            return _start(args)
        cluster = Cluster.load(args.dir)
        if args.command == "stop":
            cluster.stop_all()
            print(f"cluster stopped (logs kept in {cluster.run_dir / 'logs'})")
        elif args.command == "status":
            for name in (*cluster.node_ports, *JOB_WORKERS, "nginx"):
                state = "running" if cluster.alive(name) else "stopped"
                print(f"{name:6} {state:8} pid {cluster.pids.get(name, '-')}")
        else:
            if len(args.words) != 2:
                parser.error("text needs PHONE and MESSAGE")
            status, body = cluster.text(*args.words)
            print(status, body)
    except ClusterError as error:
        print(f"cluster: {error}", file=sys.stderr)
        return 1
    return 0


def _start(args: argparse.Namespace) -> int:
    old = Cluster.load(args.dir) if (args.dir / "cluster.json").exists() else None
    if old is not None and any(old.alive(name) for name in old.pids):
        raise ClusterError(f"a cluster already runs from {args.dir}: `make cluster-stop` first")
    url, created = ensure_database(SERVER, args.database, fresh=args.fresh)
    kept: dict[str, str] = {}
    if not created:  # the data is encrypted under the key of the run that made it
        if old is None or old.database_url != url:
            raise ClusterError(
                f"database {args.database} exists but its key is not in {args.dir}: "
                "start over with --fresh (make cluster CLUSTER_FRESH=1)"
            )
        kept = {name: old.env[name] for name in ("ENCRYPTION_KEYS", "TWILIO_AUTH_TOKEN")}
    cluster = Cluster.create(args.dir, port=args.port, database_url=url, env=kept)
    cluster.save()
    cluster.migrate()
    try:
        cluster.start_all()
    except BaseException:
        cluster.stop_all()
        raise
    print(
        f"cluster: nginx on http://127.0.0.1:{cluster.port}/ (the web chat), web nodes on "
        f"{', '.join(str(p) for p in cluster.node_ports.values())}, job workers {', '.join(JOB_WORKERS)}; "
        f"database {args.database}; logs in {cluster.run_dir / 'logs'}\n"
        f"try: {sys.executable} deploy/cluster.py text +12125550142 'book a checkup tomorrow'\n"
        "stop: make cluster-stop"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
