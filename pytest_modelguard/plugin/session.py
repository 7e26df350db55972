"""ModelguardSession: the state of one run — settings, answers, results, verdicts."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from ..config import ModelSpec, Settings
from ..core.errors import (
    SuiteError,
)
from ..engine.answers import Answers
from ..grading.item import ItemGrader
from ..grading.llm_judge import JudgeGrader
from ..records.calls import Request
from ..records.grades import GradeFn
from ..records.results import ItemResult
from ..suite import Case, Suite
from ..verdict.history import shown_path

if TYPE_CHECKING:
    from pathlib import Path

    from ..report.outputs import Outputs
    from ..verdict.drift import DriftReport
    from ..verdict.gate import GateReport
    from ..verdict.history import StoredRun
    from ..verdict.sequential_gate import SequentialOutcome


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
    report: GateReport | None = None
    compare: StoredRun | None = None  # --modelguard-compare: the run to pair this one with
    saved: Path | None = None  # --modelguard-save: where this run's report was kept
    unsaved: str | None = None  # --modelguard-save: why this run was not kept
    started: float = field(default_factory=time.time)  # xdist workers get the controller's
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)  # xdist: the controller's
    suite_cases: dict[tuple[str, str], str] = field(default_factory=dict)  # → the file
    sequential: dict[str, SequentialOutcome] | None = None  # --modelguard-sequential's outcome

    @cached_property
    def answers(self) -> Answers:
        """The run's answers (made on first use: a worker learns ``started`` and ``run_id``)."""
        return Answers(self.settings, run_id=self.run_id, started=self.started)

    @cached_property
    def grader(self) -> ItemGrader:
        return ItemGrader(self.settings, self.answers.answer)

    @property
    def notes(self) -> list[str]:
        """What the run must tell (e.g. answers not saved)."""
        return self.answers.notes

    def claim_suite(self, suite: Suite) -> None:
        """Refuse a second file with the same suite name and case ids: its results would merge."""
        claimed = self.suite_cases
        for case in suite.cases:
            first = claimed.setdefault((suite.name, case.id), suite.path)
            if first != suite.path:
                raise SuiteError(
                    f"{suite.path}:{case.line}: suite {suite.name!r} case {case.id!r} is also in "
                    f"{first}: give one of the files another `suite:` name or other case ids"
                )

    def models_for_suite(self, path: str) -> tuple[ModelSpec, ...]:
        if self.settings.baseline is None:
            raise SuiteError(
                f"{path}: no baseline model: set baseline = 'PROVIDER:MODEL' in [tool.modelguard] "
                "or pass --baseline"
            )
        return self.settings.models

    def answer_and_grade(
        self,
        case: Case,
        model: ModelSpec,
        graders: Sequence[GradeFn],
        keys: Sequence[str] = (),
    ) -> list[ItemResult]:
        """Grade every repeat of one item from the prefetched answers.

        ``keys``: the item's request keys, when known from the prefetch (saves rebuilding them).
        """
        answered = self.answers.for_case(case, model, keys)
        baseline_output = self.answers.baseline_output(case)
        return [
            self.grader.grade(case, model, graders, repeat, answer, baseline_output)
            for repeat, answer in enumerate(answered)
        ]

    def judge_requests(
        self, case: Case, model: ModelSpec, graders: Sequence[GradeFn]
    ) -> list[Request]:
        """The judge calls one item will need, from its (prefetched) answers."""
        if not any(isinstance(g, JudgeGrader) for g in graders):
            return []
        answers = self.answers
        return self.grader.judge_requests(
            case, graders, answers.for_case(case, model), answers.baseline_output(case)
        )

    def close(self) -> None:
        """The run is over in this process: its reservations are released."""
        if "answers" in self.__dict__:
            self.answers.close()

    def finish(self, not_gated: str | None, outputs: Outputs) -> GateReport | None:
        """Judge the run and write the reports asked for. None when nothing ran.

        ``not_gated``: why the gate cannot be applied to this run (figures are still reported).
        """
        if not self.results:
            return None
        # arrival order differs with xdist; sums and reports must not
        self.results.sort(key=lambda r: (r.suite, r.case_id, r.model, r.repeat))
        from ..report.json_report import build_json
        from ..report.outputs import write_outputs
        from ..verdict.gate import (  # numpy: only with something to judge
            GateConfig,
            evaluate,
            with_drift,
        )
        from ..verdict.history import save_run

        settings = self.settings
        config = GateConfig(
            baseline=settings.baseline.name if settings.baseline else None,
            candidates=tuple(m.name for m in settings.candidates),
            confidence=settings.confidence,
            interval=settings.interval,
            resamples=settings.resamples,
            seed=settings.seed,
            gate=settings.gate,
            margin=settings.margin,
            budgets={m.name: m.budgets for m in settings.models},
            subset=self.deselected > 0,
            not_gated=not_gated or self._lf_subset(),
            judge_min_agreement=settings.judge_min_agreement,
            gate_on=settings.gate_on,
            model_ids={m.name: f"{m.provider.name}:{m.model}" for m in settings.models},
        )
        self.report = evaluate(self.results, config)
        if self.sequential is not None:
            from ..verdict.sequential_gate import apply_sequential

            self.report = apply_sequential(self.report, self.sequential, self.results, config)
        if self.compare is not None:
            self.report = with_drift(self.report, self._drift(self.compare))
        if outputs.any:
            doc = build_json(self.report, self.results, settings)
            write_outputs(doc, outputs)
            degraded = self.report.drift is not None and self.report.drift.degraded
            if outputs.runs is not None and degraded:
                self.unsaved = (
                    "a model degraded, so the stored run stays the reference (to accept the "
                    "change, save a run without --modelguard-compare)"
                )
            elif outputs.runs is not None:
                self.saved = save_run(doc, outputs.runs)
        return self.report

    def _lf_subset(self) -> str | None:
        if not self.lf:
            return None
        return (
            "--lf reran only the last failures, and a gate on them alone would be biased: "
            "run without --lf to gate"
        )

    def _drift(self, stored: StoredRun) -> DriftReport:
        from ..verdict.drift import compare_runs

        return compare_runs(
            self.results,
            stored.results,
            against=shown_path(stored.path),
            saved_at=stored.saved_at,
            confidence=self.settings.confidence,
            seed=self.settings.seed,
            method=self.settings.interval,
            resamples=self.settings.resamples,
        )
