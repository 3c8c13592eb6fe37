"""A message's text as the rules read it (bot/understanding/text.py)."""

from __future__ import annotations

import re

from bot.understanding.text import MAX_CHARS, holds, mask, normalize


def test_normalizing_lowers_drops_apostrophes_and_squeezes_spaces():
    assert normalize("  Can't   make it,  4 o’clock ") == "cant make it, 4 oclock"


def test_texting_shorthand_is_spelled_out_as_whole_words_only():
    assert normalize("appts\tappt nxt wks aft") == "appointments appointment next weeks afternoon"
    assert normalize("wkend") == "wkend"


def test_only_the_first_max_chars_characters_are_read():
    assert len(normalize("a" * (MAX_CHARS + 100))) == MAX_CHARS


def test_masking_keeps_every_other_character_where_it_was():
    text = "at 3 pm"
    assert mask(text, re.search("3", text)) == "at \x00 pm"


def test_holds_is_true_when_any_of_the_words_is_in_the_text():
    assert holds("tomorrow", ("tom", "tmr"))
    assert not holds("friday", ("tom", "tmr"))
