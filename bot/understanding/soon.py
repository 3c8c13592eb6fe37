"""Symptoms to be seen within the week, not today: the "soon" level (scheduler/urgency.py).

A rash, a cough or a sore throat, an earache, a mild pain that goes on, a burning when peeing, a
red itchy eye: no reason to call anyone now, and no reason to wait a month either. These patterns
are read by bot/understanding/triage.py (`urgency`) over its normalized text (lowercase, no
accents, "ñ" as "n", every non-word run one space), after the red flags and the urgent symptoms,
so "the rash is spreading" stays urgent and only what is left can be "soon".

As with the other levels, matching errs towards the higher level ("my back pain is gone, just a
follow-up" is still "soon"), and ordinary words that only look like symptoms are left alone: a
rash decision, coughing up the money, a pain in the neck of a form, a flu shot or a flu vaccine,
an eye exam, a red-eye flight; in Spanish "he oído que..." (I heard that...), "me pica la
curiosidad", "la vacuna de la gripe".

Each category lists English phrases in `SOON` and Spanish ones in `SOON_ES`, under the same names.
"""

from __future__ import annotations

_BODY = r"""(?:back|lower\sback|neck|knee|knees|hip|hips|shoulder|shoulders|wrist|wrists|elbow
    |ankle|ankles|foot|feet|leg|legs|arm|arms|hand|hands|finger|toe|stomach|tummy|belly|tooth
    |teeth|jaw|joint|joints|muscle|muscles|head|ear|ears)"""
_LASTING = r"""(?:for|since)\s(?:a\s|the\s)?(?:few\s|couple\s(?:of\s)?|several\s|last\s|past\s)?
    (?:two\s|three\s|four\s|five\s|\d+\s)?(?:days|weeks|week|while|monday|tuesday|wednesday
    |thursday|friday|saturday|sunday|yesterday|last\snight)"""

SOON: dict[str, str] = {
    "skin": r"""
        (?<!was\s)(?<!being\s)(?<!so\s)(?<!too\s)(?<!bit\s)
        rash(?:es)?(?!\s(?:decision|decisions|of|move|moves|choice|choices|promise|purchase))
      | hives | eczema | cold\ssores? | psoriasis
      | itch(?:y|ing|es)\s(?:\w+\s)?(?:skin|spots?|bumps?|patch|patches|scalp)
      | (?:red|itchy)\s(?:spots|bumps|patches|blotches)
      | (?:bug|insect|tick|spider|mosquito)\sbites?
    """,
    "cough_throat": r"""
        cough(?:s|ed|ing)?(?!\sup\s(?:\w+\s)?(?:money|cash|dough|payment|fee|copay|bill))
      | sore\sthroats? | strep
      | throat\s(?:is\s|feels\s|has\sbeen\s)?(?:sore|scratchy|raw|hurts|hurting|killing\sme)
      | (?:stuffy|blocked|runny)\snose | (?:nasal|chest|sinus|head)\scongestion
      | (?:nose|chest|sinuses|head|im|i\sam|feel|feeling)\s(?:is\s|are\s|so\s|really\s)?congested
      | sinus(?:es)?\s(?:pain|pressure|congestion|problems?)
      | (?:have|has|had|got|getting|with|caught)\sa\s(?:bad\s|nasty\s|head\s|chest\s|heavy\s)?
            cold(?!\s(?:one|drink|brew|call|email|shoulder))
      | caught\scold | (?:have|has|had|got|caught)\s(?:the\s)?flu(?!\s(?:shot|jab|vaccine))
    """,
    "ear": r"""
        ear\s?aches? | ear\s(?:pain|pains|hurts|is\shurting|is\sblocked|is\sringing)
      | ears?\s(?:are\s|is\s|feel\s|feels\s)?(?:blocked|plugged|clogged|ringing)
      | (?:my|his|her|their)\sears\s(?:hurt|are\shurting|ache)
      | pain\sin\s(?:my|his|her|their)\sears?
    """,
    "pain": rf"""
        {_BODY}\s(?:pain|pains|ache|aches)
      | backache | stomach\s?ache | tummy\s?ache | toothache | upset\sstomach | stomach\sbug
      | (?<!is\sa\s)(?<!such\sa\s)(?<!what\sa\s)(?<!real\s)headaches? | migraines?
      | pain\sin\s(?:my|his|her|their)\s(?:\w+\s)?{_BODY}
      | (?:my|his|her|their)\s(?:\w+\s)?{_BODY}\s(?:hurts|hurt|aches|ache|is\shurting|is\ssore
            |are\ssore|has\sbeen\s(?:hurting|sore|aching)|keeps\shurting)
      | (?:mild|dull|nagging|constant|ongoing|recurring|chronic)\s(?:\w+\s)?(?:pain|ache)
      | (?:pain|ache|aching|sore|hurting|hurts|hurt)\s{_LASTING}
      | sensitive\s(?:tooth|teeth)
    """,
    "urinary": r"""
        burn(?:s|ing)?\s(?:when|while)\s(?:i\s|he\s|she\s)?(?:pee|peeing|urinate|urinating)
      | (?:painful|frequent)\surination | it\s(?:hurts|burns)\sto\s(?:pee|urinate)
      | utis?
    """,
    "eye": r"""
        pink\seye | conjunctivitis | styes?
      | (?:red|itchy|sore|watery|irritated)\seyes?(?!\sflights?)
      | eyes?\s(?:is\s|are\s)?(?:red|itchy|sore|watering|irritated)
    """,
}

