"""The ``model`` fixture's object: one configured model, called through the session's cache."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .config import ModelSpec
from .providers.base import Completion, Message, Request
from .suite import Case

if TYPE_CHECKING:
    from .session import Answered, ModelguardSession


class ModelCallFailed(Exception):
    """``model.complete`` could not get an answer (after retries, or none recorded)."""


class ModelClient:
    """Calls one model the way a suite item would: cached, costed, timed.

    ``complete(case.messages)`` also uses the case's params (temperature, max_tokens…),
    so it asks exactly what the prefetch already answered.
    """

    def __init__(
        self, session: ModelguardSession, spec: ModelSpec, case: Case | None = None
    ) -> None:
        self.session, self.spec, self.case = session, spec, case
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
        messages = tuple(dict(m) for m in messages)
        base = self.case.params if self.case is not None and messages == self.case.messages else {}
        merged = {**base, **(params or {}), **self.spec.params}
        return Request(self.spec.provider.name, self.spec.model, messages, merged)

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
        request = self.request(messages, params)
        return self.recorded(request) or self.session.answer(request)

    def recorded(self, request: Request) -> Answered | None:
        """The case's production answer when the baseline is asked the case's question."""
        case = self.case
        if case is None or case.baseline is None or self.spec is not self.session.settings.baseline:
            return None
        if request.messages != case.messages:
            return None
        from .session import recorded_answer

        return recorded_answer(case.baseline)

    @property
    def last(self) -> Completion | None:
        """The last completion, with its usage and latency."""
        return self.completions[-1] if self.completions else None
