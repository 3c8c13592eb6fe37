"""Red-flag detection: does a message describe a medical emergency?

A scheduling bot must not offer a slot next Tuesday to someone describing chest pain. `red_flag()`
looks for the phrases that mean "call emergency services now" and names the category; the engine
then answers with the emergency reply instead of scheduling.

The matching is deliberately simple and errs towards flagging: "no chest pain anymore, just want a
check-up" still flags, because a false alarm costs one extra sentence while a miss can cost far more.
Words are matched whole ("stroke" flags, "heatstroke" and "brushstrokes" do not), case, punctuation
and apostrophes are ignored ("cant", "can't", "can’t" are the same), and ordinary dental or clinic
words that sound alarming ("my gums bleed", "heart scan", "fitting") are left alone.

English and Spanish are read by the same patterns, whatever language the patient set: each
category lists its English phrases, then its Spanish ones. Accents are ignored, and ñ is n
("respiración" and "respiracion", "daño" and "dano" are the same), so a patient texting without
accents is read like one who types them. Spanish gets the same care as English for ordinary words
that only sound alarming: "dolor de muelas", "chequeo del corazón", "prueba de respiración",
"presión alta", "análisis de sangre", "me sangran las encías" and "tomo muchas pastillas para la
presión" (a present habit, not an overdose) are left alone. A negation is never an all-clear, in
either language: "no puedo respirar", "no para de sangrar" and "no quiero vivir" are red flags.
"""

from __future__ import annotations

import re
import unicodedata

from bot.understanding.soon import SOON, SOON_ES

# Only the start of a very long message is read: an SMS is at most 1,600 characters.
MAX_CHARS = 2000

# Apostrophes of every kind disappear ("can't" -> "cant"); any other non-word character becomes a
# space, so one pattern covers "short-of-breath", "short of breath!" and "SHORT OF BREATH".
_APOSTROPHES = str.maketrans("", "", "'\u2019\u2018`\u00b4\u02bc")
_NON_WORD = re.compile(r"[\W_]+")
# Accents: canonical decomposition (NFD) splits "ó" into "o" and a combining mark, "ñ" into "n" and
# a tilde; the marks are then dropped. NFD rather than NFKD: the compatibility forms NFKD also
# rewrites would change text without accents ("pain™" would become "paintm" and stop matching).
_COMBINING_MARKS = re.compile(
    "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+"
)

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

# Spanish, read over the same normalized text (accents gone, "ñ" -> "n"): "respiración" is matched
# as "respiracion", "se tomó" as "se tomo". Clitics (me/te/se/le/nos/les) are spelled out because
# people text in the first person and about someone else ("le falta el aire", "no respira").
# Verb forms are chosen so that a present habit does not read as an event: "tomo muchas pastillas"
# (I take many pills) is left alone, "se tomó"/"me tomé muchas pastillas" is an overdose; "all"
# needs "at once" ("ya me tomé todas las pastillas del antibiótico" is a finished course).
_PILLS = r"""(?:pastillas|pastis|pildoras|tabletas|capsulas|comprimidos|medicinas|medicamentos
    |remedios|calmantes|analgesicos|somniferos|tranquilizantes|ansioliticos|antidepresivos
    |aspirinas|paracetamol|ibuprofeno|tylenol|clonazepam|alprazolam|rivotril)"""
_TOOK = r"""(?:tome|trague|tomaron|tomaste|tragaron|tragaste|ingeri|ingirio|ingirieron|bebi|bebio
    |se\stomo|se\strago|se\sbebio|se\scomio
    |(?:he|ha|han|has|se\sha|me\she)\s(?:tomado|tragado|ingerido|bebido))"""
_POISON = r"""(?:cloro|lejia|veneno|raticida|matarratas|insecticida|pesticida|herbicida
    |anticongelante|desinfectante|destapacanos|soda\scaustica|amoniaco|aguarras|gasolina|cianuro)"""
_TOO_MANY = r"""(?:demasiad[oa]s|much[oa]s|muchisim[oa]s|bastantes|varias|varios|un\smonton\sde
    |un\spuno\sde|un\sfrasco\s(?:entero\s|completo\s)?de
    |una\scaja\s(?:entera\s|completa\s)?de|un\sbote\sde|un\sblister\sde|mas\sde\s\w+|\d{2,}
    |diez|doce|quince|veinte|treinta)"""

