"""What a message asks for: its intent, a numbered choice, and an appointment's reference number.

The rules, in the order `understand` (bot/understanding/nlu.py) applies them, after triage's
red flags (always "emergency"):

* The whole message as one form (`whole_message`): an SMS keyword (STOP, STOPALL, UNSUBSCRIBE,
  END, QUIT -> stop; START, UNSTOP -> start), a bare option ("2", "#2", "option 2", "2nd", "the
  second one" -> choose), help ("help", "info", "?"), a greeting ("hi", "good morning"), a yes
  ("yes", "ok", "sounds good") or a no ("no", "none of those"). A message that is only a digit
  ordinal ("2nd", "the 7th") is a choose that also names the day of the month, so the dialogue
  can use whichever its state expects.
* Otherwise the first of reschedule, cancel, waitlist, list and book whose words appear anywhere
  wins, in that order (`intent_in`: "cancel and find me a different time" is reschedule). With a
  reference number, a word that moves something makes it a reschedule ("move #8 to 3pm").
* A message with only entities ("tomorrow at 3", "a cleaning on friday") is book; the rest gets
  what it starts with (`without_entities`: a yes, a no, a greeting), help if it asks for it
  anywhere, else "unknown".
"""

from __future__ import annotations

import re

from bot.understanding.text import NUMBER_WORDS, ORDINAL_SUFFIX, mask

INTENTS = (
    "book",
    "cancel",
    "reschedule",
    "list",
    "confirm",
    "deny",
    "choose",
    "waitlist",
    "help",
    "stop",
    "start",
    "emergency",
    "greeting",
    "unknown",
)

# ---------------------------------------------------------------------------------------------
# Whole-message forms.

# Leading/trailing noise around a whole-message form: spaces, punctuation, emoji.
_EDGES = re.compile(r"^[\W_]+|[\W_]+$")
_ORDINAL_WORDS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
}
MAX_CHOICE = 20

_STOP = re.compile(
    r"^(?:stop|stopall|stop all|unsubscribe|end|quit|(?:please )?stop(?: it)?"
    r"(?: please)?|stop now)$"
)
_STOP_ANYWHERE = re.compile(
    r"\b(?:stop (?:texting|messaging|contacting|emailing|calling)(?: me)?|unsubscribe"
    r"|stop sending (?:me )?(?:texts|messages|reminders)"
    r"|(?:dont|do not) (?:text|message|contact) me|opt me out|opt out"
    r"|(?:remove|delete|take) my (?:phone |cell )?number (?:from|off) (?:your|the) (?:list|texts))\b"
)
_START = re.compile(r"^(?:start|unstop)$")
_HELP = re.compile(
    r"^(?:help|help me|info|information|menu|commands|\?+|what can you do"
    r"|how does this work)$"
)
_HELP_ANYWHERE = re.compile(
    r"\b(?:help|info|what can you do|how does this work|what do you do"
    r"|how do i use)\b|^\?+$"
)
_GREETING_WORDS = (
    r"hi|hello|hey|hiya|heya|howdy|hullo|greetings"
    r"|good (?:morning|afternoon|evening|day)"
)
_GREETING = re.compile(rf"^(?:{_GREETING_WORDS})(?:[\W_]+(?:there|again|all|team|folks|doc|you))?$")
_GREETING_START = re.compile(
    r"^(?:hi|hello|hey|hiya|heya|howdy|greetings|good (?:morning|afternoon"
    r"|evening|day))\b"
)
_YES = (
    r"yes|y|ya|yeah|yea|yep|yup|ok|okay|k|kk|sure|confirm|confirmed|correct"
    r"|sounds good|sounds great|sounds perfect|that works|works for me|that works for me"
    r"|perfect|great|good|fine|thats fine|thats right|right|alright|all right|absolutely"
    r"|of course|definitely|go ahead|do it|book it|lets do it|confirm (?:it|that"
    r"|my appointment|the appointment|my booking)|i confirm|ill be there|see you then"
)
_NO = (
    r"no|n|nope|nah|not that|not that one|none|none of those|none of them|none of these"
    r"|neither|not those|not really|no way|wrong|incorrect|that doesnt work|doesnt work"
    r"|that wont work|wont work|not for me"
)
# Politeness around a yes or a no, never one by itself ("thanks" alone is neither).
_FILLER = r"please|pls|thanks|thank you|thx|ty|sorry|oh|um|hmm|well"
_CONFIRM = re.compile(rf"^(?:(?:{_FILLER})[\W_]+)*(?:{_YES})(?:[\W_]+(?:{_YES}|{_FILLER}))*$")
_DENY = re.compile(rf"^(?:(?:{_FILLER})[\W_]+)*(?:{_NO})(?:[\W_]+(?:{_NO}|{_FILLER}))*$")
_YES_START = re.compile(r"^(?:yes|yeah|yep|yup|ok|okay|sure|sounds good|that works|perfect)\b")
_NO_START = re.compile(r"^(?:no|nope|nah|not that|none of those|none)\b")

