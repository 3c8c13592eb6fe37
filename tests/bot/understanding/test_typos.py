"""Typos put right (bot/understanding/typos.py): which words, to what, and which never.

The cases read through `understand()` are in test_nlu.py; these are the thresholds themselves.
"""

from __future__ import annotations

import pytest

from bot.understanding.typos import correct_typos
from bot.understanding.vocabulary import Vocabulary

CLINIC = Vocabulary(
    providers={"moreau": ["Nurse Celine Moreau"]},
    appointment_types={"ultrasound": ["ultrasound"], "vaccination": ["vaccination"]},
)


@pytest.mark.parametrize(
    "typed, meant",
    [
        ("chek", "check"),  # 4-5 letters: one missing letter
        ("firday", "friday"),  # 6 or more: one swapped letter
        ("fridya", "friday"),
        ("wensday", "wednesday"),
    ],
)
def test_a_slip_in_one_of_the_engines_words_is_put_right_without_a_vocabulary(typed, meant):
    assert correct_typos(typed) == meant


@pytest.mark.parametrize(
    "typed",
    [
        "cheek",  # 5 letters, one wrong: an English word's distance
        "hriday",  # the first letter wrong
        "stpo",
        "hlep",  # SMS keywords stay exact, even misspelled
        "bok",  # 3 letters or fewer
    ],
)
def test_a_word_too_far_or_too_short_is_left_as_written(typed):
    assert correct_typos(typed) == typed


def test_the_clinics_words_are_corrected_only_with_that_clinics_vocabulary():
    assert correct_typos("nurse moreu an ultrasund", CLINIC) == "nurse moreau an ultrasound"
    assert correct_typos("nurse moreu an ultrasund") == "nurse moreu an ultrasund"


@pytest.mark.parametrize(
    "typed",
    [
        "a vacation",  # 84 to "vaccination": a clinic's word needs 85
        "ultrasoundsss",  # three letters longer
        "celine",  # the clinic's own words are known words
    ],
)
def test_a_clinic_word_needs_a_closer_slip_than_one_of_the_engines(typed):
    assert correct_typos(typed, CLINIC) == typed


def test_only_the_misspelled_words_change_and_everything_around_them_stays():
    assert correct_typos("can i come tmorrow, 3pm?? thx") == "can i come tomorrow, 3pm?? thx"
