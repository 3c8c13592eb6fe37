"""Red flags: emergencies are recognised by category; ordinary clinic messages are not."""
from __future__ import annotations

import pytest

from bot import triage
from bot.triage import red_flag

EMERGENCIES = [
    ("I have chest pain", "cardiac"),
    ("sharp pain in my chest since this morning", "cardiac"),
    ("I think I'm having a heart attack", "cardiac"),
    ("my chest feels tight and it hurts", "cardiac"),
    ("I can't breathe", "breathing"),
    ("I can’t breathe properly", "breathing"),
    ("cant breathe", "breathing"),
    ("I cannot breathe", "breathing"),
    ("my son is having trouble breathing", "breathing"),
    ("very short of breath", "breathing"),
    ("SHORT-OF-BREATH!!!", "breathing"),
    ("I think my dad is having a stroke", "stroke"),
    ("her face is drooping on one side", "stroke"),
    ("he has slurred speech all of a sudden", "stroke"),
    ("I feel suicidal", "self_harm"),
    ("I want to kill myself", "self_harm"),
    ("i just want to die", "self_harm"),
    ("I'm going to end my life", "self_harm"),
    ("I think I took an overdose", "overdose"),
    ("my daughter took too many pills", "overdose"),
    ("heavy bleeding after the procedure", "bleeding"),
    ("the cut won't stop bleeding", "bleeding"),
    ("it wont stop bleeding", "bleeding"),
    ("anaphylaxis after a bee sting", "allergic_reaction"),
    ("my throat is closing", "allergic_reaction"),
    ("throat is swelling up after the shot", "allergic_reaction"),
    ("my husband passed out", "unconscious"),
    ("she is unconscious", "unconscious"),
    ("he's having a seizure", "seizure"),
    ("Seizures again today", "seizure"),
]


@pytest.mark.parametrize("text, category", EMERGENCIES)
def test_each_red_flag_is_recognised_with_its_category(text, category):
    assert red_flag(text) == category


ORDINARY = [
    "I'd like to book a check-up next Tuesday",
    "can I move my appointment to Friday at 3?",
    "cancel my appointment please",
    "my gums bleed a little when I brush, can I get a cleaning?",
    "I need a heart scan with Dr. Okafor",
    "is there anything tomorrow morning",
    "my back is killing me, need to see someone this week",
    "flu shot for my kids",
    "heatstroke prevention leaflet?",
    "the brushstrokes on your website look nice",
    "yes that works",
    "what do I have booked",
    "I need a blood test appointment",
    "",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_scheduling_messages_are_not_red_flags(text):
    assert red_flag(text) is None


def test_stroke_inside_another_word_does_not_flag_but_the_word_does():
    assert red_flag("heatstroke") is None
    assert red_flag("Stroke?") == "stroke"


def test_apostrophe_variants_all_flag_the_same():
    for text in ("can't breathe", "cant breathe", "can’t breathe", "CAN‘T BREATHE"):
        assert red_flag(text) == "breathing"


def test_a_negated_symptom_still_flags_because_triage_errs_towards_flagging():
    assert red_flag("no chest pain anymore, just want a checkup") == "cardiac"


def test_huge_and_odd_input_never_raises():
    assert red_flag("x" * 100_000) is None
    assert red_flag("😀" * 5000) is None
    assert red_flag("<script>alert('chest pain')</script>") == "cardiac"


@pytest.mark.parametrize("text, category", [
    ("I have a high fever since yesterday", "fever"),
    ("she's had a fever for three days", "fever"),
    ("my tooth pain is getting worse", "pain"),
    ("severe tooth pain on the left", "pain"),
    ("I can't sleep because of the pain", "pain"),
    ("the cough is not getting better", "worsening"),
    ("I think the cut is infected", "infection"),
    ("the rash is spreading", "infection"),
    ("my jaw is swollen", "swelling"),
    ("I chipped my tooth on a fork", "injury"),
    ("I can't keep anything down", "dehydration"),
])
def test_urgent_symptoms_are_recognised_with_their_category(text, category):
    assert triage.urgent_care(text) == category
    assert triage.red_flag(text) is None


@pytest.mark.parametrize("text", [
    "urgent please, asap",              # a wish, not a symptom: staff or triage set the rank
    "I'd like a checkup next week",
    "book a cleaning",
    "feeling much better now",
])
def test_wishes_and_routine_requests_are_not_urgent(text):
    assert triage.urgent_care(text) is None


def test_urgent_care_errs_towards_urgent_like_red_flags():
    assert triage.urgent_care("my swollen ankle is fine now, just a follow-up") == "swelling"
    assert triage.urgent_care("x" * 50_000 + " high fever") is None     # only the start is read
    assert triage.urgent_care("") is None and triage.urgent_care("\u202e\U0001F600") is None
