"""An agent's path: each step's answer, the tool calls it made and the results they got.

Plain data (JSON-able), so it rides on ``Answered``, ``ItemResult`` and the reports alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ToolRun:
    """One tool call of a step and what it was answered: ``result`` is the tool message's
    text; ``error`` when the tool raised, timed out or was unknown; ``unmatched`` when a
    recorded trajectory had no result for it."""

    id: str
    name: str
    arguments: Any
    result: str
    error: bool = False
    unmatched: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = {"id": self.id, "name": self.name, "arguments": self.arguments}
        data["result"] = self.result
        if self.error:
            data["error"] = True
        if self.unmatched:
            data["unmatched"] = True
        return data


@dataclass(frozen=True, slots=True)
class Step:
    """One model call of the loop: its text, its tool calls with their results, its usage."""

    text: str
    tool_calls: tuple[ToolRun, ...] = ()
    usage: Mapping[str, int] | None = None
    latency_s: float | None = None
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "tool_calls": [call.to_dict() for call in self.tool_calls],
            "usage": dict(self.usage or {}),
            "latency_s": self.latency_s,
            "cached": self.cached,
        }


@dataclass(frozen=True, slots=True)
class Trajectory:
    """The steps of one agent run; ``finished`` when the last step answered without tools."""

    steps: tuple[Step, ...]
    finished: bool
    max_steps: int
    completion: Any = field(default=None, compare=False)
    """The final answer (a ``Completion``: the last step's text, every step's usage summed)."""

    @property
    def text(self) -> str:
        """The final answer's text ("" when the run failed)."""
        return str(getattr(self.completion, "text", ""))

    @property
    def calls(self) -> tuple[ToolRun, ...]:
        """Every tool call, step by step, in the order the model made them."""
        return tuple(call for step in self.steps for call in step.tool_calls)

    @property
    def tool_errors(self) -> int:
        return sum(1 for call in self.calls if call.error)

    @property
    def unmatched_tool_calls(self) -> int:
        return sum(1 for call in self.calls if call.unmatched)

    @property
    def failure(self) -> str | None:
        """Why the case fails whatever its graders say: the loop ran out of steps."""
        return None if self.finished else f"did not finish within {self.max_steps} steps"

    def to_dicts(self) -> tuple[dict[str, Any], ...]:
        return tuple(step.to_dict() for step in self.steps)


def calls_of(steps: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The tool calls of steps in their JSON form (``Step.to_dict``), in order."""
    return [call for step in steps for call in step.get("tool_calls") or ()]
