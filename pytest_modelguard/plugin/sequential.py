"""pytest glue of ``--modelguard-sequential``: the batched prefetch, skips for cases not asked.

The plan (``engine/sequential.py``) says which cases to ask of whom; here each batch's
requests (and its llm_judge calls) are prefetched, graded by the items' own code
(``ItemGrader.grade_item``), and scored per case for the plan. Items of
(case, model) pairs never asked get a skip marker with the reason, so pytest reports
them as SKIPPED; the gate then takes each candidate's verdict from its sequence
(``verdict/sequential_gate.py``). With adaptive repeats an asked item is asked only the
repeats the plan gave it (``Answers.ask_repeats``); the repeats not asked are no item of
their own: the item says why in its ``user_properties`` and -v line, and the run counts
them as ``repeats_saved``.

A continued run (``--modelguard-continue``) gates on the results the saved sequences
counted as well as its own, so it re-states every candidate's verdict, settled ones
included, and with nothing new to ask reports what the run that settled them did.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import pytest

from ..engine import sequential_state
from ..engine.runner import Progress
from ..engine.sequential import SequentialPlan
from ..records.calls import Request
from ..verdict.pairing import case_scores
from .items import CaseItem
from .keys import GRADED, UNASKED
from .session import ModelguardSession


def unit_of(item: CaseItem) -> str:
    """The item's case as the gate pairs it (``ItemResult.pair_key``)."""
    case = item.case
    return case.unit or f"{case.suite}\x00{case.id}"


def _plan(
    cases: Sequence[CaseItem], mg: ModelguardSession, candidates: list[str]
) -> SequentialPlan:
    settings = mg.settings
    assert settings.baseline is not None
    nominal: dict[str, int] = {}
    for item in cases:
        unit = unit_of(item)
        nominal[unit] = max(nominal.get(unit, 1), item.case.repeat)
    return SequentialPlan(
        (unit_of(item) for item in cases),
        settings.baseline.name,
        candidates,
        seed=settings.seed,
        batch=settings.sequential_batch,
        gate=settings.gate,
        margin=settings.margin,
        confidence=settings.confidence,
        resume=mg.resume,
        repeats=nominal,
        adaptive_repeats=settings.adaptive_repeats,
    )


def _ask_repeats(
    item: CaseItem, unit: str, plan: SequentialPlan, mg: ModelguardSession, saved: dict[str, int]
) -> None:
    """Cap the item's repeats (and its companion baseline's) at the plan's; count the
    repeats not asked in ``saved`` by model."""
    answers = mg.answers
    for model in (item.model, item.companion):
        if model is None:
            continue
        full = len(answers.requests_for(item.case, model))
        k = plan.repeats_of(unit, model.name)
        if not full or k >= full:
            continue
        answers.ask_repeats(item.case, model, k)
        saved[model.name] += full - len(answers.requests_for(item.case, model))
        if model is item.model:
            reason = plan.why.get((unit, model.name), f"{k} of {full} repeats asked")
            item.stash[UNASKED] = reason
            item.user_properties.append(("modelguard_repeats_not_asked", reason))


def run(
    items: Sequence[pytest.Item], mg: ModelguardSession, progress: Progress | None
) -> list[pytest.Item]:
    """Ask the suite's cases batch by batch until every candidate's verdict is settled.

    Returns the items this did not handle (Python tests using the ``model`` fixture,
    or every item when there is no baseline and candidate to sequence): the caller
    prefetches those as usual.
    """
    settings = mg.settings
    baseline = settings.baseline
    cases = [item for item in items if isinstance(item, CaseItem)]
    by_pair: dict[tuple[str, str], list[CaseItem]] = defaultdict(list)
    for item in cases:
        by_pair[(unit_of(item), item.model.name)].append(item)
    present = {item.model.name for item in cases}
    candidates = [m.name for m in settings.candidates if m.name in present]
    if baseline is None or baseline.name not in present or not candidates:
        return list(items)
    try:
        plan = _plan(cases, mg, candidates)
    except ValueError as exc:  # a saved run that does not fit this one
        raise pytest.UsageError(
            f"--modelguard-continue: {exc}; run without --modelguard-continue to start fresh"
        ) from None
    repeats_saved: dict[str, int] = defaultdict(int)
    counted = sequential_state.saved_results(mg.resume or {})  # what the sequences counted
    mg.results.extend(counted)  # the gate re-states them: every candidate, settled ones included
    while (step := plan.next_batch()) is not None:
        units, models = step
        batch = []
        for unit in units:
            for model in models:
                for item in by_pair[(unit, model)]:
                    _ask_repeats(item, unit, plan, mg, repeats_saved)
                    batch.append(item)
        mg.answers.prefetch([r for item in batch for r in item.requests], progress)
        mg.answers.prefetch([r for item in batch for r in item.judge_requests()], progress)
        results = []
        for item in batch:  # graded once: the item's setup takes these results
            graded = mg.grader.grade_item(item.case, item.model, item.graders, item.keys)
            item.stash[GRADED] = graded
            results += graded
        counted += results
        plan.record(units, {m: case_scores(r for r in results if r.model == m) for m in models})
    asked = {(unit, model) for model, units in plan.asked.items() for unit in units}
    unasked: dict[str, list[Request]] = defaultdict(list)
    continued = f"counted by the sequential run this one continues ({len(plan.seen)} cases)"
    for (unit, model), pair in by_pair.items():
        if (unit, model) in asked:
            continue
        reason = continued if unit in plan.seen else plan.skip_reason(model)
        for item in pair:
            if unit not in plan.seen:  # what stopping saved, not what an earlier run paid
                unasked[model] += mg.answers.requests_for(item.case, item.model)
            item.add_marker(pytest.mark.skip(reason=reason))
    prices = {m.name: m.batch_price if settings.batched(m) else m.price for m in settings.models}
    outcomes = plan.outcomes(unasked, prices, repeats_saved)
    mg.sequential = sequential_state.restate(outcomes, mg.resume)
    sequential_state.save(settings, plan.state(), counted, mg.sequential)
    return [item for item in items if not isinstance(item, CaseItem)]