_CHOOSE = re.compile(
    rf"^(?:(?:ill|i will|id like|i would like|lets|let s|can i)\s+(?:take|do|go with|have|pick|get)"
    rf"\s+|(?:i (?:want|choose|pick|prefer))\s+|(?:take|pick|choose|go with)\s+)?"
    rf"(?:the\s+)?(?:option|number|no\.?|choice|slot|#)?\s*"
    rf"(?:(?P<num>\d{{1,2}})(?P<suffix>{ORDINAL_SUFFIX})?"
    rf"|(?P<word>{'|'.join(NUMBER_WORDS)})|(?P<ordinal>{'|'.join(_ORDINAL_WORDS)}))"
    rf"(?:\s+(?:one|option|slot|choice|time))?"
    rf"(?:[\W_]+(?:please|pls|thanks|thank you))?$"
)

# ---------------------------------------------------------------------------------------------
# Intents found anywhere in the message, tried in this order.

_CONTAINED_INTENTS: tuple[tuple[str, re.Pattern], ...] = (
    (
        "reschedule",
        re.compile(
            r"\b(?:re ?schedul\w*|re-schedul\w*|rebook\w*|re-book\w*|^move$|moved|postpone\w*"
            r"|move (?:it|this|that|to|back|forward|my (?:\w+ )?(?:appointment|appt|booking|visit|slot"
            r"|time)|the (?:appointment|appt|booking|visit|time))"
            # "move my flu shot", "move the checkup to friday", "change the vaccination to monday",
            # "push the checkup back": the visit named by its kind.
            r"|(?:move|shift) (?:my|the|our|his|her) [a-z][a-z -]{0,30}?(?:\b(?:to|till|until|back"
            r"|forward|up|out|later|earlier)\b|$)"
            r"|change (?:my|the|our|his|her) (?!name|number|phone|address|email)[a-z][a-z -]{0,30}?"
            r" to\b|push (?:my|the|our|his|her) [a-z][a-z -]{0,30}? (?:back|forward|out)"
            r"|push (?:it|my appointment|my appt|the appointment) (?:back|forward|out)|bring (?:it|my appointment) forward"
            r"|change (?:my|the|our|his|her) (?:appointment|appt|booking|time|day|date)|change it"
            r"|(?:a |an )?(?:different|another|other|new|later|earlier) (?:time|day|date|slot)"
            r"|switch (?:my|the) (?:appointment|appt|time|day))\b"
        ),
    ),
    (
        "cancel",
        re.compile(
            r"\b(?:cancel\w*\b(?! list)|call off|(?:delete|drop|remove) my (?:appointment|appt|booking)"
            r"|(?:dont|do not|no longer) need (?:my|the|that) (?:appointment|appt|booking)"
            r"|(?:cant|cannot|can not|wont|will not|unable to|not able to|wont be able to"
            r"|will not be able to|not going to|couldnt) (?:make it|come|come in|attend"
            r"|make (?:my|the) (?:appointment|appt)))\b"
            # The visit named by its kind: "I can't make the checkup", "drop the flu shot", "get
            # rid of my physical", "I don't need the vaccination anymore".
            r"|\b(?:cant|cannot|can not|wont|will not|unable to|not able to|couldnt)(?: be able to)?"
            r" (?:make|attend|go to|come to|come for) (?:my|the|our|his|her|that|this)\b"
            r"|\b(?:drop|scratch|delete|remove|get rid of|call off) (?:my|the|our|his|her|that|this)"
            r" (?!(?:phone |cell )?(?:number|info|details|data|name|address|email|reminders?)\b)[a-z]|\bno longer (?:need|want) (?:my|the|our|his|her|that|this)\b"
            r"|\b(?:dont|do not) (?:need|want) (?:my|the|our|his|her|that|this) [a-z][a-z -]{0,30}?"
            r"\b(?:anymore|any more)\b"
        ),
    ),
    (
        "waitlist",
        re.compile(
            r"\b(?:wait ?list\w*|wait-list\w*|waiting list|cancellation list|put me on (?:the|a|your) list"
            r"|(?:notify|tell|text|let) me (?:know )?(?:if|when) (?:something|anything|a slot|a spot"
            r"|a time|one|an appointment|a space) (?:opens|comes up|frees up|becomes available"
            r"|is available|opens up))\b"
        ),
    ),
    (
        "list",
        re.compile(
            r"\b(?:my (?:upcoming |next |future )?(?:appointments|appts|bookings)"
            r"|(?:when|what|what time|what day|where)(?: is|s|was)? my (?:next )?(?:appointment|appt"
            r"|booking)|is my (?:appointment|appt|booking) still on"
            r"|what (?:do|did) i have (?:booked|scheduled|coming up)"
            r"|do i have (?:an |any )?(?:appointment|appointments|appt|appts|bookings?)"
            r"|do i have anything (?:booked|scheduled|coming up)"
            r"|(?:what |which )?(?:appointments|appts|bookings) (?:do|did) i have"
            r"|upcoming (?:appointments|appts|bookings)"
            r"|(?:list|show|see|check|view)(?: me)? my (?:appointment|appt|booking)s?"
            r"|am i (?:booked|scheduled)|when am i (?:coming in|booked|scheduled|due)"
            r"|when do i (?:come in|see the (?:doctor|doc|nurse))"
            r"|(?:ref|reference|confirmation|booking|appointment|appt) (?:number|no|num|#))\b"
            # The visit named by its kind: "when is my vaccination", "is my flu shot still on".
            r"|\b(?:when|what time|what day)(?: is|s|was) my [a-z]"
            r"|\bis my [a-z][a-z -]{0,30}? still (?:on|happening|booked|scheduled)\b"
            r"|\bdo i have (?:a|an|my) [a-z][a-z -]{0,30}? (?:booked|scheduled|coming up)\b"
            r"|\bwhat (?:day|time|date) (?:was|is) (?:that|it)\b|\bwhen (?:is|was) (?:it|that)\b"
            r"|\b(?:send|text|give) me (?:a |the |my )?confirmation\b"
        ),
    ),
    (
        "book",
        re.compile(
            r"\b(?:book\w*|appointment|appt|schedule|sched|make an? |set up"
            r"|see (?:the|a|my) (?:doctor|doc|dr|nurse|provider|physician)|see dr|see doctor"
            r"|come in|get in|coming in|stop by|visit|slots?|openings?|availability|available|free"
            r"|(?:i|we|he|she|my \w+) (?:need|needs|want|wants)(?: to (?:see|get|have|come|book|make))?"
            r" (?:a|an|to|someone|somebody)|(?:id|i would|we would|wed) like (?:a|an|to)"
            r"|can i (?:get|have|see|come)|any (?:time|times|day|days))\b"
        ),
    ),
)

