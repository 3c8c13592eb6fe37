"""The patient's conversation: what the local engine does with one understood message, and every
sentence a patient can receive.

    dialogue.py          the router: one understood message, the conversation so far, the next step
    turn.py              one turn in context (`Turn`), its replies (`Reply`) and what it found
    offers.py            booking: the questions in order, the openings offered, a choice taken
    visits.py            the patient's appointments: listing, picking one, moving, cancelling
    naming.py            whose visit it is: the patient's name, or the person booked for
    waitlist.py          joining the waitlist from the conversation
    asides.py            questions beside scheduling (a person, where, hours, being late, costs)
    consent.py           who may be texted and when: consent, carrier keywords, the rate limit
    reminder_replies.py  answers to what the clinic texted by itself (C, R, X; YES or NO)
    segments.py          SMS-shaped text: GSM-7, segments, long replies cut into pages
    replies/             every patient-facing sentence, as gettext message ids

What it may import: bot.understanding, bot.tools, bot.sessions, bot.messages, bot.i18n,
`scheduler` and SQLAlchemy (in the turn's transaction). Never bot.staff, bot.model or the engine
(they use it), and never `adapters`, `jobs` or `app`.
"""
