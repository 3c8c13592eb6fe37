"""Search answers: `searchset` Bundles with `total`, a `self` link and, when more follow, a
`next` link, paged by keyset.

A page is `_count` matches (default 50, at most 200; 0: the total alone) after the position
`_cursor` names; the `next` link is the same search with the last match's position as its
`_cursor`. Positions are opaque to clients: a resource id where the list is ordered by id (the
clinic's resources), a Slot's id (Slots are ordered by start, provider and type, which the id
encodes), an appointment's start and id (adapters/api/paging.py's cursor). So following `next`
never repeats a match, and a page deep in the list costs what the first one does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import request

from scheduler.fhir.search import SearchError, count_of

from .calls import base_url, site_root

T = TypeVar("T")
K = TypeVar("K")


def count() -> int:
    return count_of(request.args.get("_count"))


def cursor() -> str | None:
    value = request.args.get("_cursor")
    if value is not None and not value:
        raise SearchError("_cursor", "is empty")
    return value


def page_after(
    items: Sequence[T],
    position: Callable[[T], K],
    after: K | None,
    size: int,
) -> tuple[list[T], bool]:
    """The `size` items after position `after` (items in order of `position`), and whether
    more follow."""
    rest = [item for item in items if after is None or position(item) > after]  # type: ignore[operator]
    return rest[:size], len(rest) > size


def _link(relation: str, next_cursor: str | None = None) -> dict[str, str]:
    params = [(k, v) for k, v in request.args.items(multi=True) if k != "_cursor"]
    if next_cursor is not None:
        params.append(("_cursor", next_cursor))
    query = urlencode(params)
    return {
        "relation": relation,
        "url": site_root() + request.path + (f"?{query}" if query else ""),
    }


def searchset(
    resources: Sequence[dict[str, Any]], total: int, next_cursor: str | None
) -> dict[str, Any]:
    base = base_url()
    links = [_link("self")]
    if next_cursor is not None:
        links.append(_link("next", next_cursor))
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
    }
    if resources:  # FHIR JSON has no empty arrays
        bundle["entry"] = [
            {
                "fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
                "resource": resource,
                "search": {"mode": "match"},
            }
            for resource in resources
        ]
    return bundle
