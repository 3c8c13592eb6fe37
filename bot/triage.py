"""Red-flag detection: does a message describe a medical emergency?

A scheduling bot must not offer a slot next Tuesday to someone describing chest pain. `red_flag()`
looks for the phrases that mean "call emergency services now" and names the category; the engine
then answers with the emergency reply instead of scheduling.

The matching is deliberately simple and errs towards flagging: "no chest pain anymore, just want a
check-up" still flags, because a false alarm costs one extra sentence while a miss can cost far more.
Words are matched whole ("stroke" flags, "heatstroke" and "brushstrokes" do not), case, punctuation
and apostrophes are ignored ("cant", "can't", "can’t" are the same), and ordinary dental or clinic
words that sound alarming ("my gums bleed", "heart scan", "fitting") are left alone.
"""
from __future__ import annotations

import re

# Only the start of a very long message is read: an SMS is at most 1,600 characters.
MAX_CHARS = 2000

# Apostrophes of every kind disappear ("can't" -> "cant"); any other non-word character becomes a
# space, so one pattern covers "short-of-breath", "short of breath!" and "SHORT OF BREATH".
_APOSTROPHES = str.maketrans("", "", "'\u2019\u2018`\u00b4\u02bc")
_NON_WORD = re.compile(r"[\W_]+")

_PATTERNS: dict[str, str] = {
    "cardiac": r"""
        chest\s(?:pain|pains|tightness|pressure)
      | pains?\s(?:in|on)\s(?:my|the|his|her|their)\schest
      | (?:crushing|tight|tightening)\schest
      | chest\s(?:is\s|feels\s)?(?:hurting|hurts|tight|crushing)
      | heart\sattack | cardiac\sarrest
    """,
    "breathing": r"""
        (?:cant|cannot|can\snot|couldnt|could\snot|unable\sto|struggling\sto|hard\sto|difficult\sto)
            \s(?:breathe|breath|breathing)
      | (?:trouble|difficulty|difficulties|problems?|struggling)\s(?:breathing|to\sbreathe)
      | short(?:ness)?\sof\sbreath
      | (?:not|stopped|isnt|is\snot|wasnt)\sbreathing
      | gasping\sfor\s(?:air|breath) | choking
    """,
    "stroke": r"""
        strokes? | face\s(?:is\s)?(?:drooping|droops|droopy)
      | drooping\s(?:face|mouth|on\sone\sside)
      | slurred\sspeech | speech\sis\sslurred
      | slurring\s(?:my\s|his\s|her\s|their\s)?(?:words|speech)
    """,
    "self_harm": r"""
        suicid\w* | kill(?:ing)?\smyself | want\sto\sdie | wanna\sdie
      | end\s(?:my\sown|my)\slife | end\sit\sall | take\smy\s(?:own\s)?life
      | (?:want|wanna|going|gonna|about)\s(?:to\s)?hurt\smyself
      | harm(?:ing)?\smyself | self\sharm\w*
      | dont\swant\sto\s(?:live|be\salive) | better\soff\sdead
    """,
    "overdose": r"""
        overdos\w*
      | (?:took|taken|swallowed|ate)\s(?:way\s)?too\smany\s(?:of\s(?:my|the)\s)?
            (?:pills|tablets|meds|medications?|painkillers)
      | swallowed\s(?:a\sbottle\sof|bleach|poison)
      | (?:drank|drunk)\s(?:bleach|poison)
    """,
    "bleeding": r"""
        (?:heavy|heavily|severe|uncontrolled|uncontrollable)\sbleeding
      | bleeding\s(?:heavily|badly|profusely|a\slot|everywhere)
      | (?:wont|cant|will\snot|can\snot|cannot|doesnt|does\snot)\sstop\sbleeding
      | (?:bleeding|blood)\s(?:that\s|which\s)?(?:wont|will\snot|doesnt|does\snot|isnt|is\snot)\sstop\w*
      | losing\s(?:a\slot\sof\s)?blood | lots?\sof\sblood
      | (?:coughing|vomiting|throwing)\s(?:up\s)?blood
    """,
    "allergic_reaction": r"""
        anaphyla\w*
      | throat\s(?:is\s)?(?:closing|closing\sup|swelling|swelling\sup|swollen|tight)
      | (?:tongue|lips?)\s(?:is\s|are\s)?(?:swelling|swollen)
      | swollen\s(?:throat|tongue)
      | (?:severe|serious|bad|having\san|having\sa)\s(?:allergic\sreaction|reaction)
      | epi\s?pen
    """,
    "unconscious": r"""
        passed\sout | passing\sout | unconscious | unresponsive | blacked\sout
      | fainted | collapsed | (?:wont|cant|will\snot)\swake\sup | not\swaking\sup
    """,
    "seizure": r"""
        seizures? | seizing | convuls\w*
    """,
}

