"""Red flags: emergencies are recognised by category; ordinary clinic messages are not."""

from __future__ import annotations

import timeit
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.understanding import triage
from bot.understanding.nlu import understand
from bot.understanding.triage import red_flag

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


@pytest.mark.parametrize(
    "text, category",
    [
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
    ],
)
def test_urgent_symptoms_are_recognised_with_their_category(text, category):
    assert triage.urgent_care(text) == category
    assert triage.red_flag(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "urgent please, asap",  # a wish, not a symptom: staff or triage set the rank
        "I'd like a checkup next week",
        "book a cleaning",
        "feeling much better now",
    ],
)
def test_wishes_and_routine_requests_are_not_urgent(text):
    assert triage.urgent_care(text) is None


def test_urgent_care_errs_towards_urgent_like_red_flags():
    assert triage.urgent_care("my swollen ankle is fine now, just a follow-up") == "swelling"
    assert triage.urgent_care("x" * 50_000 + " high fever") is None  # only the start is read
    assert triage.urgent_care("") is None and triage.urgent_care("\u202e\U0001f600") is None


# ---------------------------------------------------------------------------------------------
# Spanish. Every red-flag category, in both languages, with and without accents, in capitals and
# with the punctuation people really type ("¡", "¿", "!!!").

EMERGENCIES_ES = [
    ("tengo dolor de pecho", "cardiac"),
    ("Dolor en el pecho desde esta mañana", "cardiac"),
    ("ME DUELE EL PECHO!!!", "cardiac"),
    ("me duele mucho el pecho y el brazo izquierdo", "cardiac"),
    ("siento presión en el pecho", "cardiac"),
    ("opresion en el pecho", "cardiac"),
    ("creo que me está dando un infarto", "cardiac"),
    ("¿es un ataque al corazón?", "cardiac"),
    ("le dio un paro cardíaco", "cardiac"),
    ("paro cardiaco", "cardiac"),
    ("¡No puedo respirar!", "breathing"),
    ("NO PUEDO RESPIRAR", "breathing"),
    ("mi hija no puede respirar bien", "breathing"),
    ("me falta el aire", "breathing"),
    ("a mi papá le falta el aire", "breathing"),
    ("tengo falta de aire", "breathing"),
    ("dificultad para respirar", "breathing"),
    ("me ahogo", "breathing"),
    ("se está ahogando", "breathing"),
    ("se esta ahogando!!", "breathing"),
    ("mi bebé no respira", "breathing"),
    ("casi no puedo respirar", "breathing"),
    ("creo que le dio un derrame", "stroke"),
    ("Derrame cerebral", "stroke"),
    ("le dio una embolia", "stroke"),
    ("ictus", "stroke"),
    ("accidente cerebrovascular", "stroke"),
    ("tiene la cara caída", "stroke"),
    ("se le cae la cara de un lado", "stroke"),
    ("se le cae un lado de la cara", "stroke"),
    ("habla arrastrada de repente", "stroke"),
    ("mi mamá no puede hablar bien", "stroke"),
    ("tengo pensamientos suicidas", "self_harm"),
    ("pienso en el suicidio", "self_harm"),
    ("quiero suicidarme", "self_harm"),
    ("quiero morirme", "self_harm"),
    ("Quiero morir.", "self_harm"),
    ("me quiero morir", "self_harm"),
    ("ME KIERO MORIR", "self_harm"),
    ("voy a matarme", "self_harm"),
    ("pienso quitarme la vida", "self_harm"),
    ("quiero hacerme daño", "self_harm"),
    ("quiero hacerme dano", "self_harm"),
    ("no quiero vivir", "self_harm"),
    ("ya no quiero vivir más", "self_harm"),
    ("quiero acabar con mi vida", "self_harm"),
    ("no quiero morir pero quiero morirme", "self_harm"),
    ("creo que es una sobredosis", "overdose"),
    ("tomé demasiadas pastillas", "overdose"),
    ("tome demasiadas pastillas", "overdose"),
    ("mi hijo se tomó muchas pastillas", "overdose"),
    ("me tomé un frasco de pastillas", "overdose"),
    ("se tomo todas sus pastillas de golpe", "overdose"),
    ("mi niño tragó cloro", "overdose"),
    ("trago lejia", "overdose"),
    ("se tomó veneno para ratas", "overdose"),
    ("sangrado abundante después de la extracción", "bleeding"),
    ("SANGRA MUCHO", "bleeding"),
    ("está sangrando mucho", "bleeding"),
    ("la herida no para de sangrar", "bleeding"),
    ("no deja de sangrar", "bleeding"),
    ("tiene una hemorragia", "bleeding"),
    ("está vomitando sangre", "bleeding"),
    ("tosiendo sangre", "bleeding"),
    ("el sangrado no para", "bleeding"),
    ("reacción alérgica grave", "allergic_reaction"),
    ("reaccion alergica grave a una picadura", "allergic_reaction"),
    ("anafilaxia", "allergic_reaction"),
    ("creo que es un choque anafiláctico", "allergic_reaction"),
    ("se me cierra la garganta", "allergic_reaction"),
    ("tengo la garganta hinchada después de la inyección", "allergic_reaction"),
    ("lengua hinchada", "allergic_reaction"),
    ("Labios hinchados!!", "allergic_reaction"),
    ("mi esposo se desmayó", "unconscious"),
    ("me desmayé en el baño", "unconscious"),
    ("tuvo un desmayo", "unconscious"),
    ("está inconsciente", "unconscious"),
    ("perdió el conocimiento", "unconscious"),
    ("mi abuelo no despierta", "unconscious"),
    ("no reacciona", "unconscious"),
    ("tiene una convulsión", "seizure"),
    ("CONVULSIONES otra vez", "seizure"),
    ("el niño está convulsionando", "seizure"),
    ("le dio un ataque epiléptico", "seizure"),
]

