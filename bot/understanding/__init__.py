"""Reading one message: what a patient or a member of staff asks for, and what the message names.

The local engine's understanding of a single text, in English and in Spanish: its intent, and the
date, time, part of day, provider, visit type and urgency it names, the language it is in, and the
red flags that make it an emergency. It keeps no state and touches no database: `understand()`
returns an `Understanding`, and what that means in a conversation (its state, the clinic's calendar,
the reply) is decided elsewhere in `bot/`.

One idea a module:

    nlu.py         `understand()` and its result `Understanding`, tying the rest together; and
                   the JSON-lines command behind `python -m bot.nlu`
    intents.py     what a message asks for: whole-message forms, intents found anywhere, a
                   numbered choice, an appointment's reference number
    dates.py       date phrases and the day each means (python-dateutil for the calendar); the
                   words and patterns that find them are date_patterns.py's
    times.py       times of day, parts of day, limits ("after 3") and urgency
    vocabulary.py  the clinic's names for its providers and visit types, and the phrase matcher
    typos.py       misspelled words the rules read, put right (rapidfuzz)
    text.py        the message's text as every rule reads it (normalized, masked as it is read)
    spanish.py     Spanish: its intents, its answers, its phrasing of dates and times
    language.py    which language a message is in, and requests to switch
    triage.py      red flags: what is an emergency, whatever else the message says

What it may import: the standard library, python-dateutil and rapidfuzz, and its own modules;
nothing else of `bot`, and nothing of `scheduler`, `adapters`, `jobs` or `app`. The one exception
is the command's `nlu.main()`, which loads the clinic file through `scheduler.clinic_file`, imported
inside `main()` so that importing the package never reaches it.
"""
