"""What a pytest run imports because the plugin is installed (#26 item 4).

Every pytest run in an environment with pytest-modelguard loads the plugin: a run that uses
no modelguard feature must not pay for numpy, scipy, the SDKs or the suite reader, and a
replay whose gate needs no scipy (0/1 scores, no judge, no labels) must not load it. Each
run is a fresh interpreter: this process has them all imported already.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("numpy", "scipy", "openai", "anthropic", "yaml", "numpy.ma", "numpy.typing")
MACHINERY = ("engine.answers", "engine.runner", "verdict.gate", "suite.schema", "report.finish")

PROBE = f"""
import sys


def pytest_unconfigure(config):
    names = {HEAVY!r} + tuple("pytest_modelguard." + m for m in {MACHINERY!r})
    with open("imported.txt", "w") as out:
        out.write(" ".join(sorted(n for n in names if n in sys.modules)))
"""

MODELS = """
def baseline(request):
    return "yes"


def candidate(request):
    return "yes"
"""

PYPROJECT = """
[tool.modelguard]
baseline = "python:mgmodels:baseline"
models = ["python:mgmodels:candidate"]
cache_dir = ".modelguard"
"""


def run_pytest(where: Path, *args: str) -> set[str]:
    """A fresh ``python -m pytest`` in ``where``; the names the probe saw imported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(where), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    done = subprocess.run(command, cwd=where, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return set((where / "imported.txt").read_text().split())


def _numpy_own_imports() -> set[str]:
    """The modules a bare ``import numpy`` imports in this environment."""
    probe = "import sys, numpy; print(' '.join(sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_a_plain_pytest_run_imports_none_of_modelguard_s_machinery(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(PROBE)
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    assert True\n")
    assert run_pytest(tmp_path) == set()


@pytest.mark.parametrize(("record", "n"), [("once", 300), ("none", 300), ("none", 30)])
def test_a_run_whose_gate_needs_no_scipy_does_not_import_it(
    tmp_path: Path, record: str, n: int
) -> None:
    """30 cases: the CI is too wide, and planning how many cases it needs takes no scipy."""
    (tmp_path / "conftest.py").write_text(PROBE)
    (tmp_path / "mgmodels.py").write_text(MODELS)
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    cases = "".join(f"  - {{id: c{i}, prompt: 'q{i}', expected: 'yes'}}\n" for i in range(n))
    (tmp_path / "s.modelguard.yaml").write_text(f"defaults:\n  graders: [equals]\ncases:\n{cases}")
    if record == "none":
        run_pytest(tmp_path, "--modelguard-record", "once")
    imported = run_pytest(tmp_path, "--modelguard-record", record)
    assert "pytest_modelguard.verdict.gate" in imported  # the gate ran
    assert "scipy" not in imported
    needless = {"numpy.ma", "numpy.typing"} - _numpy_own_imports()  # numpy 1.x imports ma itself
    assert not needless & imported  # needless parts of numpy: ~50 ms
