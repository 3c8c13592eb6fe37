"""Who the visit is for: the patient's name (asked once, read as people answer it) and, when they
book for someone else ("for my son"), that person's name, kept on the appointment.

Nothing but a name is ever stored as one; `start_booking` asks for the name when it is missing and
goes on to the visit's questions.
"""

from __future__ import annotations

import calendar
import re
from typing import Any

from bot.patient import replies
from bot.patient.asides import QUESTION, is_acknowledgement, is_thanks
from bot.patient.offers import asks_soonest, next_question
from bot.patient.turn import Turn, entities, merge, merge_found
from scheduler.patients import set_patient_name

# Booking for someone else: "for my son", "my kid's rash", "para mi mamá". Each word: its kind.
_RELATIONS = {
    "son": "son",
    "boy": "son",
    "daughter": "daughter",
    "girl": "daughter",
    "kid": "child",
    "child": "child",
    "baby": "child",
    "toddler": "child",
    "mother": "mother",
    "mom": "mother",
    "mum": "mother",
    "father": "father",
    "dad": "father",
    "husband": "husband",
    "wife": "wife",
    "partner": "partner",
    "grandmother": "grandmother",
    "grandma": "grandmother",
    "grandfather": "grandfather",
    "grandpa": "grandfather",
    "brother": "brother",
    "sister": "sister",
    "hijo": "son",
    "hija": "daughter",
    "nino": "child",
    "niño": "child",
    "nina": "child",
    "niña": "child",
    "bebe": "child",
    "bebé": "child",
    "madre": "mother",
    "mama": "mother",
    "mamá": "mother",
    "padre": "father",
    "papa": "father",
    "papá": "father",
    "esposo": "husband",
    "marido": "husband",
    "esposa": "wife",
    "abuela": "grandmother",
    "abuelo": "grandfather",
    "hermano": "brother",
    "hermana": "sister",
}

_RELATION = "|".join(sorted(_RELATIONS, key=len, reverse=True))

_FOR_SOMEONE = re.compile(
    rf"\b(?:for|para) (?:my|mi) (?P<a>{_RELATION})\b|\bmy (?P<b>{_RELATION})['\u2019]s\b"
    rf"|\bmy (?P<c>{_RELATION}) (?:has|needs|is|got|keeps|can'?t)\b"
    rf"|\bmi (?P<d>{_RELATION}) (?:tiene|necesita|est[aá]|no puede)\b",
    re.IGNORECASE,
)

# How people answer "what is your son's full name?" besides the bare name.
_ATTENDEE_LEAD = re.compile(
    r"^(?:(?:his|her|their) name is|(?:he|she)'?s|(?:he|she) is|it'?s"
    r"|se llama|su nombre es|es)\s+",
    re.IGNORECASE,
)

_NAME = re.compile(r"^[^\W\d_][^\W\d_' .-]*(?:[ '.-]+[^\W\d_]+)*\.?$")

# How people answer "what is your full name?" besides the bare name.
_NAME_LEAD = re.compile(
    r"^(?:(?:hi|hello|hey|hola)\b[\s,!.]*)?(?:my name is|my name's|name's|"
    r"name is|i am|i'm|im|it is|it's|this is|(?:you can |please )?call me"
    r"|me llamo|mi nombre es|soy)\s+",
    re.IGNORECASE,
)

_DECLINE = re.compile(
    r"^(?:skip|no|nope|no thanks?|omitir|saltar|no gracias)\W*$|\b(?:rather not"
    r"|prefer not|don'?t want|do not want|not telling|not saying|prefiero no"
    r"|no quiero (?:dar|decir))\b",
    re.IGNORECASE,
)

# A name given with the request ("Hi, my name is Lee Example. I need a checkup"): capitalized
# words after "my name is" or "this is", or two or more after "I'm" / "I am" opening the
# message ("I'm Sick" is no name; "I'm Sam Example" is).
_NAME_WORD = r"[A-Z][^\W\d_'-]*(?:['-][^\W\d_]+)*"

