"""One message understood: `understand()` and its result, `Understanding`; and the same as JSON
lines on the command line (`python -m bot.nlu`).

`understand(text, now, vocabulary)` reads a message the way a clinic receptionist would and returns
an `Understanding`: what the person wants (the intent) and the date, time, part of day, provider,
appointment type, urgency and numbered choice it mentions. It keeps no state: the dialogue layer
decides, with the conversation's state, what a bare "yes" or "tomorrow at 3" means there.

It reads, in this order: the language (bot/understanding/language.py); triage's red flags, always
"emergency" (triage.py); the whole message as one form, in Spanish (spanish.py) then in English
(intents.py); then, with the typos put right (typos.py) or the Spanish phrasing rewritten into the
rules' words (spanish.py), the entities: a reference number (intents.py), the date (dates.py), the
part of day, time and urgency (times.py), the provider and appointment type (vocabulary.py); and
last the intent its words name anywhere (intents.py). All dates are relative to `now.date()`, the
clinic's today.

Work is capped (only the first `MAX_CHARS` characters are read; triage reads a little further),
every regex is compiled once at import, a regex is only searched where the text could hold its
match, and the typo index is built once per `Vocabulary`: a typical message takes well under 0.2
ms, the longest input under a millisecond. Message text is never printed or logged.

The command line reads one JSON object a line, {"text": ..., "now": ISO-8601 (optional, default
the current time), "tz": IANA zone (optional, default the clinic's)}, and writes one a line,
`Understanding.as_json()` or {"error": ...}.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

from bot.understanding import dates, intents, spanish, times
from bot.understanding import language as languages
from bot.understanding.intents import INTENTS
from bot.understanding.spanish import plain
from bot.understanding.text import MAX_CHARS, normalize
from bot.understanding.triage import red_flag
from bot.understanding.typos import correct_typos
from bot.understanding.vocabulary import Vocabulary

# What the rest of `bot` (and the CLI's shim, bot/nlu.py) imports from here, wherever it is defined.
__all__ = [
    "INTENTS",
    "MAX_CHARS",
    "Understanding",
    "Vocabulary",
    "answer_line",
    "correct_typos",
    "main",
    "understand",
]


@dataclass(frozen=True)
class Understanding:
    """What one message says. Entities are filled whatever the intent."""

    intent: str
    date: dt.date | None = None
    time: dt.time | None = None
    part_of_day: str | None = None  # "morning" | "afternoon" | "evening"
    provider: str | None = None  # provider key
    appointment_type: str | None = None  # appointment type key
    urgency: str | None = None  # "urgent" | None
    choice: int | None = None  # 1-based numbered option
    date_problem: str | None = None  # "impossible" | "past" | None
    # "after" | "before": `time` is a limit ("after 3"). Not in `as_json` (the CLI's contract).
    time_bound: str | None = None
    # An appointment's reference number the message names ("cancel #8", "move appointment 8",
    # "ref 8"): the dialogue acts on it only if it is the patient's. Not in `as_json` either.
    reference: int | None = None
    # The language the message is in, "en" or "es" (language.py): another language is given as
    # the closest one served; a message too short to tell ("ok", "2") as English.
    language: str = "en"

    def as_json(self) -> dict:
        return {
            "intent": self.intent,
            "date": self.date.isoformat() if self.date else None,
            "time": self.time.strftime("%H:%M") if self.time else None,
            "part_of_day": self.part_of_day,
            "provider": self.provider,
            "appointment_type": self.appointment_type,
            "urgency": self.urgency,
            "choice": self.choice,
            "language": self.language,
        }


def understand(text: str, now: dt.datetime, vocabulary: Vocabulary | None = None) -> Understanding:
    """Intent and entities of one message; `now` is the clinic's current time (aware, in the
    clinic's zone). Never raises for any text."""
    if not isinstance(text, str):
        text = ""
    told = languages.tell(text[:MAX_CHARS], first=True)
    language = languages.CLOSEST.get(told or "", told) or languages.ENGLISH
    # Triage reads further than the rest (its own cap): an emergency late in a long message
    # must still be seen.
    if red_flag(text) is not None:
        return Understanding(intent="emergency", language=language)
    s = normalize(text)
    bare = intents.trim(s)
    today = now.date()
    # Spanish is read unless the message is plainly English: its answers first ("no" is a
    # "no" in both), then its phrasing of dates and times in the rules' words (spanish.py).
    in_spanish = told in (languages.SPANISH, *languages.CLOSEST) or (
        told is None and languages.mentions_spanish(text)
    )
    if in_spanish:
        answered = spanish.whole_message(s)
        if answered is not None:
            intent, choice = answered
            return Understanding(intent=intent, choice=choice, language=language)

    form = intents.whole_message(s, bare)
    if form is not None:
        intent, choice, day = form
        date, problem = dates.day_of_month(today, day, None) if day is not None else (None, None)
        # "#2" is option 2 or appointment 2: the dialogue takes whichever its state expects.
        return Understanding(
            intent=intent,
            choice=choice,
            date=date,
            date_problem=problem,
            reference=choice if "#" in s else None,
            language=language,
        )

    spanish_intent = None
    if in_spanish:
        unaccented = plain(s)
        spanish_intent = spanish.intent(unaccented)
        if spanish_intent == "stop":
            return Understanding(intent="stop", language=language)
        s = spanish.rewrite(unaccented)
    else:
        # Entities and intents read the text with its typos put right; the whole-message forms
        # above did not, so a keyword is only ever the keyword itself.
        s = correct_typos(s, vocabulary)
    reference, unreferenced = intents.reference(s)
    date, problem, rest, unmasked = dates.find_date(unreferenced, today)
    part = times.part_of_day(s)
    when, bound = times.time_of_day(rest, part, unmasked)
    named = plain(s)
    provider = vocabulary.provider_in(named) if vocabulary else None
    kind = vocabulary.appointment_type_in(named) if vocabulary else None
    urgent = times.urgency(s)

    wants = spanish_intent or intents.intent_in(s)
    if reference is not None and wants in (None, "book", "list") and intents.moves(s):
        wants = "reschedule"
    if wants is None:
        if date or problem or when or part or provider or kind or urgent:
            wants = "book"
        else:
            wants = intents.without_entities(s, bare)
    return Understanding(
        intent=wants,
        date=date,
        time=when,
        part_of_day=part,
        provider=provider,
        appointment_type=kind,
        urgency=urgent,
        date_problem=problem,
        time_bound=bound,
        reference=reference,
        language=language,
    )


