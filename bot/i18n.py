"""The languages patients are served in: gettext catalogs through Babel, and dates as each says them.

Every sentence a patient can receive is an English message id in the code (bot/patient/replies/), with
a translation per language in `bot/locales/<lang>/LC_MESSAGES/messages.po`, compiled to `.mo` when
installing (`make catalogs`, which `make run` and `make test` do first). Placeholders are named
(`{when}`, `{clinic}`) so a translation may put them in its own order, and counts go through
`ngettext` for the language's plural forms.

The language of a turn (or of a text the clinic sends first) is set once with `speaking(lang)`,
a context variable, and every reply and date format reads it: nothing threads a language through
the dialogue by hand, and a text made outside any `speaking` block is English.

Dates and times use Babel's CLDR data for the US locale of each language: "Thu Mar 5 at 3:00 PM",
"jueves 5 de marzo, 3:00 p.m.".
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from functools import cache, lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_time
from babel.support import NullTranslations, Translations

LANGUAGES = ("en", "es")
DEFAULT = "en"
LOCALES = {"en": "en_US", "es": "es_US"}
CATALOGS = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"

# How a day is written in a sentence ("Thu Mar 5", "jueves 5 de marzo"), and a time.
_DAY_FORMAT = {"en": "EEE MMM d", "es": "EEEE d 'de' MMMM"}
_TIME_FORMAT = "h:mm a"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("language", default=DEFAULT)


def supported(lang: str | None) -> str:
    """`lang` if the clinic serves it, else the default."""
    return lang if lang in LANGUAGES else DEFAULT


@contextmanager
def speaking(lang: str | None) -> Iterator[str]:
    """Make every reply and date inside the block `lang`'s."""
    token = _current.set(supported(lang))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def use(lang: str | None) -> str:
    """Switch the language for the rest of the enclosing `speaking` block (a turn, once it
    knows whose it is)."""
    _current.set(supported(lang))
    return _current.get()


def current() -> str:
    return _current.get()


@cache
def _translations(lang: str) -> NullTranslations:
    if lang == DEFAULT:
        return NullTranslations()  # the message ids are the English text
    found = Translations.load(str(CATALOGS), [lang], DOMAIN)
    if not isinstance(found, Translations):
        raise RuntimeError(
            f"the {lang} catalog is not compiled: run `make catalogs` "
            f"(pybabel compile -d {CATALOGS})"
        )
    return found


def gettext(message: str) -> str:
    return _translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return _translations(_current.get()).ngettext(singular, plural, count)


_ = gettext


def day_text(day: date) -> str:
    return _day_text(_current.get(), day)


def time_text(moment: datetime | time) -> str:
    clock = moment.time() if isinstance(moment, datetime) else moment
    return _time_text(_current.get(), clock)


# Babel formats in about 10 microseconds; an offer names the same few days and times again and
# again, so each is formatted once per language.
@lru_cache(maxsize=1024)
def _day_text(lang: str, day: date) -> str:
    return format_date(day, _DAY_FORMAT[lang], locale=LOCALES[lang])


@lru_cache(maxsize=1024)
def _time_text(lang: str, clock: time) -> str:
    return format_time(clock, _TIME_FORMAT, locale=LOCALES[lang])


def weekday_names() -> list[str]:
    """Monday first, abbreviated, as the language writes them ("Mon", "lun")."""
    names = Locale.parse(LOCALES[_current.get()]).days["format"]["abbreviated"]
    return [names[i] for i in range(7)]


def check_catalogs() -> None:
    """Load every language's catalog now (start-up), so a missing one stops the start with a
    clear message instead of failing the first Spanish-speaking patient's turn."""
    for lang in LANGUAGES:
        _translations(lang)