# One leading \b outside the alternation: positions inside a word fail at once.
_RED_FLAGS = re.compile(
    r"\b(?:" + "|".join(rf"(?P<{name}>(?:{body})\b)" for name, body in _PATTERNS.items()) + ")",
    re.VERBOSE,
)


def normalize(text: str) -> str:
    """Lowercase, drop apostrophes, turn every other non-word run into one space."""
    return _NON_WORD.sub(" ", text[:MAX_CHARS].lower().translate(_APOSTROPHES))


def red_flag(text: str) -> str | None:
    """The emergency category the message describes ("cardiac", "breathing", "stroke",
    "self_harm", "overdose", "bleeding", "allergic_reaction", "unconscious", "seizure"),
    or None when it describes none."""
    if not text:
        return None
    match = _RED_FLAGS.search(normalize(text))
    return match.lastgroup if match else None


# ---------------------------------------------------------------------------------------------
# Urgent, not an emergency: symptoms that should be seen soon. They do not stop the conversation;
# they rank the patient's waitlist entry "urgent" (scheduler/waitlist.py offers freed slots to
# urgent entries first). A patient cannot ask for that rank ("urgent please" stays routine):
# only what they describe, or staff, sets it.

_URGENT_PATTERNS: dict[str, str] = {
    "fever": r"""
        (?:high|very\shigh|bad|persistent)\s(?:fever|temperature|temp)
      | fever\s(?:of|is|was|at)\s(?:10[1-6]|3[89]|40)
      | (?:fever|temperature)\s(?:for|since)\s(?:two|three|four|five|several|a\sfew|2|3|4|5)\s
            (?:days|nights)
    """,
    "pain": r"""
        (?:severe|unbearable|excruciating|terrible|awful|extreme|intense|really\sbad|very\sbad)
            \s(?:\w+\s)?(?:pain|ache|toothache|headache|earache)
      | (?:pain|ache|toothache)\s(?:is\s)?(?:getting|got)\s(?:worse|really\sbad)
      | (?:cant|cannot|can\snot)\s(?:sleep|eat|walk)\s(?:because\sof|from|with)\s(?:the\s)?pain
    """,
    "worsening": r"""
        getting\sworse | worse\sand\sworse | worsening | not\sgetting\sbetter
    """,
    "infection": r"""
        infect(?:ed|ion) | abscess\w* | pus | spreading\s(?:redness|rash)
      | (?:rash|redness)\s(?:is\s)?spreading
    """,
    "swelling": r"""
        (?:face|jaw|cheek|gum|gums|eye|leg|foot|hand|ankle|knee|arm)\s(?:is\s|are\s)?
            (?:swollen|swelling)
      | swollen\s(?:face|jaw|cheek|gum|gums|eye|leg|foot|hand|ankle|knee|arm)
    """,
    "injury": r"""
        broken\s(?:tooth|bone|arm|leg|wrist|finger|toe|ankle) | broke\smy\s\w+
      | (?:cracked|chipped|knocked\sout)\s(?:a\s|my\s)?tooth | sprain\w*
      | (?:fell|fall)\sand\s(?:hurt|hit|banged)
    """,
    "dehydration": r"""
        (?:cant|cannot|can\snot)\skeep\s(?:anything|food|water|fluids)\sdown
      | vomiting | throwing\sup | dehydrat\w* | diarrh\w*\s(?:for|since)
    """,
}

_URGENT_CARE = re.compile(
    r"\b(?:" + "|".join(rf"(?P<{name}>(?:{body})\b)" for name, body in _URGENT_PATTERNS.items())
    + ")", re.VERBOSE,
)


def urgent_care(text: str) -> str | None:
    """The category of a symptom that should be seen soon ("fever", "pain", "worsening",
    "infection", "swelling", "injury", "dehydration"), or None. Red flags are `red_flag`'s: check it first."""
    if not text:
        return None
    match = _URGENT_CARE.search(normalize(text))
    return match.lastgroup if match else None
