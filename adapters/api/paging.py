"""Cursor paging of a list ordered by (start, id): keyset, not offset.

A page is `limit` rows after the cursor; `next_cursor` names the last row given (its start and
id, base64url: opaque to clients), and the next page is the rows strictly after it in that
order. So a page never repeats or skips a row, whatever is booked or cancelled between pages,
and a page deep in the list costs what the first one does (the index on `start_at`, no OFFSET).
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from .problems import invalid


def encode(start: datetime, row_id: int) -> str:
    micros = int(start.timestamp()) * 1_000_000 + start.microsecond
    raw = f"{micros}:{row_id}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode(cursor: str) -> tuple[datetime, int]:
    """The (start, id) a cursor names; a 422 for anything this API did not give out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        micros_text, _, id_text = raw.partition(":")
        micros, row_id = int(micros_text), int(id_text)
        if not (micros_text.lstrip("-").isdigit() and id_text.isdigit()) or row_id >= 2**31:
            raise ValueError(cursor)
        seconds, rest = divmod(micros, 1_000_000)
        start = datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest)
    except (ValueError, UnicodeDecodeError, binascii.Error, OverflowError, OSError):
        raise invalid("cursor", "is not a cursor this API gave out") from None
    return start, row_id