_PATTERNS_ES: dict[str, str] = {
    "cardiac": r"""
        dolor(?:es)?\s(?:\w+\s){0,2}?(?:de|del|al|en\sel|en\smi)\specho
      | (?:me|te|le|nos|les)\s(?:duele|duelen|dolia|dolio|empezo\sa\sdoler)\s(?:\w+\s){0,3}?
            (?:el|mi|su)\s(?:pecho|corazon)
      | pecho\s(?:me|te|le)\s(?:duele|aprieta|oprime)
      | (?:me|te|le)\s(?:aprieta|oprime|presiona)\sel\specho
      | (?:presion|opresion|apreton|punzadas?|peso|pesadez)\s(?:\w+\s)??
            (?:de|del|al|en\sel|en\smi)\specho
      | pecho\s(?:muy\s)?(?:apretado|oprimido) | dolor\storacico
      | dolor\s(?:de|del|en\sel)\scorazon
      | (?:pre)?infart\w* | ataques?\s(?:al|del|de)\scorazon | ataques?\scardiac[oa]s?
      | paros?\scardiac[oa]s? | paro\scardiorrespiratorio
    """,
    "breathing": r"""
        no\s(?:puedo|puede|podia|podemos|pueden|pude|pudo|logro|logra)
            \s(?:ni\s|casi\s|bien\s)?respirar
      | no\s(?:me|le|lo|la)\sdeja\srespirar
      | (?:me|te|le|nos|les)\s(?:falta|faltaba|falto|esta\sfaltando)
            \s(?:el\s)?(?:aire|aliento|respiracion)
      | falta\sde\s(?:aire|aliento|respiracion)
      | (?:dificultad|dificultades|problemas?|trabajo)\s(?:para|al)\srespirar
      | (?:dificultad|insuficiencia)\srespiratoria | paro\srespiratorio
      | cuesta\s(?:\w+\s)?respirar
      | respir\w*\s(?:muy\smal|con\s(?:mucha\s)?dificultad)
      | (?:me|te|se|le|nos)\s(?:esta\s|estoy\s|estaba\s|estan\s)?ahog\w* | ahogandose | ahogandome
      | asfixi\w* | atragant\w*
      | qued\w*\ssin\s(?:aire|aliento|respiracion)
      | no\s(?:respira|respiraba|respiro|respire|esta\srespirando|estaba\srespirando)
      | dej\w*\sde\srespirar
    """,
    "stroke": r"""
        derrames?(?:\scerebral(?:es)?)? | embolias? | ictus | apoplejia | un\sacv
      | accidentes?\s(?:cerebro\s?vascular(?:es)?|vasculares?\scerebral(?:es)?)
      | ataques?\scerebral(?:es)?
      | (?:cara|boca)\s(?:\w+\s)?(?:caida|torcida|chueca|paralizada|colgada|colgando)
      | (?:me|te|le)\s(?:cae|cayo|caia|esta\scayendo)\s(?:\w+\s){0,3}?la\s(?:cara|boca)
      | paralisis\sfacial
      | habla\s(?:\w+\s)?(?:arrastrada|trabada|enredada|confusa)
      | arrastr\w*\s(?:las\spalabras|la\slengua|al\shablar)
      | (?:no\s(?:puede|puedo|podia|pudo)|le\scuesta|me\scuesta)\shablar\s(?:bien|claro)
      | dificultad\spara\shablar | (?:me|le|te)\straba\sla\slengua
    """,
    "self_harm": r"""
        autolesion\w*
      | (?:quiero|quiere|kiero|kiere|quisiera|queria|deseo|desea|prefiero|prefiere)\smorir(?:me|se)?
      | ganas\sde\s(?:morir(?:me|se)?|no\svivir)
      | (?:me|te|se)\s(?:quiero|quiere|kiero|kiere|queria|quiera)\s(?:morir|matar|suicidar)
      | (?:me|te|se)\s(?:voy|va|iba)\sa\s(?:matar|suicidar)
      | matar(?:me|se) | quitar(?:me|se|le)?\sla\svida
      | hacer(?:me|se)\s(?:\w+\s)?(?:dano|danio)
      | (?:me|te|se)\s(?:voy\sa|quiero|kiero|quiere)\shacer\s(?:\w+\s)?(?:dano|danio)
      | (?:quiero|kiero|voy\sa|ganas\sde)\slastimarme | me\s(?:quiero|kiero|voy\sa)\slastimar
      | no\s(?:quiero|kiero|quisiera|deseo|queria)
            \s(?:seguir\s)?(?:vivir|viviendo|estar\svivo|estar\sviva|existir)
      | no\svale\sla\spena\s(?:vivir|seguir\sviviendo)
      | no\stengo\s(?:ganas\sde|razones\spara|por\sque)\svivir
      | mejor\smuert[oa]s?
      | (?:acabar|terminar|poner\sfin|ponerle\sfin)\s(?:con|a)\s(?:mi|su|tu)\s(?:propia\s)?vida
      | acabar\scon\stodo | cortar(?:me|se)\slas\svenas
    """,
    "overdose": rf"""
        sobredosis | envenen\w*
      | {_TOOK}\s{_TOO_MANY}\s(?:(?:de\s)?(?:mis|sus|tus|las|los)\s)?(?:\w+\s)?{_PILLS}
      | {_TOOK}\s(?:todo\sel\sfrasco|toda\sla\scaja|el\sfrasco\sentero|la\scaja\sentera)
      | {_TOOK}\stodas\s(?:las|sus|mis)\s(?:\w+\s)?{_PILLS}
            \s(?:\w+\s)?(?:de\sgolpe|de\suna\svez|juntas)
      | (?:{_TOOK}|tomo|trago|comio|comi)
            \s(?:(?:un\spoco\sde|un\strago\sde|algo\sde|el|la|del|de\sla|de)\s)?{_POISON}
    """,
    "bleeding": r"""
        sangrados?\s(?:\w+\s)?(?:muy\s)?
            (?:abundantes?|fuertes?|intensos?|excesivos?|graves?|masivos?|profusos?|incontrolables?)
      | (?<!encias\s)(?<!encias\sme\s)(?<!encias\sle\s)
        sangr(?:a|an|o|ando|ar|aba|aban)\s(?:muy\s)?
            (?:mucho|muchisimo|demasiado|bastante|a\schorros|sin\sparar|sin\scontrol
                |abundantemente|un\smonton)
            (?!\s(?:(?:las|mis|sus)\s)?encias\b)
      | no\s(?:para|paraba|paro|deja|dejaba|dejo|ha\sparado|ha\sdejado|se\sdetiene
            |puedo\sparar|puede\sparar|podemos\sparar|logro\sparar|logramos\sparar|consigo\sparar)
            \s(?:de\s)?(?:sangrar|el\ssangrado|la\ssangre|la\shemorragia)
      | (?:sangrado|sangre|hemorragia)\sno\s(?:se\s)?
            (?:para|paraba|paro|detiene|detenia|corta|cortaba|cesa|deja\sde\ssalir
                |para\sde\ssalir|ha\sparado)
      | hemorragi\w*
      | (?:vomit\w*|tos|tose|toso|tosio|tosi|tosia|tosiendo|escupe|escupo|escupio|escupiendo)
            \s(?:con\s)?sangre
      | sangre\sen\s(?:el\s|los\s)?(?:vomito|vomitos)
      | perd(?:iendo|io|i|ia|ieron)\s(?:mucha\s|muchisima\s|bastante\s)?sangre
      | (?:mucha|muchisima|demasiada)\ssangre
    """,
    "allergic_reaction": r"""
        anafila\w* | angioedema | edema\sde\sglotis
      | reaccion(?:es)?\s(?:alergicas?\s)?(?:muy\s)?(?:grave|severa|fuerte|seria)s?
      | (?:teniendo|tiene|tengo|tuvo|dio|esta\sdando)\suna\sreaccion
      | (?:me|te|le)\s(?:cierra|esta\scerrando|cerro|cerrando)\sla\sgarganta
      | garganta\s(?:se\s(?:me\s|le\s|te\s)?(?:cierra|esta\scerrando|cerro)|cerrada|cerrandose)
      | (?:garganta|lengua|labios?)\s(?:muy\s)?hinchad[oa]s?
      | (?:me|te|le)\s(?:hincho|hincharon|hincha|hinchan|esta\shinchando|estan\shinchando
            |ha\shinchado|han\shinchado)\s(?:la|el|los)\s(?:garganta|lengua|labios?)
      | hinchazon\s(?:en|de)\s(?:la\s|el\s|los\s)?(?:garganta|lengua|labios?)
      | hinchad[oa]s?\s(?:la|el|los)\s(?:garganta|lengua|labios?)
    """,
    "unconscious": r"""
        desmay\w* | desvaneci\w* | inconscientes?
      | perd\w*\s(?:de\s)?(?:el\s|la\s)?(?:conocimiento|conciencia|sentido(?!\sdel?\b))
      | no\s(?:se\s)?(?:despierta|despertaba|ha\sdespertado)
      | no\s(?:puedo|podemos|puede|logro|logramos|consigo)\sdespertarl[oae]s?
      | no\s(?:reacciona|reaccionaba)
            (?!\s(?:al|a\sla|a\slos|a\slas|con)
                \s(?:tratamiento|medicamento|medicina|antibiotico|pastilla)s?\b)
      | se\s(?:desplomo|cayo\sredondo|cayo\sredonda)
    """,
    "seizure": r"""
        ataques?\s(?:epileptic[oa]s?|de\sepilepsia|convulsiv[oa]s?)
      | crisis\s(?:epileptica|convulsiva)s?
    """,
}


