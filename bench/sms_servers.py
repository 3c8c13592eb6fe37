"""The yardsticks of bench/bench_sms.py, each a Flask app that gunicorn serves like ours.

- `bare_app`: verify Twilio's signature, answer TwiML, nothing else (what the web stack costs).
- `floor_app`: the least an SMS turn has to store, written straight on the database driver
  (sqlite3, or psycopg on PostgreSQL), with no ORM, no dialogue, the same reply every time:
  verify, parse the number, claim the receipt, find or add the patient, count recent texts, read
  and write the encrypted conversation state, append two hash-chained audit events with
  encrypted text, store the encrypted TwiML, commit, one JSON log line. It takes the locks ours
  takes: on SQLite the write lock through scheduler/db.py's writer queue, which hands it from
  process to process at once; on PostgreSQL, for correctness across processes, an advisory lock
  on the sender (turns of one person in order) and one on the audit chain (its appends in
  order). Its tables live in a schema `floor` of ours' database, so both use the same server
  and settings.
- `ceiling_app`: the floor's turn, statement for statement, through the project's own data layer
  instead of the bare driver: scheduler/db.py's engine and one ORM Session a turn, as ours has.
  What a turn that stored no more than the floor could reach on this stack. Its tables are the
  floor's, in a file or a schema (`ceiling`) of their own.

The environment names the database: `FLOOR_DB` and `CEILING_DB` (SQLite files) or `FLOOR_URL` (a
libpq URL, for both).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import phonenumbers
from cryptography.fernet import Fernet
from flask import Flask, Response, request
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from scheduler.db import WriterQueue, make_engine, session_factory

BARE_REPLY = (
    "Maple Street Family Clinic: appointment texts to book, move or cancel visits. Msg & "
    "data rates may apply. Reply YES to continue, HELP for help, STOP to opt out."
)
CHAIN_LOCK = 7_210_002  # the floor's audit chain (ours takes its own key, bot/audit/chain.py)

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS receipts (id INTEGER PRIMARY KEY, key TEXT UNIQUE, at REAL, twiml BLOB);
CREATE TABLE IF NOT EXISTS patients (id INTEGER PRIMARY KEY, idx TEXT UNIQUE, phone BLOB);
CREATE TABLE IF NOT EXISTS states (idx TEXT PRIMARY KEY, state BLOB, at REAL);
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, kind TEXT, patient INTEGER, at REAL,
                                  detail TEXT, text BLOB, prev TEXT, hash TEXT);
CREATE INDEX IF NOT EXISTS audit_by_patient ON audit (patient, kind, at);
"""
_POSTGRES_SCHEMA = """
DROP SCHEMA IF EXISTS {schema} CASCADE;
CREATE SCHEMA {schema};
SET search_path = {schema};
CREATE TABLE IF NOT EXISTS receipts (id BIGSERIAL PRIMARY KEY, key TEXT UNIQUE,
                                     at DOUBLE PRECISION, twiml BYTEA);
CREATE TABLE IF NOT EXISTS patients (id BIGSERIAL PRIMARY KEY, idx TEXT UNIQUE, phone BYTEA);
CREATE TABLE IF NOT EXISTS states (idx TEXT PRIMARY KEY, state BYTEA, at DOUBLE PRECISION);
CREATE TABLE IF NOT EXISTS audit (seq BIGSERIAL PRIMARY KEY, kind TEXT, patient BIGINT,
                                  at DOUBLE PRECISION, detail TEXT, text BYTEA, prev TEXT,
                                  hash TEXT);
CREATE INDEX IF NOT EXISTS audit_by_patient ON audit (patient, kind, at);
"""


STORES = ("floor", "ceiling")  # the yardsticks that store; on PostgreSQL, their schemas


def _sqlite_files(env: dict[str, str]) -> dict[str, str]:
    return {"floor": env["FLOOR_DB"], "ceiling": env["CEILING_DB"]}


def prepare_floor(env: dict[str, str]) -> None:
    """The floor's tables and the ceiling's, made once before the workers start (two would race
    on them)."""
    if "FLOOR_URL" in env:
        import psycopg

        with psycopg.connect(env["FLOOR_URL"], autocommit=True) as connection:
            for schema in STORES:
                connection.execute(_POSTGRES_SCHEMA.format(schema=schema))
    else:
        for path in _sqlite_files(env).values():
            with sqlite3.connect(path) as connection:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.executescript(_SQLITE_SCHEMA)
            connection.close()


def stored_turns(env: dict[str, str]) -> dict[str, int]:
    """The turns the floor and the ceiling stored: receipts with their answer."""
    count = "SELECT count(*) FROM {}receipts WHERE twiml IS NOT NULL"
    if "FLOOR_URL" in env:
        import psycopg

        with psycopg.connect(env["FLOOR_URL"]) as connection:
            return {
                name: connection.execute(count.format(f"{name}.")).fetchone()[0] for name in STORES
            }
    stored = {}
    for name, path in _sqlite_files(env).items():
        with sqlite3.connect(path) as connection:
            stored[name] = connection.execute(count.format("")).fetchone()[0]
        connection.close()
    return stored


