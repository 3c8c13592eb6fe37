"""Questions beside scheduling that patients ask anyway (a person, where, hours, being late, costs,
what to bring, reminders, new patients), thank-yous and acknowledgements.

Each is answered without changing what is under way; a message that also asks for a change
("I'd like a checkup next Tuesday, and what should I bring?") goes on to the request after the
answer (`asks_for_a_change`).
"""

from __future__ import annotations

import re

from bot.patient import replies
from bot.patient.turn import Turn

# Questions beside scheduling that patients ask anyway: a person, and where the clinic is.
_PERSON = re.compile(
    r"\b(?:(?:talk|speak|chat)(?: to| with)? (?:a |an |the |some |real )*"
    r"(?:person|human|someone|somebody|staff|receptionist|representative"
    r"|operator|agent|nurse|doctor)|real person|human being"
    r"|(?:someone|somebody|anyone|you) (?:to )?call me"
    r"|hablar con (?:una persona|alguien|la recepci[oó]n|un humano|el personal)"
    r"|(?:que )?(?:alguien )?me (?:llame|llamen)|persona real)\b",
    re.IGNORECASE,
)

_WHERE = re.compile(
    r"\b(?:where (?:is|are)\b|where's|address|directions|located|location"
    r"|parking|where (?:do|can|should) (?:i|we) (?:go|park)\b|get there|find you"
    r"|d[oó]nde (?:est[aá]n|queda|es)|direcci[oó]n|c[oó]mo llego|estacionamiento)",
    re.IGNORECASE,
)

# ... and, whatever else the message seems to ask: being late, opening hours, new patients,
# costs, what to bring, reminders. Each: the pattern, the answer, and whether it is answered
# while the name is asked too (not a pattern that single words match: "Bill Price" is a name).
_SIDE_QUESTIONS = (
    (
        re.compile(
            r"\b(?:(?:running|gonna be|going to be|will be|i'?ll be|i'?m|i am)(?: \w+){0,3}"
            r" late\b(?! afternoon| morning| evening| in the)|stuck in traffic"
            r"|(?:voy a llegar|llego|llegar[eé]|voy) (?:\w+ )?tarde\b(?! a la)"
            r"|estoy en el tr[aá]fico)",
            re.IGNORECASE,
        ),
        replies.running_late,
        True,
    ),
    (
        re.compile(
            r"\b(?:opening hours|office hours|your hours|what hours|are you open"
            r"|when (?:are|do) you (?:open|close)|what time do you (?:open|close)"
            r"|horario de atenci[oó]n|a qu[eé] hora (?:abren|cierran)|est[aá]n abiertos"
            r"|qu[eé] horario tienen)\b",
            re.IGNORECASE,
        ),
        replies.opening_hours,
        True,
    ),
    (
        re.compile(
            r"\b(?:(?:taking|accepting|take|accept) new patients|new patients? welcome"
            r"|pacientes nuevos|nuevos pacientes)\b",
            re.IGNORECASE,
        ),
        replies.new_patients,
        True,
    ),
    (
        re.compile(
            r"\b(?:cost|costs|price|how much|insurance|medicare|medicaid|co-?pay|billing"
            r"|aetna|cigna|humana|anthem|kaiser|blue cross|united ?health\w*|tricare"
            r"|do you (?:take|accept) (?!new\b)\w+|seguro|cuesta|cuanto cuesta|cu[aá]nto"
            r" cuesta|precio)\b",
            re.IGNORECASE,
        ),
        replies.front_desk,
        False,
    ),
    (
        re.compile(
            r"\b(?:bring|prepare|preparation|fasting|fast before|paperwork|forms"
            r"|qu[eé] (?:debo|tengo que) (?:traer|llevar)|prepararme|en ayunas|ayuno"
            r"|formularios)\b",
            re.IGNORECASE,
        ),
        replies.how_to_prepare,
        False,
    ),
    (
        re.compile(
            r"\breminders?\b|\bremind me\b(?! (?:of|about|when|what|which)\b)"
            r"|\btext me (?:the day|a day|the night) before\b|\brecordatorios?\b"
            r"|\brecu[eé]rde(?:me|nme)\b",
            re.IGNORECASE,
        ),
        replies.about_reminders,
        True,
    ),
)

