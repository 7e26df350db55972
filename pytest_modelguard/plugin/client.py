"""The ``model`` fixture's object: one configured model, called through the session's cache."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..config import ModelSpec
from ..core.errors import ModelCallFailed
from ..engine.answers import Answers, model_request
from ..records.calls import Answered, Completion, Message, Request
from ..suite import Case


class ModelClient:
    """Calls one model the way a suite item would: cached, costed, timed.

    ``complete(case.messages)`` also uses the case's params (temperature, max_tokens…),
    so it asks exactly what the prefetch already answered.
    """

    def __init__(self, answers: Answers, spec: ModelSpec, case: Case | None = None) -> None:
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
