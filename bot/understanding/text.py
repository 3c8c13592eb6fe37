"""A message's text as every rule of the understanding reads it.

`normalize` gives the one spelling the rules are written for: the first `MAX_CHARS` characters, in
lower case, apostrophes gone ("can't" -> "cant", "o'clock" -> "oclock"), one space between words,
and texting shorthand spelled out ("nxt wk" -> "next week"). `mask` overwrites a phrase one rule has
read with NUL characters of the same length, so the next rule neither reads its numbers again nor
loses its place (every span stays where it was). `holds` is the cheap test run before a search:
searching is most of what a message costs, so a regex is only searched where the text could hold
its match.

Also here: the words more than one rule reads (number words name a choice and an hour, an ordinal
suffix a choice, "2nd", and a day, "the 7th").
"""

from __future__ import annotations

import re

MAX_CHARS = 500

# Apostrophes vanish so patterns need one spelling: "can't" -> "cant", "o'clock" -> "oclock".
APOSTROPHES = str.maketrans("", "", "'\u2019\u2018`\u00b4\u02bc")
_SPACES = re.compile(r"\s+")

# Texting shorthand for the words the rules read ("nxt wk"): spelled out first.
SHORTHAND = {
    "nxt": "next",
    "wk": "week",
    "wks": "weeks",
    "appt": "appointment",
    "appts": "appointments",
    "aft": "afternoon",
}
_SHORT = re.compile(r"\b(?:" + "|".join(SHORTHAND) + r")\b")

NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
ORDINAL_SUFFIX = r"(?:st|nd|rd|th)"
DIGIT = re.compile(r"\d")


def normalize(text: str) -> str:
    """The message as the rules read it (see above)."""
    text = _SPACES.sub(" ", text[:MAX_CHARS].lower().translate(APOSTROPHES)).strip()
    return _SHORT.sub(lambda m: SHORTHAND[m.group()], text)


def mask(text: str, match: re.Match) -> str:
    """`text` with what `match` read overwritten by NULs of the same length."""
    start, end = match.span()
    return text[:start] + "\x00" * (end - start) + text[end:]


def holds(text: str, words: tuple[str, ...]) -> bool:
    """Whether `text` may match a rule that needs one of `words`: a cheap test before a search."""
    return any(word in text for word in words)
