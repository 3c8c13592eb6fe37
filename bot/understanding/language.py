"""Which language a message is in: English or Spanish (the languages the clinic serves), or another.

`tell(text)` counts the words each language has and the other lacks ("quiero", "cita", "mañana"
against "want", "appointment", "tomorrow"): clinic texts are short and full of the same words, so
the clinic's own vocabulary decides where general-purpose detectors guess. (Measured before
choosing: lingua's accurate mode holds about 200 MB per process for five languages; its light mode
read "necesito un chequeo" and "necesito cita para manana a las 10" as Portuguese.)

- A message with too little to go on ("sí", "ok", "2", "Ana López") is `None`: it keeps the
  conversation's language. The first message of a conversation needs less ("hola").
- A message mostly in Portuguese, Italian or French (words of theirs that neither English nor
  Spanish has: "não", "você", "vorrei", "domani", "je", "voudrais") is told as that language, so
  the conversation answers in the closest one it serves (Spanish) and takes no action on words it
  would misread.
- `switch(text)`: an explicit request for the other language ("English please", "en español",
  "¿habla inglés?"), or None.

Accents are ignored ("manana" is "mañana"), and the cost is one pass over the words (a few
microseconds for a text).
"""

from __future__ import annotations

import re
import unicodedata

ENGLISH, SPANISH = "en", "es"
# What another language's speaker is answered in: the closest language the clinic serves.
CLOSEST = {"pt": SPANISH, "it": SPANISH, "fr": SPANISH}

_WORDS = re.compile(r"[a-z]+")
_MARKS = re.compile("[\u0300-\u036f]")

# Words of one language that the other does not use (accents dropped). Not "no", "a", "me",
# "doctor", "ok", "hola"-like loans used in both, or names.
_SPANISH = frozenset(
    """
    quiero quisiera necesito necesita puedo puede podria podemos tengo tiene tenemos hay
    cita citas consulta consultas chequeo revision vacuna vacunacion medico medica doctora
    enfermera dolor pecho respirar ayuda favor gracias hola buenos buenas dias tardes noches
    manana hoy ayer pasado semana semanas dias mes meses dentro proxima proximo viene
    siguiente mediodia medianoche temprano
    lunes martes miercoles jueves viernes sabado domingo enero febrero marzo abril mayo junio
    julio agosto septiembre setiembre octubre noviembre diciembre
    el la los las del al un una unos unas mi mis su sus tu yo usted ustedes nosotros ella ellos
    es esta estoy estan soy era fue ser estar que cual cuando donde como porque pero para
    por con sin sobre hasta desde entre tambien ya muy mas menos todo nada algo alguien
    cancelar anular cambiar reprogramar mover pasar reservar agendar programar pedir sacar
    hacer ver ir venir llegar confirmar confirmo claro vale acuerdo perfecto listo
    lista espera avisar avisame aviso libera cancelacion horario hora horas otra otro
    lo le les se nos te si espanol ingles idioma habla hablo hablar escribir
    media cuarto despues antes posible pronto urgente urgencia emergencia
    hijo hija madre padre esposo esposa mama papa nino nina bebe
    ninguno ninguna ningun esos esas estos estas eso esto opcion numero primera primero
    segunda segundo tercera tercero alto baja dejen enviarme mandarme escriban mensajes mensaje
    sirve sirven conviene mejor tampoco quisiera gustaria anoteme avise aviseme llamen
""".split()
)
_ENGLISH = frozenset(
    """
    i im ive id ill want need would could should can cant will wont am is are was were be been
    have has had do does did dont doesnt didnt get got make take book booking booked schedule
    appointment appointments appt appts visit checkup check cancel reschedule move change
    the to of and or for with at on in from by about this that these those it its my your our
    his her their you we they him them what when where which who why how there here
    please thanks thank yes yeah yep sure okay hello hi hey good morning afternoon evening
    night today tomorrow tonight yesterday next week weekend monday tuesday wednesday thursday
    friday saturday sunday january february march april june july august september october
    november december time day days earlier later soon asap available opening openings slot
    help english spanish language speak any some just also not only
    son daughter mother father husband wife kid kids baby
""".split()
)
# Words of the Romance languages closest to Spanish that neither English nor Spanish has.
_OTHER = {
    "pt": frozenset(
        """nao voce vc obrigado obrigada amanha quero marcar uma meu minha ola bom
                       gostaria posso vou fazer estou tenho seu sua hoje semana proxima ate
                       depois nada muito""".split()
    ),
    "it": frozenset(
        """vorrei appuntamento domani grazie ciao buongiorno sono mio mia oggi
                       settimana prossima grazie posso fissare prenotare disdire vorremmo
                       dottore perche anche molto""".split()
    ),
    "fr": frozenset(
        """je voudrais rendez vous merci bonjour demain oui suis mon ma aujourd hui
                       semaine prochaine annuler veux pouvez avec pour est""".split()
    ),
}
_SPANISH_SIGNS = re.compile("[ñ¿¡]")

_SWITCH = (
    (
        SPANISH,
        re.compile(
            r"\b(?:(?:en|in)\s+espanol|spanish(?:\s+please)?|habla\w*\s+espanol"
            r"|espanol(?:\s+por\s+favor)?|prefiero\s+espanol)\b"
        ),
    ),
    (
        ENGLISH,
        re.compile(
            r"\b(?:(?:in|en)\s+english|english(?:\s+please)?|en\s+ingles"
            r"|habla\w*\s+ingles|speak\s+english|prefer\s+english)\b"
        ),
    ),
)
# A switch request is a short message about the language, not a long one that mentions it.
_SWITCH_WORDS = 6


def plain(text: str) -> str:
    """Lower case, accents dropped ("Mañana" -> "manana"), as the word lists are written."""
    return _MARKS.sub("", unicodedata.normalize("NFD", text.lower()))


def mentions_spanish(text: str) -> bool:
    """Whether any word of the message is Spanish (a short or mixed message may be read both
    ways)."""
    return any(w in _SPANISH for w in _WORDS.findall(plain((text or "")[:1000])))


def tell(text: str, *, first: bool = False) -> str | None:
    """ "en", "es", another language's code ("pt", "it", "fr"), or None when the message has too
    little of any to tell (it keeps the conversation's language). `first`: the conversation has
    no language yet, so one word of one language and none of the other is enough ("hola")."""
    lowered = (text or "")[:1000].lower()
    words = _WORDS.findall(plain(lowered))
    spanish = sum(w in _SPANISH for w in words) + (2 if _SPANISH_SIGNS.search(lowered) else 0)
    english = sum(w in _ENGLISH for w in words)
    other, other_count = max(
        ((code, sum(w in found for w in words)) for code, found in _OTHER.items()),
        key=lambda pair: pair[1],
    )
    if other_count >= 2 and other_count > spanish and other_count > english:
        return other
    least = 1 if first else 2
    if spanish >= least and spanish > 2 * english:
        return SPANISH
    if english >= least and english > 2 * spanish:
        return ENGLISH
    return None


def switch(text: str) -> str | None:
    """The language a short message asks to be answered in ("en español" -> "es"), or None."""
    lowered = plain(text or "")
    if len(lowered.split()) > _SWITCH_WORDS:
        return None
    for language, pattern in _SWITCH:
        if pattern.search(lowered):
            return language
    return None