# ---------------------------------------------------------------------------------------------
# An appointment's reference number: "#8", "ref 8", "reference no. 8", "appointment #8", "booking
# 8" (the confirmation says "ref #8"), but not "appointment 2 weeks from now" or "appt 3pm".

_REFERENCE = re.compile(
    r"(?:\b(?:ref|reference|confirmation|booking|appointment|cita|referencia|reserva|numero)"
    r"(?:\s+(?:number|num|no\.?|de referencia|numero))?"
    r"\s*#?\s*|#\s*)(?P<ref>\d{1,9})\b(?!\s*(?:[:./-]\d|[ap]\.?\s?m\b|st\b|nd\b|rd\b|th\b|of\b"
    r"|o\s?clock|days?\b|weeks?\b|months?\b|hours?\b|hrs?\b|mins?\b|minutes?\b))"
)
# With a reference, these words move it: "move #8 to 3pm", "change appointment 8 to friday".
_MOVE_WORD = re.compile(
    r"\b(?:move|shift|change|switch|push|bring|cambiar|mover|pasar"
    r"|reprogramar)\b"
)


def trim(text: str) -> str:
    """The normalized message without the spaces, punctuation and emoji around it: what a
    whole-message form is matched against."""
    return _EDGES.sub("", text)


def whole_message(text: str, bare: str) -> tuple[str, int | None, int | None] | None:
    """The intent of a message that is one form as a whole, with the numbered choice it makes and,
    for a digit ordinal ("2nd"), the day of the month it would also name; None for any other
    message. `bare` is `text` as `trim` gives it."""
    if _STOP.match(bare) or _STOP_ANYWHERE.search(text):
        return "stop", None, None
    if _START.match(bare):
        return "start", None, None
    m = _CHOOSE.match(bare)
    if m:
        choice = _choice(m)
        if choice is not None:
            return "choose", choice, int(m["num"]) if m["suffix"] else None
    for intent, pattern in (
        ("help", _HELP),
        ("greeting", _GREETING),
        ("confirm", _CONFIRM),
        ("deny", _DENY),
    ):
        if pattern.match(bare) or (intent == "help" and not bare and "?" in text):
            return intent, None, None
    return None


