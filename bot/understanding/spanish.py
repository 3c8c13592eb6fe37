"""What the understanding reads in Spanish: its words for intents, days and times.

The rules of dates and times are written once (bot/understanding/dates.py and times.py): what
"next Tuesday" means on a Wednesday, a bare hour in clinic hours, a past or impossible date,
"after 3" as a limit, and python-dateutil underneath for the calendar. Spanish does not get a
second copy of them. It gets its words, and `rewrite` turns its phrasing into the phrasing those
rules read, before they run:

    "mañana a las 3"                    -> "tomorrow at 3"
    "el martes que viene por la tarde"  -> "next tuesday in the afternoon"
    "pasado mañana a las 9 de la mañana" -> "day after tomorrow at 9 in the morning"
    "a las diez y media"                -> "at half past ten"
    "a las 5 menos cuarto de la tarde"  -> "at quarter to 5 in the afternoon"
    "al mediodía", "el 7 de marzo", "la próxima semana el jueves", "lo antes posible", ...

so a Spanish date is resolved by exactly the rules an English one is. The text is read without
accents ("mañana" and "manana" are the same word) and in lower case.

Intents are different words in each language, not the same rule: `intent(text)` finds them in
Spanish (pedir cita, cancelar, cambiar, mis citas, lista de espera) and `whole_message(text)`
reads a whole-message answer (sí, no, hola, ayuda, la segunda, ...). Both run before the English
ones, so "no puedo ir mañana" is a cancellation, never a "no".
"""

from __future__ import annotations

import re
import unicodedata

_MARKS = re.compile("[\u0300-\u036f]")
_SPACES = re.compile(r"\s+")


def plain(text: str) -> str:
    """Lower case, accents dropped, one space between words."""
    stripped = _MARKS.sub("", unicodedata.normalize("NFD", text.lower()))
    return _SPACES.sub(" ", stripped).strip()


# --- numbers, days and months -----------------------------------------------------------------

NUMBERS = {
    "una": "one",
    "uno": "one",
    "dos": "two",
    "tres": "three",
    "cuatro": "four",
    "cinco": "five",
    "seis": "six",
    "siete": "seven",
    "ocho": "eight",
    "nueve": "nine",
    "diez": "ten",
    "once": "eleven",
    "doce": "twelve",
}
_MINUTES = {
    "cinco": "5",
    "diez": "10",
    "quince": "15",
    "veinte": "20",
    "veinticinco": "25",
    "treinta": "30",
    "cuarenta": "40",
    "cuarenta y cinco": "45",
    "cincuenta": "50",
}
WEEKDAYS = {
    "lunes": "monday",
    "martes": "tuesday",
    "miercoles": "wednesday",
    "jueves": "thursday",
    "viernes": "friday",
    "sabado": "saturday",
    "domingo": "sunday",
}
MONTHS = {
    "enero": "january",
    "febrero": "february",
    "marzo": "march",
    "abril": "april",
    "mayo": "may",
    "junio": "june",
    "julio": "july",
    "agosto": "august",
    "septiembre": "september",
    "setiembre": "september",
    "octubre": "october",
    "noviembre": "november",
    "diciembre": "december",
}
_ORDINAL_DAYS = {"primero": "1", "uno": "1", "dos": "2", "tres": "3"}

_HOUR = rf"(?:\d{{1,2}}|{'|'.join(NUMBERS)})"
_WEEKDAY = "|".join(WEEKDAYS)
_MONTH = "|".join(MONTHS)
_NEXT = r"(?:proxima|proximo|siguiente|que viene|entrante)"


def _hour(word: str) -> str:
    return NUMBERS.get(word, word)


def _minutes(word: str) -> str:
    return _MINUTES.get(word, word)


