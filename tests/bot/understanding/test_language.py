"""Which language a message is in (bot/understanding/language.py), and asking for the other one."""

from __future__ import annotations

import pytest

from bot.understanding import language


@pytest.mark.parametrize("text", ["ok", "2", "sí", "Ana López", "hola", "hi", "thanks", "", None])
def test_a_message_with_too_little_to_go_on_keeps_the_conversations_language(text):
    assert language.tell(text) is None


@pytest.mark.parametrize(
    "text, told", [("hola", "es"), ("sí", "es"), ("manana", "es"), ("hi", "en"), ("thanks", "en")]
)
def test_the_first_message_of_a_conversation_needs_only_one_word(text, told):
    assert language.tell(text, first=True) == told


@pytest.mark.parametrize("text", ["ok", "2", "Ana López", ""])
def test_the_first_message_still_needs_a_word_of_one_language(text):
    assert language.tell(text, first=True) is None


@pytest.mark.parametrize(
    "text, told",
    [
        ("quiero una cita mañana", "es"),
        ("necesito cita para manana a las 10", "es"),  # accents or none, the same words
        ("hola buenos dias", "es"),
        ("I want an appointment tomorrow", "en"),
        ("yes please", "en"),
    ],
)
def test_english_and_spanish_are_told_by_their_own_words(text, told):
    assert language.tell(text) == told


@pytest.mark.parametrize(
    "text, told",
    [
        ("não posso amanhã, obrigado", "pt"),
        ("vorrei un appuntamento domani", "it"),
        ("je voudrais un rendez vous demain", "fr"),
    ],
)
def test_another_romance_language_is_told_and_answered_in_spanish(text, told):
    assert language.tell(text) == told
    assert language.CLOSEST[told] == language.SPANISH


@pytest.mark.parametrize(
    "text, wanted",
    [
        ("English please", "en"),
        ("in english", "en"),
        ("¿habla inglés?", "en"),
        ("en español", "es"),
        ("Spanish", "es"),
        ("hablo español", "es"),
        ("prefiero español", "es"),
    ],
)
def test_a_short_request_for_a_language_switches_to_it(text, wanted):
    assert language.switch(text) == wanted


@pytest.mark.parametrize(
    "text",
    [
        "hola",
        "book me in for tomorrow",
        # A long message that mentions a language is about something else.
        "can I book in english for my mother who only speaks spanish please thanks",
    ],
)
def test_a_message_that_is_no_switch_request_switches_nothing(text):
    assert language.switch(text) is None


def test_any_spanish_word_lets_a_mixed_message_be_read_as_spanish_too():
    assert language.mentions_spanish("ok mañana")
    assert not language.mentions_spanish("ok tomorrow")