CATEGORIES = {
    "cardiac",
    "breathing",
    "stroke",
    "self_harm",
    "overdose",
    "bleeding",
    "allergic_reaction",
    "unconscious",
    "seizure",
}


@pytest.mark.parametrize("text, category", EMERGENCIES_ES)
def test_each_spanish_red_flag_is_recognised_with_its_category(text, category):
    assert red_flag(text) == category


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_every_category_is_pinned_in_both_languages_with_several_phrasings(category):
    for table in (EMERGENCIES, EMERGENCIES_ES):
        assert sum(1 for _, c in table if c == category) >= 2
    spanish = [text for text, c in EMERGENCIES_ES if c == category]
    assert len(spanish) >= 4
    assert any(not text.isascii() for text in spanish)  # typed with accents, or "ñ"


@pytest.mark.parametrize("text, category", EMERGENCIES + EMERGENCIES_ES)
def test_accents_case_and_punctuation_do_not_matter(text, category):
    plain = text.translate(str.maketrans("áéíóúüñÁÉÍÓÚÜÑ¡¿", "aeiouunAEIOUUN  "))
    for variant in (plain, text.upper(), plain.upper(), f"¡¡{text}!!", f"... {text}?"):
        assert red_flag(variant) == category


def test_accents_are_ignored_and_n_stands_for_enye():
    assert triage.normalize("RESPIRACIÓN") == triage.normalize("respiracion") == "respiracion"
    assert triage.normalize("daño") == "dano"
    # decomposed accents (e + combining acute), as some phones send them, read the same
    assert triage.normalize("respiracio\u0301n") == "respiracion"


def _old_normalize(text):
    """The English-only normalization before Spanish was added: text without accents must be
    normalized exactly as it was."""
    return triage._NON_WORD.sub(
        " ", text[: triage.MAX_CHARS].lower().translate(triage._APOSTROPHES)
    )


@pytest.mark.parametrize(
    "text",
    [t for t, _ in EMERGENCIES]
    + ORDINARY
    + [
        "CAN’T BREATHE",
        "can´t breathe",
        "short-of-breath!!!",
        "chest pain™",
        "x" * 3000,
        "😀 hi",
    ],
)
def test_english_normalization_is_unchanged(text):
    assert triage.normalize(text) == _old_normalize(text)


def test_compatibility_characters_are_not_rewritten_into_letters():
    # NFD, not NFKD: "™" stays a symbol, so "pain™" is still the word "pain".
    assert red_flag("chest pain™") == "cardiac"


