"""ModelguardSession: the state of one run — settings, answers, results, verdicts."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # loaded when a run uses it: a plain pytest run never does
    from pathlib import Path

    from ..config import Settings
    from ..engine.agent_answers import AgentAnswers
    from ..grading.item import ItemGrader
    from ..records.results import ItemResult
    from ..report.finish import SequentialOutcome
    from ..report.outputs import Outputs
    from ..verdict.gate import GateReport
    from ..verdict.history import StoredRun


@dataclass
class ModelguardSession:
    """Everything one pytest run of modelguard owns; lives in ``config.stash``.

    Its jobs go to two parts: ``answers`` (requests, prefetch, spend) and ``grader``
    (answers → grades → ItemResults); the session keeps the run's state and finishes it.
    """

    settings: Settings
    lf: bool = False  # --lf: a run that reran only the last failures is not gated
    registered_tags: set[str] = field(default_factory=set)
    results: list[ItemResult] = field(default_factory=list)
    deselected: int = 0
    deselected_tests: int = 0  # Python tests over cases left out by selection
    counterparts: int = 0  # baseline runs of Python tests put back to pair selected ones
    report: GateReport | None = None
    compare: StoredRun | None = None  # --modelguard-compare: the run to pair this one with
    saved: Path | None = None  # --modelguard-save: where this run's report was kept
    unsaved: str | None = None  # --modelguard-save: why this run was not kept
    unwritten: tuple[str, ...] = ()  # reports that could not be written after the run
    started: float = field(default_factory=time.time)  # xdist workers get the controller's
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)  # xdist: the controller's
    suite_cases: dict[tuple[str, str], str] = field(default_factory=dict)  # → the file
    sequential: dict[str, SequentialOutcome] | None = None  # --modelguard-sequential's outcome
    resume: dict[str, Any] | None = None  # --modelguard-continue: the saved sequences
    shard: str | None = None  # --modelguard-shard I/N: "I/N"; the run gates nothing

    @cached_property
    def answers(self) -> AgentAnswers:
        """The run's answers, agent cases' trajectories included (made on first use: a
        worker learns ``started`` and ``run_id``)."""
        from ..engine.agent_answers import AgentAnswers

        return AgentAnswers(self.settings, run_id=self.run_id, started=self.started)

    @cached_property
    def grader(self) -> ItemGrader:
        """Grades items from ``answers`` (``grade_item``, ``judge_requests``, ``test_result``)."""
        from ..grading.item import ItemGrader

        return ItemGrader(self.settings, self.answers)

    @property
    def notes(self) -> tuple[str, ...]:
        """What the run must tell (e.g. answers not saved); nothing when nothing was asked."""
        return tuple(self.answers.notes) if "answers" in self.__dict__ else ()

    def close(self) -> None:
        """The run is over in this process: its reservations are released."""
        if "answers" in self.__dict__:
            self.answers.close()

    def finish(self, not_gated: str | None, outputs: Outputs) -> GateReport | None:
        """Judge the run and write the reports asked for. None when nothing ran.

        ``not_gated``: why the gate cannot be applied to this run (figures are still reported).
        """
        if not self.results and self.sequential is None:
            return None
        from ..report.finish import finish_run

        # arrival order differs with xdist; sums and reports must not
        self.results.sort(key=lambda r: (r.suite, r.case_id, r.model, r.repeat))
        finished = finish_run(
            self.results,
            self.settings,
            outputs,
            subset=self.deselected > 0,
            not_gated=self._shard_note(not_gated) or not_gated or self._lf_subset(),
            compare=self.compare,
            sequential=self.sequential,
            partial=self.partial(),
        )
        self.report = finished.report
        if finished.saved is not None:
            self.saved = finished.saved
        if finished.unsaved is not None:
            self.unsaved = finished.unsaved
        self.unwritten = finished.problems
        return self.report

    def partial(self) -> str | None:
        """Why this run left cases or checks out (it is then no drift reference)."""
        if self.shard is not None:
            return f"shard {self.shard} of the cases"
        if self.lf:
            return "--lf reran only the last failures"
        if self.sequential is not None:
            return "--modelguard-sequential asked only some cases"
        if self.deselected or self.deselected_tests:
            return "selection left cases or Python tests out"
        return None

    def _shard_note(self, stopped: str | None) -> str | None:
        """A shard's reason not to gate (and why it stopped early, if it did)."""
        if self.shard is None:
            return None
        note = (
            f"shard {self.shard}: no verdict (a shard gates nothing: merge the shards' caches "
            "with `modelguard cache merge` and gate the whole suite offline)"
        )
        return f"{note}; {stopped}" if stopped else note

    def _lf_subset(self) -> str | None:
        if not self.lf:
            return None
        return (
            "--lf reran only the last failures, and a gate on them alone would be biased: "
            "run without --lf to gate"
        )
