"""`modelguard replay`: captured traffic → sample → run → the answer in words."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from test_export import trace, write_db

ANSWERS = """
def same(request):
    return "answer to " + request.messages[-1]["content"]

def other(request):
    return "no idea"
"""

PYPROJECT = """
[tool.modelguard]
resamples = 500
[tool.modelguard.aliases.cheap]
model = "python:answers:same"
price = { input = 0.01, output = 0.01 }
[tool.modelguard.aliases.bad]
model = "python:answers:other"
price = { input = 0.01, output = 0.01 }
"""


def replay(tmp_path: Path, candidate: str) -> subprocess.CompletedProcess[str]:
    write_db(tmp_path / "traces.db", [trace(f"question {i}") for i in range(40)])
    (tmp_path / "answers.py").write_text(ANSWERS)
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    command = [sys.executable, "-m", "pytest_modelguard.cli", "replay", "traces.db",
               "--candidate", candidate, "--sample", "30"]  # fmt: skip
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)


def test_replay_says_a_faithful_cheaper_model_can_switch(tmp_path: Path) -> None:
    done = replay(tmp_path, "cheap")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "cheap vs production (openai:gpt-4.1-mini-2025-04-14) on 30 replayed calls:" in done.stdout
    )
    assert "quality delta +0.000" in done.stdout
    assert "verdict: pass: no significant quality drop" in done.stdout
    assert "saves $" in done.stdout and "per 1,000 calls" in done.stdout
    assert not list(tmp_path.glob("*.modelguard.yaml"))  # the sample lives in a temp dir


def test_replay_says_a_worse_model_regresses(tmp_path: Path) -> None:
    done = replay(tmp_path, "bad")
    assert done.returncode == 1
    assert "verdict: regression: quality is significantly worse" in done.stdout
