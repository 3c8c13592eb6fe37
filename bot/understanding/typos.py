"""Typos in the words that matter ("tmorrow", "firday", "cancle", "apointmnt"), put right.

A word that is not a known word and is close to one of the words the rules read is replaced by
that word, and the corrected text goes through the same rules as any other (see `correct_typos`).
The score is rapidfuzz's `fuzz.ratio`, 100 * (1 - indel distance / total length): a missing or
extra letter costs 1, a wrong or swapped letter 2. The thresholds, and why:

* 4-5 letters: >= 85, which only a missing or extra letter reaches ("chek" -> check, 89). One
  wrong letter in five scores 80, and five-letter English words sit that close to each other
  ("fewer"/"fever", "couch"/"cough", "cheek"/"check").
* 6 letters or more, to one of the engine's own words: >= 80, one wrong or swapped letter
  ("firday" 83, "cancle" 83, "wensday" 88, "reschedual" 90).
* To one of the clinic's words (6 letters or more, a provider's or visit type's name): >= 85.
  Their English neighbours are not on the real-words list below, so only a closer slip counts
  ("vacation" scores 84 to "vaccination" and stays).
* The first letter must be right and the length within two letters: misspellings rarely get the
  first letter wrong or lose three letters, and it narrows each lookup to a handful of
  candidates. Words of 3 letters or fewer are never corrected ("bok", "mon", "sat", "wed", "fry"
  are each one letter from too much), nor are SMS keywords (STOP, START, HELP stay exact: the
  whole-message keywords are read before this step anyway).
* A known word is never corrected: the engine's and the clinic's own words, the abbreviations
  the rules read, and real English words ("cancer", "moth").

The engine's index is built once at import; a clinic's once per `Vocabulary`
(bot/understanding/vocabulary.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process

from bot.understanding.date_patterns import MONTHS, WEEKDAYS
from bot.understanding.text import SHORTHAND

if TYPE_CHECKING:  # the vocabulary holds a `Spelling`, so it imports this module
    from bot.understanding.vocabulary import Vocabulary

# The engine's words of five letters or more: what the intents, dates and parts of day read.
_ENGINE_WORDS = frozenset(
    """
    monday tuesday wednesday thursday friday saturday sunday january february march april august
    september october november december today tonight tomorrow morning afternoon evening month
    appointment appointments booking schedule reschedule rebook postpone cancel cancellation
    waitlist available availability visit check doctor urgent earliest
""".split()
)
# Real English words within those thresholds of the engine's words or of the demo clinic's
# (scheduler/demo_clinic.toml): every word of Debian's `wamerican` list that the rules below
# would otherwise change, found once by running them over it. So "cancer" never becomes
# "cancel", "chance" never "cancel", "moth" never "month", "mourning" never "morning", "sundae"
# never "sunday", "earlier" never "earliest".
_REAL_WORDS = frozenset(
    """
    advisability afternoons amiability annually annuals annul anointment appointed appointee
    appointees apportionment aprils assailable augurs augusta augustan auguster augusts augustus
    blocking blooding blooming boinking boobing booing bookings booming boosting booting boozing
    brooding brooking cancelation canceled cancellations cancelling cancels cancer caning chance
    chancel chancels chanel checked checker checks checkup checkups clanging clanking cleanings
    cleansing clearing cleaving cline constellation consul consular consult consultant consults
    decembers doctoral doctored doctorow doctors earlier earline earliness earnest earthiest
    earthliest easiest eeriest emending evenings evincing feeding feelingly feelings felling
    felting fleeing freeing freida fridays frieda fueling gargantua gargantuan genera generally
    generals headaches henri immunizations infecting infections inflection inflections injection
    mach majoring marc marched marcher marches minoring moaning monarch mondays mont monthly
    months mooning mooring moorings mornings moth motoring mounding mounting mourning nonmember
    novembers octobers physic physically physicals postponed postpones practitioners reebok
    rescheduled reschedules rescheduling retook revising revisions saturdays scheduled scheduler
    schedulers schedules septembers spain sprained sprains spraying sturdy sundae sundas sundays
    sundry throats throaty thursdays tomorrows tuesdays ultrasonic ultrasounds urgently
    vaccinate vaccinating vaccinations vaccines vacua visited visitor visits wapitis wednesdays
    wiliest
