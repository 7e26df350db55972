"""Faults at 25%: 429 + Retry-After, 500, 503, resets, hangs past the timeout, malformed bodies.

The loopback server's fault plan is seeded and order-independent, so each request's
fate is known in advance: how many calls it takes, and whether it ends answered or as
an error. The server's per-request call counts must match exactly: nothing lost,
nothing called again after its answer, nothing counted twice.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from loopback import Call, Fault, FaultPlan, LoopbackServer
from reportfigures import timeless
from sdkwarm import warm_sdks

N = 24
MAX_ATTEMPTS = 8
TIMEOUT_S = 0.5
HANG_S = 30.0  # far past the timeout: a run that waits for it is not honouring timeout_s
TRANSIENT = (
    Fault.http(429, retry_after=0.01),
    Fault.http(500),
    Fault.http(503),
    Fault.reset(),
    Fault.hang(HANG_S),
)
MALFORMED = Fault.malformed()
MODELS = {"base": "sim:base", "cand": "simant:cand"}  # server model -> modelguard name

PYPROJECT = f"""
[tool.modelguard]
baseline = "sim:base"
models = ["simant:cand"]
resamples = 2000
seed = 3
concurrency = 8
timeout_s = {TIMEOUT_S}
max_attempts = {MAX_ATTEMPTS}
retry_delay_s = 0.001

[tool.modelguard.providers.sim]
kind = "openai"
base_url = "{{openai_url}}"
api_key_env = "FAULTS_SIM_KEY"

