"""The clinic's own names for its providers and visit types, and finding them in a message.

A `Vocabulary` holds, by key, the phrases that name each provider ("Dr. Amara Okafor", "dr okafor",
"okafor") and each appointment type ("flu shot", "vaccination"); `Vocabulary.from_clinic` reads
them from the clinic file. Each set of phrases becomes one regex (longest phrase first, whole words,
any punctuation between words, a plural of the last word too), built once per vocabulary, as is the
index of the clinic's words a typo may mean (bot/understanding/typos.py). Phrases are matched as
messages are: lower case, without apostrophes or accents.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.understanding.spanish import plain
from bot.understanding.text import APOSTROPHES
from bot.understanding.typos import Spelling

_WORD = re.compile(r"[^\W_]+")
_TITLES = ("dr", "doctor")


def _words(phrase: str) -> tuple[str, ...]:
    """The words of a clinic's name for something, as messages are matched: lower case, no
    apostrophes, no accents ("revisión" and "revision" are one phrase)."""
    return tuple(_WORD.findall(plain(phrase).translate(APOSTROPHES)))


def _phrase_matcher(phrases: Mapping[str, Sequence[str]]) -> tuple[re.Pattern | None, dict]:
    """One regex for all phrases (longest first, whole words, any punctuation between words)
    and a map from a match's words back to the key."""
    lookup: dict[tuple[str, ...], str] = {}
    for key, names in phrases.items():
        for name in names:
            words = _words(name)
            if words and words not in lookup:  # the first key to claim a phrase keeps it
                lookup[words] = key
    if not lookup:
        return None, lookup
    ordered = sorted(lookup, key=lambda w: (-len(" ".join(w)), w))
    body = "|".join(r"[\W_]+".join(map(re.escape, words)) for words in ordered)
    # A plural of the last word also names the thing ("flu shots", "check-ups").
    return re.compile(rf"(?<![^\W_])(?:{body})(?:e?s)?(?![^\W_])"), lookup


@dataclass(frozen=True)
class Vocabulary:
    """Phrases that name each provider and each appointment type, by key."""

    providers: Mapping[str, Sequence[str]]
    appointment_types: Mapping[str, Sequence[str]]
    _provider_matcher: Any = field(init=False, repr=False, compare=False, hash=False)
    _type_matcher: Any = field(init=False, repr=False, compare=False, hash=False)
    # The words a typo may be meant as, this clinic's among them (read by `correct_typos`).
    spelling: Spelling = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_provider_matcher", _phrase_matcher(self.providers))
        object.__setattr__(self, "_type_matcher", _phrase_matcher(self.appointment_types))
        # Built once per vocabulary: its words join the engine's as words a typo may mean.
        words = {
            word
            for phrases in (*self.providers.values(), *self.appointment_types.values())
            for phrase in phrases
            for word in _words(phrase)
        }
        object.__setattr__(self, "spelling", Spelling(words))

    @classmethod
    def from_clinic(cls, clinic: Any) -> Vocabulary:
        """Names, aliases and synonyms from the clinic file; for a titled name ("Dr. Amara
        Okafor") also the name without the title, and title + surname in both spellings."""
        providers: dict[str, list[str]] = {}
        for provider in clinic.providers:
            names = [provider.name, *provider.aliases]
            words = _words(provider.name)
            if len(words) >= 2 and words[0] in _TITLES:
                names.append(" ".join(words[1:]))
                for title in _TITLES:
                    names.append(f"{title} {words[-1]}")
                    names.append(f"{title} {' '.join(words[1:])}")
            providers[provider.key] = names
        types = {
            kind.key: [kind.name, *kind.synonyms, kind.key.replace("-", " ").replace("_", " ")]
            for kind in clinic.appointment_types
        }
        return cls(providers=providers, appointment_types=types)

    def provider_in(self, text: str) -> str | None:
        """The key of the provider the message names (its text lower case, without accents)."""
        return _lookup(self._provider_matcher, text)

    def appointment_type_in(self, text: str) -> str | None:
        """The key of the appointment type the message names (read as `provider_in` reads)."""
        return _lookup(self._type_matcher, text)


def _lookup(matcher: tuple[re.Pattern | None, dict], text: str) -> str | None:
    pattern, lookup = matcher
    if pattern is None:
        return None
    match = None
    for found in pattern.finditer(text):
        # The first named, unless the next follows at once: then the pair is one name and the
        # last word its head ("flu vaccine" is a vaccine, though "flu" alone is a sick visit).
        if match is not None and text[match.end() : found.start()].strip(" -"):
            break
        match = found
    if match is None:
        return None
    words = tuple(_WORD.findall(match.group()))
    key = lookup.get(words)
    if key is None:  # matched through the plural ending
        *head, last = words
        for singular in (last[:-1], last[:-2]):
            key = key or lookup.get((*head, singular))
    return key