# ---------------------------------------------------------------------------------------------
# `python -m bot.nlu`: JSON lines in, JSON lines out.


class _BadLine(ValueError):
    pass


def _parse_now(raw: Any, zone: Any) -> dt.datetime:
    if raw is None:
        return dt.datetime.now(zone)
    if not isinstance(raw, str):
        raise _BadLine('"now" must be an ISO-8601 date-time string')
    try:
        value = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        raise _BadLine('"now" is not an ISO-8601 date-time') from None
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value.astimezone(zone)


def _zone(name: Any, default: str) -> Any:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name is None:
        name = default
    if not isinstance(name, str) or not name.strip():
        raise _BadLine('"tz" must be an IANA time zone name')
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise _BadLine('"tz" is not a known IANA time zone') from None


def answer_line(line: bytes | str, vocabulary: Vocabulary | None, default_tz: str) -> dict:
    """The JSON object for one input line: the understanding, or {"error": ...}."""
    try:
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError:
                raise _BadLine("line is not UTF-8") from None
        if not line.strip():
            raise _BadLine("empty line")
        try:
            request = json.loads(line)
        except (ValueError, RecursionError):
            raise _BadLine("line is not JSON") from None
        if not isinstance(request, dict):
            raise _BadLine("line must be a JSON object")
        text = request.get("text")
        if not isinstance(text, str):
            raise _BadLine('"text" must be a string')
        zone = _zone(request.get("tz"), default_tz)
        now = _parse_now(request.get("now"), zone)
        return understand(text, now, vocabulary).as_json()
    except _BadLine as exc:
        return {"error": str(exc)}
    except Exception as exc:  # never a traceback for one bad line
        return {"error": f"could not read this line ({type(exc).__name__})"}


def main() -> int:
    """Serve JSON lines on stdin/stdout until EOF; exit status 2 when the clinic cannot load."""
    try:
        from scheduler.clinic_file import load_clinic

        clinic = load_clinic(os.environ.get("CLINIC_CONFIG") or None)
        vocabulary = Vocabulary.from_clinic(clinic)
        default_tz = clinic.timezone
    except Exception as exc:  # the operator gets one line, not a stack trace
        sys.stderr.write(f"bot.nlu: cannot load the clinic file: {exc}\n")
        return 2
    stdin, stdout = sys.stdin.buffer, sys.stdout
    for line in iter(stdin.readline, b""):
        stdout.write(json.dumps(answer_line(line, vocabulary, default_tz)) + "\n")
        stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
