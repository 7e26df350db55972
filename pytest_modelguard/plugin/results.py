"""Items' results onto their reports, and from the reports into the session (xdist or not);
-v's score beside a case item's outcome."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from . import xdist
from .counterparts import COUNTERPART
from .items import CLEAN_ERRORS, CaseItem
from .keys import READS, RESULTS, UNASKED, session_of

if TYPE_CHECKING:
    from ..records.results import ItemResult
    from .session import ModelguardSession

REPORT_ATTR = "modelguard"
SCORE_ATTR = "modelguard_score"  # -v: the item's score and failing checks, in one string
COUNTERPART_ATTR = "modelguard_counterpart"  # run only to pair a selected item (counted)


def on_report(
    item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport
) -> pytest.TestReport:
    """Clean a modelguard error's report; put the item's results on its final report."""
    if call.excinfo is not None and isinstance(call.excinfo.value, CLEAN_ERRORS):
        # setup errors too: the message says it all, a traceback would bury it
        clean = (
            item.repr_failure(call.excinfo)
            if isinstance(item, CaseItem)
            else str(call.excinfo.value)
        )
        report.longrepr = clean
    if item.stash.get(COUNTERPART, False) and _is_final(report):
        setattr(report, COUNTERPART_ATTR, True)
    results = item.stash.get(RESULTS, None)
    verbose = item.config.get_verbosity() >= 1  # only -v shows it: not kept per report else
    if results and verbose and report.when == "call" and isinstance(item, CaseItem):
        scored = _scored([r for r in results if r.model == item.model.name])
        unasked = item.stash.get(UNASKED, None)
        setattr(report, SCORE_ATTR, scored if unasked is None else f"{scored}; {unasked}")
    if results and _is_final(report):
        if xdist.is_worker(item.config):  # xdist: the report carries them to the controller
            setattr(report, REPORT_ATTR, [r.to_dict() for r in results])
        else:
            session_of(item.config).results.extend(results)
        del item.stash[RESULTS]
    if report.when == "teardown":
        _release(item)
    return report


def _release(item: pytest.Item) -> None:
    """The item is done: the answers it read go, unless another item will read them,
    and so do its request keys (an item run again rebuilds them)."""
    reads = item.stash.get(READS, None)
    if reads is None:
        return
    del item.stash[READS]
    case = None
    if isinstance(item, CaseItem):
        case = item.case
        item.keys = item.companion_keys = ()
    session_of(item.config).answers.release(reads, case)


def _scored(results: list[ItemResult]) -> str:
    scores = [r.score for r in results if r.score is not None]
    if not scores:
        return "no score"
    failed = sorted({g.name for r in results for g in r.grades if not g.passed})
    text = f"score {sum(scores) / len(scores):.2f}"
    return text + (f" (failed: {', '.join(failed)})" if failed else "")


def _is_final(report: pytest.TestReport) -> bool:
    return report.when == "call" or (report.when == "setup" and report.outcome != "passed")


class ResultCollector:
    """Gathers every item's results from the reports: the same path with or without xdist."""

    def __init__(self, mg: ModelguardSession) -> None:
        self.mg = mg

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if getattr(report, COUNTERPART_ATTR, False):
            self.mg.counterparts += 1
        data = getattr(report, REPORT_ATTR, None)
        if data:
            from ..records.results import ItemResult

            self.mg.results.extend(ItemResult.from_dict(d) for d in data)


def teststatus(report: pytest.TestReport, config: pytest.Config) -> Any:
    """-v: a case item's score and failing checks beside its outcome."""
    scored = getattr(report, SCORE_ATTR, None)
    if scored is None or report.when != "call" or config.get_verbosity() < 1:
        return None
    word = "PASSED" if report.passed else "FAILED"
    letter = "." if report.passed else "F"
    low = report.passed and not scored.startswith("score 1.00")
    return (
        report.outcome,
        letter,
        (
            f"{word} {scored}",
            {"yellow": low, "green": report.passed and not low, "red": report.failed},
        ),
    )
