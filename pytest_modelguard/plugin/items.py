"""pytest collection glue: a suite file collects one item per (case, model)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pytest

from ..core.errors import (
    ConfigError,
    GraderConfigError,
    ModelCallFailed,
    ModelguardWarning,
    SuiteError,
)
from .keys import GRADED, RESULTS

if TYPE_CHECKING:  # the suite reader and the rest load when a suite is collected
    from pathlib import Path

    from ..config import ModelSpec
    from ..records.calls import Request
    from ..records.grades import GradeFn
    from ..suite import Case
    from .session import ModelguardSession

SUITE_SUFFIXES = (".modelguard.yaml", ".modelguard.yml")


def is_suite_path(name: str) -> bool:
    return name.endswith(SUITE_SUFFIXES)


def pair_with_baseline(items: Sequence[pytest.Item], baseline: ModelSpec | None) -> None:
    """For each case whose baseline item selection left out, one selected item of the case
    answers and grades the baseline too (every process picks the same one: xdist-safe)."""
    if baseline is None:
        return
    by_case: dict[tuple[str, str], list[CaseItem]] = {}
    for item in items:
        if isinstance(item, CaseItem):
            by_case.setdefault((str(item.path), item.case.id), []).append(item)
    for selected in by_case.values():
        if all(item.model.name != baseline.name for item in selected):
            selected[0].companion = baseline


class SuiteFile(pytest.File):
    """A ``*.modelguard.yaml`` file."""

    mg: ModelguardSession

    def collect(self) -> Iterator[CaseItem]:
        from ..suite import claim_cases, load_suite

        try:
            suite = load_suite(self.path, self.config.rootpath)
            for note in suite.notes:  # shown in pytest's warnings summary
                warnings.warn(ModelguardWarning(note), stacklevel=1)
            models = self._models()
            built: dict[int, tuple[GradeFn, ...]] = {}
            marks: dict[str, pytest.MarkDecorator] = {}
            for case in suite.cases:
                graders = built.get(id(case.graders))
                if graders is None:
                    graders = built[id(case.graders)] = self.mg.grader.build(case.graders)
                self._register_tags(case.tags)
                case_marks = self._marks(case.tags, marks)
                for model in models:
                    _check_request(case, model)
                    name = f"{case.id}[{model.name}]"
                    yield CaseItem.from_parent(
                        self,
                        name=name,
                        # given whole: pytest 9 parses the [model] part as params, as it does
                        # for the ids --lf stored, which then match
                        nodeid=f"{self.nodeid}::{name}",
                        case=case,
                        model=model,
                        graders=graders,
                        marks=case_marks,
                    )
            # last: a file's own mistakes are reported first
            claim_cases(self.mg.suite_cases, suite)
        except (SuiteError, GraderConfigError, ConfigError) as exc:
            raise SuiteCollectError(str(exc)) from None

    def _models(self) -> tuple[ModelSpec, ...]:
        settings = self.mg.settings
        if settings.baseline is None:
            raise SuiteError(
                f"{self.path}: no baseline model: set baseline = 'PROVIDER:MODEL' in "
                "[tool.modelguard] or pass --baseline"
            )
        return settings.models

    def _marks(
        self, tags: Sequence[str], built: dict[str, pytest.MarkDecorator]
    ) -> tuple[pytest.MarkDecorator, ...]:
        """The markers of a case's registered tags, each built once per suite (in ``built``)."""
        registered = self.mg.registered_tags
        for tag in tags:
            if tag in registered and tag not in built:
                built[tag] = getattr(pytest.mark, tag)
        return tuple(built[tag] for tag in tags if tag in registered)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> str:  # type: ignore[override]
        if isinstance(excinfo.value, SuiteCollectError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def _register_tags(self, tags: Sequence[str]) -> None:
        for tag in tags:
            if tag.isidentifier() and tag not in self.mg.registered_tags:
                self.mg.registered_tags.add(tag)
                self.config.addinivalue_line("markers", f"{tag}: modelguard case tag")


class SuiteCollectError(Exception):
    """A suite that cannot be collected; the message is all the user needs."""


class ModelCallError(pytest.fail.Exception):  # type: ignore[name-defined,misc]
    """The model call failed for good: the item is an error, not a low score.

    A ``pytest.fail`` outcome without a traceback: raised in setup, pytest formats it
    as one line instead of walking the source of every frame (seconds per 100 errors).
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, pytrace=False)


class CaseFailure(Exception):
    """A required grader or a per-item budget failed."""


CLEAN_ERRORS = (ModelCallError, CaseFailure, GraderConfigError, ModelCallFailed)


class CaseItem(pytest.Item):
    """One case answered by one model (all its repeats)."""

    mg: ModelguardSession

    def __init__(
        self,
        *,
        case: Case,
        model: ModelSpec,
        graders: tuple[GradeFn, ...],
        marks: Sequence[pytest.MarkDecorator] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.case, self.model, self.graders = case, model, graders
        self.mg = self.parent.mg  # type: ignore[union-attr]
        self.keys: tuple[str, ...] = ()  # of ``requests``, once the prefetch asked for them
        # the baseline, when selection left its item for this case out: answered and graded
        # with this item (from the cache, or asked when recording) so the case still pairs
        self.companion: ModelSpec | None = None
        self.companion_keys: tuple[str, ...] = ()  # of the companion's ``requests``
        self.keywords.update(dict.fromkeys(case.tags, True))
        for mark in marks:
            self.add_marker(mark)

    def judge_requests(self) -> list[Request]:
        """The llm_judge calls this item will need, once its answers are in."""
        grader = self.mg.grader
        judge = grader.judge_requests(self.case, self.model, self.graders)
        if self.companion is not None:
            judge += grader.judge_requests(self.case, self.companion, self.graders)
        return judge

    @property
    def requests(self) -> list[Request]:
        """The calls this item needs (none when a recorded baseline answers it).

        Their keys are kept for ``setup``, which then need not rebuild them.
        """
        requests = self.mg.answers.requests_for(self.case, self.model)
        self.keys = tuple(r.key() for r in requests)
        if self.companion is not None:
            companion = self.mg.answers.requests_for(self.case, self.companion)
            self.companion_keys = tuple(r.key() for r in companion)
            requests += companion
        return requests

    def setup(self) -> None:
        grader = self.mg.grader
        results = self.stash.get(GRADED, None)
        if results is None:
            results = grader.grade_item(self.case, self.model, self.graders, self.keys)
        errors = [r.error for r in results if r.error is not None]
        if self.companion is not None:  # its answers count only when all are in
            companion = grader.grade_item(
                self.case, self.companion, self.graders, self.companion_keys
            )
            if not any(r.error is not None for r in companion):
                results = results + companion
        self.stash[RESULTS] = results
        if errors:
            raise ModelCallError(errors[0])

    def runtest(self) -> None:
        own = [r for r in self.stash[RESULTS] if r.model == self.model.name]
        failures = [r.failure for r in own if r.failure]
        if failures:
            raise CaseFailure("; ".join(dict.fromkeys(failures)))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> str:  # type: ignore[override]
        if isinstance(excinfo.value, CLEAN_ERRORS):
            return f"{self.model.name} on {self.case.id}: {excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path | str, int | None, str]:
        return self.path, self.case.line - 1, self.name


def _check_request(case: Case, model: ModelSpec) -> None:
    """A request the model's provider kind cannot express fails collection, not the call;
    so do tool settings an alias's params add that the APIs would refuse."""
    from ..suite import REQUEST_KEYS, combined_problem, request_problem

    own = [key for key in REQUEST_KEYS if key in model.params]
    wrong = next(((k, p[1]) for k in own if (p := request_problem(k, model.params[k]))), None)
    joined = {**case.params, **model.params}
    wrong = wrong or (combined_problem(joined) if own else None)
    if wrong:
        where = f"{case.path}:{case.line}" if case.path else case.suite
        raise SuiteError(
            f"{where}: case {case.id!r}: {wrong[0]}: {wrong[1]} (with the params of "
            f"{model.name} in [tool.modelguard] aliases.{model.name}.params)"
        )
    from ..engine.providers.tools import kind_problem  # the SDK layer: when used

    found = kind_problem(model.provider.kind, case.messages, case.params)
    if found:
        part, problem = found
        line = (part or {}).get("line") or case.line
        where = f"{case.path}:{line}" if case.path else case.suite
        raise SuiteError(f"{where}: case {case.id!r}: {problem} ({model.name})")
