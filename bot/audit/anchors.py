"""What anchors the audit chain's head outside the table: the mirror and signed checkpoints.

Cutting events off the end of the chain leaves every remaining link intact, so the chain's end is
held against points known elsewhere (`Anchor`s): the newest event `logs/audit.log` mirrors (each
line carries the chain's id, the hash of its first event, so a new database never reads an old
one's lines), read backwards from the end; and the daily signed `Checkpoint` of the head (seq,
hash, time, an HMAC under the vault's keys), given to the staff channel with `checkpoint_notice`
and handed back to `audit verify --checkpoint`. The chain module (chain.py) compares them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot import logfiles


@dataclass(frozen=True)
class Anchor:
    """A point of the chain known outside the table: event `seq` had `hash`."""

    seq: int
    hash: str
    source: str


_CHECKPOINT = re.compile(
    r"audit checkpoint (?P<at>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) "
    r"event (?P<seq>\d{1,18}) hash (?P<hash>[0-9a-f]{64}) "
    r"sig (?P<sig>[0-9a-f]{64})"
)


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head at a moment, signed: what the staff channel is given each day."""

    seq: int
    hash: str
    at: datetime
    signature: str

    @property
    def source(self) -> str:
        return f"the checkpoint of {self.at:%Y-%m-%dT%H:%M:%SZ}"

    @property
    def signed_text(self) -> str:
        return f"audit-checkpoint:{self.at:%Y-%m-%dT%H:%M:%SZ}:{self.seq}:{self.hash}"

    def text(self) -> str:
        return (
            f"audit checkpoint {self.at:%Y-%m-%dT%H:%M:%SZ} event {self.seq} "
            f"hash {self.hash} sig {self.signature}"
        )

    @classmethod
    def parse(cls, text: str) -> Checkpoint | None:
        m = _CHECKPOINT.search(text or "")
        if m is None:
            return None
        at = datetime.strptime(m["at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        return cls(int(m["seq"]), m["hash"], at, m["sig"])


def checkpoint_notice(checkpoint: Checkpoint) -> str:
    """What the staff channel is given each day (ids and hashes only)."""
    return (
        f"Daily audit checkpoint: keep this line. To check that no audit event was removed "
        f'since, an admin runs `flask --app app audit verify --checkpoint "..."` with it.\n'
        f"{checkpoint.text()}"
    )


def audit_mirror(settings) -> Path:
    """Where the audit log mirrors the chain (LOG_DIR/audit.log)."""
    return Path(settings.log_dir) / logfiles.FILES["audit"]


# --- the mirror in logs/audit.log -----------------------------------------------------------------

_MIRROR_BLOCK = 64 * 1024
# Lines from several processes interleave a little: this far below a seq, its line is surely
# read by the time the backward scan stops.
_MIRROR_SLACK = 200


def _mirror_lines(path: Path, chain: str):
    """The mirror's lines of this chain, newest first (read backwards in blocks)."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 (a missing mirror ends the generator)
    except OSError:
        return
    with handle:
        handle.seek(0, 2)
        position, rest = handle.tell(), b""
        while position > 0:
            size = min(_MIRROR_BLOCK, position)
            position -= size
            handle.seek(position)
            lines = (handle.read(size) + rest).split(b"\n")
            rest = lines.pop(0) if position > 0 else b""
            for raw in reversed(lines):
                line = _mirror_line(raw, chain)
                if line is not None:
                    yield line
        line = _mirror_line(rest, chain)
        if line is not None:
            yield line


def _mirror_line(raw: bytes, chain: str) -> dict | None:
    try:
        line = json.loads(raw)
    except ValueError:
        return None
    if (
        not isinstance(line, dict)
        or line.get("chain") != chain
        or not isinstance(line.get("seq"), int)
    ):
        return None
    return line


def _mirror_head(path: Path, chain: str) -> Anchor | None:
    """The newest event of this chain that the mirror names."""
    best: dict | None = None
    for line in _mirror_lines(path, chain):
        if best is None or line["seq"] > best["seq"]:
            best = line
        elif line["seq"] < best["seq"] - _MIRROR_SLACK:
            break
    return Anchor(best["seq"], best["hash"], path.name) if best else None


def _mirror_time(path: Path, chain: str, seq: int) -> str | None:
    """When the mirror wrote event `seq` of this chain, if it did."""
    for line in _mirror_lines(path, chain):
        if line["seq"] == seq:
            return line.get("ts")
        if line["seq"] < seq - _MIRROR_SLACK:
            return None
    return None
