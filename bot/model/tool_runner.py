"""Running the model's tool calls: each `toolUse` block in, one `toolResult` block out.

Each request runs in a short transaction of its own, its change and its audit (or its refusal's
audit) together, through the `SchedulingTools` (bot/tools.py) the local dialogue uses, bound to
the person texting. The request must name a declared tool and its arguments must match the
declared schema (bot/model/tool_specs.py: types, enums, formats, no extra fields); what the tool
then does is bot/model/tool_calls.py's. Anything refused, here or there, is audited and answered
with a result of status "error" the model can read and recover from.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date
from typing import Any

from bot import i18n
from bot.model.tool_calls import Outcome, Refused, ToolCalls
from bot.model.tool_specs import TOOL_NAMES, check_arguments, tool_schemas
from bot.tools import SchedulingTools
from scheduler.clinic import Clinic

# Opens the tools for one call, in a transaction of that call's own (bot/engine/conversation.py).
OpenTools = Callable[[], AbstractContextManager[SchedulingTools]]


class ToolRunner:
    """Runs the model's tool requests for one turn, through tools bound to the caller. Each
    request runs in its own short transaction (`open_tools`): a change and its audit commit
    together, a refusal's audit commits, and a crash rolls back that request only."""

    def __init__(
        self,
        open_tools: OpenTools,
        clinic: Clinic,
        memory: dict[str, Any],
        *,
        today: date,
        log: Callable[..., None] = lambda event, **fields: None,
    ):
        self.open_tools, self._log = open_tools, log
        self.schemas = tool_schemas(clinic)
        self.calls = ToolCalls(clinic, memory, today=today)

    @property
    def outcomes(self) -> list[Outcome]:
        """What the turn's calls changed, in order (a call that rolled back changed nothing)."""
        return self.calls.outcomes

    @property
    def listed(self) -> bool:
        """The patient's appointments were listed to the model this turn."""
        return self.calls.listed

    # --- the protocol ----------------------------------------------------------------------

    def run(self, request: Any) -> dict[str, Any]:
        """One `toolUse` request in, one `toolResult` block out."""
        committed = len(self.outcomes)
        try:
            with self.open_tools() as tools:
                return self._run(tools, request if isinstance(request, dict) else {})
        except BaseException:  # even an interrupt rolls the call back: forget what it did
            del self.outcomes[committed:]  # the call rolled back: it changed nothing
            raise

    def _run(self, tools: SchedulingTools, request: dict[str, Any]) -> dict[str, Any]:
        tool_use_id = str(request.get("toolUseId") or "missing")
        name = request.get("name")
        arguments = request.get("input")
        if name not in self.schemas:
            tools.record_refusal("unknown_tool", "UnknownTool")
            self._log("tool_call", tool="unknown", status="error", reason="unknown_tool")
            return _result(
                tool_use_id,
                {"error": "no such tool; use one of: " + ", ".join(TOOL_NAMES)},
                ok=False,
            )
        problem = check_arguments(self.schemas[name][1], arguments)
        if problem is not None:
            tools.record_refusal(name, "InvalidArguments")
            self._log("tool_call", tool=name, status="error", reason="invalid_arguments")
            return _result(tool_use_id, {"error": problem}, ok=False)
        try:
            with i18n.speaking(i18n.DEFAULT):
                answer = getattr(self.calls, name)(tools, arguments)
        except Refused as refusal:
            if not refusal.audited:
                tools.record_refusal(name, refusal.reason)
            self._log("tool_call", tool=name, status="error", reason="refused")
            body: dict[str, Any] = {"error": str(refusal)}
            if refusal.alternatives:
                body["alternatives"] = refusal.alternatives
            return _result(tool_use_id, body, ok=False)
        self._log("tool_call", tool=name, status="ok")
        return _result(tool_use_id, answer, ok=True)

    def adopt(self, local_state: dict[str, Any]) -> None:
        """Issue ids for what the local dialogue offered or was acting on (it served while
        Bedrock was failing), so "2" or "yes" can be acted on by the model."""
        self.calls.ids.adopt(local_state)


def _result(tool_use_id: str, body: dict[str, Any], *, ok: bool) -> dict[str, Any]:
    return {
        "toolResult": {
            "toolUseId": tool_use_id,
            "content": [{"json": body}],
            "status": "success" if ok else "error",
        }
    }