_BODY_ES = r"""(?:espalda|cintura|cuello|rodilla|rodillas|cadera|hombro|hombros|muneca|codo
    |tobillo|pie|pies|pierna|piernas|brazo|brazos|mano|manos|dedo|estomago|barriga|panza|tripa
    |cabeza|muela|muelas|diente|dientes|articulaciones|musculos|oido|oidos|huesos)"""
_LASTING_ES = r"""(?:desde\shace|hace|durante|desde\sel|desde)\s(?:unos\s|unas\s|varios\s|varias\s
    |mas\sde\s)?(?:dos\s|tres\s|cuatro\s|cinco\s|\d+\s)?(?:dias|semanas|semana|lunes|martes
    |miercoles|jueves|viernes|sabado|domingo|ayer|anoche|tiempo)"""

SOON_ES: dict[str, str] = {
    "skin": r"""
        sarpullidos? | salpullidos? | urticaria | eccema | ezcema | dermatitis | psoriasis
      | erupcion(?:es)?\s(?:en\sla\spiel|cutaneas?) | ronchas? | comezon | picazon
      | (?:me|le|te)\s(?:pica|pican)\s(?:mucho\s)?(?:la\spiel|el\scuerpo|la\scabeza|todo)
      | manchas\s(?:rojas|en\sla\spiel) | picaduras?\s(?:de|en)
      | (?:un|el)\sfuego\sen\sel\slabio | herpes\slabial
    """,
    "cough_throat": r"""
        tos | toso | tose | tosiendo
      | dolor\sde\sgarganta | (?:me|le|te)\s(?:duele|arde|pica)\sla\sgarganta
      | garganta\s(?:irritada|inflamada|roja) | anginas | amigdalitis | faringitis
      | resfriad[oa]s? | resfrio | catarro | constipad[oa] | sinusitis | mocos
      | nariz\s(?:tapada|congestionada) | congestion\s(?:nasal|de\specho) | congestionad[oa]
      | (?<!vacuna\sde\sla\s)(?<!vacuna\sde\s)(?<!contra\sla\s)(?<!contra\s)gripe
    """,
    "ear": r"""
        dolor\sde\s(?:oido|oidos) | otitis
      | (?:me|le|te)\s(?:duele|duelen)\s(?:el|los|mi|mis)\s(?:oido|oidos)
      | (?:oido|oidos)\s(?:tapados?|taponados?)
      | (?:me|le|te)\s(?:zumba|zumban|pita|pitan)\s(?:el|los)\s(?:oido|oidos)
    """,
    "pain": rf"""
        dolor(?:es)?\s(?:leves?\s)?(?:de|en\sla|en\sel|en\slas|en\slos|en\smi|en\smis)
            \s{_BODY_ES}
      | (?:me|le|te|nos|les)\s(?:duele|duelen|dolia|dolian|molesta|molestan)
            \s(?:un\spoco\s)?(?:la|el|los|las|mi|mis)\s{_BODY_ES}
      | (?:dolor|dolores|molestias?)\s(?:\w+\s){{0,3}}?{_LASTING_ES}
      | dolor\s(?:leve|sordo|constante|cronico|que\sno\sse\sva)
      | jaquecas? | migranas? | lumbago | (?:dientes|muelas)\ssensibles
    """,
    "urinary": r"""
        (?:ardor|dolor|me\sarde|le\sarde|me\sduele|le\sduele)\sal\s(?:orinar|hacer\spipi)
      | cistitis
    """,
    "eye": r"""
        conjuntivitis | orzuelos?
      | ojos?\s(?:rojos?|irritados?|llorosos?) | (?:me|le|te)\spican\slos\sojos
    """,
}