def _choice(m: re.Match) -> int | None:
    """The option a `_CHOOSE` match names, or None above `MAX_CHOICE`."""
    if m["num"]:
        value = int(m["num"])
    elif m["word"]:
        value = NUMBER_WORDS[m["word"]]
    else:
        value = _ORDINAL_WORDS[m["ordinal"]]
    return value if 1 <= value <= MAX_CHOICE else None


def intent_in(text: str) -> str | None:
    """The first intent whose words the message holds anywhere (see `_CONTAINED_INTENTS`)."""
    for name, pattern in _CONTAINED_INTENTS:
        if pattern.search(text):
            return name
    return None


def reference(text: str) -> tuple[int | None, str]:
    """The appointment reference number the message names, and the text with it masked: a
    reference is no date or time ("move #12 to friday")."""
    found = _REFERENCE.search(text)
    if found is None:
        return None, text
    return int(found["ref"]), mask(text, found)


def moves(text: str) -> bool:
    """Whether the message says to move something: said with a reference number, a reschedule."""
    return _MOVE_WORD.search(text) is not None


def without_entities(text: str, bare: str) -> str:
    """The intent of a message with no intent's words and no entities: what it starts with (a
    yes, a no), a request for help anywhere, a greeting it starts with, else "unknown"."""
    if _YES_START.match(bare):
        return "confirm"
    if _NO_START.match(bare):
        return "deny"
    if _HELP_ANYWHERE.search(text):
        return "help"
    if _GREETING_START.match(bare):
        return "greeting"
    return "unknown"
