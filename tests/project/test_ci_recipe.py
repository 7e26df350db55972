"""examples/github-workflow.yml: its pytest command works as written, on a small project."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from paths import ROOT

WORKFLOW = ROOT / "examples" / "github-workflow.yml"

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
price = { input = 1.0, output = 2.0 }
"""


def gate_step(workflow: dict[str, Any]) -> dict[str, Any]:
    steps = workflow["jobs"]["model-swap"]["steps"]
    return next(step for step in steps if step.get("run", "").startswith("pytest "))


def test_the_workflow_is_valid_yaml_triggered_on_pull_requests() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert "pull_request" in workflow[True]  # YAML 1.1 reads the key `on` as True
    step = gate_step(workflow)
    assert set(step["env"]) == {"OPENAI_API_KEY", "ANTHROPIC_API_KEY"}
    assert all(value.startswith("${{ secrets.") for value in step["env"].values())


def test_its_pytest_command_gates_and_writes_every_report(pytester: pytest.Pytester) -> None:
    command = shlex.split(gate_step(yaml.safe_load(WORKFLOW.read_text(encoding="utf-8")))["run"])
    assert command[:2] == ["pytest", "evals"]
    pytester.syspathinsert()
    pytester.makepyfile(answers=ANSWERS)
    pytester.makefile(".toml", pyproject=PYPROJECT)
    cases = "\n".join(f"  - id: c{i}\n    prompt: say w{i}\n    expected: w{i}" for i in range(8))
    (pytester.mkdir("evals") / "echo.modelguard.yaml").write_text(
        f"defaults:\n  graders: [equals]\ncases:\n{cases}\n", encoding="utf-8"
    )
    result = pytester.runpytest_subprocess(*command[1:])
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines(["*modelguard gate passed*"])
    reports = pytester.path / "modelguard-report"
    assert "twin" in (reports / "summary.md").read_text(encoding="utf-8")
    assert (reports / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert '"verdict": "pass"' in (reports / "report.json").read_text(encoding="utf-8")
    assert list((pytester.path / ".modelguard" / "answers").rglob("*.json"))


DRIFT_WATCH = WORKFLOW.with_name("drift-watch.yml")


def drift_step(workflow: dict[str, Any]) -> dict[str, Any]:
    steps = workflow["jobs"]["drift"]["steps"]
    return next(step for step in steps if "pytest evals" in step.get("run", ""))


def test_the_drift_watch_is_scheduled_and_keeps_the_runs_between_nights() -> None:
    workflow = yaml.safe_load(DRIFT_WATCH.read_text(encoding="utf-8"))
    assert "schedule" in workflow[True]
    cache = next(
        s for s in workflow["jobs"]["drift"]["steps"] if "actions/cache" in s.get("uses", "")
    )
    assert cache["with"]["path"] == ".modelguard/runs"


def test_the_drift_watch_script_saves_first_then_compares(pytester: pytest.Pytester) -> None:
    """The step's own script, twice: the first night only saves, the second compares."""
    script = drift_step(yaml.safe_load(DRIFT_WATCH.read_text(encoding="utf-8")))["run"]
    pytester.makepyfile(answers=ANSWERS)
    pytester.makefile(".toml", pyproject=PYPROJECT)
    pytester.makefile(".ini", pytest="[pytest]\npythonpath = .\n")
    cases = "\n".join(f"  - id: c{i}\n    prompt: say w{i}\n    expected: w{i}" for i in range(8))
    (pytester.mkdir("evals") / "echo.modelguard.yaml").write_text(
        f"defaults:\n  graders: [equals]\ncases:\n{cases}\n", encoding="utf-8"
    )
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for night in (1, 2):
        done = subprocess.run(
            ["bash", "-ec", script], cwd=pytester.path, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert len(list((pytester.path / ".modelguard" / "runs").glob("*.json"))) == night
    assert "drift against .modelguard/runs/" in done.stdout
    report = json.loads((pytester.path / "modelguard-report" / "drift.json").read_text())
    assert {m["status"] for m in report["drift"]["models"].values()} == {"steady"}
