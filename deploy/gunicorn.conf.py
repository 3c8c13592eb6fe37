"""gunicorn's settings for one web node: `gunicorn -c deploy/gunicorn.conf.py 'app:create_app()'`.

The systemd unit (deploy/systemd/scheduler-web@.service), the Procfile and `make cluster` all
start the nodes with this file; the environment picks what differs between machines:

- `WEB_BIND`: where the node listens (default `127.0.0.1:8001`; `0.0.0.0:$PORT` where only `PORT`
  is set, as on a Procfile platform). nginx in front balances over the nodes (deploy/nginx/).
- `WEB_WORKERS`: processes, default one per CPU core. A turn is Python holding the GIL for a few
  milliseconds, so more processes than cores only queue on the CPU; fewer leave a core idle.
- `WEB_THREADS`: threads per process (gthread), default 8. Most of a request's life is waiting:
  on the database, on Bedrock (seconds), on Twilio's REST API for a late reply. With the `sync`
  worker one slow Bedrock turn holds the whole process for up to the webhook's 10 s budget; eight
  threads keep the core busy with other texts meanwhile. More than the database pool lends at once
  (SQLAlchemy's 5 + 10 overflow a process) would only wait for a connection.

The timeouts follow Twilio's: it waits 15 s for a webhook's answer, and the app answers within
its 10 s budget (`TWILIO_REPLY_BUDGET_SECONDS`), then sends a slow reply by REST.

`post_worker_init` settles each worker's heap once its app is built (`app.settle_heap`), so that
Python's full garbage collections stop taking 100-150 ms out of requests.
"""

from __future__ import annotations

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else default


_port = os.environ.get("PORT", "").strip()
bind = [os.environ.get("WEB_BIND") or (f"0.0.0.0:{_port}" if _port else "127.0.0.1:8001")]
workers = _int("WEB_WORKERS", multiprocessing.cpu_count())
worker_class = "gthread"
threads = _int("WEB_THREADS", 8)

# A worker silent this long is stuck (no request takes it: the budget is 10 s): the master kills
# and replaces it.
timeout = 30
# On SIGTERM (a rolling restart, `systemctl stop`): stop accepting, finish what is in flight (a
# turn within its budget, then its late reply), then exit. Below systemd's TimeoutStopSec (35 s).
graceful_timeout = 25
# Idle keep-alive connections from nginx stay open this long: above nginx's upstream
# keepalive_timeout (60 s, deploy/nginx/), so nginx, not gunicorn, closes an idle one, and
# never sends a request down a connection gunicorn is closing.
keepalive = 75
# Connections waiting for a worker; past it the kernel refuses and nginx tries the next node.
backlog = 256

# Not `preload_app`: each worker builds its own app after the fork, with its own database pool
# (connections must never be shared across a fork) and its own turn threads.
preload_app = False


def post_worker_init(worker: object) -> None:
    """The worker has built its app: what it built lives as long as the worker, so the garbage
    collector stops walking it on every full collection (app.settle_heap: 100-150 ms each)."""
    from app import settle_heap

    settle_heap()


# Logs to standard output and error: journald (systemd) or the platform keeps them. The access
# log names no patient (paths and statuses; a webhook's form is in the body, not the URL).
accesslog = os.environ.get("WEB_ACCESS_LOG", "-") or None  # "": none
errorlog = "-"
loglevel = os.environ.get("WEB_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
