"""llm_judge in a run: judge calls through the loopback server, cached apart, costed apart."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from loopback import Call, LoopbackServer, Reply


def respond(call: Call) -> Reply:
    if call.model == "judge-1":
        first = call.prompt.split("<<<RESPONSE A", 1)[1].split("<<<END RESPONSE A", 1)[0]
        verdict = "A" if "GOOD" in first else "B"  # a fair judge: prefers the GOOD answer
        if "GARBLE" in call.prompt:
            return Reply(text="I cannot decide.", input_tokens=100, output_tokens=5)
        return Reply(text=f"Reasoning.\nVERDICT: {verdict}", input_tokens=100, output_tokens=5)
    word = call.prompt.split()[-1]
    good = call.model == "base-1" or word.endswith(("0", "2", "4", "6", "8"))
    return Reply(text=("GOOD " if good else "poor ") + word, input_tokens=10, output_tokens=2)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(respond) as srv:
        yield srv


@pytest.fixture
def project(
    pytester: pytest.Pytester, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    monkeypatch.setenv("SIM_KEY", "sk-sim-judge-test")
    pytester.makefile(
        ".toml",
        pyproject=f"""
[tool.modelguard]
baseline = "sim:base-1"
models = ["sim:cand-1"]
judge = "judge"
resamples = 500
[tool.modelguard.providers.sim]
kind = "openai"
base_url = "{server.openai_base_url}"
api_key_env = "SIM_KEY"
[tool.modelguard.aliases.judge]
model = "sim:judge-1"
price = {{ input = 2.0, output = 8.0 }}
""",
    )
    cases = "\n".join(f"  - id: c{i:02d}\n    prompt: 'reply to w{i}'" for i in range(20))
    pytester.makefile(
        ".modelguard.yaml",
        s=f"defaults:\n  graders:\n    - llm_judge: {{pairwise: true}}\ncases:\n{cases}\n",
    )
    return pytester


def test_pairwise_judge_grades_costs_apart_and_replays(
    project: pytest.Pytester, server: LoopbackServer
) -> None:
    first = project.runpytest("--modelguard-record", "once", "--modelguard-json", "r.json")
    first.assert_outcomes(passed=40, failed=1)  # + the gate results
    assert first.ret == pytest.ExitCode.TESTS_FAILED
    # both orders for each of the 10 answers that differ from the baseline's; none for identical
    assert server.count(model="judge-1") == 20
    report = json.loads((project.path / "r.json").read_text())
    cand = report["models"]["sim:cand-1"]
    assert cand["mean_score"] == pytest.approx(
        0.25
    )  # 10 identical answers tie (0.5), 10 lose both orders
    assert cand["verdict"] == "regression"
    assert cand["judge_cost_usd"] == pytest.approx(20 * (100 * 2.0 + 5 * 8.0) / 1e6)
    assert cand["cost_usd"] is None  # the candidate has no price; the judge's cost is not mixed in
    base = report["models"]["sim:base-1"]
    assert base["mean_score"] == 0.5 and base["judge_cost_usd"] == 0
    cost = f"${cand['judge_cost_usd']:.4f}"  # $0.0048: dollars, two significant figures
    first.stdout.fnmatch_lines([f"sim:cand-1: llm_judge cost {cost} (not in the model's cost)"])
    before = server.count()
    again = project.runpytest()
    again.assert_outcomes(passed=40, failed=1)  # + the gate result
    assert server.count() == before  # judge replies replay from the cache too


def test_unparseable_judge_reply_is_an_error_not_a_score(project: pytest.Pytester) -> None:
    suite = project.path / "s.modelguard.yaml"
    suite.write_text(suite.read_text().replace("reply to w3'", "reply to GARBLE w3'"))
    result = project.runpytest("--modelguard-record", "once")
    result.assert_outcomes(
        passed=39, errors=1, failed=1
    )  # c03's candidate answer differs: the judge is asked
    result.stdout.fnmatch_lines(["*c03*llm_judge*I cannot decide*"])


def test_judge_without_a_model_is_a_collection_error(project: pytest.Pytester) -> None:
    pyproject = project.path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('judge = "judge"\n', ""))
    result = project.runpytest()
    result.stdout.fnmatch_lines(["*s.modelguard.yaml:3*llm_judge needs a judge model*"])
    assert result.ret == pytest.ExitCode.INTERRUPTED
