"""The ``model`` fixture's object: one configured model, called through the session's cache."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..config import ModelSpec
from ..core.errors import ModelCallFailed
from ..engine.agent_answers import AgentAnswers
from ..engine.answers import model_request
from ..records.calls import Answered, Completion, Message, Request
from ..records.trajectory import Trajectory
from ..suite import Case
from ..suite.agent import python_agent


class ModelClient:
    """Calls one model the way a suite item would: cached, costed, timed.

    ``complete(case.messages)`` also uses the case's params (temperature, max_tokens…),
    so it asks exactly what the prefetch already answered.
    """

    def __init__(self, answers: AgentAnswers, spec: ModelSpec, case: Case | None = None) -> None:
        self.answers, self.spec, self.case = answers, spec, case
        self.completions: list[Completion] = []
        self.answered: list[Answered] = []

    @property
    def name(self) -> str:
        return self.spec.name

    def __repr__(self) -> str:
        return f"<model {self.name}>"

    def request(
        self, messages: Sequence[Message], params: Mapping[str, Any] | None = None
    ) -> Request:
        """The Request ``complete`` sends for these messages and params."""
        case = self.case
        same = case is not None and tuple(dict(m) for m in messages) == case.messages
        base = case.params if case is not None and same else {}
        return model_request(self.spec, messages, {**base, **(params or {})})

    def complete(self, messages: Sequence[Message] | str, **params: Any) -> str:
        """The model's answer text; ``messages`` may be a plain prompt string."""
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        answered = self.answer_for(messages, params)
        if answered.completion is None:
            raise ModelCallFailed(f"{self.name}: {answered.error}")
        self.answered.append(answered)
        self.completions.append(answered.completion)
        return answered.completion.text

    def run_agent(
        self,
        messages: Sequence[Message] | str,
        tools: Sequence[Callable[..., Any]] | None = None,
        max_steps: int | None = None,
        **params: Any,
    ) -> Trajectory:
        """Run an agent loop: ask, run the tool calls with ``tools`` (Python functions,
        their schemas from their signatures), ask again, until an answer without tool
        calls or ``max_steps`` (default 8). Every step goes through the cache.

        Given the case's own messages and no ``tools``, an agent case runs as the suite
        item does (its tools, its ``agent:`` settings).
        """
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        case = self.case
        same = case is not None and tuple(dict(m) for m in messages) == case.messages
        base = {**(case.params if case is not None and same else {}), **params}
        if tools is not None:
            spec, entries = python_agent(tools, max_steps or 8)
            base["tools"] = entries
        elif case is not None and same and case.agent is not None:
            spec = case.agent if max_steps is None else replace(case.agent, max_steps=max_steps)
        else:
            raise ValueError("run_agent needs tools=[functions] (or an agent case's messages)")
        model = self.spec
        run = self.answers.loop(model, messages, base, spec)
        answered = self.answers.run_agent(run)
        self.answered.append(answered)
        if answered.completion is None or answered.trajectory is None:
            raise ModelCallFailed(f"{self.name}: {answered.error}")
        self.completions.append(answered.completion)
        return answered.trajectory

    def answer_for(
        self, messages: Sequence[Message], params: Mapping[str, Any] | None = None
    ) -> Answered:
        """The answer (or error) for these messages: recorded, prefetched, or fetched now."""
        answers = self.answers
        recorded = answers.recorded(self.case, self.spec, messages)
        return recorded or answers.answer(self.request(messages, params))

    def recorded(self, request: Request) -> Answered | None:
        """The case's production answer when the baseline is asked the case's question."""
        return self.answers.recorded(self.case, self.spec, request.messages)

    @property
    def last(self) -> Completion | None:
        """The last completion, with its usage and latency."""
        return self.completions[-1] if self.completions else None
