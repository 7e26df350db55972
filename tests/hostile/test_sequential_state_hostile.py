"""A broken ``sequential-state.json`` is a usage error naming the file, the field and the
fix; never a traceback, never accepted. In-process over the loader, one run through pytest."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_modelguard.config import Overrides, Settings, load_settings
from pytest_modelguard.core.errors import ConfigError
from pytest_modelguard.engine import sequential_state
from pytest_modelguard.engine.sequential import SequentialPlan
from pytest_modelguard.records.results import ItemResult
from pytest_modelguard.verdict.gate import GateConfig, evaluate
from pytest_modelguard.verdict.sequential_gate import apply_sequential

BASE, CAND = "python:m:base", "python:m:cand"
UNITS = [f"u{i}" for i in range(12)]


def _settings(tmp_path: Path, **table: Any) -> Settings:
    return load_settings(
        "pyproject.toml", {"baseline": BASE, "models": [CAND], **table}, Overrides(), tmp_path
    )


def _saved(tmp_path: Path) -> tuple[Settings, Path, dict[str, Any]]:
    """A real state: one batch of six cases counted, the candidate open."""
    settings = _settings(tmp_path)
    plan = SequentialPlan(UNITS, BASE, [CAND], seed=0, batch=6)
    step = plan.next_batch()
    assert step is not None
    cases, models = step
    results = [
        ItemResult("s", unit, model, score=1.0, passed=True, unit=unit)
        for unit in cases
        for model in models
    ]
    plan.record(cases, {m: {u: [1.0] for u in cases} for m in models})
    sequential_state.save(settings, plan.state(), results, plan.outcomes({}, {}))
    path = sequential_state.state_path(settings)
    return settings, path, json.loads(path.read_text())


def _cs(doc: dict[str, Any]) -> dict[str, Any]:
    cs: dict[str, Any] = doc["tests"][CAND]["cs"]
    return cs


def _set(*keys: Any, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        target: Any = doc
        for key in keys[:-1]:
            target = _cs(doc) if key == "cs" else target[key]
        if value is _DELETE:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value

    return change


_DELETE = object()

# (what is wrong, how the saved document is broken, the field the message names)
BROKEN: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("another document", lambda d: d.clear() or d.update({"x": 1}), "version"),
    ("no version", _set("version", value=_DELETE), "version"),
    ("a future version", _set("version", value=3), "version"),
    ("version as text", _set("version", value="2"), "version"),
    ("version true", _set("version", value=True), "version"),
    ("no key", _set("key", value=_DELETE), "key"),
    ("key a list", _set("key", value=[1]), "key"),
    ("seen as text", _set("seen", value="u0"), "seen"),
    ("seen with a number", _set("seen", value=[1, 2]), "seen"),
    ("seen twice", lambda d: d["seen"].append(d["seen"][0]), "seen"),
    ("no seen", _set("seen", value=_DELETE), "seen"),
    ("tests a list", _set("tests", value=[]), "tests"),
    ("no capital", _set("tests", CAND, "cs", value=_DELETE), f"tests.{CAND}.cs"),
    ("NaN tail", _set("cs", "tail", value=float("nan")), "cs.tail"),
    ("tail above a half", _set("cs", "tail", value=0.7), "cs.tail"),
    ("negative n", _set("cs", "n", value=-4), "cs.n"),
    ("n of 1e400", _set("cs", "n", value=float("inf")), "cs.n"),
    ("n huge", _set("cs", "n", value=10**30), "cs.n"),
    ("n as text", _set("cs", "n", value="6"), "cs.n"),
    ("n beyond seen", _set("cs", "n", value=500), "cs.n"),
    ("n_total zero", _set("cs", "n_total", value=0), "cs.n_total"),
    ("infinite total", _set("cs", "total", value=float("inf")), "cs.total"),
    ("NaN total", _set("cs", "total", value=float("nan")), "cs.total"),
    ("total above n", _set("cs", "total", value=100.0), "cs.total"),
    ("negative squares", _set("cs", "squares", value=-1.0), "cs.squares"),
    ("NaN capital", lambda d: _cs(d)["log_up"].__setitem__(3, float("nan")), "cs.log_up"),
    ("null capital", lambda d: _cs(d)["log_down"].__setitem__(0, None), "cs.log_down"),
    ("short capital", lambda d: _cs(d)["log_up"].pop(), "cs.log_up"),
    ("flag as text", lambda d: _cs(d)["out_low"].__setitem__(0, "no"), "cs.out_low"),
    ("grid backwards", lambda d: _cs(d)["grid"].reverse(), "cs.grid"),
    ("grid outside", lambda d: _cs(d)["grid"].__setitem__(-1, 5.0), "cs.grid"),
    ("results an object", _set("results", value={}), "results"),
    ("unknown case id", _set("results", 0, "unit", value="nowhere"), "results[0].unit"),
    ("score 1.5", _set("results", 0, "score", value=1.5), "results[0].score"),
    ("score as text", _set("results", 0, "score", value="1"), "results[0].score"),
    ("tags as text", _set("results", 0, "tags", value="a"), "results[0].tags"),
    ("no suite", _set("results", 0, "suite", value=_DELETE), "results[0].suite"),
    ("grade without score", _set("results", 0, "grades", value=[{"name": "g"}]), "grades[0]"),
    ("negative tokens", _set("results", 0, "input_tokens", value=-3), "input_tokens"),
    ("unknown model", _set("results", 0, "model", value="ghost"), "results"),
    ("negative asked", _set("outcomes", CAND, "n_asked", value=-1), f"outcomes.{CAND}.n_asked"),
    ("missing count", _set("outcomes", CAND, "calls_saved", value=_DELETE), "calls_saved"),
    ("infinite saving", _set("outcomes", CAND, "usd_saved", value=float("inf")), "usd_saved"),
]


@pytest.mark.parametrize(("change", "field"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_a_broken_state_is_refused_naming_file_and_field(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], field: str
) -> None:
    settings, path, doc = _saved(tmp_path)
    change(doc)
    path.write_text(json.dumps(doc))  # NaN and inf as JSON's NaN / Infinity
    with pytest.raises(ConfigError) as caught:
        sequential_state.load(settings)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert field in message
    assert "run without --modelguard-continue" in message


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "not a saved sequential run"),
        ('{"version": 2, "key": ', "not a saved sequential run"),
        ("[" * 100_000 + "]" * 100_000, "nested too deep"),
        ('{"version": 2, "tests": {"x": {"cs": {"n": 1e400}}}}', "field"),
    ],
    ids=["empty", "cut short", "deep nesting", "1e400 in the text"],
)
def test_unreadable_text_is_refused(tmp_path: Path, text: str, problem: str) -> None:
    settings, path, _ = _saved(tmp_path)
    path.write_text(text)
    with pytest.raises(ConfigError, match=problem):
        sequential_state.load(settings)


def test_bytes_and_a_directory_are_refused(tmp_path: Path) -> None:
    settings, path, _ = _saved(tmp_path)
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(ConfigError, match="not a saved sequential run"):
        sequential_state.load(settings)
    path.unlink()
    path.mkdir()
    with pytest.raises(ConfigError, match="is not a regular file"):
        sequential_state.load(settings)


def test_a_sound_state_loads_and_resumes(tmp_path: Path) -> None:
    settings, _, _ = _saved(tmp_path)
    state = sequential_state.load(settings)
    assert len(sequential_state.saved_results(state)) == 12
    plan = SequentialPlan(UNITS, BASE, [CAND], seed=0, batch=6, resume=state)
    assert plan.tests[CAND].cs.n == 6 and len(plan.order) == 6


def test_a_version_1_state_migrates(tmp_path: Path) -> None:
    settings, path, doc = _saved(tmp_path)
    doc["version"] = 1
    del doc["results"], doc["outcomes"]
    path.write_text(json.dumps(doc))
    state = sequential_state.load(settings)
    assert state["version"] == 2 and state["results"] == [] and state["outcomes"] == {}


def test_a_changed_run_says_what_changed(tmp_path: Path) -> None:
    _saved(tmp_path)
    with pytest.raises(ConfigError, match=r"the saved run differs: margin 0\.0 → 0\.05"):
        sequential_state.load(_settings(tmp_path, margin=0.05))


def test_a_settled_sequence_without_results_still_gates(tmp_path: Path) -> None:
    """A migrated state has no results: the candidate's row comes from its sequence alone,
    and a regression still fails the run (it never disappears from the table)."""
    plan = SequentialPlan(UNITS, BASE, [CAND], seed=0, batch=12)
    step = plan.next_batch()
    assert step is not None
    plan.record(step[0], {BASE: {u: [1.0] for u in UNITS}, CAND: {u: [0.0] for u in UNITS}})
    config = GateConfig(baseline=BASE, candidates=(CAND,))
    report = apply_sequential(evaluate([], config), plan.outcomes({}, {}), [], config)
    assert report.models[CAND].verdict == "regression"
    assert report.failed


def test_through_pytest_a_broken_state_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", pyproject=f'[tool.modelguard]\nbaseline = "{BASE}"\n')
    state = pytester.path / ".modelguard" / "runs" / "sequential-state.json"
    state.parent.mkdir(parents=True)
    state.write_text('{"version": 2, "key": {}, "seen": [], "tests": {"x": {"cs": []}}}')
    result = pytester.runpytest("--modelguard-sequential", "--modelguard-continue")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*sequential-state.json: field tests.x.cs: expected an object*"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    assert "INTERNALERROR" not in result.stderr.str() + result.stdout.str()
