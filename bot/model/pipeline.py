"""One turn's model work as the log files tell it: an id for its lines, and what the turn cost.

A `Pipeline` is made per turn by the engine (bot/model/bedrock.py). Every model call
(bot/model/client.py) and every tool call (bot/model/tool_runner.py) of the turn writes its lines
to `logs/orchestration.log` under the pipeline's id; at the end, the turn's latency, tokens, model
calls and tool rounds go to `logs/performance.log`. Ids, counts and codes only, never message text.
"""

from __future__ import annotations

import time
import uuid

from bot import logfiles


class Pipeline:
    """One turn's model work: an id for its log lines, and what the turn cost."""

    def __init__(self, model_id: str, channel: str, *, budget_seconds: float = 45.0):
        self.id = uuid.uuid4().hex[:12]
        self.model_id, self.channel = model_id, channel
        self.started = time.perf_counter()
        self.deadline = time.monotonic() + budget_seconds
        self.model_calls = self.tool_rounds = 0
        self.model_ms = 0.0
        self.input_tokens = self.output_tokens = self.estimated_max = 0

    def log(self, event_: str, **fields: object) -> None:
        logfiles.write("orchestration", event_, turn=self.id, **fields)

    def start(self, **fields: object) -> None:
        self.log("pipeline_start", channel=self.channel, model=self.model_id, **fields)

    def end(self, outcome: str, reason: str | None = None, *, served: str = "model") -> float:
        """`outcome`: what the model did ("answered", "repaired", "model_failed",
        "bad_response", "unusable_reply"); `served`: whose words the patient got ("model",
        "tool_results" when the tools' confirmed changes were told instead, "local")."""
        ms = round((time.perf_counter() - self.started) * 1000, 3)
        self.log(
            "pipeline_end",
            outcome=outcome,
            reason=reason,
            served=served,
            ms=ms,
            model_calls=self.model_calls,
            tool_rounds=self.tool_rounds,
        )
        logfiles.write(
            "performance",
            "llm_turn",
            turn=self.id,
            model=self.model_id,
            ms=ms,
            model_ms=round(self.model_ms, 3),
            overhead_ms=round(ms - self.model_ms, 3),
            model_calls=self.model_calls,
            tool_rounds=self.tool_rounds,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            max_estimated_input_tokens=self.estimated_max,
            outcome=outcome,
            served=served,
        )
        return ms
