"""The three JSON-lines log files: audit.log, orchestration.log, performance.log.

Each line is one JSON object of ids, counts, hashes and timings. Callers pass structured fields,
never message text, names or phone numbers; the files are safe to ship to a log service.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from logging.handlers import WatchedFileHandler
from pathlib import Path

FILES = {
    "audit": "audit.log",
    "orchestration": "orchestration.log",
    "performance": "performance.log",
}


class _JsonLines(logging.Formatter):
    """One JSON object per item of a record's `lines`, one line each."""

    def format(self, record: logging.LogRecord) -> str:
        common = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "event": record.getMessage(),
        }
        return "\n".join(
            json.dumps({**common, **fields}, default=str, sort_keys=True)
            for fields in getattr(record, "lines", [{}])
        )


def configure(log_dir: Path) -> None:
    """Point each log at its file in `log_dir` (called once by create_app; idempotent)."""
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    for name, filename in FILES.items():
        logger = logging.getLogger(f"scheduler.{name}")
        logger.setLevel(logging.INFO)
        logger.propagate = False
        path = str((log_dir / filename).resolve())
        for handler in list(logger.handlers):
            if getattr(handler, "baseFilename", None) != path:
                logger.removeHandler(handler)
                handler.close()
        if not logger.handlers:
            handler = WatchedFileHandler(path, encoding="utf-8")
            handler.setFormatter(_JsonLines())
            logger.addHandler(handler)


def write(log: str, event: str, **fields: object) -> None:
    """Append one JSON line to `log` ("audit", "orchestration" or "performance")."""
    write_lines(log, event, [fields])


def write_lines(log: str, event: str, lines: Sequence[Mapping[str, object]]) -> None:
    """Append one JSON line per item of `lines` to `log`, in one write (the audit mirror of a
    transaction's events: one file check and one flush, however many events)."""
    if lines:
        logging.getLogger(f"scheduler.{log}").info(event, extra={"lines": lines})
