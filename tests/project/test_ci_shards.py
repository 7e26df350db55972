"""examples/github-shards.yml: valid, and its steps' scripts, run as the matrix would run
them (one directory per machine, the artifacts copied between), give the one verdict."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from paths import ROOT

WORKFLOW = ROOT / "examples" / "github-shards.yml"

ANSWERS = """
def echo(request):
    return request.messages[-1]["content"].split()[-1]
"""

PYPROJECT = """
[tool.modelguard]
baseline = "python:answers:echo"
models = ["twin"]
resamples = 500

[tool.modelguard.aliases.twin]
model = "python:answers:echo"
params = { temperature = 0.5 }
"""


def _workflow() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return loaded


def _scripts(job: dict[str, Any], shard: int | None = None) -> list[str]:
    """The job's `run` steps after the install, with the matrix value filled in."""
    runs = [s["run"] for s in job["steps"] if "run" in s and not s["run"].startswith("pip ")]
    if shard is not None:
        runs = [r.replace("${{ matrix.shard }}", str(shard)) for r in runs]
    assert not any("${{" in r for r in runs)
    return runs


def test_the_matrix_shards_the_suite_and_the_gate_waits_for_every_shard() -> None:
    workflow = _workflow()
    shard, gate = workflow["jobs"]["shard"], workflow["jobs"]["gate"]
    matrix = shard["strategy"]["matrix"]["shard"]
    assert matrix == list(range(1, len(matrix) + 1))
    assert shard["strategy"]["fail-fast"] is False
    record = next(r for r in _scripts(shard, 1) if "--modelguard-shard" in r)
    assert f"--modelguard-shard 1/{len(matrix)}" in record
    assert gate["needs"] == "shard" and gate["if"] == "${{ !cancelled() }}"
    step = next(s for s in shard["steps"] if "Record" in s.get("name", ""))
    assert all(v.startswith("${{ secrets.") for v in step["env"].values())


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-ec", script], cwd=cwd, env=env, capture_output=True, text=True)


def test_its_scripts_record_merge_and_gate_as_one_run(pytester: pytest.Pytester) -> None:
    workflow = _workflow()
    project = pytester.mkdir("repo")
    (project / "answers.py").write_text(ANSWERS, encoding="utf-8")
    (project / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (project / "pytest.ini").write_text("[pytest]\npythonpath = .\n", encoding="utf-8")
    cases = "\n".join(f"  - id: c{i}\n    prompt: say w{i}\n    expected: w{i}" for i in range(12))
    (project / "evals").mkdir()
    (project / "evals" / "echo.modelguard.yaml").write_text(
        f"defaults:\n  graders: [equals]\ncases:\n{cases}\n", encoding="utf-8"
    )
    bin_dir = pytester.mkdir("bin")  # the `modelguard` console script, as pip installs it
    (bin_dir / "modelguard").write_text(
        f'#!/bin/sh\nexec "{sys.executable}" -m pytest_modelguard.cli "$@"\n', encoding="utf-8"
    )
    (bin_dir / "modelguard").chmod(0o755)
    path = f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env = {**os.environ, "PATH": path}
    downloads = pytester.mkdir("downloads")  # download-artifact, merge-multiple: one folder
    jobs = workflow["jobs"]
    for shard in jobs["shard"]["strategy"]["matrix"]["shard"]:
        machine = pytester.path / f"machine{shard}"
        shutil.copytree(project, machine)
        steps = [_bash(script, machine, env) for script in _scripts(jobs["shard"], shard)]
        for done in steps:
            assert done.returncode == 0, done.stdout + done.stderr
        assert f"gate not evaluated: shard {shard}/3: no verdict" in steps[0].stdout
        shutil.copy(machine / f"answers-{shard}.tar", downloads)
    gate = pytester.path / "gate"
    shutil.copytree(project, gate)
    shutil.copytree(downloads, gate / "shards")
    outputs = [_bash(script, gate, env) for script in _scripts(jobs["gate"])]
    for done in outputs:
        assert done.returncode == 0, done.stdout + done.stderr
    assert "24 added" in outputs[0].stdout and "0 conflicts" in outputs[0].stdout
    assert "24/24 answers (24 cached, 0 new" in outputs[1].stdout
    report = json.loads((gate / "modelguard-report" / "report.json").read_text())
    assert report["verdict"] == "pass" and report["models"]["twin"]["n"] == 12
