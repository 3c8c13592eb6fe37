"""What the model wrote, checked before a patient reads it.

`check_reply` makes the text fit to send by SMS or refuses it with a reason: typography and
markdown flattened, not empty, no internal ids or markup, GSM-7 characters only, at most
`MAX_REPLY_CHARS`. `claims` reads which changes the text says were made, so the engine
(bot/model/bedrock.py) can refuse a claim that no tool result of the conversation backs.
"""

from __future__ import annotations

import re
import unicodedata

from bot.patient import segments

MAX_REPLY_CHARS = 600

_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
        "\u00a0": " ",
        "\u2022": "-",
        "\u2192": "->",
    }
)
_MARKDOWN = re.compile(r"\*\*|__|^#{1,6}\s*|^\s*[*]\s+", re.MULTILINE)
_INTERNAL = re.compile(
    r"(?i)\b(?:slot|appt)-\d+\b|tool_?use|tool_?result|\bslot_id\b"
    r"|\bappointment_id\b|\bpatient_id\b|[{}`]|<[a-z/!]|\bid\s*[:=#]\s*\d"
)


def check_reply(text: str) -> tuple[str | None, str | None]:
    """The model's text made fit to send, or (None, why it cannot be sent)."""
    text = _MARKDOWN.sub("", text.translate(_TYPOGRAPHY))
    text = "\n".join(" ".join(line.split()) for line in text.splitlines())
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if not text:
        return None, "empty"
    if _INTERNAL.search(text):
        return None, "internal_id"
    kept = []
    for char in text:
        if char in segments.GSM7_BASIC or char in segments.GSM7_EXTENDED:
            kept.append(char)
            continue
        plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
        if plain:
            kept.append(plain)  # "é" is GSM already; "á" becomes "a"
        elif unicodedata.category(char)[0] in "SMC":
            continue  # emoji, symbols, combining marks: dropped
        else:
            return None, "charset"
    text = "".join(kept).strip()
    if len(text) > MAX_REPLY_CHARS:
        return None, "too_long"
    return text, None


_CLAIMS = {
    "booked": re.compile(
        r"(?i)\b(?:i(?:'ve| have)?\s+(?:just\s+|now\s+)?(?:booked|scheduled)"
        r"|you(?:'re| are)\s+(?:all\s+)?booked|(?:has|have) been booked"
        r"|is (?:now )?booked|booking (?:is )?confirmed|successfully booked)\b"
    ),
    "cancelled": re.compile(
        r"(?i)\b(?:i(?:'ve| have)?\s+(?:just\s+|now\s+)?cancell?ed"
        r"|(?:has|have) been cancell?ed|is (?:now )?cancell?ed)\b"
    ),
    "rescheduled": re.compile(
        r"(?i)\b(?:i(?:'ve| have)?\s+(?:just\s+|now\s+)?(?:rescheduled|moved)"
        r"|(?:has|have) been (?:rescheduled|moved)|is now (?:on|at))\b"
    ),
}


def claims(text: str) -> set[str]:
    """Which changes the text says were made ("booked", "cancelled", "rescheduled")."""
    return {kind for kind, pattern in _CLAIMS.items() if pattern.search(text)}