# One leading \b(?=\w) outside the alternation: positions inside a word, and the ends of words,
# fail at once (every phrase starts with a letter). Each category is one named group holding its
# English phrases, then its Spanish ones.
def _compile(english: dict[str, str], spanish: dict[str, str]) -> re.Pattern[str]:
    if english.keys() != spanish.keys():
        raise ValueError("English and Spanish patterns must name the same categories")
    groups = (rf"(?P<{name}>(?:{body}|{spanish[name]})\b)" for name, body in english.items())
    return re.compile(r"\b(?=\w)(?:" + "|".join(groups) + ")", re.VERBOSE)


_RED_FLAGS = _compile(_PATTERNS, _PATTERNS_ES)


def normalize(text: str) -> str:
    """Lowercase, drop apostrophes and accents ("ñ" -> "n"), turn every other non-word run into
    one space. Text without accents (all English) is only lowercased and spaced as before."""
    text = text[:MAX_CHARS].lower().translate(_APOSTROPHES)
    if not text.isascii():
        text = _COMBINING_MARKS.sub("", unicodedata.normalize("NFD", text))
    return _NON_WORD.sub(" ", text)


def red_flag(text: str) -> str | None:
    """The emergency category the message describes ("cardiac", "breathing", "stroke",
    "self_harm", "overdose", "bleeding", "allergic_reaction", "unconscious", "seizure"),
    or None when it describes none. English or Spanish."""
    if not text:
        return None
    match = _RED_FLAGS.search(normalize(text))
    return match.lastgroup if match else None