def bare_app() -> Flask:
    """The baseline: verify Twilio's signature, answer TwiML. Nothing else."""
    app = Flask("bare_twiml")
    validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
    base = os.environ["PUBLIC_BASE_URL"].rstrip("/")

    @app.post("/twilio/sms")
    def sms():
        if not validator.validate(
            base + request.path, request.form, request.headers.get("X-Twilio-Signature", "")
        ):
            return Response("invalid Twilio signature\n", status=403, mimetype="text/plain")
        response = MessagingResponse()
        response.message(BARE_REPLY)
        return Response(str(response), mimetype="application/xml")

    return app


class _SqliteFloor:
    """One thread's connection; BEGIN IMMEDIATE makes the turn the only writer. The write lock is
    taken through `queue` first, scheduler/db.py's writer queue, as ours takes it: a turn waiting
    in SQLite's own busy handler instead sleeps between tries, and left the lock idle enough to
    cost this floor 6-20 % of its throughput (BENCHMARKS.md, session 16)."""

    mark = "?"

    def __init__(self, queue: WriterQueue) -> None:
        self.queue = queue
        self.db = sqlite3.connect(os.environ["FLOOR_DB"], isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")

    def begin(self, person: int) -> None:
        self.queue.acquire()
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.queue.release()
            raise

    def chain_lock(self) -> None:
        pass  # the write lock, held since BEGIN IMMEDIATE

    def one(self, sql: str, args: tuple) -> Any:
        return self.db.execute(sql, args).fetchone()

    def run(self, sql: str, args: tuple) -> None:
        self.db.execute(sql, args)

    def many(self, sql: str, rows: list[tuple]) -> None:
        self.db.executemany(sql, rows)

    def commit(self) -> None:
        try:
            self.db.execute("COMMIT")
        finally:
            self.queue.release()

    def rollback(self) -> None:
        try:
            self.db.execute("ROLLBACK")
        finally:
            self.queue.release()


class _PostgresFloor:
    """One worker's connection; the advisory locks order what needs an order."""

    mark = "%s"

    def __init__(self) -> None:
        import psycopg

        self.db = psycopg.connect(os.environ["FLOOR_URL"], options="-c search_path=floor")

    def begin(self, person: int) -> None:
        self.db.execute("SELECT pg_advisory_xact_lock(%s)", (person,))

    def chain_lock(self) -> None:
        self.db.execute("SELECT pg_advisory_xact_lock(%s)", (CHAIN_LOCK,))

    def one(self, sql: str, args: tuple) -> Any:
        return self.db.execute(sql.replace("?", "%s"), args).fetchone()

    def run(self, sql: str, args: tuple) -> None:
        self.db.execute(sql.replace("?", "%s"), args)

    def many(self, sql: str, rows: list[tuple]) -> None:
        self.db.cursor().executemany(sql.replace("?", "%s"), rows)

    def commit(self) -> None:
        self.db.commit()

    def rollback(self) -> None:
        self.db.rollback()


class _DataLayerFloor:
    """One thread's turns through the project's data layer: a Session a turn, the floor's SQL
    sent as it is (`exec_driver_sql`) on the Session's connection, whose BEGIN is the engine's
    (BEGIN IMMEDIATE behind the writer queue on SQLite)."""

    def __init__(self, sessions: sessionmaker[Session], postgres: bool) -> None:
        self.sessions, self.postgres = sessions, postgres
        self.mark = "%s" if postgres else "?"

    def begin(self, person: int) -> None:
        self.session = self.sessions()
        self.connection = self.session.connection()  # BEGIN, from the engine's own hooks
        if self.postgres:
            self.run("SELECT pg_advisory_xact_lock(?)", (person,))

    def chain_lock(self) -> None:
        if self.postgres:
            self.run("SELECT pg_advisory_xact_lock(?)", (CHAIN_LOCK,))

    def one(self, sql: str, args: tuple) -> Any:
        return self.connection.exec_driver_sql(sql.replace("?", self.mark), args).first()

    def run(self, sql: str, args: tuple) -> None:
        self.connection.exec_driver_sql(sql.replace("?", self.mark), args)

    def many(self, sql: str, rows: list[tuple]) -> None:
        self.connection.exec_driver_sql(sql.replace("?", self.mark), rows)

    def commit(self) -> None:
        self.session.commit()
        self.session.close()

    def rollback(self) -> None:
        self.session.rollback()
        self.session.close()


def ceiling_app() -> Flask:
    """The floor's turn through the project's engine and Session (see the module's text)."""
    if "FLOOR_URL" in os.environ:
        url = make_url(os.environ["FLOOR_URL"]).set(drivername="postgresql+psycopg")
        engine = make_engine(
            url.render_as_string(hide_password=False),
            connect_args={"options": "-c search_path=ceiling"},
        )
    else:
        engine = make_engine(f"sqlite:///{os.environ['CEILING_DB']}")
    sessions = session_factory(engine)  # one engine and pool a worker, as ours
    return floor_app(partial(_DataLayerFloor, sessions, "FLOOR_URL" in os.environ))


def floor_app(kind: Callable[[], Any] | None = None) -> Flask:
    """For scale, not a baseline: the least an SMS turn must store, on the driver directly (or
    on what `kind` makes: one thread's store, `ceiling_app`'s)."""
    app = Flask("floor_twiml")
    validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
    base = os.environ["PUBLIC_BASE_URL"].rstrip("/")
    fernet = Fernet(os.environ["ENCRYPTION_KEYS"])
    index_key = hashlib.sha256(os.environ["ENCRYPTION_KEYS"].encode()).digest()
    log = logging.getLogger("bench.floor")
    log.addHandler(logging.FileHandler(os.environ["FLOOR_LOG"]))
    log.setLevel(logging.INFO)
    log.propagate = False
    if kind is None and "FLOOR_URL" in os.environ:
        kind = _PostgresFloor
    elif kind is None:
        # One queue a process, made after the fork (gunicorn builds the app in each worker).
        kind = partial(_SqliteFloor, WriterQueue(os.environ["FLOOR_DB"] + "-writer.lock"))
    # One connection a thread (a gthread worker has several), opened after the fork.
    store = threading.local()

    @app.post("/twilio/sms")
    def sms():
        if not validator.validate(
            base + request.path, request.form, request.headers.get("X-Twilio-Signature", "")
        ):
            return Response("invalid Twilio signature\n", status=403, mimetype="text/plain")
        form, began = request.form, time.perf_counter()
        phone = phonenumbers.format_number(
            phonenumbers.parse(form["From"], "US"), phonenumbers.PhoneNumberFormat.E164
        )
        index = hmac.new(index_key, phone.encode(), hashlib.sha256).hexdigest()
        now = time.time()
        db = getattr(store, "db", None)
        if db is None:
            db = store.db = kind()
        db.begin(int(index[:16], 16) - (1 << 63))
        try:
            receipt = db.one(
                "INSERT INTO receipts (key, at) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING id",
                (index[:16] + form["MessageSid"], now),
            )
            patient = db.one("SELECT id FROM patients WHERE idx = ?", (index,))
            if patient is None:
                patient = db.one(
                    "INSERT INTO patients (idx, phone) VALUES (?, ?) RETURNING id",
                    (index, fernet.encrypt(phone.encode())),
                )
            db.one(
                "SELECT count(*) FROM audit WHERE patient = ? AND kind = 'in' AND at > ?",
                (patient[0], now - 600),
            )
            row = db.one("SELECT state FROM states WHERE idx = ?", (index,))
            state = json.loads(fernet.decrypt(bytes(row[0]))) if row else {}
            state["texts"] = state.get("texts", 0) + 1
            db.run(
                "INSERT INTO states (idx, state, at) VALUES (?, ?, ?) ON CONFLICT (idx) "
                "DO UPDATE SET state = excluded.state, at = excluded.at",
                (index, fernet.encrypt(json.dumps(state).encode()), now),
            )
            db.chain_lock()
            tail = db.one("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1", ())
            prev, events = tail[0] if tail else "0" * 64, []
            for kind_, text in (("in", form["Body"]), ("out", BARE_REPLY)):
                detail = json.dumps({"chars": len(text)})
                digest = hashlib.sha256(
                    json.dumps(
                        [
                            prev,
                            kind_,
                            patient[0],
                            now,
                            detail,
                            hashlib.sha256(text.encode()).hexdigest(),
                        ]
                    ).encode()
                ).hexdigest()
                events.append(
                    (kind_, patient[0], now, detail, fernet.encrypt(text.encode()), prev, digest)
                )
                prev = digest
            db.many(
                "INSERT INTO audit (kind, patient, at, detail, text, prev, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                events,
            )
            response = MessagingResponse()
            response.message(BARE_REPLY)
            twiml = str(response)
            db.run(
                "UPDATE receipts SET twiml = ? WHERE id = ?",
                (fernet.encrypt(twiml.encode()), receipt[0] if receipt else 0),
            )
            db.commit()
        except BaseException:
            db.rollback()
            raise
        log.info(json.dumps({"event": "sms", "ms": round((time.perf_counter() - began) * 1000, 3)}))
        return Response(twiml, mimetype="application/xml")

    return app