# Each: a pattern over the plain text, and what it becomes. In order: a later rule sees what the
# earlier ones made ("de la mañana" must be read before "mañana" alone is "tomorrow").
_REWRITES: tuple[tuple[re.Pattern, object], ...] = tuple(
    (re.compile(p), r)
    for p, r in (
        # Parts of the day.
        (r"\b(?:de|por|en) la manana\b", " in the morning "),
        (r"\b(?:de|por|en) la tarde\b", " in the afternoon "),
        (r"\b(?:de|por|en) la noche\b", " in the evening "),
        (r"\besta manana\b", " this morning "),
        (r"\besta tarde\b", " this afternoon "),
        (r"\besta noche\b", " tonight "),
        (r"\b(?:a |al )?mediodia\b", " noon "),
        (r"\b(?:a |la )?medianoche\b", " midnight "),
        (r"\btemprano\b", " in the morning "),
        (r"\bdespues del trabajo\b", " after work "),
        # Urgency and "any day".
        (
            r"\blo (?:mas )?(?:antes|pronto) posible\b|\bcuanto antes\b|\blo antes que (?:se )?pueda\b"
            r"|\bel primer (?:horario|turno|espacio) (?:libre|disponible)\b",
            " asap ",
        ),
        (r"\burgente(?:mente)?\b|\burgencia\b", " urgent "),
        (r"\bcualquier dia\b", " any day "),
        (r"\besta semana\b", " this week "),
        # Relative days.
        (r"\bpasado manana\b", " day after tomorrow "),
        (r"\bmanana\b", " tomorrow "),
        (r"\bhoy(?: mismo)?\b", " today "),
        (r"\bayer\b", " yesterday "),
        (
            r"\b(?:en|dentro de) (\d{1,3}|una?|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez)"
            r" (dias?|semanas?)\b",
            lambda m: f" in {_count(m[1])} {'days' if m[2].startswith('dia') else 'weeks'} ",
        ),
        # Weeks and weekdays.
        (
            rf"\b(?:el )?({_WEEKDAY}) de la (?:semana {_NEXT}|{_NEXT} semana)\b",
            lambda m: f" {WEEKDAYS[m[1]]} next week ",
        ),
        (rf"\b(?:la )?(?:semana {_NEXT}|{_NEXT} semana)\b", " next week "),
        (rf"\b(?:el )?({_WEEKDAY}) {_NEXT}\b", lambda m: f" next {WEEKDAYS[m[1]]} "),
        (rf"\b(?:el |este )?{_NEXT} ({_WEEKDAY})\b", lambda m: f" next {WEEKDAYS[m[1]]} "),
        (rf"\b(?:el |este |para el )?({_WEEKDAY})\b", lambda m: f" {WEEKDAYS[m[1]]} "),
        # Dates: "el 7 de marzo", "el primero de abril", "7/3" stays as written.
        (
            rf"\b(?:el )?(?:dia )?(\d{{1,2}}|primero) (?:de )?({_MONTH})(?: (?:de|del) (\d{{4}}))?\b",
            lambda m: (
                f" {_ORDINAL_DAYS.get(m[1], m[1])} of {MONTHS[m[2]]}"
                + (f" {m[3]} " if m[3] else " ")
            ),
        ),
        (rf"\b({_MONTH})\b", lambda m: f" {MONTHS[m[1]]} "),
        (
            r"\b(?:el dia|el|para el) (\d{1,2})\b(?!\s*(?:de|of|at|in|y|menos|horas?|hrs|:|a\.?m|p\.?m"
            r"|am|pm)\b)",
            lambda m: f" the {m[1]}th ",
        ),
        # Minutes after and before the hour: "diez y media", "5 menos cuarto", "3 y 20".
        (rf"\b({_HOUR}) y media\b", lambda m: f" half past {_hour(m[1])} "),
        (rf"\b({_HOUR}) y cuarto\b", lambda m: f" quarter past {_hour(m[1])} "),
        (rf"\b({_HOUR}) menos cuarto\b", lambda m: f" quarter to {_hour(m[1])} "),
        (
            rf"\b({_HOUR}) y ({'|'.join(sorted(_MINUTES, key=len, reverse=True))}|\d{{1,2}})\b",
            lambda m: f" {_minutes(m[2])} minutes past {_hour(m[1])} ",
        ),
        (
            rf"\b({_HOUR}) menos ({'|'.join(_MINUTES)}|\d{{1,2}})\b",
            lambda m: f" {_minutes(m[2])} minutes to {_hour(m[1])} ",
        ),
        (rf"\b({_HOUR}) en punto\b", lambda m: f" {_hour(m[1])} oclock "),
        (r"\b(\d{1,2}) ?hrs\b", lambda m: f" {m[1]}:00 "),
        # Limits and hours: "después de las 3", "antes de las 10", "a las 3", "a la una".
        (r"\b(?:despues de|a partir de|pasadas) (?:las|la)\b", " after "),
        (r"\bantes de (?:las|la)\b", " before "),
        (
            r"\b(?:a|para|sobre|como a|tipo) (?:las|la)\b(?=\s+(?:\d+|half|quarter|"
            + "|".join(NUMBERS)
            + r")\b)",
            " at ",
        ),
        (
            rf"\b(?:las|la) ({_HOUR})\b(?=\s*(?:$|[,.?!]|in the|am\b|pm\b|oclock))",
            lambda m: f" at {_hour(m[1])} ",
        ),
        (
            rf"\b(?:at|past|to) ({'|'.join(NUMBERS)})\b",
            lambda m: m[0].split()[0] + f" {_hour(m[1])} ",
        ),
    )
)