# ---------------------------------------------------------------------------------------------
# Urgent, not an emergency: symptoms to be seen today or tomorrow. They do not stop the
# conversation; they make the patient's level "urgent" (`urgency`: the waitlist offers freed slots
# to urgent entries first, and urgent capacity opens to them). A patient cannot ask for that
# level ("urgent please" stays routine): only what they describe, or staff, sets it.

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

_BODY_ES = r"""(?:cara|mandibula|quijada|mejilla|cachete|encia|encias|ojo|ojos|pierna|piernas
    |pie|pies|mano|manos|tobillo|tobillos|rodilla|rodillas|brazo|brazos|muela|munecas?|dedos?)"""
_BONE_ES = r"""(?:hueso|brazo|pierna|muneca|dedo|tobillo|diente|muela|nariz|costilla|mano|pie
    |clavicula|cadera|codo|hombro)"""
_STRONG_ES = r"""(?:fuerte|fuertisimo|intenso|insoportable|terrible|horrible|tremendo|severo
    |espantoso|inaguantable|insufrible|atroz)"""

_URGENT_PATTERNS_ES: dict[str, str] = {
    "fever": r"""
        (?:fiebre|calentura|temperatura)\s(?:muy\s)?(?:alta|fuerte|persistente)
      | (?:mucha|bastante)\s(?:fiebre|calentura)
      | (?:fiebre|temperatura|calentura)\s(?:de|a|en)\s(?:mas\sde\s)?(?:3[89]|4[01]|10[1-6])
      | (?:3[89]|4[01])(?:\s\d)?\s(?:grados\s)?de\s(?:fiebre|temperatura|calentura)
      | (?:fiebre|calentura)\s(?:desde\shace|hace|durante|por|desde)\s(?:mas\sde\s)?
            (?:dos|tres|cuatro|cinco|varios|unos|2|3|4|5)\s(?:\w+\s)?dias
      | (?:dos|tres|cuatro|cinco|varios|2|3|4|5)\sdias\scon\s(?:fiebre|calentura)
    """,
    "pain": rf"""
        dolor(?:es)?\s(?:\w+\s){{0,3}}?(?:muy\s)?{_STRONG_ES}
      | {_STRONG_ES}\sdolor | (?:mucho|muchisimo|tanto)\sdolor
      | dolor(?:es)?\s(?:\w+\s){{0,3}}?
            (?:cada\svez\s(?:mas\sfuerte|peor)|empeora\w*|esta\sempeorando|va\sa\speor)
      | (?:me|te|le|les|nos)\s(?:duele|duelen)\s(?:\w+\s)?
            (?:muchisimo|demasiado|horrible|horrores|mucho|un\smonton)
      | no\s(?:puedo|puede|podia|pude)\s(?:dormir|comer|caminar|masticar)\s(?:\w+\s)?
            (?:del|por\sel|de|con\sel)\sdolor
    """,
    "worsening": r"""
        empeor\w* | cada\svez\s(?:peor|mas\sfuerte) | de\smal\sen\speor
      | (?:va|sigue|ido)\sa\speor
      | no\s(?:mejora|mejoro|ha\smejorado|se\scura|se\s(?:me\s|le\s|te\s)?quita)
    """,
    "infection": r"""
        infecci\w* | infectad[oa]s? | absceso\w* | flemon | supura\w* | pus
      | (?:sarpullido|salpullido|erupcion|rojez|enrojecimiento|ronchas)\s(?:\w+\s)?(?:se\s)?
            (?:esta\s)?(?:extendiendo|extiende|propagando|propaga|expandiendo|expande)
    """,
    "swelling": rf"""
        {_BODY_ES}\s(?:muy\s)?(?:hinchad[oa]s?|inflamad[oa]s?)
      | hinchad[oa]s?\s(?:la|el|los|las|mi|mis)\s{_BODY_ES}
      | (?:me|te|le)\s(?:hincho|hincharon|inflamo|inflamaron|esta\shinchando|estan\shinchando
            |ha\shinchado)\s(?:la|el|los|las|un|una|mi|mis)\s{_BODY_ES}
      | hinchazon\s(?:en|de)\s(?:la\s|el\s|los\s|las\s|mi\s|mis\s)?{_BODY_ES}
    """,
    "injury": rf"""
        {_BONE_ES}s?\s(?:roto|rota|rotos|rotas|fracturad[oa]s?|quebrad[oa]s?|partid[oa]s?
            |astillad[oa]s?|despostillad[oa]s?)
      | me\s(?:rompi|fracture|quebre|parti|torci|disloque)
      | (?:me|te|se|le)\s(?:rompio|fracturo|quebro|partio|torcio|disloco
            |(?:he|ha)\s(?:roto|fracturado|quebrado|partido|torcido))
            \s(?:el|la|los|las|un|una|mi|su)\s(?:\w+\s)?{_BONE_ES}
      | esguince\w* | fractura\w* | torcedura | luxacion | dislocad[oa]
      | ca(?:i|yo|yeron)\sy\s(?:me|se|te)\s(?:golpe\w*|lastim\w*|pegue|pego|hice|hizo|corte|corto)
    """,
    "dehydration": r"""
        vomit(?:o|os|e|a|an|aba|aban|ando|ado|ada)
      | (?:dejar|deja|para|parar|dejo|paro)\sde\svomitar
      | deshidrat\w*
      | no\s(?:retengo|retiene|tolero|tolera|aguanto|aguanta)
            \s(?:nada|ni\sel\sagua|ni\sagua|liquidos|comida|la\scomida|el\sagua|agua)
      | no\s(?:puedo|puede)\s(?:retener|tolerar|mantener)
            \s(?:nada|liquidos|comida|agua|la\scomida|el\sagua)
      | diarrea\s(?:desde|hace|durante|por|fuerte|intensa|severa|constante)
      | (?:mucha|fuerte)\sdiarrea
    """,
}

_URGENT_CARE = _compile(_URGENT_PATTERNS, _URGENT_PATTERNS_ES)


def urgent_care(text: str) -> str | None:
    """The category of a symptom that should be seen soon ("fever", "pain", "worsening",
    "infection", "swelling", "injury", "dehydration"), or None. English or Spanish. Red flags are
    `red_flag`'s: check it first."""
    if not text:
        return None
    match = _URGENT_CARE.search(normalize(text))
    return match.lastgroup if match else None


_SOON = _compile(SOON, SOON_ES)
_LEVELS = (("emergency", _RED_FLAGS), ("urgent", _URGENT_CARE), ("soon", _SOON))


def urgency(text: str) -> str | None:
    """How soon the message says the patient must be seen (scheduler/urgency.py): "emergency"
    (a red flag), "urgent" (`urgent_care`), "soon" (within the week: bot/understanding/soon.py),
    or None. The highest level any phrase of the message reaches wins. English or Spanish."""
    if not text:
        return None
    normalized = normalize(text)
    return next((level for level, rule in _LEVELS if rule.search(normalized)), None)