_INTRODUCED = re.compile(
    rf"(?:(?i:my name is|my name's|this is)\s+(?P<name>{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,3}})"
    rf"|^(?i:(?:(?:hi|hello|hey|good (?:morning|afternoon|evening))(?: there)?\b[\s,!.]*)?"
    rf"(?:i'm|i am|im))\s+"
    rf"(?P<full>{_NAME_WORD}(?:\s+{_NAME_WORD}){{1,3}}))(?![\w'-])"
)

# Words of a sentence that no name holds (names may hold "de", "la", "van", "der", "da").
_NOT_IN_A_NAME = frozenset(
    {
        "the",
        "is",
        "are",
        "my",
        "your",
        "you",
        "me",
        "to",
        "for",
        "again",
        "what",
        "whats",
        "where",
        "when",
        "how",
        "why",
        "can",
        "could",
        "please",
        "it",
        "this",
        "that",
        "appointment",
        "and",
        "with",
    }
)

# In a name the message introduces, also no title, weekday or month ("this is Thursday").
_NOT_NAME_WORDS = _NOT_IN_A_NAME | {
    "dr",
    "doctor",
    "nurse",
    "a",
    "an",
    "not",
    "so",
    "very",
    "i",
    "im",
    *(d.lower() for d in calendar.day_name),
    *(m.lower() for m in calendar.month_name if m),
}

# Words that only ever say when: an answer made of nothing else is no name, even sent twice
# ("tomorrow morning" again), while "Hope Friday" twice is one.
_WHEN_WORDS = frozenset(
    {
        "today",
        "tomorrow",
        "tonight",
        "morning",
        "afternoon",
        "evening",
        "night",
        "noon",
        "midnight",
        "next",
        "this",
        "week",
        "weekend",
        "day",
        "early",
        "late",
        "later",
        "soon",
        "asap",
        "any",
        "anytime",
        "time",
        "in",
        "the",
        "on",
        "at",
        "or",
        "after",
        "before",
        "am",
        "pm",
        "hoy",
        "manana",
        "mañana",
        "tarde",
        "noche",
        "semana",
        "proxima",
        "próxima",
        "que",
        "viene",
        "lunes",
        "martes",
        "miercoles",
        "miércoles",
        "jueves",
        "viernes",
        "sabado",
        "sábado",
        "domingo",
        "por",
        "la",
        "el",
        *(d.lower() for d in calendar.day_name),
        *(m.lower() for m in calendar.month_name if m),
    }
)

_NOT_A_NAME = frozenset(
    {
        "hi",
        "hello",
        "hey",
        "thanks",
        "thank you",
        "ty",
        "ok",
        "okay",
        "yes",
        "yeah",
        "sure",
        "please",
        "what",
        "why",
        "huh",
        "sorry",
    }
)


def attendee_relation(text: str) -> str | None:
    """Whom a booking is for when not the sender ("for my son": "son"), or None."""
    m = _FOR_SOMEONE.search(text)
    if m is None:
        return None
    return _RELATIONS[next(g for g in m.groups() if g).lower()]


def answer_attendee(turn: Turn, state: dict[str, Any]) -> dict[str, Any]:
    """The answer to "what is your son's full name?": the name (also "his name is ..."), or
    SKIP; the name is kept with the conversation and put on the appointment."""
    text = " ".join(turn.text.split())
    if _DECLINE.search(text):
        return next_question(turn, {**state, "step": None})
    lead = _ATTENDEE_LEAD.match(text)
    name = (text[lead.end() :] if lead else text).rstrip(".!")
    if (
        not (2 <= len(name) <= 80 and len(name.split()) <= 6 and _NAME.match(name))
        or name.lower() in _NOT_A_NAME
        or _NOT_IN_A_NAME.intersection(re.findall(r"[a-z]+", name.lower()))
        or (not lead and turn.understanding.intent not in ("unknown", "greeting"))
    ):
        if turn.understanding.intent == "book" or entities(turn.understanding):
            # "tomorrow morning" first: kept, and the name asked again.
            turn.say(replies.ask_attendee_name(state["for"]))
            return merge(state, turn.understanding)
        turn.say(replies.not_understood("ask_attendee"))
        return state
    turn.say(replies.name_thanks(name))
    return next_question(turn, {**state, "step": None, "attendee": name})