ORDINARY_ES = [
    "quiero una cita para mañana",
    "Quiero una cita para manana",
    "necesito un chequeo",
    "dolor de muelas leve",
    "tengo dolor de muelas",
    "no puedo ir mañana",
    "no quiero la cita",
    "No, no puedo el martes",
    "necesito un chequeo del corazón",
    "quiero hacerme un electrocardiograma",
    "me toca la prueba de respiración el lunes",
    "ejercicios de respiración para la ansiedad",
    "me mandaron una radiografía de pecho",
    "tengo la presión alta y necesito una cita",
    "quiero una cita para un análisis de sangre",
    "me sangran un poco las encías cuando me cepillo",
    "me sangran mucho las encías al cepillarme, ¿me dan una limpieza?",
    "tomo muchas pastillas para la presión, quiero que revisen mi medicación",
    "me tomo una pastilla para dormir todas las noches",
    "ya me tomé todas las pastillas del antibiótico y sigo con tos",
    "soy alérgica a la penicilina",
    "tengo la garganta inflamada",
    "perdí el sentido del olfato",
    "no reacciona al tratamiento, quiero otra cita",
    "el dolor de espalda me está matando, ¿tienen algo esta semana?",
    "me muero de ganas de verlos",
    "quiero vivir más sano, ¿tienen nutricionista?",
    "se rompió mi teléfono, por eso no contesté",
    "mi abuela tiene epilepsia, necesita su cita de control",
    "¿me puede cambiar la cita del viernes?",
    "cancelar mi cita por favor",
    "sí, el martes a las 3 está bien",
]


@pytest.mark.parametrize("text", ORDINARY_ES)
def test_ordinary_spanish_messages_are_not_red_flags(text):
    assert red_flag(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "no puedo respirar",
        "No respira",
        "no para de sangrar",
        "no quiero vivir",
        "no deja de sangrar",
        "no puede respirar",
        "no despierta",
        "no quiero morir, quiero morirme",
        "No. Me falta el aire",
        "STOP no puedo respirar",
    ],
)
def test_spanish_red_flags_with_a_negation_are_emergencies_not_a_no_or_a_stop(text):
    now = datetime(2026, 3, 4, 10, tzinfo=ZoneInfo("America/New_York"))
    assert understand(text, now).intent == "emergency"


@pytest.mark.parametrize(
    "text, category",
    [
        ("tengo fiebre alta desde ayer", "fever"),
        ("fiebre de 39", "fever"),
        ("FIEBRE DE 39.5", "fever"),
        ("tiene 39 de fiebre", "fever"),
        ("tiene fiebre desde hace tres días", "fever"),
        ("dolor muy fuerte en la muela", "pain"),
        ("un dolor insoportable", "pain"),
        ("dolor de muelas muy fuerte", "pain"),
        ("me duele muchísimo la muela", "pain"),
        ("no puedo dormir del dolor", "pain"),
        ("el dolor de muelas está empeorando", "pain"),
        ("la tos va empeorando", "worsening"),
        ("cada vez peor", "worsening"),
        ("la herida no mejora", "worsening"),
        ("creo que tengo una infección", "infection"),
        ("infeccion en la muela", "infection"),
        ("tengo un absceso", "infection"),
        ("le sale pus", "infection"),
        ("tengo la cara hinchada", "swelling"),
        ("se me hinchó la cara", "swelling"),
        ("tengo la encía inflamada", "swelling"),
        ("creo que tengo un hueso roto", "injury"),
        ("me rompí el brazo", "injury"),
        ("me rompí un diente", "injury"),
        ("se me partió un diente", "injury"),
        ("tengo un esguince en el tobillo", "injury"),
        ("vómitos desde anoche", "dehydration"),
        ("mi hijo está vomitando", "dehydration"),
        ("no retengo nada", "dehydration"),
        ("creo que está deshidratado", "dehydration"),
    ],
)
def test_spanish_urgent_symptoms_are_recognised_with_their_category(text, category):
    assert triage.urgent_care(text) == category
    assert triage.red_flag(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "quiero una cita urgente",
        "necesito un chequeo",
        "dolor de muelas leve",
        "tengo un dolor leve",
        "me siento mucho mejor",
        "quiero una limpieza",
        "se me cayó un diente de leche",
        "se rompió mi teléfono",
    ],
)
def test_spanish_wishes_and_routine_requests_are_not_urgent(text):
    assert triage.urgent_care(text) is None


def test_spanish_triage_is_cheap():
    text = "Hola, quisiera cambiar mi cita del viernes a las 3 con la doctora Okafor, gracias"
    per_message = (
        min(timeit.repeat(lambda: (red_flag(text), triage.urgent_care(text)), number=200, repeat=5))
        / 200
    )
    assert per_message < 0.001  # well under in practice (tens of microseconds); generous for CI
