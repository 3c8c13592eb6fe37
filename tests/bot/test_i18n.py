"""The translation catalogs: complete, in step with the code, and read with the right language."""

from __future__ import annotations

import re
import string
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot import i18n
from bot.patient import replies

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "bot" / "locales" / "messages.pot"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}


def _catalog(path: Path):
    with open(path, "rb") as handle:
        return read_po(handle)


def _ids(catalog) -> set:
    return {message.id for message in catalog if message.id}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_template_holds_exactly_the_sentences_in_the_code():
    extracted: set = set()
    for folder in ("bot", "adapters", "jobs"):
        extracted |= {
            m[2]
            for m in extract_from_dir(str(ROOT / folder), [("**.py", "python")], keywords=KEYWORDS)
        }
    assert extracted == _ids(_catalog(TEMPLATE)), "run `make catalogs-extract`"


@pytest.mark.parametrize("language", [lang for lang in i18n.LANGUAGES if lang != i18n.DEFAULT])
def test_every_sentence_is_translated_with_the_same_placeholders(language):
    catalog = _catalog(ROOT / "bot" / "locales" / language / "LC_MESSAGES" / "messages.po")
    assert _ids(catalog) == _ids(_catalog(TEMPLATE))
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, message.id
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"untranslated: {ids[0]}"
        wanted = _fields(ids[-1]) | _fields(ids[0])
        for translated in strings:
            # A plural's singular may say "one" where the plural says {count}.
            assert _fields(translated) <= wanted and _fields(translated) >= _fields(ids[0]) - {
                "count"
            }, (ids[0], translated)


def test_a_text_made_outside_any_language_block_is_english():
    assert replies.no_appointments().startswith("You have no upcoming appointments")
    with i18n.speaking("es"):
        assert replies.no_appointments().startswith("No tiene citas")
        with i18n.speaking("en"):
            assert replies.kept() == "OK, your appointment is unchanged."
        assert replies.kept() == "De acuerdo, su cita sigue igual."
    assert i18n.current() == "en"


def test_an_unserved_language_is_english():
    with i18n.speaking("de"):
        assert i18n.current() == "en"


def test_dates_and_times_as_each_language_says_them(demo_clinic):
    start = datetime(2026, 3, 5, 20, 0, tzinfo=UTC)  # 3:00 PM in New York
    assert replies.when_text(start, demo_clinic.zone) == "Thu Mar 5 at 3:00 PM"
    with i18n.speaking("es"):
        assert replies.when_text(start, demo_clinic.zone) == "jueves 5 de marzo, 3:00 p.m."
        assert replies.time_text(time(9, 5)) == "9:05 a.m."
        assert replies.period_text(date(2026, 3, 9), date(2026, 3, 23)) == (
            "del lunes 9 de marzo al lunes 23 de marzo"
        )


def test_plural_forms_follow_the_language():
    lines = ["a", "b"]
    with i18n.speaking("es"):
        assert replies.appointments_list(lines).startswith("Tiene 2 citas próximas:")
        assert replies.slots_offer(date(2026, 3, 5), 1, shown=3).startswith(
            "El jueves 5 de marzo solo queda un horario libre"
        )
        assert replies.slots_offer(date(2026, 3, 5), 2, shown=3).startswith(
            "El jueves 5 de marzo solo quedan 2 horarios libres"
        )
    assert replies.appointments_list(lines).startswith("You have 2 upcoming appointments:")


def test_the_clinics_names_are_translated_where_the_file_says(demo_clinic):
    checkup = demo_clinic.appointment_type("checkup")
    with i18n.speaking("es"):
        assert replies.type_name(checkup) == "Chequeo general"
        assert replies.provider_name(demo_clinic.provider("moreau")) == (
            "Enfermera practicante Celine Moreau"
        )
        assert replies.provider_name(demo_clinic.provider("okafor")) == "Dr. Amara Okafor"
    assert replies.type_name(checkup) == "General check-up"


def test_sms_shaping_keeps_spanish_in_gsm7():
    from bot.patient import segments

    text = "¿Qué día le conviene? Mañana, el miércoles 4 de marzo, 3:00 p.m. Ú"
    shaped = segments.for_sms(text)
    assert segments.is_gsm7(shaped) and len(shaped) == len(text)
    assert shaped == "¿Qué dia le conviene? Mañana, el miércoles 4 de marzo, 3:00 p.m. U"
    assert re.search("[áíóú]", shaped) is None