def introduced_name(text: str) -> str | None:
    """The name a message introduces its sender by ("my name is Lee Example", "this is
    Robert"), or None. Only capitalized words count, and only as many as a name has."""
    m = _INTRODUCED.search(text)
    if m is None:
        return None
    words = (m["name"] or m["full"]).split()
    while words and words[-1] in ("I", "Im"):
        words.pop()
    name = " ".join(words)
    if (
        not words
        or any(w.lower() in _NOT_NAME_WORDS for w in words)
        or name.lower() in _NOT_A_NAME
        or not _NAME.match(name)
        or len(name) > 80
    ):
        return None
    return name


def answer_name(turn: Turn, state: dict[str, Any]) -> dict[str, Any]:
    """The answer to "what is your full name?": a name (also "my name is ...", "I'm ..."), a
    refusal (SKIP, "I'd rather not"), a question about why, or what the visit is instead. That
    is kept, and the name asked once more; the same words sent again are a name after all
    ("Hope Friday"), and what they seemed to say about the visit is dropped. Anything else is
    asked again. Nothing but a name is ever stored as one."""
    u = turn.understanding
    text = " ".join(turn.text.split())
    unsure = state.get("unsure")  # the last answer that read as the visit, not a name
    settled = {k: v for k, v in state.items() if k != "unsure"}
    if unsure:
        settled = merge_found(settled, unsure["found"])
    if _DECLINE.search(text):
        return next_question(turn, {**settled, "step": None})
    lead = _NAME_LEAD.match(text)  # "my name is ...": then "hi" or "yes" is no answer
    repeated = unsure is not None and unsure["text"] == text.lower()
    if not lead and not repeated:
        if u.intent == "book" or entities(u):
            turn.say(replies.ask_name_again())
            return {**settled, "unsure": {"text": text.lower(), "found": entities(u)}}
        if QUESTION.search(text):
            turn.say(replies.why_name())
            return state
    name = text[lead.end() :].rstrip(".!") if lead else text.rstrip(".!")
    if (
        not (2 <= len(name) <= 80 and len(name.split()) <= 6 and _NAME.match(name))
        or name.lower() in _NOT_A_NAME
        or is_thanks(name)
        or is_acknowledgement(name)
        or _NOT_IN_A_NAME.intersection(re.findall(r"[a-z]+", name.lower()))
        or (not lead and not repeated and u.intent != "unknown")
        or (not lead and set(re.findall(r"[^\W\d_]+", name.lower())) <= _WHEN_WORDS)
    ):
        turn.say(replies.not_understood("ask_name"))
        return state
    set_patient_name(turn.vault, turn.patient, name)
    turn.say(replies.name_thanks(name))
    kept = {k: v for k, v in state.items() if k != "unsure"} if repeated else settled
    return next_question(turn, {**kept, "step": None})


def start_booking(turn: Turn) -> dict[str, Any]:
    """A booking request: what the message already said is kept, then whose visit it is (the
    patient's name once, or the attendee's), then what is missing (bot/patient/offers.py)."""
    state = {"mode": "book", **entities(turn.understanding)}
    if asks_soonest(turn):
        state.update(date=turn.today.isoformat(), soonest=True)
    relation = attendee_relation(turn.text)
    if relation is not None:
        # Whose visit it is: their name goes on the appointment; the patient stays the contact.
        turn.say(replies.ask_attendee_name(relation))
        return {**state, "step": "ask_attendee", "for": relation}
    if turn.patient.name_enc is None and not state.get("name_asked"):
        name = introduced_name(turn.text)
        if name is None:
            turn.say(replies.ask_name())
            return {**state, "step": "ask_name", "name_asked": True}
        set_patient_name(turn.vault, turn.patient, name)
        turn.say(replies.name_thanks(name))
    return next_question(turn, state)
