"""The run's answers are dropped once the items reading them are done (#14 item 13).

Suite items, Python tests over a suite's cases and llm_judge graders (the judge's
replies and the baseline's answer text) all still get their answers; at the end of
the run the store is empty, and at every point it holds only answers an item not yet
done will read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback import Call, LoopbackServer, Reply

from pytest_modelguard.config import ProviderSpec, Settings
from pytest_modelguard.core.vocabulary import RecordMode
from pytest_modelguard.engine.answers import Answers
from pytest_modelguard.records.calls import Answered, Completion, Request, Usage


def respond(call: Call) -> Reply:
    if call.model == "judge-1":
        first = call.prompt.split("<<<RESPONSE A", 1)[1].split("<<<END RESPONSE A", 1)[0]
        verdict = "A" if "GOOD" in first else "B"
        return Reply(text=f"Reasoning.\nVERDICT: {verdict}", input_tokens=100, output_tokens=5)
    word = call.prompt.split()[-1]
    good = call.model == "base-1" or word.endswith(("0", "2", "4", "6", "8"))
    return Reply(text=("GOOD " if good else "poor ") + word, input_tokens=10, output_tokens=2)


PYPROJECT = """
[tool.modelguard]
baseline = "sim:base-1"
models = ["sim:cand-1"]
judge = "sim:judge-1"
resamples = 200
gate = "non-inferiority"  # the candidate drops 0.25: surely not within 0.05, whatever the test
margin = 0.05
[tool.modelguard.providers.sim]
kind = "openai"
base_url = "{url}"
api_key_env = "SIM_KEY"
"""

# half the cases judged (pairwise: the baseline's answer text is needed), half by a check
SUITE = "cases:\n" + "\n".join(
    f"  - id: c{i:02d}\n    prompt: 'reply to w{i}'\n    repeat: 2\n    graders:\n"
    + ("      - llm_judge: {pairwise: true}\n" if i % 2 else "      - contains: w\n")
    for i in range(12)
)

PYTHON_TEST = """
import pytest

@pytest.mark.modelguard(suite="s.modelguard.yaml")
def test_answers_reach_python_tests(model, case):
    word = case.messages[-1]["content"].split()[-1]
    assert model.complete(case.messages).endswith(word)
    assert model.complete(case.messages).endswith(word)  # a second read: still there
"""

PROBE = """
import json
import os
from pathlib import Path

from pytest_modelguard.plugin.keys import SESSION

CONFIG = []
SEEN = []
SCORED = []  # reports carrying -v's score string (none without -v)


def pytest_configure(config):
    CONFIG.append(config)


def pytest_runtest_logreport(report):
    SCORED.extend([report.nodeid] if hasattr(report, "modelguard_score") else [])


def pytest_runtest_logfinish(nodeid, location):
    answers = CONFIG[0].stash[SESSION].answers
    SEEN.append([len(answers.known), sorted(set(answers.known) - set(answers.uses))])


def pytest_sessionfinish(session):
    answers = session.config.stash[SESSION].answers
    final = {
        "known": len(answers.known),
        "on_disk": len(answers.on_disk),
        "uses": len(answers.uses),
        "case_uses": len(answers.case_uses),
        "baseline_outputs": len(answers.baseline_outputs),
        "item_keys": sum(len(getattr(item, "keys", ())) for item in session.items),
        "scored_reports": len(SCORED),
    }
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # an xdist worker's: probe-gw0.json
    probe = {"seen": SEEN, "final": final}
    Path(f"probe{'-' if worker else ''}{worker}.json").write_text(json.dumps(probe))
