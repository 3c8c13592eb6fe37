"""SMS-shaped text: the GSM-7 alphabet, how many segments a text costs, and cutting long replies.

A text in GSM-7 (the SMS default alphabet) fits 160 characters in one segment and 153 in each
segment of a longer one; one character outside it (a smart quote, an emoji) turns the whole text
into UCS-2, 70 and 67 characters. The bot's own sentences are GSM-7 (bot/patient/replies/), and every
SMS reply fits in `MAX_CHARS` (two segments); only a list can be longer, and it is cut into pages
at line breaks, each ending with "Reply MORE for more." (bot/engine/answering.py keeps the rest).
"""

from __future__ import annotations

import math
import re
import unicodedata

# GSM 03.38 basic character set, and the extension table (each costs an escape plus itself).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")
_GSM7 = GSM7_BASIC | GSM7_EXTENDED

MAX_CHARS = 306  # two GSM-7 segments of 153
MORE_KEYWORDS = frozenset({"MORE", "MAS", "MÁS"})  # "más" in Spanish
MORE_SUFFIX = "Reply MORE for more."  # English; the engine passes the patient's language's


def bare_more(text: str) -> bool:
    """Whether the whole message is the MORE keyword (any case, punctuation around it ignored)."""
    return re.sub(r"^[\W_]+|[\W_]+$", "", text or "").upper() in MORE_KEYWORDS


def for_sms(text: str) -> str:
    """`text` in GSM-7 as far as it can be: a letter outside it loses its accent ("á" -> "a";
    "é", "ñ", "ü", "¿" and "¡" are GSM-7 and stay), odd spaces become spaces. One character
    outside GSM-7 would turn the whole text into UCS-2: 70 characters a segment, not 160."""
    if is_gsm7(text):
        return text
    shaped = []
    for char in text:
        if char in GSM7_BASIC or char in GSM7_EXTENDED:
            shaped.append(char)
        elif char.isspace():
            shaped.append(" ")
        else:
            base = unicodedata.normalize("NFD", char)[0]
            shaped.append(base if base in GSM7_BASIC else char)
    return "".join(shaped)


def is_gsm7(text: str) -> bool:
    # One set operation, not a generator step a character: every reminder text passes here.
    return _GSM7.issuperset(text)


def segments(text: str) -> int:
    """How many SMS segments `text` is billed as (0 for an empty text)."""
    if not text:
        return 0
    if is_gsm7(text):
        septets = len(text) + sum(1 for c in text if c in GSM7_EXTENDED)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


def paginate(text: str, limit: int = MAX_CHARS, suffix: str = MORE_SUFFIX) -> list[str]:
    """`text` in pages of at most `limit` characters, cut at line breaks (at spaces when one line
    is too long); every page but the last ends with `suffix` ("Reply MORE for more.")."""
    if len(text) <= limit:
        return [text]
    budget = limit - len(suffix) - 1
    pieces: list[str] = []
    for line in text.split("\n"):
        while len(line) > budget:
            cut = line.rfind(" ", 0, budget + 1)
            cut = cut if cut > 0 else budget
            pieces.append(line[:cut].rstrip())
            line = line[cut:].lstrip()
        pieces.append(line)
    pages: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}\n{piece}" if current else piece
        if current and len(candidate) > budget:
            pages.append(current)
            current = piece
        else:
            current = candidate
    pages.append(current)
    if len(pages) > 1 and len(pages[-1]) + len(pages[-2]) + 1 <= limit:
        # The last two fit together without a "MORE" between them.
        pages[-2:] = [pages[-2] + "\n" + pages[-1]]
    return [page + "\n" + suffix if i < len(pages) - 1 else page for i, page in enumerate(pages)]


ONE_SEGMENT = 160


def _gsm7(text: str) -> str:
    shaped = for_sms(text)
    return shaped if is_gsm7(shaped) and GSM7_EXTENDED.isdisjoint(shaped) else plain_ascii(text)


def plain_ascii(text: str) -> str:
    """Plain ASCII (a subset of GSM-7): accents dropped, anything else removed."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def fit_one(candidates: list[str], shortenable: str) -> str:
    """The first candidate that fits one GSM-7 segment; failing all, the last one with
    `shortenable` (the clinic's name) cut short, so a text the clinic sends goes out whole."""
    for text in candidates:
        text = _gsm7(text)
        if len(text) <= ONE_SEGMENT:
            return text
    last, name = _gsm7(candidates[-1]), _gsm7(shortenable)
    over = len(last) - ONE_SEGMENT
    short = name[: max(8, len(name) - over - 3)] + "..."
    return last.replace(name, short, 1)[:ONE_SEGMENT]