_COUNTS = {
    "un": "1",
    "una": "1",
    "dos": "2",
    "tres": "3",
    "cuatro": "4",
    "cinco": "5",
    "seis": "6",
    "siete": "7",
    "ocho": "8",
    "nueve": "9",
    "diez": "10",
}


def _count(word: str) -> str:
    return _COUNTS.get(word, word)


def rewrite(text: str) -> str:
    """The plain Spanish text with its dates and times in the rules' phrasing (see the module's
    docstring); words the rules do not read are left as they are."""
    for pattern, replacement in _REWRITES:
        changed = pattern.sub(replacement, text)
        if changed is not text and changed != text:
            text = _SPACES.sub(" ", changed).strip()
    return text


# --- whole-message answers ---------------------------------------------------------------------

_PUNCTUATION = re.compile(r"[^\w\s#]+")
_WHOLE = tuple(
    (intent, re.compile(rf"^(?:{body})$"))
    for intent, body in (
        ("stop", r"alto|baja|darme de baja|dar de baja"),
        (
            "confirm",
            r"(?:si|claro|claro que si|de acuerdo|vale|perfecto|esta bien|muy bien|correcto"
            r"|confirmo|confirmado|asi es|por supuesto|dale|bueno|listo|me parece bien"
            r"|si(?:,)? (?:esta bien|por favor|gracias|claro|perfecto|confirmo)"
            r"|si me sirve|me sirve|me conviene)(?: gracias| por favor)?",
        ),
        (
            "deny",
            r"(?:no|no gracias|ninguno|ninguna|ningun|ninguno de esos|ninguna de esas"
            r"|ninguno de ellos|ninguna de ellas|tampoco|no me sirve|no me sirven"
            r"|no me conviene|no me conviene ninguno|mejor no|no puedo a esa hora)"
            r"(?: gracias| por favor)?",
        ),
        (
            "greeting",
            r"(?:hola|buenos dias|buenas tardes|buenas noches|buenas|saludos|que tal"
            r"|hola buenos dias|hola buenas tardes|hola buenas noches|buen dia)"
            r"(?: que tal)?",
        ),
        (
            "help",
            r"ayuda|ayudame|informacion|info|menu|opciones|que puede hacer|que puedes hacer"
            r"|como funciona|necesito ayuda|ayuda por favor|necesito ayuda por favor",
        ),
    )
)
_ORDINALS = {
    "primera": 1,
    "primero": 1,
    "segunda": 2,
    "segundo": 2,
    "tercera": 3,
    "tercero": 3,
    "cuarta": 4,
    "cuarto": 4,
    "quinta": 5,
    "quinto": 5,
    **{
        word: n
        for n, word in enumerate(
            ("uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez"), 1
        )
    },
    "una": 1,
}
_CHOOSE = re.compile(
    r"^(?:(?:quiero|prefiero|elijo|me quedo con|deme|dame)\s+)?"
    r"(?:(?:el|la)\s+)?(?:opcion|numero|nro|no\.?|#)?\s*"
    rf"(?:(?P<num>\d{{1,2}})|(?P<word>{'|'.join(_ORDINALS)}))"
    r"(?:\s+(?:opcion|por favor|gracias))?$"
)


