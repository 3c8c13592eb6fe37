"""The local engine ranks a patient's waitlist entry by the level triage heard in their
conversation (bot/understanding/triage.py `urgency`) and tells them what it means, in their
language; what they ask for ("urgent please") does not rank them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from scheduler.models import WaitlistEntry


def entries(sessions):
    with sessions() as db:
        return [(e.type_key, e.priority) for e in db.scalars(select(WaitlistEntry).order_by("id"))]


@pytest.mark.parametrize(
    "first, then, level, sentence",
    [
        ("I have had a cough for a week", "waitlist for a checkup", "soon", "ahead of routine"),
        (
            "tengo tos desde hace una semana",
            "lista de espera para un chequeo",
            "soon",
            "visitas de rutina",
        ),
        ("my jaw is swollen", "waitlist for a checkup", "urgent", "near the front"),
        ("I'd like a checkup", "waitlist for a checkup", "routine", None),
    ],
)
def test_the_local_engine_ranks_by_what_it_heard_and_says_so(
    make_chat, sessions, first, then, level, sentence
):
    chat = make_chat()
    chat.text(first)
    said = chat.text(then)
    assert entries(sessions) == [("checkup", level)]
    if sentence:
        assert sentence in said
    else:
        assert "routine" not in said and "near the front" not in said
