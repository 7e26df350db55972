"""The agent loop: ask, run the tool calls, append their results, ask again — until an
answer without tool calls, ``max_steps``, or an error.

Pure: an ``AgentRun`` says which request comes next and is fed each answer; who answers
(the run's cached ``Answers``) and when (step by step across many runs, or one run at a
time) is the caller's choice (``run_now``, ``run_together``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..records.calls import Answered, Completion, Message, Request, Usage
from ..records.trajectory import Step, Trajectory
from .agent_tools import ToolBox

Build = Callable[[tuple[Message, ...]], Request]
"""The one place requests are built, given the messages so far (``answers.model_request``)."""


class AgentRun:
    """One agent run of one case's repeat (or one ``model.run_agent`` call)."""

    def __init__(
        self, messages: Sequence[Message], build: Build, tools: ToolBox, max_steps: int
    ) -> None:
        self.messages: list[Message] = [dict(m) for m in messages]
        self.build, self.tools, self.max_steps = build, tools, max_steps
        self.steps: list[Step] = []
        self.completions: list[Completion] = []
        self.cached = True
        self.error: str | None = None
        self.finished = False
        self.done = False

    def request(self) -> Request | None:
        """The next step's request; None once the run is over."""
        return None if self.done else self.build(tuple(self.messages))

    def feed(self, answered: Answered) -> None:
        """Take the step's answer: stop, or run its tool calls and append their results."""
        completion = answered.completion
        number = len(self.steps) + 1
        if completion is None:
            self.error = f"step {number}: {answered.error or 'no answer'}"
            self.done = True
            return
        self.completions.append(completion)
        self.cached = self.cached and answered.cached
        calls = [
            {**call, "id": str(call.get("id") or f"call_{number}_{index}")}
            for index, call in enumerate(completion.tool_calls)
        ]
        runs = tuple(self.tools.run(call) for call in calls)
        self.steps.append(
            Step(
                completion.text,
                runs,
                completion.usage.to_dict(),
                completion.latency_s,
                answered.cached,
            )
        )
        if not calls:
            self.finished = self.done = True
            return
        if number >= self.max_steps:
            self.done = True
            return
        self.messages.append(_assistant(completion.text, calls))
        self.messages += [
            {"role": "tool", "tool_call_id": run.id, "content": run.result} for run in runs
        ]

    def answered(self) -> Answered:
        """The run's answer: the last step's, with every step's usage and latency summed."""
        trajectory = Trajectory(tuple(self.steps), self.finished, self.max_steps)
        if self.error is not None or not self.completions:
            error = self.error or "no answer"
            return Answered(None, self.cached, error=error, trajectory=trajectory)
        last = self.completions[-1]
        latencies = [c.latency_s for c in self.completions]
        completion = dataclasses.replace(
            last,
            usage=_summed([c.usage for c in self.completions]),
            latency_s=None if None in latencies else sum(x for x in latencies if x is not None),
        )
        trajectory = dataclasses.replace(trajectory, completion=completion)
        return Answered(completion, self.cached, trajectory=trajectory)


def _assistant(text: str, calls: Sequence[Mapping[str, Any]]) -> Message:
    """The step's answer as the history's assistant message (OpenAI's form; each provider
    kind translates it)."""
    return {
        "role": "assistant",
        "content": text or None,
        "tool_calls": [
            {
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": call.get("arguments")},
            }
            for call in calls
        ],
    }


def _summed(usages: Sequence[Usage]) -> Usage:
    fields = Usage.__dataclass_fields__
    return Usage(**{name: sum(getattr(u, name) for u in usages) for name in fields})


def run_now(run: AgentRun, answer: Callable[[Request], Answered]) -> Answered:
    """Every step of one run, one after the other."""
    while (request := run.request()) is not None:
        run.feed(answer(request))
    return run.answered()


def run_together(
    runs: Sequence[AgentRun],
    ask: Callable[[list[Request]], None],
    answer: Callable[[Request], Answered],
) -> None:
    """Many runs step by step: each round's requests (every unfinished run's next step)
    are asked together (``ask``: concurrently, cache first), then each run is fed."""
    active = list(runs)
    while active:
        requests = [request for run in active if (request := run.request()) is not None]
        ask(requests)
        for run, request in zip(active, requests, strict=True):
            run.feed(answer(request))
        active = [run for run in active if not run.done]