def whole_message(text: str) -> tuple[str, int | None] | None:
    """The intent of a message that is only an answer ("sí", "no gracias", "la segunda",
    "hola"), with the option it chose; None for anything longer."""
    bare = _SPACES.sub(" ", _PUNCTUATION.sub(" ", plain(text))).strip()
    m = _CHOOSE.match(bare)
    if m and (m["word"] or "el " in bare or "la " in bare or "opcion" in bare or "numero" in bare):
        choice = int(m["num"]) if m["num"] else _ORDINALS[m["word"]]
        return "choose", choice
    for intent, pattern in _WHOLE:
        if pattern.match(bare):
            return intent, None
    return None


# --- intents found anywhere in a message, tried in this order ------------------------------------

_CITA = r"(?:cita|citas|consulta|turno|hora|visita|chequeo|revision|vacuna)"
_INTENTS = tuple(
    (intent, re.compile(body))
    for intent, body in (
        (
            "stop",
            r"\bno me (?:escriban|manden|envien|mande|envie|escriba) mas\b|\bdejen de "
            r"(?:escribirme|enviarme|mandarme|contactarme)\b|\bya no quiero (?:recibir )?"
            r"(?:mensajes|textos)\b|\bdarme de baja\b",
        ),
        (
            "reschedule",
            rf"\b(?:cambiar|cambie|cambio|cambiarla|cambiarlo|reprogramar\w*|reagendar\w*"
            rf"|mover|moverla|muevan|mueva|pasar|pasarla|posponer|aplazar|adelantar"
            rf"|atrasar|correr)\b(?:\s+\w+){{0,4}}?\s+{_CITA}\b"
            rf"|\b(?:reprogramar\w*|reagendar\w*|cambiarla|moverla|pasarla)\b"
            rf"|\b(?:otro dia|otra hora|otro horario|otra fecha|cambiar de (?:dia|hora"
            rf"|fecha|horario))\b",
        ),
        (
            "cancel",
            rf"\b(?:cancelar\w*|cancele|cancelo|cancelen|anular\w*|anule)\b"
            rf"|\bno (?:voy a |vamos a )?(?:puedo|puede|podre|podemos|podra|poder)"
            rf" (?:ir|asistir|llegar|venir|acudir)\b"
            rf"|\bya no (?:necesito|quiero|voy a necesitar) (?:la|mi|esa) {_CITA}\b"
            rf"|\b(?:quitar|borrar|eliminar) (?:la|mi|esa) {_CITA}\b",
        ),
        (
            "waitlist",
            r"\blista de espera\b|\bavis\w* (?:si|cuando) (?:se libera|hay|queda|se abre)"
            r"|\bsi (?:alguien cancela|se libera (?:un|algun)|hay (?:un|algun) (?:espacio"
            r"|horario|lugar|hueco) (?:libre|antes))",
        ),
        (
            "list",
            rf"\bmis citas\b|\b(?:que|cuales|cuantas) citas tengo\b|\bcuando (?:es|son|tengo)"
            rf" (?:mi|mis) {_CITA}\b|\btengo (?:alguna |una )?cita\b|\ba que hora es mi {_CITA}"
            rf"|\bmi proxima {_CITA}\b|\bver mis {_CITA}|\bsigue (?:en pie )?mi {_CITA}"
            rf"|\bnumero de (?:cita|referencia|confirmacion)\b",
        ),
        (
            "book",
            rf"\b(?:cita|citas|consulta|turno|reservar\w*|agendar\w*|programar\w*|apartar"
            rf"|pedir (?:una )?{_CITA}|sacar (?:una )?{_CITA}|hacer (?:una )?{_CITA}"
            rf"|(?:quiero|quisiera|necesito|necesita|me gustaria|podria) (?:ver|un|una|que"
            rf"|sacar|pedir|hacer|reservar|agendar|ir)"
            rf"|(?:hay|tienen|tiene) (?:horarios?|espacios?|disponibilidad|lugar|citas?)"
            rf"|horarios? (?:libres?|disponibles?)|disponibilidad)\b",
        ),
    )
)


def intent(text: str) -> str | None:
    """The first Spanish intent whose words appear in the plain text, or None."""
    for name, pattern in _INTENTS:
        if pattern.search(text):
            return name
    return None
