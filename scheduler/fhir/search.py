"""FHIR R4 search-parameter values, as the facade reads them (docs/fhir.md, "The FHIR facade").

The grammar of the three kinds of parameter the facade takes, independent of any web framework:

- date (`start`, `date`): a prefix (`eq`, the default, or `ge`, `gt`, `le`, `lt`) and a date or
  an instant at any FHIR precision (`2026`, `2026-03`, `2026-03-09`, `2026-03-09T10:00`,
  `2026-03-09T10:00:00-05:00`). A value without an offset is the clinic's local time. The value
  stands for the interval its precision covers (a day: local midnight to midnight), and the
  prefix compares an instant with that interval, as the FHIR specification says: `ge` the
  interval's start or later, `gt` after its end, `lt` before its start, `le` up to its end.
  Several values narrow each other (`start=ge2026-03-09&start=lt2026-03-16`).
- token (`status`, `service-type`, `identifier`): `code`, `system|code` or `|code`, several
  separated by commas (any of them).
- reference (`schedule`, `patient`, `practitioner`, `actor`): `Type/id`, a bare `id`, or the
  whole URL of one; several separated by commas.

Anything else (`date=tomorrow`, the `ne`, `sa`, `eb` or `ap` prefixes, a reference to another
type) is a `SearchError`: the facade answers 400 naming the parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from scheduler.errors import SchedulingError

PREFIXES = ("eq", "ge", "gt", "le", "lt")
UNSUPPORTED = ("ne", "sa", "eb", "ap")  # FHIR's other prefixes
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_DATE = re.compile(
    r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,9}))?)?"
    r"(?P<offset>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


class SearchError(SchedulingError):
    """A search parameter the facade does not take, or a value it cannot read (a 400)."""

    code = "bad_search"

    def __init__(self, parameter: str, message: str):
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


@dataclass(frozen=True)
class Bounds:
    """An interval of instants: from `lower` (included) to `upper` (excluded); None: open."""

    lower: datetime | None = None
    upper: datetime | None = None

    def narrowed(self, lower: datetime | None, upper: datetime | None) -> Bounds:
        if lower is not None and (self.lower is None or lower > self.lower):
            self = Bounds(lower, self.upper)
        if upper is not None and (self.upper is None or upper < self.upper):
            self = Bounds(self.lower, upper)
        return self

    @property
    def empty(self) -> bool:
        return self.lower is not None and self.upper is not None and self.lower >= self.upper


def date_interval(parameter: str, text: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants [start, end) a FHIR date or dateTime value covers, at its precision."""
    found = _DATE.match(text.replace(" ", "+"))  # an unescaped "+" of an offset reads as " "
    if found is None:
        raise SearchError(
            parameter, f"{text!r} is not a FHIR date or dateTime (like 2026-03-09 or ge2026-03-09)"
        )
    part = {k: v for k, v in found.groupdict().items() if v is not None}
    offset = part.pop("offset", None)
    tz: tzinfo = zone
    try:
        if offset == "Z":
            tz = UTC
        elif offset is not None:
            sign = 1 if offset[0] == "+" else -1
            tz = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
        start = datetime(
            int(part["year"]),
            int(part.get("month", 1)),
            int(part.get("day", 1)),
            int(part.get("hour", 0)),
            int(part.get("minute", 0)),
            int(part.get("second", 0)),
            int((part.get("fraction", "0") + "000000")[:6]),
            tzinfo=tz,
        )
        if "fraction" in part or "second" in part:
            end = start + timedelta(seconds=1)
        elif "hour" in part:
            end = start + timedelta(minutes=1)
        elif "day" in part:
            end = datetime.combine(start.date() + timedelta(days=1), start.time(), tzinfo=tz)
        elif "month" in part:
            year, month = divmod(start.month, 12)
            end = start.replace(year=start.year + year, month=month + 1)
        else:
            end = start.replace(year=start.year + 1)
        return start.astimezone(UTC), end.astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise SearchError(parameter, f"{text!r} is not a real date ({error})") from None


def date_bounds(parameter: str, values: list[str], zone: ZoneInfo) -> Bounds:
    """The instants every value of a date parameter allows (they all must hold)."""
    bounds = Bounds()
    for value in values:
        if "," in value:
            raise SearchError(parameter, "several dates in one value (a comma) are not supported")
        prefix, text = (value[:2], value[2:]) if value[:2] in PREFIXES else ("eq", value)
        if value[:2] in UNSUPPORTED and value[2:3].isdigit():
            raise SearchError(
                parameter,
                f"the prefix {value[:2]!r} is not supported (only {', '.join(PREFIXES)})",
            )
        start, end = date_interval(parameter, text, zone)
        bounds = bounds.narrowed(
            *{
                "eq": (start, end),
                "ge": (start, None),
                "gt": (end, None),
                "lt": (None, start),
                "le": (None, end),
            }[prefix]
        )
    return bounds


def token_codes(parameter: str, value: str, system: str | None) -> list[str]:
    """The codes a token value asks for (`code`, `system|code`, `|code`, comma-separated). A
    system other than `system` matches nothing, so it drops out (a search for it finds none)."""
    codes = []
    for item in value.split(","):
        asked_system, bar, code = item.rpartition("|")
        if not code:
            raise SearchError(parameter, f"{item!r} has no code")
        if bar and asked_system and asked_system != system:
            continue
        codes.append(code)
    return codes


def reference_ids(parameter: str, value: str, resource_type: str) -> list[str]:
    """The ids a reference value names (`Type/id`, `id`, or a URL ending in `Type/id`)."""
    ids = []
    for item in value.split(","):
        kind, slash, ident = item.rpartition("/")
        if slash:
            kind = kind.rsplit("/", 1)[-1]
            if kind != resource_type:
                raise SearchError(parameter, f"{item!r} is not a reference to a {resource_type}")
        if not FHIR_ID.match(ident):
            raise SearchError(parameter, f"{item!r} is not a {resource_type} id")
        ids.append(ident)
    return ids


def count_of(value: str | None, *, default: int = 50, most: int = 200) -> int:
    """`_count`: a whole number 0..`most` (0: the total only); `default` when not given."""
    if value is None:
        return default
    if not value.isdigit():
        raise SearchError("_count", f"{value!r} is not a whole number")
    count = int(value)
    if count > most:
        raise SearchError("_count", f"at most {most}")
    return count
