"""The opaque ids the model may use: what it is shown of times and appointments.

The model never sees a database id. Times it is offered and appointments it is shown get short
ids ("slot-3", "appt-1") issued per conversation and kept in its memory, so in the encrypted
session state; only an id issued to this conversation is accepted back, and only the last
`REMEMBERED_IDS` of each kind are remembered (an older one is refused: search again).
"""

from __future__ import annotations

from typing import Any

from scheduler.availability import Slot

# How many issued ids a conversation remembers (older ones are refused: search again).
REMEMBERED_IDS = 6


class IssuedIds:
    """The ids issued to one conversation, in its memory (`slots`, `appts` and the `seq` counter)."""

    def __init__(self, memory: dict[str, Any]):
        self.memory = memory
        memory.setdefault("slots", {})
        memory.setdefault("appts", {})
        memory.setdefault("seq", 0)

    def adopt(self, local_state: dict[str, Any]) -> None:
        """Issue ids for what the local dialogue offered or was acting on (it served while
        Bedrock was failing), so "2" or "yes" can be acted on by the model."""
        for offer, label in zip(
            local_state.get("offers") or [], local_state.get("labels") or [], strict=False
        ):
            slot = Slot.from_dict(offer)
            self.issue(
                "slots",
                f"{slot.type_key}|{slot.provider_key}|{slot.start.isoformat()}",
                {"slot": slot.as_dict(), "label": label},
            )
        for appointment_id, label in zip(
            local_state.get("choices") or [], local_state.get("labels") or [], strict=False
        ):
            self.issue("appts", str(appointment_id), {"id": appointment_id, "label": label})
        if local_state.get("appointment") and local_state.get("description"):
            self.issue(
                "appts",
                str(local_state["appointment"]),
                {"id": local_state["appointment"], "label": local_state["description"]},
            )

    def issue(self, table: str, key: str, value: dict[str, Any]) -> str:
        entries: dict[str, Any] = self.memory[table]
        for token, known in entries.items():
            if known.get("key") == key:
                entries[token] = {**value, "key": key}
                return token
        self.memory["seq"] += 1
        token = f"{'slot' if table == 'slots' else 'appt'}-{self.memory['seq']}"
        entries[token] = {**value, "key": key}
        while len(entries) > REMEMBERED_IDS:
            entries.pop(next(iter(entries)))
        return token

    def slot_id(self, slot: Slot, label: str) -> str:
        return self.issue(
            "slots",
            f"{slot.type_key}|{slot.provider_key}|{slot.start.isoformat()}",
            {"slot": slot.as_dict(), "label": label},
        )

    def appointment_id(self, appointment_id: int, label: str) -> str:
        return self.issue("appts", str(appointment_id), {"id": appointment_id, "label": label})

    def slot(self, token: str) -> Slot | None:
        """The slot issued as `token`; None when this conversation has no such id."""
        entry = self.memory["slots"].get(token)
        return None if entry is None else Slot.from_dict(entry["slot"])

    def appointment(self, token: str) -> int | None:
        """The appointment issued as `token`; None when this conversation has no such id."""
        entry = self.memory["appts"].get(token)
        return None if entry is None else int(entry["id"])

    def forget(self, table: str, token: str) -> None:
        """An id whose slot was taken or whose appointment was cancelled is not accepted again."""
        self.memory[table].pop(token, None)