""".split()
)
# The commonest words of patient texts, near none of the engine's words: listed only so that
# they skip the lookup.
_COMMON_WORDS = frozenset(
    """
    about also anything around back been both come could didnt does dont each even
    from getting give going good have hello here just know like make many maybe more much need
    next okay only other please really right same should some something soon still sure take
    than thank thanks that their them then there these they thing this time very want week were
    what when where which while will with would your
""".split()
)
_SMS_KEYWORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "quit", "start", "unstop", "help", "info"}
)
_KNOWN_WORDS = (
    _ENGINE_WORDS
    | _REAL_WORDS
    | _COMMON_WORDS
    | _SMS_KEYWORDS
    | set(WEEKDAYS)
    | set(MONTHS)
    | set(SHORTHAND)
    | set(SHORTHAND.values())
)
_TYPO_CANDIDATE = re.compile(r"(?<![^\W\d_])[a-z]{4,24}(?![^\W\d_])")
_CLINIC_TARGET = re.compile(r"[a-z]{6,}")


def _by_first_letter(words: Iterable[str]) -> dict[str, tuple[str, ...]]:
    buckets: dict[str, list[str]] = {}
    for word in sorted(words):
        buckets.setdefault(word[0], []).append(word)
    return {letter: tuple(group) for letter, group in buckets.items()}


_ENGINE_BY_LETTER = _by_first_letter(_ENGINE_WORDS)


def _near_in_length(word: str, by_letter: dict[str, tuple[str, ...]]) -> list[str]:
    """The candidates a slip of the keyboard could have made `word` from: the same first letter,
    at most two letters more or fewer ("electrocardiograma" is another test than an
    "ecocardiograma", however alike they score)."""
    return [w for w in by_letter.get(word[0], ()) if abs(len(w) - len(word)) <= 2]


class Spelling:
    """The words a typo may be meant as (the engine's and one clinic's) and the words never
    corrected; built once per vocabulary."""

    def __init__(self, clinic_words: Iterable[str] = ()) -> None:
        clinic_words = set(clinic_words)
        self._known = _KNOWN_WORDS | clinic_words
        self._clinic = _by_first_letter(
            w for w in clinic_words if _CLINIC_TARGET.fullmatch(w) and w not in _ENGINE_WORDS
        )

    def correct(self, text: str) -> str:
        fixes = {}
        for word in set(_TYPO_CANDIDATE.findall(text)) - self._known:
            meant = self._closest(word)
            if meant:
                fixes[word] = meant
        if not fixes:
            return text
        return _TYPO_CANDIDATE.sub(lambda m: fixes.get(m.group(), m.group()), text)

    def _closest(self, word: str) -> str | None:
        best = None
        for candidates, cutoff in (
            (_near_in_length(word, _ENGINE_BY_LETTER), 85 if len(word) <= 5 else 80),
            (_near_in_length(word, self._clinic), 85),
        ):
            found = candidates and process.extractOne(
                word, candidates, scorer=fuzz.ratio, score_cutoff=cutoff
            )
            if found and (best is None or found[1] > best[1]):
                best = found
        return best[0] if best else None


_ENGINE_SPELLING = Spelling()


def correct_typos(text: str, vocabulary: Vocabulary | None = None) -> str:
    """The normalized `text` with each misspelled word the rules read put right (see the
    module's docstring); every other word, real words first of all, is left exactly as it was."""
    spelling = vocabulary.spelling if vocabulary is not None else _ENGINE_SPELLING
    return spelling.correct(text)
