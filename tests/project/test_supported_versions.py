"""The supported range is said once and kept: pyproject's metadata, the README's line,
the floors CI installs at the oldest edge (.ci/oldest.txt), and .ci/edge skipping loudly."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version
from paths import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
# Linters and stubs: the test suite does not run them, the edges do not pin them.
UNPINNED_DEV_TOOLS = {"ruff", "mypy", "types-pyyaml", "import-linter"}


def python_classifiers() -> list[tuple[int, int]]:
    found = [
        re.fullmatch(r"Programming Language :: Python :: 3\.(\d+)", c)
        for c in PROJECT["classifiers"]
    ]
    return [(3, int(m.group(1))) for m in found if m]


def floor(requirement: Requirement) -> Version:
    (spec,) = [s for s in requirement.specifier if s.operator == ">="]
    return Version(spec.version)


def test_requires_python_and_the_classifiers_name_one_contiguous_range() -> None:
    oldest = re.fullmatch(r">=3\.(\d+)", PROJECT["requires-python"])
    assert oldest, PROJECT["requires-python"]
    minors = [minor for _, minor in python_classifiers()]
    assert minors == list(range(int(oldest.group(1)), int(oldest.group(1)) + len(minors)))
    assert len(minors) >= 2


def test_the_readme_says_the_same_range() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (oldest, *_), newest = python_classifiers(), python_classifiers()[-1]
    pytest_floor = floor(
        next(Requirement(d) for d in PROJECT["dependencies"] if d.startswith("pytest"))
    )
    assert f"Python ≥ {oldest[0]}.{oldest[1]}" in readme
    line = next(line for line in readme.splitlines() if line.startswith("**Supported versions"))
    assert f"Python {oldest[0]}.{oldest[1]} to {newest[0]}.{newest[1]}" in line
    assert f"pytest ≥ {pytest_floor}" in line


def test_the_oldest_edge_pins_every_floor() -> None:
    pins = {}
    for line in (ROOT / ".ci" / "oldest.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip().lower()] = Version(version)
    requirements = [Requirement(d) for d in PROJECT["dependencies"]]
    requirements += [
        Requirement(d)
        for d in PROJECT["optional-dependencies"]["dev"]
        if Requirement(d).name.lower() not in UNPINNED_DEV_TOOLS
    ]
    floors = {r.name.lower(): floor(r) for r in requirements}
    assert pins == floors


def test_an_edge_without_its_python_is_skipped_and_says_so(tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(ROOT / ".ci" / "edge"), "missing", "3.99"],
        env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "PYENV_ROOT": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "edge skipped: no Python 3.99 on this machine\n"
    assert not (ROOT / ".venv-ci-missing").exists()


def test_the_langchain_and_agents_extras_are_installed_by_the_main_run_only() -> None:
    """langchain-openai and openai-agents need a newer openai than the oldest edge pins: the
    main run installs them and checks their imports (so tests/e2e/test_langchain.py and
    tests/e2e/test_agents_sdk.py run there), the edges do not; the docs extra too, for the
    site the main run builds."""
    assert PROJECT["optional-dependencies"]["langchain"] == ["langchain-openai>=1.6"]
    assert PROJECT["optional-dependencies"]["agents"] == ["openai-agents>=0.24"]
    run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    edge = (ROOT / ".ci" / "edge").read_text(encoding="utf-8")
    assert 'pip install --quiet -e ".[dev,langchain,otel,agents,docs]"' in run
    imports = "import langchain_openai, opentelemetry.sdk, opentelemetry.proto, agents"
    assert f'python -c "{imports}"' in run
    (build,) = [line for line in run.splitlines() if "mkdocs build" in line]
    assert "--strict" in build and "--quiet" not in build  # --quiet hides what strict counts
    assert '-e ".[dev]"' in edge and "langchain" not in edge and "agents" not in edge
    assert "docs" not in edge
