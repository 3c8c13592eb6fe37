"""The clinic's names for providers and visit types (bot/understanding/vocabulary.py), found in
messages as the understanding hands them over: lower case, without accents or apostrophes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bot.understanding.vocabulary import Vocabulary

VOCABULARY = Vocabulary(
    providers={"okafor": ["Dr. Amara Okafor", "okafor"], "lindqvist": ["dr lindqvist"]},
    appointment_types={
        "vaccination": ["vaccination", "flu shot", "vaccine"],
        "sick-visit": ["sick visit", "flu"],
        "checkup": ["check-up", "revisión"],
    },
)


@pytest.mark.parametrize(
    "text, kind",
    [
        ("the flu", "sick-visit"),
        ("flu shots tomorrow", "vaccination"),  # a plural names the thing too
        ("a flu vaccine", "vaccination"),  # two names in a row: the last word is the head
        ("check up", "checkup"),  # any punctuation between the words
        ("revision", "checkup"),  # accents do not matter
        ("a check-up or a flu shot", "checkup"),  # the first named
        ("fluffy", None),  # whole words only
    ],
)
def test_an_appointment_type_is_found_by_any_of_its_names(text, kind):
    assert VOCABULARY.appointment_type_in(text) == kind


@pytest.mark.parametrize(
    "text, provider",
    [
        ("dr. okafor", "okafor"),
        ("with dr lindqvist or okafor", "lindqvist"),
        ("okaforville", None),
    ],
)
def test_a_provider_is_found_by_any_of_their_names(text, provider):
    assert VOCABULARY.provider_in(text) == provider


def test_an_empty_vocabulary_names_nothing():
    empty = Vocabulary(providers={}, appointment_types={})
    assert (empty.provider_in("okafor"), empty.appointment_type_in("flu")) == (None, None)


def test_the_first_key_to_claim_a_phrase_keeps_it():
    vocabulary = Vocabulary(providers={}, appointment_types={"a": ["scan"], "b": ["Scan"]})
    assert vocabulary.appointment_type_in("a scan") == "a"


def test_a_titled_name_from_the_clinic_file_is_also_known_without_and_with_either_title():
    clinic = SimpleNamespace(
        providers=[SimpleNamespace(key="okafor", name="Dr. Amara Okafor", aliases=("amara",))],
        appointment_types=[SimpleNamespace(key="teeth_cleaning", name="Cleaning", synonyms=())],
    )
    vocabulary = Vocabulary.from_clinic(clinic)
    assert set(vocabulary.providers["okafor"]) == {
        "Dr. Amara Okafor",
        "amara",
        "amara okafor",
        "dr okafor",
        "dr amara okafor",
        "doctor okafor",
        "doctor amara okafor",
    }
    # The key is a name too, read as words.
    assert vocabulary.appointment_types["teeth_cleaning"] == ["Cleaning", "teeth cleaning"]


def test_two_vocabularies_of_the_same_names_are_equal():
    again = Vocabulary(
        providers=VOCABULARY.providers, appointment_types=VOCABULARY.appointment_types
    )
    assert again == VOCABULARY
