"""The run's answers, agent cases included: an agent case's answer is a whole trajectory.

Every step of every loop is a request built by ``model_request`` and answered through
``Answers`` (cache first, by the full request), so a recorded trajectory replays with
no call. Before the first item runs, ``walk`` runs every agent item's loops together,
round by round: each round asks the next step of every unfinished loop concurrently
(the first round is the prefetch's own requests), so agent cases do not serialise the
run; an item whose loops were not walked (an xdist worker's, a sequential batch's) runs
them when it is graded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import Any

from ..config import ModelSpec
from ..records.calls import Answered, Completion, Message, Request
from ..suite import Case, RecordedAnswer
from ..suite.agent import AgentSpec
from .agent import AgentRun, run_now, run_together
from .agent_tools import ToolBox, provider_secrets
from .answers import Answers, model_request, recorded_answer
from .runner import Progress

Where = tuple[str, str, str, str, int]
"""(suite file, suite, case id, model, repeat): one loop of one item."""


class AgentAnswers(Answers):
    """``Answers`` whose ``for_case`` answers agent cases with their trajectories."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.trajectories: dict[Where, Answered] = {}

    @cached_property
    def tool_secrets(self) -> tuple[str, ...]:
        specs = self.settings.providers.values()
        return provider_secrets([(p.api_key_env, p.base_url) for p in specs])

    def for_case(self, case: Case, model: ModelSpec, keys: Sequence[str] = ()) -> list[Answered]:
        """Each repeat's answer; an agent case's is its trajectory's (walked, or run now)."""
        replayed = case.agent is not None and case.baseline is not None and case.baseline.steps
        if replayed and self.recorded(case, model, case.messages) is not None:
            return [self._replayed(case, model)]
        if case.agent is None or self.recorded(case, model, case.messages) is not None:
            return super().for_case(case, model, keys)
        found = []
        for repeat in range(self._asked(case, model)):
            where = (case.path, case.suite, case.id, model.name, repeat)
            answered = self.trajectories.get(where)
            if answered is None:
                answered = self.trajectories[where] = run_now(
                    self._run(case, model, repeat), self.answer
                )
            found.append(answered)
        return found

    def _replayed(self, case: Case, model: ModelSpec) -> Answered:
        """The recorded baseline's trajectory: its steps fed to the loop, no call."""
        assert case.baseline is not None
        where = (case.path, case.suite, case.id, model.name, 0)
        if where not in self.trajectories:
            run = self._run(case, model, 0)
            steps = case.baseline.steps
            self.trajectories[where] = replay_steps(run, steps, len(case.messages))
        return self.trajectories[where]

    def _asked(self, case: Case, model: ModelSpec) -> int:
        return len(self.requests_for(case, model))

    def _run(self, case: Case, model: ModelSpec, repeat: int) -> AgentRun:
        spec = case.agent
        assert spec is not None
        params = case.params
        return self.loop(
            model, case.messages, params, spec, lambda m: model_request(model, m, params, repeat)
        )

    def loop(
        self,
        model: ModelSpec,
        messages: Sequence[Message],
        params: Mapping[str, Any],
        spec: AgentSpec,
        build: Callable[[tuple[Message, ...]], Any] | None = None,
    ) -> AgentRun:
        """A loop asking ``model`` (``build``: each step's request, by default
        ``model_request`` with ``params``), its tools per ``spec``."""
        make = build or (lambda m: model_request(model, m, params))
        return AgentRun(messages, make, ToolBox(spec, self.tool_secrets), spec.max_steps)

    def run_agent(self, run: AgentRun) -> Answered:
        """One loop (a Python test's ``model.run_agent``), step after step."""
        return run_now(run, self.answer)

    def walk(self, items: Sequence[tuple[Case, ModelSpec]], progress: Progress | None) -> None:
        """Run the loops of these (agent case, model) items together, round by round."""
        runs: dict[Where, AgentRun] = {}
        for case, model in items:
            if case.agent is None or self.recorded(case, model, case.messages) is not None:
                continue
            for repeat in range(self._asked(case, model)):
                where = (case.path, case.suite, case.id, model.name, repeat)
                if where not in self.trajectories:
                    runs[where] = self._run(case, model, repeat)
        if not runs:
            return
        first = {r.key() for run in runs.values() if (r := run.request()) is not None}

        def answer(request: Any) -> Answered:
            found = self.answer(request)
            key = request.key()
            if key not in first:  # a later step: its trajectory keeps it, the cache too
                self.known.pop(key, None)
            return found

        run_together(list(runs.values()), lambda batch: self.prefetch(batch, progress), answer)
        for where, run in runs.items():
            self.trajectories[where] = run.answered()

    def _find_baseline_output(self, case: Case) -> Completion | None:
        """An agent case's baseline output is its trajectory's final answer."""
        baseline = self.settings.baseline
        if case.agent is None or baseline is None or case.baseline is not None:
            return super()._find_baseline_output(case)
        answered = self.for_case(case, baseline)
        return answered[0].completion if answered else None


def replay_steps(run: AgentRun, steps: Sequence[RecordedAnswer], start: int) -> Answered:
    """``run`` fed the answers production gave (a recorded agent baseline, ``baseline.steps``):
    the k-th model call gets the k-th recorded answer, k counted from the assistant turns
    after the case's first ``start`` messages; its tools' results come from the case's
    recorded trajectory, so the whole trajectory is graded with no call."""

    def answer(request: Request) -> Answered:
        done = sum(1 for m in request.messages[start:] if m.get("role") == "assistant")
        if done >= len(steps):
            problem = f"the recorded baseline has no answer for it ({len(steps)} recorded)"
            return Answered(None, True, error=problem)
        return recorded_answer(steps[done])

    return run_now(run, answer)
