"""#28's Done-when: three shards of a 300-case suite recorded over HTTP into three caches,
merged, and gated offline give the verdict, interval and n of one unsharded run, for the
same number of provider calls in total."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from loopback import Call, LoopbackServer, Reply

from pytest_modelguard.cli import main

CASES = 300


def respond(call: Call) -> Reply:
    word = call.prompt.split()[-1]
    wrong = call.model == "cand-1" and int(word[1:]) % 7 == 0  # 43 of 300 cases
    return Reply(text="no idea" if wrong else word, input_tokens=10, output_tokens=2)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(respond) as srv:
        yield srv


@pytest.fixture
def project(
    pytester: pytest.Pytester, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    monkeypatch.setenv("SIM_KEY", "sk-sim-shard-test")
    cases = "".join(f"  - {{id: c{i}, prompt: 'say w{i}', expected: w{i}}}\n" for i in range(CASES))
    pytester.makefile(".modelguard.yaml", s=f"defaults:\n  graders: [equals]\ncases:\n{cases}")
    return pytester


def _run(project: pytest.Pytester, server: LoopbackServer, cache: str, *args: str) -> Any:
    """Run with ``cache`` as cache_dir; the JSON report, the exit status and the calls made."""
    project.makefile(
        ".toml",
        pyproject=f"""
[tool.modelguard]
baseline = "sim:base-1"
models = ["sim:cand-1"]
cache_dir = "{cache}"
resamples = 500
[tool.modelguard.providers.sim]
kind = "openai"
base_url = "{server.openai_base_url}"
api_key_env = "SIM_KEY"
""",
    )
    before = server.count()
    result = project.runpytest("-p", "no:cacheprovider", "--modelguard-json", "r.json", *args)
    doc = json.loads((project.path / "r.json").read_text(encoding="utf-8"))
    return doc, result.ret, server.count() - before


def _verdict(doc: dict[str, Any]) -> dict[str, Any]:
    cand = doc["models"]["sim:cand-1"]
    return {"verdict": doc["verdict"], "model": cand["verdict"], "n": cand["n"], **cand["delta"]}


def test_three_merged_shards_gate_offline_as_one_run(
    project: pytest.Pytester, server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    whole, whole_status, whole_calls = _run(project, server, "whole", "--modelguard-record", "once")
    assert whole_calls == 2 * CASES and whole_status == pytest.ExitCode.TESTS_FAILED
    shard_calls = 0
    for i in (1, 2, 3):
        doc, status, calls = _run(
            project,
            server,
            f"shard{i}",
            "--modelguard-record",
            "once",
            "--modelguard-shard",
            f"{i}/3",
        )
        assert status == pytest.ExitCode.OK and doc["verdict"] == "not-gated"
        assert 0 < calls < 2 * CASES
        shard_calls += calls
    assert shard_calls == whole_calls
    caches = [str(project.path / f"shard{i}") for i in (1, 2, 3)]
    capsys.readouterr()
    assert main(["cache", "merge", *caches, "--into", str(project.path / "merged")]) == 0
    assert f"{2 * CASES} added" in capsys.readouterr().out
    final, final_status, final_calls = _run(project, server, "merged")  # record = "none"
    assert final_calls == 0 and final_status == whole_status
    assert _verdict(final) == _verdict(whole)
    assert _verdict(final)["model"] == "regression"