"""


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(respond) as srv:
        yield srv


@pytest.fixture
def project(
    pytester: pytest.Pytester, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    monkeypatch.setenv("SIM_KEY", "sk-sim-release-test")
    pytester.makefile(".toml", pyproject=PYPROJECT.format(url=server.openai_base_url))
    pytester.makefile(".modelguard.yaml", s=SUITE)
    pytester.makepyfile(test_reads=PYTHON_TEST, conftest=PROBE)
    return pytester


def test_every_reader_gets_its_answer_and_the_store_ends_empty(
    project: pytest.Pytester, server: LoopbackServer
) -> None:
    result = project.runpytest(
        "--modelguard-record", "once", "--modelguard-json", "r.json", "-p", "no:randomly"
    )
    # suite items + Python tests, per model; + the candidate's gate result (not non-inferior)
    result.assert_outcomes(passed=12 * 2 + 12 * 2, failed=1)
    report = json.loads((project.path / "r.json").read_text())
    cases = [c for c in report["cases"] if "::" not in c["suite"]]
    judged = [c for c in cases if int(c["id"][1:]) % 2]
    assert judged and all(c["error"] is None for c in cases)
    # the judge saw the candidate's and the baseline's answers: poor answers lose
    candidate = [c for c in judged if c["model"] == "sim:cand-1"]
    assert {c["score"] for c in candidate} == {0.0}
    # both orders per case; the 2 repeats' identical judge calls are one answer, read twice
    assert server.count(model="judge-1") == 2 * len({c["id"] for c in candidate})
    probe = json.loads((project.path / "probe.json").read_text())
    assert set(probe["final"].values()) == {0}
    assert all(not unneeded for _, unneeded in probe["seen"])  # only what is still to be read
    sizes = [size for size, _ in probe["seen"]]
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] == 0  # shrinks as items finish


def test_replayed_run_releases_too(project: pytest.Pytester) -> None:
    project.runpytest("--modelguard-record", "once").assert_outcomes(passed=48, failed=1)
    again = project.runpytest("-p", "no:randomly")
    again.assert_outcomes(passed=48, failed=1)  # + the candidate's gate result
    probe = json.loads((project.path / "probe.json").read_text())
    assert probe["final"]["known"] == 0 and probe["seen"][0][0] > 0


def test_an_xdist_worker_releases_too(project: pytest.Pytester) -> None:
    """Each worker counts the reads of the items it is handed: its store ends empty (#26)."""
    pytest.importorskip("xdist")
    project.runpytest("--modelguard-record", "once").assert_outcomes(passed=48, failed=1)
    unused = ("-p", "no:hypothesispytest", "-p", "no:benchmark", "-p", "no:anyio")
    again = project.runpytest_subprocess(*unused, "-n", "2", "-p", "no:randomly")
    again.assert_outcomes(passed=48, failed=1)
    probes = [json.loads(p.read_text()) for p in project.path.glob("probe-gw*.json")]
    assert len(probes) == 2
    for probe in probes:
        assert probe["seen"]  # it ran items
        assert probe["final"] == dict.fromkeys(probe["final"], 0)


def _answered(text: str) -> Answered:
    return Answered(Completion(text, Usage(1, 1)), cached=True)


def test_an_answer_read_by_two_items_stays_until_both_are_done() -> None:
    answers = Answers(Settings(baseline=None, candidates=()), run_id="r", started=0.0)
    answers.known.update(shared=_answered("a"), own=_answered("b"), unannounced=_answered("c"))
    answers.expect(["shared", "own"])
    answers.expect(["shared"])
    answers.release(["shared", "own"])
    assert set(answers.known) == {"shared", "unannounced"}
    answers.release(["shared"])
    assert set(answers.known) == {"unannounced"}  # fetched on a miss, never announced: kept
    answers.release(["shared", "unannounced"])  # releasing again is harmless
    assert set(answers.known) == {"unannounced"} and answers.uses == {}


def test_a_replay_reads_each_answer_when_an_item_needs_it(tmp_path: Path) -> None:
    """The prefetch only notes which answers are recorded: a replay holds the answers of the
    items running, not every answer of the run before the first item (#26)."""
    sim = ProviderSpec("sim", "openai", "http://127.0.0.1:9/v1", "NO_SUCH_KEY")  # never called
    settings = Settings(
        baseline=None,
        candidates=(),
        cache_dir=tmp_path,
        record=RecordMode.ONCE,
        providers={"sim": sim},
    )
    answers = Answers(settings, run_id="r", started=0.0)
    requests = [Request("sim", "m", ({"role": "user", "content": f"q{i}"},)) for i in range(50)]
    for i, request in enumerate(requests):
        answers.cache.put(request, Completion(f"a{i}", Usage(1, 1)))
    keys = [r.key() for r in requests]
    answers.prefetch(requests)  # every answer is recorded: nothing is called
    answers.expect(keys[:2])
    answers.expect(keys[2:])
    assert answers.known == {} and set(answers.on_disk) == set(keys)
    first = answers.answer(requests[0])
    assert first.completion is not None and first.completion.text == "a0" and first.cached
    assert set(answers.known) == {keys[0]}  # read when asked for, not before
    answers.release(keys[:2])  # done: the one read and the one never read are both dropped
    assert answers.known == {} and keys[1] not in answers.on_disk
    answers.cache.path_for(requests[2]).write_text("{torn", encoding="utf-8")
    assert "not a valid modelguard cache entry" in (answers.answer(requests[2]).error or "")
    answers.release(keys[2:])
    assert answers.known == {} and answers.on_disk == {}