[tool.modelguard.providers.simant]
kind = "anthropic"
base_url = "{{anthropic_url}}"
api_key_env = "FAULTS_SIMANT_KEY"
"""


def suite(n: int = N, extra: str = "") -> str:
    cases = "".join(f"  - {{id: c{i:02d}, prompt: 'say w{i}', expected: w{i}}}\n" for i in range(n))
    return f"suite: faults\ndefaults:\n  graders: [equals]\ncases:\n{cases}{extra}"


def answer(call: Call) -> str:
    """The last word; the candidate gets every fourth case wrong."""
    word = call.prompt.split()[-1]
    return (
        "wrong" if call.model == "cand" and word[1:].isdigit() and int(word[1:]) % 4 == 0 else word
    )


def mixed(rate: float, faults: Sequence[Fault], seed: int, doomed: str = "") -> FaultPlan:
    """A seeded fraction ``rate`` of calls fail with one of ``faults``; ``doomed`` always 503s."""

    def plan(call: Call, n: int) -> Fault | None:
        if call.prompt == doomed:
            return Fault.http(503)
        rng = random.Random(f"{seed}\x00{call.model}\x00{call.prompt}\x00{n}")
        return rng.choice(faults) if rng.random() < rate else None

    return plan


def fate(plan: FaultPlan, model: str, prompt: str) -> tuple[int, bool, list[str]]:
    """Calls the request will take, whether it ends answered, and the faults it meets."""
    call = Call("openai", model, ({"role": "user", "content": prompt},), {}, {})
    met: list[str] = []
    for n in range(MAX_ATTEMPTS):
        fault = plan(call, n)
        if fault is None:
            return n + 1, True, met
        met.append(f"{fault.kind}{fault.status or ''}")
        if fault.kind == "malformed":  # permanent by design (tests/e2e/test_providers.py)
            return n + 1, False, met
    return MAX_ATTEMPTS, False, met


@pytest.fixture(scope="module", autouse=True)
def _warm(tmp_path_factory: pytest.TempPathFactory) -> None:
    warm_sdks(tmp_path_factory.mktemp("warm"))


@pytest.fixture
def srv(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    monkeypatch.setenv("FAULTS_SIM_KEY", "sk-faults-sim")
    monkeypatch.setenv("FAULTS_SIMANT_KEY", "sk-faults-simant")
    with LoopbackServer(answer) as server:
        yield server


@pytest.fixture
def project(pytester: pytest.Pytester, srv: LoopbackServer) -> pytest.Pytester:
    pytester.makefile(
        ".toml",
        pyproject=PYPROJECT.format(
            openai_url=srv.openai_base_url, anthropic_url=srv.anthropic_base_url
        ),
    )
    pytester.makefile(".modelguard.yaml", faults=suite())
    return pytester


def figures(path: Path) -> dict[str, Any]:
    """The report without what legitimately differs between runs (latency, cache hits)."""
    report = json.loads(path.read_text(encoding="utf-8"))
    cases = sorted((c["id"], c["model"], c["score"], c["passed"]) for c in report["cases"])
    return {
        "verdict": report["verdict"],
        "models": timeless(report["models"]),
        "tags": timeless(report["tags"]),
        "cases": cases,
    }


def check_calls(
    srv: LoopbackServer, plan: FaultPlan, prompts: list[str]
) -> dict[tuple[str, str], bool]:
    """Each request was called exactly as often as its fate says; returns who got answered."""
    answered = {}
    for model in MODELS:
        for prompt in prompts:
            calls, ok, met = fate(plan, model, prompt)
            assert srv.count(model=model, prompt=prompt) == calls, (model, prompt, met)
            answered[(model, prompt)] = ok
    return answered


def test_transient_faults_end_answered_with_the_fault_free_verdicts(
    project: pytest.Pytester, srv: LoopbackServer
) -> None:
    plan = mixed(0.25, TRANSIENT, seed=11)
    prompts = [f"say w{i}" for i in range(N)]
    met = [kind for m in MODELS for p in prompts for kind in fate(plan, m, p)[2]]
    assert {"status429", "status500", "status503", "reset", "hang"} <= set(met)
    srv.faults = plan
    started = time.monotonic()
    faulty = project.runpytest("--modelguard-record", "once", "--modelguard-json", "faulty.json")
    elapsed = time.monotonic() - started
    faulty.assert_outcomes(passed=2 * N, failed=1)  # + the gate results
    assert elapsed < HANG_S / 2, f"hung calls were waited for ({elapsed:.1f}s): timeout_s ignored?"
    assert all(check_calls(srv, plan, prompts).values())
    assert srv.count() == sum(fate(plan, m, p)[0] for m in MODELS for p in prompts)
    assert len(list((project.path / ".modelguard").rglob("*.json"))) == 2 * N
    srv.faults = None
    calm = project.runpytest("--modelguard-record", "all", "--modelguard-json", "calm.json")
    calm.assert_outcomes(passed=2 * N, failed=1)  # + the gate result
    assert faulty.ret == calm.ret
    assert figures(project.path / "faulty.json") == figures(project.path / "calm.json")


def test_every_item_ends_answered_or_as_an_error_after_its_budget(
    project: pytest.Pytester, srv: LoopbackServer
) -> None:
    project.makefile(
        ".modelguard.yaml",
        faults=suite(extra="  - {id: doomed, prompt: 'say doomed', expected: doomed}\n"),
    )
    plan = mixed(0.25, (*TRANSIENT, MALFORMED, MALFORMED), seed=5, doomed="say doomed")
    prompts = [f"say w{i}" for i in range(N)] + ["say doomed"]
    met = [kind for m in MODELS for p in prompts for kind in fate(plan, m, p)[2]]
    assert "malformed" in met
    srv.faults = plan
    result = project.runpytest("--modelguard-record", "once", "--modelguard-json", "r.json")
    answered = check_calls(srv, plan, prompts)
    errors = sum(not ok for ok in answered.values())
    result.assert_outcomes(
        passed=len(answered) - errors, errors=errors, failed=2
    )  # + the gate results
    result.stdout.fnmatch_lines([f"*on doomed*HTTP 503*gave up after {MAX_ATTEMPTS} attempts*"])
    assert "Traceback" not in result.stdout.str()
    report = json.loads((project.path / "r.json").read_text(encoding="utf-8"))
    by_item = {(c["model"], c["id"]): c for c in report["cases"]}
    assert len(by_item) == len(report["cases"]) == len(answered)  # none lost, none twice
    ids = {f"say w{i}": f"c{i:02d}" for i in range(N)} | {"say doomed": "doomed"}
    for (model, prompt), ok in answered.items():
        case = by_item[(MODELS[model], ids[prompt])]
        assert (case["error"] is None) == ok, case