# A wish about the provider the dialogue cannot act on: said so, with who can help.
_PROVIDER_WISH = re.compile(
    r"\b(?:female|male|woman|lady|man|women|men|spanish[- ]speaking)"
    r" (?:doctor|doc|provider|physician|nurse|dr)\b|\bdoctora? (?:mujer"
    r"|hombre|que hable espa[nñ]ol)\b",
    re.IGNORECASE,
)

# Words that ask for something to be done, beside a question in the same message: then the
# question is answered and the request carried on. ("can my husband come in with me?" asks.)
_REQUEST = re.compile(
    r"\b(?:i'?d like|i would like|i want|i need|we need|can (?:i|you) (?:get|have|book|make"
    r"|schedule|move|cancel)|book|schedule|make an appointment|cancel|reschedule|move my"
    r"|quiero|quisiera|necesito|me gustar[ií]a|cancelar|cambiar|reservar|agendar)\b",
    re.IGNORECASE,
)

# A question, not a name: "?" or a question word first ("what's the address again").
QUESTION = re.compile(
    r"\?|^\W*(?:why|what|whats|what's|how|who|where|wheres|where's|when"
    r"|can|could|do|does|is|are|will|would)\b",
    re.IGNORECASE,
)


def asks_for_a_change(turn: Turn) -> bool:
    """Whether the message also asks for a booking change, beside its question."""
    u = turn.understanding
    return u.intent in ("book", "cancel", "reschedule", "list", "waitlist") and bool(
        _REQUEST.search(turn.text)
    )  # "are you open on saturday" only asks


def aside(turn: Turn, step: str | None) -> str | None:
    """The answers to the questions beside scheduling a message asks (a long message may ask
    two: "what should I bring? and can it be a female doctor?"), or None."""
    u, text, clinic = turn.understanding, turn.text, turn.clinic
    if _PERSON.search(text):
        return replies.talk_to_person(clinic)
    answers = [replies.provider_wish(clinic)] if _PROVIDER_WISH.search(text) else []
    for pattern, answer, while_naming in _SIDE_QUESTIONS:
        if (while_naming or step != "ask_name") and pattern.search(text):
            answers.append(answer(clinic))
    if (
        not answers
        and u.intent == "unknown"
        and _WHERE.search(text)
        and (step != "ask_name" or QUESTION.search(text))
    ):  # a name could be "Parking"
        answers.append(replies.where_we_are(clinic))
    return "\n".join(answers[:2]) or None


_THANKS = frozenset({"thanks", "thank", "thankyou", "thx", "ty", "cheers", "bye", "goodbye"})

_THANKS_AROUND = _THANKS | frozenset(
    {
        "ok",
        "okay",
        "k",
        "great",
        "perfect",
        "cool",
        "awesome",
        "good",
        "wonderful",
        "excellent",
        "got",
        "it",
        "i",
        "you",
        "your",
        "so",
        "much",
        "very",
        "again",
        "a",
        "lot",
        "alright",
        "all",
        "set",
        "sounds",
        "see",
        "then",
        "have",
        "nice",
        "day",
        "for",
        "that",
        "the",
        "help",
        "appreciate",
    }
)


def is_thanks(text: str) -> bool:
    """A thank-you or goodbye and nothing else ("ok thanks!", "thank you so much", "bye")."""
    words = re.findall(r"[a-z]+", text.lower())
    return bool(_THANKS.intersection(words)) and _THANKS_AROUND.issuperset(words)


# "ok", "great", a thumbs-up: taking note, once nothing is asked. (Skin tones and the emoji
# variation selector are dropped first.)
_ACKNOWLEDGED = re.compile(
    r"^(?:ok(?:ay)?|k+|great|perfect|cool|awesome|alright|all right|sounds good|got it|good"
    r"|fine|noted|will do|see you then|[\U0001F44D\U0001F44C\U0001F642\U0001F60A\u263A])"
    r"[\s!.]*$",
    re.IGNORECASE,
)

_EMOJI_MODIFIERS = re.compile("[\U0001f3fb-\U0001f3ff\ufe0f]")


def is_acknowledgement(text: str) -> bool:
    return bool(_ACKNOWLEDGED.match(_EMOJI_MODIFIERS.sub("", text).strip()))
