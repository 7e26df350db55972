"""The dry run plans each candidate from the baseline's recorded answers, end to end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from loopback import LoopbackServer, Reply

from pytest_modelguard.inference.compare import cases_needed, planning_deltas

CASES = 40
WRONG = {0, 10, 20, 30}  # the baseline misses these cases: accuracy 0.9


def answer(call) -> Reply:  # type: ignore[no-untyped-def]
    word = call.prompt.split()[-1]
    return Reply(text="nope" if int(word[1:]) in WRONG else word, input_tokens=5, output_tokens=1)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(answer) as srv:
        yield srv


def project(pytester: pytest.Pytester, server: LoopbackServer, gate: str) -> pytest.Pytester:
    pytester.makefile(
        ".toml",
        pyproject=f"""
[tool.modelguard]
baseline = "base"
models = ["cand-a", "cand-b"]
gate = "{gate}"
margin = 0.05
[tool.modelguard.providers.sim]
kind = "openai"
base_url = "{server.openai_base_url}"
api_key_env = "SIM_KEY"
[tool.modelguard.aliases.base]
model = "sim:m1"
[tool.modelguard.aliases.cand-a]
model = "sim:m2"
[tool.modelguard.aliases.cand-b]
model = "sim:m3"
""",
    )
    cases = "\n".join(
        f"  - id: c{i:02d}\n    prompt: 'say w{i}'\n    expected: w{i}" for i in range(CASES)
    )
    pytester.makefile(".modelguard.yaml", s=f"defaults:\n  graders: [equals]\ncases:\n{cases}\n")
    return pytester


@pytest.mark.parametrize("gate", ["non-inferiority", "regression"])
def test_dry_run_plans_each_candidate_from_the_recorded_baseline(
    pytester: pytest.Pytester,
    server: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
    gate: str,
) -> None:
    monkeypatch.setenv("SIM_KEY", "sk-sim-test-key")
    project(pytester, server, gate)
    recorded = pytester.runpytest("--modelguard-record", "once", "-k", "base")
    assert recorded.parseoutcomes()["passed"] == CASES  # the baseline's items
    assert server.count() == CASES  # the baseline's answers only
    result = pytester.runpytest("--modelguard-dry-run")
    assert result.ret == pytest.ExitCode.OK
    out = result.stdout.str()
    assert "Traceback" not in out and "Exit" not in out and "!!!" not in out  # ends cleanly
    assert server.count() == CASES  # nothing called
    scores = [0.0 if i in WRONG else 1.0 for i in range(CASES)]
    needed = cases_needed(planning_deltas(scores), 0.05)
    assert needed > CASES  # 40 cases at accuracy 0.9 cannot settle 5 points
    goal = "rule out a drop" if gate == "non-inferiority" else "CI below 0"
    for name in ("cand-a", "cand-b"):
        result.stdout.fnmatch_lines(
            [f"*{name}*{needed} cases*{goal}*has {CASES}*baseline mean 0.900 on {CASES}*"]
        )
    print(out)


def test_planning_deltas_have_twice_the_variance_of_independent_scores() -> None:
    import numpy as np

    scores = (np.random.default_rng(3).random(20_000) < 0.9).astype(float)
    deltas = planning_deltas(scores)
    assert deltas.var() == pytest.approx(2 * scores.var(), rel=0.03)
    assert not planning_deltas([1.0] * 30).any()
    with pytest.raises(ValueError, match="numbers in"):
        planning_deltas([1.5])
