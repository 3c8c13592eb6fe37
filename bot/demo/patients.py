"""The invented patients: 400 fictional numbers, 555-0100 to 555-0199 (the range reserved for
fiction) in four New York area codes (never the clinic's own 212 number), each with an invented
name, so that each has a few visits over a season; a quarter of them also chat on the website,
as the web chat's own patients (scope "web", never the SMS patient with the same number). A few
numbers take no texts (a landline, a typo): the desk books for those patients, and every
reminder to them fails, so the dashboard can hold the reminded against the not reminded.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.models import WaitlistOffer
from scheduler.patients import find_or_create_patient, set_patient_name

from .rates import UNREACHABLE, UNREACHABLE_CODES
from .run import Person, Run

AREA_CODES = ("917", "646", "718", "347")
PHONES = tuple(f"+1{area}555{n:04d}" for area in AREA_CODES for n in range(100, 200))
WEB_PHONES = frozenset(PHONES[::4])  # who also chats on the website

_FIRST = (
    "Avery", "Blake", "Camila", "Dario", "Elena", "Farah", "Gideon", "Hana", "Ines", "Jonah",
    "Kiran", "Lucia", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Soren", "Talia",
    "Uma", "Victor", "Wren", "Ximena", "Yusuf", "Zara", "Marisol", "Tobias", "Leena", "Ruben",
)  # fmt: skip
_LAST = (
    "Ambleworth", "Brackenridge", "Cindervale", "Dunmorrow", "Elderquist", "Fennimore",
    "Gravenhurst", "Hollowell", "Ivorydale", "Juniperson", "Kestrelby", "Larkwhistle",
    "Marrowfield", "Nettlecombe", "Oakenshaw", "Pebbleton", "Quillmarsh", "Rookhaven",
    "Saffronby", "Thistlewood", "Umberfield", "Vellacourt", "Willowmere", "Yarrowdale",
)  # fmt: skip


def name_of(n: int) -> str:
    """The n-th invented name: every first name with every last name once (720 of them)."""
    return f"{_FIRST[n % len(_FIRST)]} {_LAST[(n // len(_FIRST) + n) % len(_LAST)]}"


def make_patients(run: Run, db: Session) -> None:
    """Create (or find, on a second run) the invented patients, known some time before the
    history's first action."""
    first_action = run.queue[0].at if run.queue else run.end
    for n, phone in enumerate(PHONES):
        name = name_of(n)
        created = first_action - timedelta(days=run.rng.uniform(1, 400))
        for channel, scope in (("sms", None), ("web", "web")):
            if channel == "web" and phone not in WEB_PHONES:
                continue
            patient = find_or_create_patient(db, run.vault, phone, now=created, scope=scope)
            set_patient_name(run.vault, patient, name)
            if n % 8 == 3:
                patient.language = "es"
            if channel == "sms":
                patient.consented_at = patient.consented_at or created
                if run.rng.random() < UNREACHABLE:
                    run.unreachable[patient.id] = run.rng.choice(UNREACHABLE_CODES)
            person = Person(patient.id, phone, channel)
            (run.people if channel == "sms" else run.web).append(person)
            run.by_patient[patient.id] = person
            run.summary.counts["patients"] += 1
    run.texting = [p for p in run.people if p.patient_id not in run.unreachable]
    db.flush()
    run.last_offer = db.scalar(select(func.max(WaitlistOffer.id))) or 0
