"""The local engine's dialogue: what to do with one understood message, given the conversation so far.

A small state machine over a JSON-able `state` dict (stored encrypted by `SessionStore`):

- booking asks only for what is missing, in order: the patient's name (once), the appointment
  type, the day; then it offers up to three numbered slots, and a number books one;
- cancel and reschedule pick the appointment (numbered when there are several), cancel asks YES,
  reschedule reuses the slot offer with the appointment's type and provider preferred;
- list, help and greeting answer at once; anything else gets a re-prompt fitting the step.

A clear new request (cancel, reschedule, list, help) interrupts any step; entities in a message
("friday at 3") fill in the step in progress. The dialogue changes the schedule only through
`SchedulingTools`, so it can never do more than the caller may.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from scheduler.availability import Slot
from scheduler.clinic import Clinic
from scheduler.errors import OutsideBookingWindow, SchedulingError, SlotUnavailable
from scheduler.models import Appointment, Patient
from scheduler.crypto import Vault
from scheduler.patients import patient_name, set_patient_name

from bot.patient import replies
from bot.understanding.nlu import Understanding
from bot.tools import SchedulingTools

# How far past the requested day to look when that day has nothing open.
FALLBACK_DAYS = 21
CHOICES = 3           # openings offered at a time
INTERRUPTING = {"cancel", "reschedule", "list", "help", "waitlist"}
# Questions beside scheduling that patients ask anyway: a person, and where the clinic is.
_PERSON = re.compile(r"\b(?:(?:talk|speak|chat)(?: to| with)? (?:a |an |the |some |real )*"
                     r"(?:person|human|someone|somebody|staff|receptionist|representative"
                     r"|operator|agent|nurse|doctor)|real person|human being"
                     r"|(?:someone|somebody|anyone|you) (?:to )?call me"
                     r"|hablar con (?:una persona|alguien|la recepci[oó]n|un humano|el personal)"
                     r"|(?:que )?(?:alguien )?me (?:llame|llamen)|persona real)\b", re.IGNORECASE)
_WHERE = re.compile(r"\b(?:where (?:is|are)\b|where's|address|directions|located|location"
                    r"|parking|where (?:do|can|should) (?:i|we) (?:go|park)\b|get there|find you"
                    r"|d[oó]nde (?:est[aá]n|queda|es)|direcci[oó]n|c[oó]mo llego|estacionamiento)",
                    re.IGNORECASE)
# ... and, whatever else the message seems to ask: being late, opening hours, new patients,
# costs, what to bring, reminders. Each: the pattern, the answer, and whether it is answered
# while the name is asked too (not a pattern that single words match: "Bill Price" is a name).
_SIDE_QUESTIONS = (
    (re.compile(r"\b(?:(?:running|gonna be|going to be|will be|i'?ll be|i'?m|i am)(?: \w+){0,3}"
                r" late\b(?! afternoon| morning| evening| in the)|stuck in traffic"
                r"|(?:voy a llegar|llego|llegar[eé]|voy) (?:\w+ )?tarde\b(?! a la)"
                r"|estoy en el tr[aá]fico)",
                re.IGNORECASE), replies.running_late, True),
    (re.compile(r"\b(?:opening hours|office hours|your hours|what hours|are you open"
                r"|when (?:are|do) you (?:open|close)|what time do you (?:open|close)"
                r"|horario de atenci[oó]n|a qu[eé] hora (?:abren|cierran)|est[aá]n abiertos"
                r"|qu[eé] horario tienen)\b",
                re.IGNORECASE), replies.opening_hours, True),
    (re.compile(r"\b(?:(?:taking|accepting|take|accept) new patients|new patients? welcome"
                r"|pacientes nuevos|nuevos pacientes)\b",
                re.IGNORECASE), replies.new_patients, True),
    (re.compile(r"\b(?:cost|costs|price|how much|insurance|medicare|medicaid|co-?pay|billing"
                r"|aetna|cigna|humana|anthem|kaiser|blue cross|united ?health\w*|tricare"
                r"|do you (?:take|accept) (?!new\b)\w+|seguro|cuesta|cuanto cuesta|cu[aá]nto"
                r" cuesta|precio)\b", re.IGNORECASE), replies.front_desk, False),
    (re.compile(r"\b(?:bring|prepare|preparation|fasting|fast before|paperwork|forms"
                r"|qu[eé] (?:debo|tengo que) (?:traer|llevar)|prepararme|en ayunas|ayuno"
                r"|formularios)\b",
                re.IGNORECASE), replies.how_to_prepare, False),
    (re.compile(r"\breminders?\b|\bremind me\b(?! (?:of|about|when|what|which)\b)"
                r"|\btext me (?:the day|a day|the night) before\b|\brecordatorios?\b"
                r"|\brecu[eé]rde(?:me|nme)\b",
                re.IGNORECASE), replies.about_reminders, True),
)
# A wish about the provider the dialogue cannot act on: said so, with who can help.
_PROVIDER_WISH = re.compile(r"\b(?:female|male|woman|lady|man|women|men|spanish[- ]speaking)"
                            r" (?:doctor|doc|provider|physician|nurse|dr)\b|\bdoctora? (?:mujer"
                            r"|hombre|que hable espa[nñ]ol)\b", re.IGNORECASE)
# Words that ask for something to be done, beside a question in the same message: then the
# question is answered and the request carried on. ("can my husband come in with me?" asks.)
_REQUEST = re.compile(
    r"\b(?:i'?d like|i would like|i want|i need|we need|can (?:i|you) (?:get|have|book|make"
    r"|schedule|move|cancel)|book|schedule|make an appointment|cancel|reschedule|move my"
    r"|quiero|quisiera|necesito|me gustar[ií]a|cancelar|cambiar|reservar|agendar)\b",
    re.IGNORECASE)
# Booking for someone else: "for my son", "my kid's rash", "para mi mamá". Each word: its kind.
_RELATIONS = {
    "son": "son", "boy": "son", "daughter": "daughter", "girl": "daughter", "kid": "child",
    "child": "child", "baby": "child", "toddler": "child", "mother": "mother", "mom": "mother",
    "mum": "mother", "father": "father", "dad": "father", "husband": "husband", "wife": "wife",
    "partner": "partner", "grandmother": "grandmother", "grandma": "grandmother",
    "grandfather": "grandfather", "grandpa": "grandfather", "brother": "brother",
    "sister": "sister", "hijo": "son", "hija": "daughter", "nino": "child", "niño": "child",
    "nina": "child", "niña": "child", "bebe": "child", "bebé": "child", "madre": "mother",
    "mama": "mother", "mamá": "mother", "padre": "father", "papa": "father", "papá": "father",
    "esposo": "husband", "marido": "husband", "esposa": "wife", "abuela": "grandmother",
    "abuelo": "grandfather", "hermano": "brother", "hermana": "sister"}
_RELATION = "|".join(sorted(_RELATIONS, key=len, reverse=True))
_FOR_SOMEONE = re.compile(
    rf"\b(?:for|para) (?:my|mi) (?P<a>{_RELATION})\b|\bmy (?P<b>{_RELATION})['\u2019]s\b"
    rf"|\bmy (?P<c>{_RELATION}) (?:has|needs|is|got|keeps|can'?t)\b"
    rf"|\bmi (?P<d>{_RELATION}) (?:tiene|necesita|est[aá]|no puede)\b", re.IGNORECASE)
# How people answer "what is your son's full name?" besides the bare name.
_ATTENDEE_LEAD = re.compile(r"^(?:(?:his|her|their) name is|(?:he|she)'?s|(?:he|she) is|it'?s"
                            r"|se llama|su nombre es|es)\s+", re.IGNORECASE)
# No day, but "asap", "first available", "any day": the earliest openings, from today.
_ANY_DAY = re.compile(r"\b(?:any ?day|whenever|this week|next available|soonest)\b",
                      re.IGNORECASE)
# Giving up on what is under way.
_NEVER_MIND = re.compile(r"^\W*(?:nvm|never ?mind|forget it|forget about it)\W*$", re.IGNORECASE)
# Changing what was just booked, with nothing under way: "can we make it 10am instead".
_INSTEAD = re.compile(r"\b(?:instead|make it|change it to|switch it to)\b", re.IGNORECASE)
# Moving a visit: "next week, same time" ("la semana que viene, a la misma hora").
_SAME_TIME = re.compile(r"\bsame (?:time|hour)\b|\bmisma hora\b", re.IGNORECASE)
# "next week" with no day named: for a visit being moved, the week after the visit's.
_NEXT_WEEK = re.compile(r"\bnext\s+w(?:ee)?k\b|\bsemana\s+que\s+viene\b"
                        r"|\bpr[oó]xima\s+semana\b|\bsemana\s+pr[oó]xima\b", re.IGNORECASE)
_WEEKDAY_NAMED = re.compile(r"\b(?:mon|tue|wed|thu|fri|sat|sun)\w*|\b(?:lunes|martes|mi[eé]rcoles"
                            r"|jueves|viernes|s[aá]bado|domingo)\b", re.IGNORECASE)
# "anything later?" / "earlier?" about the times offered.
_LATER = re.compile(r"\b(?:later|after (?:that|those))\b", re.IGNORECASE)
_EARLIER = re.compile(r"\b(?:earlier|sooner|before (?:that|those))\b", re.IGNORECASE)
_NAME = re.compile(r"^[^\W\d_][^\W\d_' .-]*(?:[ '.-]+[^\W\d_]+)*\.?$")
# How people answer "what is your full name?" besides the bare name.
_NAME_LEAD = re.compile(r"^(?:(?:hi|hello|hey|hola)\b[\s,!.]*)?(?:my name is|my name's|name's|"
                        r"name is|i am|i'm|im|it is|it's|this is|(?:you can |please )?call me"
                        r"|me llamo|mi nombre es|soy)\s+", re.IGNORECASE)
_DECLINE = re.compile(r"^(?:skip|no|nope|no thanks?|omitir|saltar|no gracias)\W*$|\b(?:rather not"
                      r"|prefer not|don'?t want|do not want|not telling|not saying|prefiero no"
                      r"|no quiero (?:dar|decir))\b", re.IGNORECASE)
# A name given with the request ("Hi, my name is Lee Example. I need a checkup"): capitalized
# words after "my name is" or "this is", or two or more after "I'm" / "I am" opening the
# message ("I'm Sick" is no name; "I'm Sam Example" is).
_NAME_WORD = r"[A-Z][^\W\d_'-]*(?:['-][^\W\d_]+)*"
_INTRODUCED = re.compile(
    rf"(?:(?i:my name is|my name's|this is)\s+(?P<name>{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,3}})"
    rf"|^(?i:(?:(?:hi|hello|hey|good (?:morning|afternoon|evening))(?: there)?\b[\s,!.]*)?"
    rf"(?:i'm|i am|im))\s+"
    rf"(?P<full>{_NAME_WORD}(?:\s+{_NAME_WORD}){{1,3}}))(?![\w'-])")
# A question, not a name: "?" or a question word first ("what's the address again").
_QUESTION = re.compile(r"\?|^\W*(?:why|what|whats|what's|how|who|where|wheres|where's|when"
                       r"|can|could|do|does|is|are|will|would)\b", re.IGNORECASE)
# Words of a sentence that no name holds (names may hold "de", "la", "van", "der", "da").
_NOT_IN_A_NAME = frozenset({"the", "is", "are", "my", "your", "you", "me", "to", "for", "again",
                            "what", "whats", "where", "when", "how", "why", "can", "could",
                            "please", "it", "this", "that", "appointment", "and", "with"})
# In a name the message introduces, also no title, weekday or month ("this is Thursday").
_NOT_NAME_WORDS = _NOT_IN_A_NAME | {"dr", "doctor", "nurse", "a", "an", "not", "so", "very", "i",
                                    "im", *(d.lower() for d in calendar.day_name),
                                    *(m.lower() for m in calendar.month_name if m)}
_NOT_A_NAME = frozenset({"hi", "hello", "hey", "thanks", "thank you", "ty", "ok", "okay", "yes",
                         "yeah", "sure", "please", "what", "why", "huh", "sorry"})


@dataclass
class Reply:
    text: str
    options: tuple[str, ...] = ()
    kind: str = "reply"


@dataclass
class Turn:
    """One message in context: what it said, who said it, and the tools bound to them."""

    text: str
    understanding: Understanding
    patient: Patient
    tools: SchedulingTools
    clinic: Clinic
    vault: Vault
    now: datetime
    replies: list[Reply] = field(default_factory=list)

    def say(self, text: str, options: tuple[str, ...] | list[str] = ()) -> None:
        self.replies.append(Reply(text, tuple(options)))

    @property
    def today(self) -> date:
        return self.now.astimezone(self.clinic.zone).date()


def respond(turn: Turn, state: dict[str, Any]) -> dict[str, Any]:
    """Answer one turn (into `turn.replies`) and return the next state."""
    u = turn.understanding
    step = state.get("step")

    aside = _aside(turn, step)
    if aside is not None:
        turn.say(aside)
        if not _requests(turn):    # answered; whatever is under way stays where it was
            return state
        # "I'd like a checkup next Tuesday, and what should I bring?": the question is
        # answered, and the request goes on below.
    if _NEVER_MIND.match(turn.text):       # whatever was under way is dropped
        turn.say(replies.never_mind())
        return {}
    if not step and is_thanks(turn.text):   # mid-question, "ok thanks" is no answer
        turn.say(replies.you_are_welcome())
        return {}
    if not step and is_acknowledgement(turn.text):
        turn.say(replies.acknowledged())
        return {}
    if step == "offer_slots" and state.get("offers") and not (
            u.date or u.time or u.part_of_day or u.intent in INTERRUPTING - {"reschedule"}):
        # "a later time?" reads as moving an appointment; here it is about these times.
        if _LATER.search(turn.text):
            return _offer_beside(turn, state, later=True)
        if _EARLIER.search(turn.text):
            return _offer_beside(turn, state, later=False)
    if u.intent in INTERRUPTING:
        # "put me on the waitlist" while booking: for the visit being booked.
        carried = ({k: state[k] for k in ("type", "provider", "date") if state.get(k)}
                   if u.intent == "waitlist" else {})
        return _start(turn, u.intent, carried)
    if step == "ask_name":
        return _answer_name(turn, state)
    if step == "ask_attendee":
        return _answer_attendee(turn, state)
    if step == "waitlist_type":
        return _answer_waitlist_type(turn, state)
    if step == "ask_type":
        return _answer_type(turn, state)
    if step in ("ask_day", "offer_slots"):
        return _answer_when(turn, state)
    if step == "pick_appointment":
        return _answer_pick(turn, state)
    if step == "confirm_second":
        return _answer_second(turn, state)
    if step == "confirm_cancel":
        return _answer_cancel(turn, state)
    if u.intent == "book" and _INSTEAD.search(turn.text):
        # "can we make it 10am instead", right after booking: the change of an appointment.
        appointments = turn.tools.list_appointments()
        if appointments:
            return _pick_appointment(turn, "reschedule", appointments)
    if u.intent in ("book", "greeting"):
        return _start(turn, u.intent, {})
    if u.intent in ("confirm", "deny", "choose"):
        turn.say(replies.nothing_to_confirm())
        return {}
    turn.say(replies.not_understood(None))
    return {}


def _requests(turn: Turn) -> bool:
    """Whether the message also asks for a booking change, beside its question."""
    u = turn.understanding
    return u.intent in ("book", "cancel", "reschedule", "list", "waitlist") and bool(
        _REQUEST.search(turn.text))      # "are you open on saturday" only asks


def _aside(turn: Turn, step: str | None) -> str | None:
    """The answers to the questions beside scheduling a message asks (a long message may ask
    two: "what should I bring? and can it be a female doctor?"), or None."""
    u, text, clinic = turn.understanding, turn.text, turn.clinic
    if _PERSON.search(text):
        return replies.talk_to_person(clinic)
    answers = [replies.provider_wish(clinic)] if _PROVIDER_WISH.search(text) else []
    for pattern, answer, while_naming in _SIDE_QUESTIONS:
        if (while_naming or step != "ask_name") and pattern.search(text):
            answers.append(answer(clinic))
    if not answers and u.intent == "unknown" and _WHERE.search(text) and (
            step != "ask_name" or _QUESTION.search(text)):   # a name could be "Parking"
        answers.append(replies.where_we_are(clinic))
    return "\n".join(answers[:2]) or None


_THANKS = frozenset({"thanks", "thank", "thankyou", "thx", "ty", "cheers", "bye", "goodbye"})
_THANKS_AROUND = _THANKS | frozenset({
    "ok", "okay", "k", "great", "perfect", "cool", "awesome", "good", "wonderful", "excellent",
    "got", "it", "i", "you", "your", "so", "much", "very", "again", "a", "lot", "alright", "all",
    "set", "sounds", "see", "then", "have", "nice", "day", "for", "that", "the", "help",
    "appreciate"})


def is_thanks(text: str) -> bool:
    """A thank-you or goodbye and nothing else ("ok thanks!", "thank you so much", "bye")."""
    words = re.findall(r"[a-z]+", text.lower())
    return bool(_THANKS.intersection(words)) and _THANKS_AROUND.issuperset(words)


# "ok", "great", a thumbs-up: taking note, once nothing is asked. (Skin tones and the emoji
# variation selector are dropped first.)
_ACKNOWLEDGED = re.compile(
    r"^(?:ok(?:ay)?|k+|great|perfect|cool|awesome|alright|all right|sounds good|got it|good"
    r"|fine|noted|will do|see you then|[\U0001F44D\U0001F44C\U0001F642\U0001F60A\u263A])"
    r"[\s!.]*$", re.IGNORECASE)
_EMOJI_MODIFIERS = re.compile("[\U0001F3FB-\U0001F3FF\uFE0F]")


def is_acknowledgement(text: str) -> bool:
    return bool(_ACKNOWLEDGED.match(_EMOJI_MODIFIERS.sub("", text).strip()))


def _start(turn: Turn, intent: str, state: dict[str, Any]) -> dict[str, Any]:
    u = turn.understanding
    if intent == "greeting":
        turn.say(replies.greeting(turn.clinic, patient_name(turn.vault, turn.patient)))
        return {}
    if intent == "help":
        turn.say(replies.help_text(turn.clinic))
        return {}
    if intent == "waitlist":
        return _join_waitlist(turn, {**state, "mode": "waitlist", **entities(u)})
    if intent == "list":
        _list(turn)
        return {}
    if intent in ("cancel", "reschedule"):
        return _pick_appointment(turn, intent)
    # book: remember what this message already said, then ask for what is missing.
    state = {"mode": "book", **entities(u)}
    if _asks_soonest(turn):
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
    return _next_booking_question(turn, state)


def attendee_relation(text: str) -> str | None:
    """Whom a booking is for when not the sender ("for my son": "son"), or None."""
    m = _FOR_SOMEONE.search(text)
    if m is None:
        return None
    return _RELATIONS[next(g for g in m.groups() if g).lower()]


def _answer_attendee(turn: Turn, state: dict[str, Any]) -> dict[str, Any]:
    """The answer to "what is your son's full name?": the name (also "his name is ..."), or
    SKIP; the name is kept with the conversation and put on the appointment."""
    text = " ".join(turn.text.split())
    if _DECLINE.search(text):
        return _next_booking_question(turn, {**state, "step": None})
    lead = _ATTENDEE_LEAD.match(text)
    name = (text[lead.end():] if lead else text).rstrip(".!")
    if (not (2 <= len(name) <= 80 and len(name.split()) <= 6 and _NAME.match(name))
            or name.lower() in _NOT_A_NAME
            or _NOT_IN_A_NAME.intersection(re.findall(r"[a-z]+", name.lower()))
            or (not lead and turn.understanding.intent not in ("unknown", "greeting"))):
        if turn.understanding.intent == "book" or entities(turn.understanding):
            # "tomorrow morning" first: kept, and the name asked again.
            turn.say(replies.ask_attendee_name(state["for"]))
            return merge(state, turn.understanding)
        turn.say(replies.not_understood("ask_attendee"))
        return state
    turn.say(replies.name_thanks(name))
    return _next_booking_question(turn, {**state, "step": None, "attendee": name})


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
    if (not words or any(w.lower() in _NOT_NAME_WORDS for w in words)
            or name.lower() in _NOT_A_NAME or not _NAME.match(name) or len(name) > 80):
        return None
    return name


def _asks_soonest(turn: Turn) -> bool:
    """No day, but "asap", "first available", "any day": the earliest openings."""
    u = turn.understanding
    return not (u.date or u.date_problem) and bool(u.urgency or _ANY_DAY.search(turn.text))


def entities(u: Understanding, *, flag_past: bool = True) -> dict[str, Any]:
    """What a message said about the visit, as state keys (the staff chat shares this).
    `flag_past`: keep a "past" date problem for the reply to explain (patients' dialogue)."""
    found: dict[str, Any] = {}
    if u.appointment_type:
        found["type"] = u.appointment_type
    if u.date_problem == "impossible":
        found["date_problem"] = "impossible"
    elif u.date:
        found["date"] = u.date.isoformat()
        if flag_past and u.date_problem == "past":
            found["date_problem"] = "past"
    if u.time:
        found["time"] = u.time.strftime("%H:%M")
        found["bound"] = u.time_bound       # "after 3": a limit, not a wish
    if u.part_of_day:
        found["part"] = u.part_of_day
    if u.provider:
        found["provider"] = u.provider
    return found


def merge(state: dict[str, Any], u: Understanding, *, flag_past: bool = True) -> dict[str, Any]:
    """The state updated with what a new message said (a new day drops the old day's time)."""
    return _merge_found(state, entities(u, flag_past=flag_past))


def _merge_found(state: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    merged = {k: v for k, v in state.items() if k != "date_problem"}
    if "date" in new or "date_problem" in new:
        merged.pop("date", None)
        merged.pop("soonest", None)
        if "time" not in new:
            merged.pop("time", None)
            merged.pop("bound", None)
    merged.update(new)
    return merged


def _answer_name(turn: Turn, state: dict[str, Any]) -> dict[str, Any]:
    """The answer to "what is your full name?": a name (also "my name is ...", "I'm ..."), a
    refusal (SKIP, "I'd rather not"), a question about why, or what the visit is instead. That
    is kept, and the name asked once more; the same words sent again are a name after all
    ("Hope Friday"), and what they seemed to say about the visit is dropped. Anything else is
    asked again. Nothing but a name is ever stored as one."""
    u = turn.understanding
    text = " ".join(turn.text.split())
    unsure = state.get("unsure")     # the last answer that read as the visit, not a name
    settled = {k: v for k, v in state.items() if k != "unsure"}
    if unsure:
        settled = _merge_found(settled, unsure["found"])
    if _DECLINE.search(text):
        return _next_booking_question(turn, {**settled, "step": None})
    lead = _NAME_LEAD.match(text)        # "my name is ...": then "hi" or "yes" is no answer
    repeated = unsure is not None and unsure["text"] == text.lower()
    if not lead and not repeated:
        if u.intent == "book" or entities(u):
            turn.say(replies.ask_name_again())
            return {**settled, "unsure": {"text": text.lower(), "found": entities(u)}}
        if _QUESTION.search(text):
            turn.say(replies.why_name())
            return state
    name = text[lead.end():].rstrip(".!") if lead else text.rstrip(".!")
    if (not (2 <= len(name) <= 80 and len(name.split()) <= 6 and _NAME.match(name))
            or name.lower() in _NOT_A_NAME or is_thanks(name) or is_acknowledgement(name)
            or _NOT_IN_A_NAME.intersection(re.findall(r"[a-z]+", name.lower()))
            or (not lead and not repeated and u.intent != "unknown")):
        turn.say(replies.not_understood("ask_name"))
        return state
    set_patient_name(turn.vault, turn.patient, name)
    turn.say(replies.name_thanks(name))
    kept = {k: v for k, v in state.items() if k != "unsure"} if repeated else settled
    return _next_booking_question(turn, {**kept, "step": None})


def _next_booking_question(turn: Turn, state: dict[str, Any]) -> dict[str, Any]:
    if not state.get("type"):
        turn.say(replies.ask_type(), replies.type_names(turn.clinic))
        return {**state, "step": "ask_type"}
    if state.get("date_problem") == "impossible":
        turn.say(replies.impossible_date())
        return {**state, "step": "ask_day", "date_problem": None}
    if (not state.get("date") and state.get("mode") == "reschedule"
            and (state.get("time") or state.get("part"))):
        state = {**state, "date": state["from_date"]}      # "move it to 3pm": the same day
    if not state.get("date"):
        type_name = replies.type_name(turn.clinic.appointment_type(state["type"]))
        if state.get("mode") == "reschedule":
            turn.say(replies.ask_reschedule_day(state["description"]))
        else:
            turn.say(replies.ask_day(type_name))
        return {**state, "step": "ask_day"}
    return _offer(turn, state)


def _with_type(turn: Turn, state: dict[str, Any]) -> dict[str, Any] | None:
    """The state with the kind of visit the answer named or numbered, or None."""
    u = turn.understanding
    types = turn.clinic.appointment_types
    if u.appointment_type:
        return merge(state, u)
    if u.intent == "choose" and u.choice and 1 <= u.choice <= len(types):
        return {**state, "type": types[u.choice - 1].key}
    return None


def _answer_type(turn: Turn, state: dict[str, Any]) -> dict[str, Any]:
    picked = _with_type(turn, state)
    if picked is not None:
        return _next_booking_question(turn, picked)
    types = turn.clinic.appointment_types
    u = turn.understanding
    if u.intent == "choose":
        turn.say(replies.choose_range(len(types)), replies.type_names(turn.clinic))
        return state
    if u.date or u.time or u.part_of_day or u.provider:
        # "tomorrow morning" before the kind of visit: kept, and the kind asked once more.
        turn.say(replies.ask_type_keeping_when(), replies.type_names(turn.clinic))
        return merge(state, u)
    turn.say(replies.not_understood("ask_type"), replies.type_names(turn.clinic))
    return state


def _answer_when(turn: Turn, state: dict[str, Any]) -> dict[str, Any]:
    u = turn.understanding
    offers = state.get("offers") or []
    if state.get("step") == "offer_slots" and offers:
        if u.intent == "choose" and u.choice:
            if 1 <= u.choice <= len(offers):
                return _take(turn, state, Slot.from_dict(offers[u.choice - 1]))
            if not u.date:  # "the 7th" is a choice out of range but a fine day
                turn.say(replies.choose_range(len(offers)), state.get("labels", []))
                return state
        if u.time and not u.date and not u.time_bound:
            wanted = u.time.strftime("%H:%M")
            for offer in offers:
                local = Slot.from_dict(offer).start.astimezone(turn.clinic.zone)
                if local.strftime("%H:%M") == wanted:
                    return _take(turn, state, Slot.from_dict(offer))
        if u.intent == "confirm" and state.get("time") and not state.get("bound") and (
                Slot.from_dict(offers[0]).start.astimezone(turn.clinic.zone)
                .strftime("%H:%M") == state["time"]):
            # "monday 9am" offered 9:00 first; "yes" takes it.
            return _take(turn, state, Slot.from_dict(offers[0]))
        if u.intent == "deny":       # the times offered stay open: "1" still takes one
            turn.say(replies.ask_day_again())
            return state
    if _asks_soonest(turn):
        return _next_booking_question(turn, {**merge(state, u), "date": turn.today.isoformat(),
                                             "time": None, "soonest": True})
    if state.get("mode") == "reschedule" and (_SAME_TIME.search(turn.text)
                                              or _bare_next_week(turn.text)):
        moved = merge(state, u)
        if _SAME_TIME.search(turn.text):
            moved["time"] = state["from_time"]
        if _bare_next_week(turn.text):
            moved["date"] = (date.fromisoformat(state["from_date"])
                             + timedelta(days=7)).isoformat()
        return _next_booking_question(turn, moved)
    if u.date or u.date_problem or u.time or u.part_of_day or u.provider or u.appointment_type:
        return _next_booking_question(turn, merge(state, u))
    if u.intent == "book":
        return _next_booking_question(turn, state)
    turn.say(replies.not_understood(state.get("step")), state.get("labels", ()))
    return state


def _offer(turn: Turn, state: dict[str, Any]) -> dict[str, Any]:
    clinic = turn.clinic
    kind = clinic.appointment_type(state["type"])
    day = date.fromisoformat(state["date"])
    wanted_time = time.fromisoformat(state["time"]) if state.get("time") else None
    prefix: list[str] = []
    if state.get("date_problem") == "past" or day < turn.today:
        prefix.append(replies.past_date(day))
        day = turn.today
    if day > turn.today + timedelta(days=kind.max_days_ahead):
        turn.say(replies.beyond_horizon(replies.type_name(kind), kind.max_days_ahead))
        return {**state, "step": "ask_day", "date": None, "time": None}
    provider = _provider_for(clinic, state)
    bound = state.get("bound") if wanted_time else None

    def find(first: date, last: date, limit: int, provider_key: str | None) -> list[Slot]:
        """Openings from `first` to `last`; with a bound ("after 3"), only those within it,
        earliest first (the search puts them first; what fills in after them is dropped)."""
        found = turn.tools.find_slots(kind.key, start_date=first, end_date=last,
                                      provider_key=provider_key, part_of_day=state.get("part"),
                                      around=None if bound else wanted_time, limit=limit,
                                      **({bound: wanted_time} if bound else {}))
        return [s for s in found if _within(s, wanted_time, bound, clinic)] if bound else found

    try:
        slots = find(day, day, CHOICES, provider)
        on_day = len(slots)
        if on_day < CHOICES:
            # A full or nearly full day: the nearest openings after it, so there is a choice.
            slots += find(day + timedelta(days=1), day + timedelta(days=FALLBACK_DAYS),
                          CHOICES - on_day, provider)
        if not slots and provider:
            slots = find(day, day + timedelta(days=FALLBACK_DAYS), CHOICES, None)
        if not slots and bound:      # nothing within it: the nearest times, said as such
            return _offer(turn, {**state, "bound": None})
    except SchedulingError:
        slots, on_day = [], 0
    if not slots:
        turn.say(" ".join(prefix + [replies.no_slots(replies.type_name(kind), clinic)]))
        return {}
    exact = wanted_time is None or bool(bound and on_day) or any(
        s.start.astimezone(clinic.zone).time() == wanted_time for s in slots[:on_day])
    requested_day = None if prefix or state.get("soonest") else day
    return _present(turn, state, slots, " ".join(prefix + [
        replies.slots_offer(requested_day, on_day, exact=exact, shown=len(slots))]))


def _within(slot: Slot, limit: time, bound: str, clinic: Clinic) -> bool:
    """Whether the slot starts within "after `limit`" or "before `limit`" (the limit itself
    included: "after 3" takes 3:00, as people mean it)."""
    start = slot.start.astimezone(clinic.zone).time()
    return start >= limit if bound == "after" else start <= limit


def _provider_for(clinic: Clinic, state: dict[str, Any]) -> str | None:
    """The provider asked for, unless they do not do this kind of visit (then: any)."""
    provider = state.get("provider")
    if provider and provider not in {p.key for p in clinic.providers_for(state["type"])}:
        return None
    return provider


def _present(turn: Turn, state: dict[str, Any], slots: list[Slot], intro: str) -> dict[str, Any]:
    clinic = turn.clinic
    if state.get("attendee"):     # whose visit, and which kind, before the times
        intro = replies.offer_for(state["attendee"],
                                  replies.type_name(clinic.appointment_type(state["type"]))
                                  ) + " " + intro
    labels = _labels(slots, clinic)
    turn.say(intro, labels)
    return {**state, "step": "offer_slots", "date_problem": None,
            "offers": [s.as_dict() for s in slots], "labels": labels}


def _labels(slots: list[Slot], clinic: Clinic) -> list[str]:
    return [replies.slot_label(s.start, replies.provider_name(clinic.provider(s.provider_key)),
                               clinic.zone) for s in slots]


def _offer_beside(turn: Turn, state: dict[str, Any], *, later: bool) -> dict[str, Any]:
    """The nearest times after the latest offered (or before the earliest), the same day."""
    clinic = turn.clinic
    offered = [Slot.from_dict(o).start for o in state["offers"]]
    edge = (max(offered) if later else min(offered)).astimezone(clinic.zone)
    provider = _provider_for(clinic, state)
    try:
        nearby = turn.tools.find_slots(state["type"], start_date=edge.date(),
                                       end_date=edge.date(), provider_key=provider,
                                       around=edge.time(), limit=12)
    except SchedulingError:
        nearby = []
    beside = sorted((s for s in nearby if (s.start > edge if later else s.start < edge)),
                    key=lambda s: abs(s.start - edge))[:3]
    if not beside:     # the times offered stay open; another day works too
        turn.say(replies.nothing_beside(edge.date(), later=later), state.get("labels", []))
        return state
    return _present(turn, state, sorted(beside, key=lambda s: s.start),
                    replies.slots_offer(None))


def _take(turn: Turn, state: dict[str, Any], slot: Slot) -> dict[str, Any]:
    clinic = turn.clinic
    moving = state.get("mode") == "reschedule"
    if not moving and not state.get("second_ok"):
        # The same kind of visit twice the same day is nearly always a slip (booking again
        # instead of moving): asked first.
        same = _booked_same_day(turn, slot)
        if same is not None:
            turn.say(replies.already_booked_that_day(_describe(same, clinic, turn.vault)))
            return {**state, "step": "confirm_second", "slot": slot.as_dict()}
    try:
        attendee = state.get("attendee")
        appointment = (turn.tools.reschedule_appointment(state["appointment"], slot) if moving
                       else turn.tools.book_appointment(
                           slot, attendee_enc=turn.vault.encrypt(attendee) if attendee else None))
        # The names from the clinic, not the appointment's relationships (a query each).
        names = (replies.type_name(clinic.appointment_type(slot.type_key)), appointment.start_at,
                 replies.provider_name(clinic.provider(slot.provider_key)), clinic)
        if moving:
            turn.say(replies.moved(*names))
        elif attendee:
            turn.say(replies.booked_for(attendee, *names, appointment.id))
        else:
            turn.say(replies.booked(*names, appointment.id))
        return {}
    except (SlotUnavailable, OutsideBookingWindow) as refusal:
        alternatives = refusal.alternatives[:3]
        if not alternatives:
            turn.say(replies.slot_taken_ask_day())
            return {**state, "step": "ask_day", "offers": []}
        labels = _labels(alternatives, clinic)
        turn.say(replies.slot_taken_offer(), labels)
        return {**state, "step": "offer_slots", "offers": [s.as_dict() for s in alternatives],
                "labels": labels}
    except SchedulingError as refusal:
        turn.say(replies.booking_refused(refusal, turn.clinic))
        return {}


def _booked_same_day(turn: Turn, slot: Slot) -> Appointment | None:
    """The patient's upcoming appointment of the slot's kind on the slot's day, if any."""
    day = slot.start.astimezone(turn.clinic.zone).date()
    return next((a for a in turn.tools.list_appointments()
                 if a.appointment_type.key == slot.type_key
                 and a.start_at.astimezone(turn.clinic.zone).date() == day), None)


def _answer_second(turn: Turn, state: dict[str, Any]) -> dict[str, Any]:
    """YES books the second visit that day after all; NO books nothing."""
    u = turn.understanding
    if u.intent == "confirm":
        return _take(turn, {**state, "second_ok": True}, Slot.from_dict(state["slot"]))
    if u.intent == "deny":
        turn.say(replies.nothing_booked())
        return {}
    turn.say(replies.not_understood("confirm_second"))
    return state


def _describe(appointment: Appointment, clinic: Clinic, vault: Vault) -> str:
    kind, provider = appointment.appointment_type, appointment.provider
    names = (replies.type_name_of(clinic, kind.key, kind.name), appointment.start_at,
             replies.provider_name_of(clinic, provider.key, provider.name), clinic.zone)
    if appointment.attendee_enc is not None:
        return replies.appointment_line_for(vault.decrypt(appointment.attendee_enc), *names)
    return replies.appointment_line(*names)


def _list(turn: Turn) -> None:
    appointments = turn.tools.list_appointments()
    if not appointments:
        turn.say(replies.no_appointments())
        return
    turn.say(replies.appointments_list(_referenced(appointments, turn.clinic, turn.vault)))


def _referenced(appointments: list[Appointment], clinic: Clinic, vault: Vault) -> list[str]:
    """Each appointment with its reference, which the booking's confirmation gave and the
    desk asks for."""
    return [replies.with_reference(_describe(a, clinic, vault), a.id) for a in appointments]


def _pick_appointment(turn: Turn, action: str,
                      appointments: list[Appointment] | None = None) -> dict[str, Any]:
    if appointments is None:
        appointments = turn.tools.list_appointments()
    reference = turn.understanding.reference
    if reference is not None:
        # The appointment the patient names by its reference, and never another in its place.
        named = next((a for a in appointments if a.id == reference), None)
        if named is None:
            return _unknown_reference(turn, action, reference, appointments)
        return _act_on(turn, action, named)
    if not appointments:
        turn.say(replies.no_appointments())
        return {}
    if len(appointments) == 1:
        return _act_on(turn, action, appointments[0])
    # "cancel my vaccination", "cancel my appointment tomorrow": the one it names. (A day in a
    # request to move one is where to, not which.)
    named = _described(turn, [a.id for a in appointments], by_when=action == "cancel")
    if len(named) == 1:
        return _act_on(turn, action, next(a for a in appointments if a.id == named[0]))
    labels = [_describe(a, turn.clinic, turn.vault) for a in appointments]
    turn.say(replies.pick_appointment("cancel" if action == "cancel" else "move"), labels)
    return {"step": "pick_appointment", "action": action, "choices": [a.id for a in appointments],
            "labels": labels, "carry": _carried(turn)}


def _carried(turn: Turn) -> dict[str, Any]:
    """What a request to move a visit said of where to ("to next week, same time"), kept while
    the patient is asked which visit."""
    carry = entities(turn.understanding)
    if _SAME_TIME.search(turn.text):
        carry["same_time"] = True
    if _bare_next_week(turn.text):
        carry["next_week"] = True
    return carry


def _bare_next_week(text: str) -> bool:
    return bool(_NEXT_WEEK.search(text)) and not _WEEKDAY_NAMED.search(text)


def _answer_pick(turn: Turn, state: dict[str, Any]) -> dict[str, Any]:
    """Which of the listed appointments: its number, or words that fit only one of them ("the
    vaccination", "the one on Tuesday", "the 8am"). A new booking request starts one."""
    u = turn.understanding
    choices = state.get("choices", [])
    if u.reference in choices:
        picked = [u.reference]
    elif u.intent == "choose" and u.choice and 1 <= u.choice <= len(choices):
        picked = [choices[u.choice - 1]]     # "2" or "#2": the second listed
    elif u.reference is not None:
        return _unknown_reference(turn, state["action"], u.reference,
                                  turn.tools.list_appointments())
    else:
        picked = _described(turn, choices)
    if len(picked) == 1:
        try:
            appointment = turn.tools.get_appointment(picked[0])
        except SchedulingError:
            turn.say(replies.no_appointments())
            return {}
        return _act_on(turn, state["action"], appointment, carry=state.get("carry"))
    if u.intent == "deny":
        turn.say(replies.kept())
        return {}
    if u.intent == "book" and not picked:
        return _start(turn, "book", {})
    turn.say(replies.not_understood("pick_appointment"), state.get("labels", ()))
    return state


def _unknown_reference(turn: Turn, action: str, reference: int,
                       appointments: list[Appointment]) -> dict[str, Any]:
    """A reference that is none of the patient's upcoming appointments (another patient's, a
    past one, or none at all): said so, with their own listed; nothing changes, and the attempt
    is audited (the reference as the event's appointment id, for whoever looks into it)."""
    turn.tools.record_refusal(action, "unknown_reference", appointment_id=reference)
    turn.say(replies.unknown_reference(reference, _referenced(appointments, turn.clinic, turn.vault)))
    return {}


def _described(turn: Turn, appointment_ids: list[int], *, by_when: bool = True) -> list[int]:
    """The appointments among `appointment_ids` that fit what the message says of a visit (its
    kind, provider and, `by_when`, day and time)."""
    u = turn.understanding
    date_, time_ = (u.date, u.time) if by_when else (None, None)
    if not (u.appointment_type or u.provider or date_ or time_):
        return []
    fitting = []
    for appointment_id in appointment_ids:
        try:
            appointment = turn.tools.get_appointment(appointment_id)
        except SchedulingError:
            continue
        start = appointment.start_at.astimezone(turn.clinic.zone)
        if ((u.appointment_type and appointment.appointment_type.key != u.appointment_type)
                or (u.provider and appointment.provider.key != u.provider)
                or (date_ and start.date() != date_)
                or (time_ and (start.hour, start.minute) != (time_.hour, time_.minute))):
            continue
        fitting.append(appointment_id)
    return fitting


def _act_on(turn: Turn, action: str, appointment: Appointment,
            carry: dict[str, Any] | None = None) -> dict[str, Any]:
    description = _describe(appointment, turn.clinic, turn.vault)
    if action == "cancel":
        turn.say(replies.confirm_cancel(description))
        return {"step": "confirm_cancel", "appointment": appointment.id,
                "description": description}
    carry = carry if carry is not None else _carried(turn)
    start = appointment.start_at.astimezone(turn.clinic.zone)
    state = {"mode": "reschedule", "appointment": appointment.id, "description": description,
             "type": appointment.appointment_type.key, "provider": appointment.provider.key,
             "from_date": start.date().isoformat(), "from_time": start.strftime("%H:%M")}
    state.update({k: v for k, v in carry.items()
                  if k not in ("type", "same_time", "next_week")})
    if carry.get("same_time") and "time" not in carry:
        state["time"] = state["from_time"]
    if carry.get("next_week"):          # the week after the visit's, not after today's
        state["date"] = (start.date() + timedelta(days=7)).isoformat()
    return _next_booking_question(turn, state)


def _answer_cancel(turn: Turn, state: dict[str, Any]) -> dict[str, Any]:
    u = turn.understanding
    if u.intent == "confirm":
        try:
            turn.tools.cancel_appointment(state["appointment"])
        except SchedulingError as refusal:
            turn.say(replies.booking_refused(refusal, turn.clinic))
            return {}
        turn.say(replies.cancelled(state["description"]))
        return {}
    if u.intent == "deny":
        turn.say(replies.kept())
        return {}
    turn.say(replies.not_understood("confirm_cancel"))
    return state


def describe(appointment: Appointment, clinic: Clinic, vault: Vault) -> str:
    """How an appointment is named to its patient (bot/patient/reminder_replies.py)."""
    return _describe(appointment, clinic, vault)


def start_reschedule(turn: Turn, appointment: Appointment) -> dict[str, Any]:
    """Begin moving `appointment` (an "R" answer to its reminder)."""
    return _act_on(turn, "reschedule", appointment, carry={})


def _join_waitlist(turn: Turn, state: dict[str, Any]) -> dict[str, Any]:
    """The waitlist: the type is required; a provider and a day (a window of two weeks from it)
    are taken from the message when it names them."""
    clinic = turn.clinic
    if not state.get("type"):
        turn.say(replies.waitlist_ask_type(), replies.type_names(clinic))
        return {**state, "step": "waitlist_type"}
    kind = clinic.appointment_type(state["type"])
    earliest = date.fromisoformat(state["date"]) if state.get("date") else None
    if earliest is not None and earliest < turn.today:
        earliest = turn.today
    latest = earliest + timedelta(days=14) if earliest else None
    try:
        entry, created = turn.tools.join_waitlist(kind.key, provider_key=state.get("provider"),
                                                  earliest=earliest, latest=latest)
    except SchedulingError as refusal:
        turn.say(replies.booking_refused(refusal, turn.clinic))
        return {}
    if not created:
        turn.say(replies.waitlist_already(replies.type_name(kind)))
        return {}
    provider = (replies.provider_name(clinic.provider(entry.provider_key))
                if entry.provider_key else None)
    window = replies.period_text(earliest, latest) if earliest and latest else None
    turn.say(replies.waitlist_joined(replies.type_name(kind), clinic, provider, window,
                                     urgent=entry.priority == "urgent"))
    return {}


def _answer_waitlist_type(turn: Turn, state: dict[str, Any]) -> dict[str, Any]:
    picked = _with_type(turn, state)
    if picked is not None:
        return _join_waitlist(turn, picked)
    turn.say(replies.not_understood("ask_type"), replies.type_names(turn.clinic))
    return state
