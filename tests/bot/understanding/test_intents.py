"""What a message asks for (bot/understanding/intents.py), read directly on normalized text."""

from __future__ import annotations

import pytest

from bot.understanding import intents


def whole(text):
    return intents.whole_message(text, intents.trim(text))


def test_trimming_drops_the_punctuation_and_emoji_around_a_message():
    assert intents.trim("  ok!! 👍 ") == "ok"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("stop", ("stop", None, None)),
        ("please stop texting me", ("stop", None, None)),
        ("start", ("start", None, None)),
        ("2", ("choose", 2, None)),
        ("#2", ("choose", 2, None)),
        ("option 2", ("choose", 2, None)),
        ("the second one", ("choose", 2, None)),
        ("2nd", ("choose", 2, 2)),  # a digit ordinal also names the 2nd of the month
        ("help", ("help", None, None)),
        ("...?", ("help", None, None)),
        ("hi there", ("greeting", None, None)),
        ("ok thanks", ("confirm", None, None)),
        ("none of those", ("deny", None, None)),
    ],
)
def test_a_message_that_is_one_form_as_a_whole_is_read_as_that_form(text, expected):
    assert whole(text) == expected


@pytest.mark.parametrize("text", ["25", "thanks", "book me tomorrow", "yes but later"])
def test_a_message_that_is_no_whole_form_is_left_to_the_other_rules(text):
    assert whole(text) is None


@pytest.mark.parametrize(
    "text, intent",
    [
        ("cancel and find me a different time", "reschedule"),  # reschedule is tried first
        ("cant make it", "cancel"),
        ("put me on the waitlist", "waitlist"),
        ("when is my appointment", "list"),
        ("i need to see the doctor", "book"),
        ("thanks", None),
    ],
)
def test_the_first_intent_whose_words_appear_anywhere_wins(text, intent):
    assert intents.intent_in(text) == intent


@pytest.mark.parametrize(
    "text, intent",
    [
        ("yes but later", "confirm"),
        ("no not really sure", "deny"),
        ("how do i use this", "help"),
        ("hi, quick question", "greeting"),
        ("thanks", "unknown"),
    ],
)
def test_a_message_without_intent_words_or_entities_gets_what_it_starts_with(text, intent):
    assert intents.without_entities(text, intents.trim(text)) == intent


@pytest.mark.parametrize(
    "text, number, rest",
    [
        ("cancel #8", 8, "cancel \x00\x00"),
        ("ref 8", 8, "\x00" * 5),
        ("appointment 2 weeks from now", None, "appointment 2 weeks from now"),
        ("appt 3pm", None, "appt 3pm"),
    ],
)
def test_a_reference_number_is_read_and_masked_but_a_duration_or_time_is_none(text, number, rest):
    assert intents.reference(text) == (number, rest)


def test_a_word_that_moves_something_is_told_apart():
    assert intents.moves("move #8 to 3pm")
    assert not intents.moves("cancel #8")
