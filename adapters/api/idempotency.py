"""`Idempotency-Key` on POST: the same user, key and request are done once and answered the same.

The key is claimed first, in the request's own transaction: a row of `IdempotentRequest`
(primary key: user and key) holding the request's fingerprint (SHA-256 of the method, the path
and the body, the body's JSON in canonical form) and, once the call is done, its answer (status,
body encrypted with the vault, Location), all committed with the change itself. Then:

- the same key and the same request again within 24 hours: the stored answer, with
  `Idempotent-Replayed: true`, and nothing done again;
- the same key with another method, path or body within 24 hours: a 422 problem;
- two requests with the same key at the same moment: the claim is an insert that the primary key
  refuses for the second (ON CONFLICT, updating only a row past its 24 hours: on PostgreSQL it
  waits for the first's transaction, then changes nothing); the second then answers the first's
  stored answer (SQLite runs one writer at a time, so the second simply finds the row). A claim
  found without an answer (not possible once committed, but checked) is a 409.

A call that fails before it starts (a body that is not valid, a token that is not) stores
nothing, so it can be retried with the same key once corrected; a refusal of the scheduler (a
taken time, say) is an answer, stored and replayed like a success.

A key is remembered for 24 hours (`IDEMPOTENCY_KEY_LIFETIME`) from its first request: after that
the same key is a new request, done and answered anew (the claim takes over the old row, whatever
its request was). The maintenance job deletes the older rows (jobs/maintenance.py
`purge_idempotent_requests`), but nothing here waits for it: a row past its 24 hours is never
replayed, purged yet or not.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime

from flask import Response, request
from sqlalchemy import bindparam, null, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from scheduler.crypto import Vault
from scheduler.models import IdempotentRequest, StaffUser
from scheduler.models.accounts import IDEMPOTENCY_KEY_LIFETIME

from .problems import PROBLEM, ApiProblem, invalid

HEADER = "Idempotency-Key"
MAX_KEY = 200
_KEY = re.compile(rf"^[\x21-\x7e]{{1,{MAX_KEY}}}$")  # visible ASCII, no spaces
IN_PROGRESS = 0  # the status of a claimed key whose call has not answered yet

PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "description": "a key of your choosing (up to 200 visible ASCII characters): the same "
    "key and body again within 24 hours is answered the same, without booking twice; after "
    "24 hours the key is forgotten and a request with it is a new one",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY, "pattern": r"^[!-~]+$"},
}


def requested_key() -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not _KEY.match(key):
        raise invalid(HEADER, f"must be 1 to {MAX_KEY} visible ASCII characters")
    return key


def fingerprint() -> str:
    body = request.get_data(cache=True)
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
        payload = canonical.encode()
    except ValueError:  # not JSON (the call will refuse it): its bytes as they came
        payload = body
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), payload):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _stored(db: Session, user: StaffUser, key: str, now: datetime) -> IdempotentRequest | None:
    return db.scalars(
        select(IdempotentRequest)
        .where(
            IdempotentRequest.user_id == user.id,
            IdempotentRequest.key == key,
            IdempotentRequest.created_at >= now - IDEMPOTENCY_KEY_LIFETIME,
        )
        .execution_options(populate_existing=True)
    ).first()


def _claim_statement(dialect):
    """INSERT ... ON CONFLICT on the primary key: a new key costs one statement, and on
    PostgreSQL an insert of a key another transaction holds uncommitted waits for it, then
    (once it committed) takes the row over only if it is past its lifetime (`stale_before`),
    else does nothing; had it rolled back, it inserts. A row taken over starts again as a claim
    made now: the old request's fingerprint and answer are gone."""
    claim_ = dialect.insert(IdempotentRequest)
    new = claim_.excluded
    return claim_.on_conflict_do_update(
        index_elements=["user_id", "key"],
        set_={
            "fingerprint": new.fingerprint,
            "status": new.status,
            "body_enc": new.body_enc,
            "location": null(),
            "created_at": new.created_at,
        },
        where=IdempotentRequest.created_at < bindparam("stale_before"),
    ).returning(IdempotentRequest.user_id)


_CLAIM = {
    name: _claim_statement(dialect)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_ANSWER = (
    update(IdempotentRequest)
    .where(IdempotentRequest.user_id == bindparam("uid"), IdempotentRequest.key == bindparam("k"))
    .values(status=bindparam("status"), body_enc=bindparam("body"), location=bindparam("loc"))
)


def claim(db: Session, vault: Vault, user: StaffUser, key: str, now: datetime) -> Response | None:
    """Claim `key` for this request (None: go ahead), or the answer to give instead. A key
    first used `IDEMPOTENCY_KEY_LIFETIME` ago or longer is claimed anew."""
    print_ = fingerprint()
    claimed = db.execute(
        _CLAIM[db.get_bind().dialect.name],
        {
            "user_id": user.id,
            "key": key,
            "fingerprint": print_,
            "status": IN_PROGRESS,
            "body_enc": b"",
            "created_at": now,
            "stale_before": now - IDEMPOTENCY_KEY_LIFETIME,
        },
    ).first()
    if claimed is not None:
        return None
    row = _stored(db, user, key, now)  # the same key's request that came first: its answer
    if row is None:
        raise _in_progress()
    return _replay(row, print_, vault)


def _in_progress() -> ApiProblem:
    return ApiProblem(
        409, "a request with this Idempotency-Key is still in progress", kind="in-progress"
    )


def _replay(row: IdempotentRequest, print_: str, vault: Vault) -> Response:
    if row.fingerprint != print_:
        raise ApiProblem(
            422,
            "this Idempotency-Key was used for another request",
            kind="idempotency-key-reused",
            errors={HEADER: ["was used for another request"]},
        )
    if row.status == IN_PROGRESS:
        raise _in_progress()
    headers = {"Idempotent-Replayed": "true"}
    if row.location:
        headers["Location"] = row.location
    return Response(
        vault.decrypt(row.body_enc),
        status=row.status,
        headers=headers,
        mimetype=PROBLEM if row.status >= 400 else "application/json",
    )


def store(db: Session, vault: Vault, user: StaffUser, key: str, answer: Response) -> None:
    """Keep the answer with the claimed key, in the call's transaction."""
    db.execute(
        _ANSWER,
        {
            "uid": user.id,
            "k": key,
            "status": answer.status_code,
            "body": vault.encrypt(answer.get_data(as_text=True)) or b"",
            "loc": answer.headers.get("Location"),
        },
    )
