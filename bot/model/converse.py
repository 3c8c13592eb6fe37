"""The Converse API's message shapes, as the tool loop (bot/model/bedrock.py) reads and sends
them: a response read into its stop reason and content blocks, and the model's turn echoed back
into the conversation with only its text and its tool requests.
"""

from __future__ import annotations

from typing import Any

from bot.model.client import BadResponse


def parse_response(response: Any) -> tuple[str | None, list[dict[str, Any]]]:
    """(stopReason, content blocks) of a Converse response; BadResponse when it has neither."""
    if not isinstance(response, dict):
        raise BadResponse("malformed")
    output = response.get("output")
    message = output.get("message") if isinstance(output, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        raise BadResponse("malformed")
    return response.get("stopReason"), [b for b in content if isinstance(b, dict)]


def echo(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The model's turn as it goes back in the conversation: text and tool requests only."""
    echoed: list[dict[str, Any]] = []
    for block in blocks:
        if isinstance(block.get("text"), str) and block["text"].strip():
            echoed.append({"text": block["text"]})
        elif isinstance(block.get("toolUse"), dict):
            use = block["toolUse"]
            echoed.append(
                {
                    "toolUse": {
                        "toolUseId": str(use.get("toolUseId") or "missing"),
                        "name": str(use.get("name") or "unknown")[:64],
                        "input": use.get("input") if isinstance(use.get("input"), dict) else {},
                    }
                }
            )
    return echoed
