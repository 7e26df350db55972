"""ItemResult: one graded answer (or error) of one (case, model, repeat) — the gate's input."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .grades import Grade


@dataclass(frozen=True, slots=True)
class ItemResult:
    """What one repeat of one item produced; JSON-able so it crosses xdist unchanged."""

    suite: str
    case_id: str
    model: str
    tags: tuple[str, ...] = ()
    repeat: int = 0
    score: float | None = None
    passed: bool = False
    grades: tuple[Grade, ...] = ()
    cost_usd: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0
    latency_s: float | None = None  # None: unknown (a recorded answer without it)
    cached: bool = True
    error: str | None = None
    output: str = ""
    failure: str | None = None  # why a passed=False item failed (required grader, budget)
    judge_cost_usd: float | None = 0.0  # what llm_judge graders cost; never in cost_usd
    unit: str = ""  # the prompt answered (suite.prompt_key); "" for results of older reports
    tool_calls: tuple[Mapping[str, Any], ...] = ()  # the answer's tool calls {id, name, arguments}
    human_label: float | None = None  # a person's score of this exact answer (labels file)
    batch: bool = False  # answered through a provider's batch API (priced at its batch rate)
    steps: int | None = None  # an agent case's model calls; None for one-call cases
    trajectory: tuple[Mapping[str, Any], ...] = ()  # an agent case's steps (Step.to_dict)
    tool_errors: int = 0  # tool calls answered ``error: ...`` (raised, timed out, unknown)
    unmatched_tool_calls: int = 0  # calls the recorded trajectory had no result for
    inputs: tuple[Mapping[str, Any], ...] = ()  # the case's images, audio, files (part_summary)

    @property
    def pair_key(self) -> str:
        """The case this answers, across models and checks: the prompt, the gate's unit.

        Every check of the same prompt (several suites, a Python test over a suite's
        case) shares it; results stored without a unit fall back to (suite, id).
        """
        return self.unit or f"{self.suite}\x00{self.case_id}"

    @property
    def answer_key(self) -> tuple[str, int]:
        """The answer this grades: checks of one answer share it, and its cost is paid once."""
        return (self.pair_key, self.repeat)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def to_dict(self) -> dict[str, Any]:
        """The JSON report's case record (SPEC §9), plus the answer text."""
        return {
            "suite": self.suite,
            "id": self.case_id,
            "model": self.model,
            "tags": list(self.tags),
            "repeat": self.repeat,
            "score": self.score,
            "passed": self.passed,
            "grades": [g.to_dict() for g in self.grades],
            "cost_usd": self.cost_usd,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "latency_s": self.latency_s,
            "cached": self.cached,
            "error": self.error,
            "failure": self.failure,
            "judge_cost_usd": self.judge_cost_usd,
            "unit": self.unit,
            "human_label": self.human_label,
            "output": self.output,
            "tool_calls": [dict(call) for call in self.tool_calls],
            "batch": self.batch,
            **({"inputs": [dict(part) for part in self.inputs]} if self.inputs else {}),
            **self._agent_dict(),
        }

    def _agent_dict(self) -> dict[str, Any]:
        """An agent case's fields (absent for one-call cases: their records are unchanged)."""
        if self.steps is None:
            return {}
        return {
            "steps": self.steps,
            "tool_errors": self.tool_errors,
            "unmatched_tool_calls": self.unmatched_tool_calls,
            "trajectory": [dict(step) for step in self.trajectory],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ItemResult:
        return cls(
            suite=data["suite"],
            case_id=data["id"],
            model=data["model"],
            tags=tuple(data.get("tags", ())),
            repeat=int(data.get("repeat", 0)),
            score=data.get("score"),
            passed=bool(data.get("passed", False)),
            grades=tuple(Grade.from_dict(g) for g in data.get("grades", ())),
            cost_usd=data.get("cost_usd"),
            input_tokens=int(data.get("input_tokens", 0)),
            output_tokens=int(data.get("output_tokens", 0)),
            cached_input_tokens=int(data.get("cached_input_tokens", 0)),
            reasoning_tokens=int(data.get("reasoning_tokens", 0)),
            latency_s=data.get("latency_s"),
            cached=bool(data.get("cached", True)),
            error=data.get("error"),
            output=str(data.get("output", "")),
            failure=data.get("failure"),
            judge_cost_usd=data.get("judge_cost_usd", 0.0),
            unit=str(data.get("unit") or ""),
            tool_calls=tuple(data.get("tool_calls") or ()),
            human_label=data.get("human_label"),
            batch=data.get("batch") is True,
            steps=data.get("steps"),
            trajectory=tuple(data.get("trajectory") or ()),
            tool_errors=int(data.get("tool_errors") or 0),
            unmatched_tool_calls=int(data.get("unmatched_tool_calls") or 0),
            inputs=tuple(data.get("inputs") or ()),
        )
