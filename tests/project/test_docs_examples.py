"""Every example in the docs and the README is run or validated, so none of them rots.

- a ```yaml block parses; one that is a suite (it has ``cases:``) loads with the suite
  loader, as ``*.modelguard.yaml``;
- a ```toml block parses; one with ``[tool.modelguard]`` tables loads with the config loader;
- a ```python block compiles; one written as a session (``>>>``) runs as a doctest;
- the tutorial's project (its ``<!-- file: PATH -->`` blocks) gives the verdicts it shows.

A block the line before marks ``<!-- not run: why -->`` is left out (say why); a suite marked
``<!-- load in: examples/DIR -->`` loads beside a copy of that folder (its images, its
``tools_from`` module).
"""

from __future__ import annotations

import doctest
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from paths import ROOT

from pytest_modelguard.config import Overrides
from pytest_modelguard.config.settings import load_settings
from pytest_modelguard.suite import load_suite

GENERATED = ("benchmarks.md",)  # copied by docs/gen_reference.py; its blocks are commands
FENCE = re.compile(r"^```([a-z]*)\n(.*?)^```$", re.M | re.S)


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    language: str
    text: str
    marker: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def pages() -> list[Path]:
    found = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return [page for page in found if page.name not in GENERATED]


def blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = before if before.startswith("<!--") else ""
        found.append(Block(page, line, match.group(1), match.group(2), marker))
    return found


def every(language: str) -> list[Block]:
    return [
        b
        for page in pages()
        for b in blocks(page)
        if b.language == language and not b.marker.startswith("<!-- not run")
    ]


def ids(found: list[Block]) -> list[str]:
    return [b.where for b in found]


YAML = every("yaml")
TOML = every("toml")
PYTHON = every("python")


def test_the_docs_have_examples_of_each_kind() -> None:
    assert len([b for b in YAML if "cases:" in b.text]) >= 3
    assert len([b for b in TOML if "[tool.modelguard" in b.text]) >= 5
    assert any(">>>" in b.text for b in PYTHON)


@pytest.mark.parametrize("block", YAML, ids=ids(YAML))
def test_a_yaml_block_parses_and_a_suite_loads(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = yaml.safe_load(block.text)
    if not (isinstance(data, dict) and "cases" in data):
        return
    beside = re.fullmatch(r"<!-- load in: (examples/[\w/-]+) -->", block.marker)
    if beside:
        shutil.copytree(
            ROOT / beside[1], tmp_path, ignore=shutil.ignore_patterns(".*"), dirs_exist_ok=True
        )
        monkeypatch.syspath_prepend(str(tmp_path))
    suite = tmp_path / "example.modelguard.yaml"
    suite.write_text(block.text, encoding="utf-8")
    try:
        loaded = load_suite(suite, tmp_path)
    except Exception as exc:  # the message names the line within the block
        pytest.fail(f"{block.where}: the suite does not load: {exc}")
    assert loaded.cases


@pytest.mark.parametrize("block", TOML, ids=ids(TOML))
def test_a_toml_block_parses_and_its_settings_load(block: Block, tmp_path: Path) -> None:
    data = tomllib.loads(block.text)
    table = data.get("tool", {}).get("modelguard")
    if table is None:
        return
    try:
        load_settings(f"{block.where} (pyproject.toml)", table, Overrides(), tmp_path)
    except Exception as exc:
        pytest.fail(f"{block.where}: the settings do not load: {exc}")


@pytest.mark.parametrize("block", PYTHON, ids=ids(PYTHON))
def test_a_python_block_compiles_and_a_session_runs(block: Block) -> None:
    if ">>>" not in block.text:
        compile(block.text, block.where, "exec")
        return
    test = doctest.DocTestParser().get_doctest(block.text, {}, block.where, block.where, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    lines: list[str] = []
    runner.run(test, out=lines.append)
    assert runner.failures == 0, "".join(lines)


def test_a_wrong_example_fails_with_its_page_and_line(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("text\n\n```yaml\ncases:\n  - id: a\n    promt: hi\n```\n", encoding="utf-8")
    (block,) = blocks(page)
    assert block.line == 3 and block.language == "yaml"
    suite = tmp_path / "x.modelguard.yaml"
    suite.write_text(block.text, encoding="utf-8")
    with pytest.raises(Exception, match="promt"):
        load_suite(suite, tmp_path)


TUTORIAL = ROOT / "docs" / "tutorial.md"
FILE = re.compile(r"^<!-- file: (\S+) -->\n```[a-z]*\n(.*?)^```$", re.M | re.S)


def test_the_tutorial_project_gives_the_verdicts_it_shows(tmp_path: Path) -> None:
    text = TUTORIAL.read_text(encoding="utf-8")
    files = FILE.findall(text)
    assert {path for path, _ in files} == {
        "evals/triage.modelguard.yaml",
        "pyproject.toml",
        "standins.py",
    }
    for path, body in files:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(body, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["PYTHONPATH"] = str(ROOT)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
        return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)

    recorded = run("evals", "--modelguard-record=once")
    assert recorded.returncode == 0, recorded.stdout
    assert "modelguard gate passed" in recorded.stdout
    switch = run("evals", "--modelguard-gate", "non-inferiority", "--modelguard-margin", "0.1")
    assert switch.returncode == 1, switch.stdout
    assert "(not-non-inferior)" in switch.stdout
    for shown in ("modelguard gate passed", "(not-non-inferior)", "cases needed"):
        assert shown in text


def regenerator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("regen", ROOT / "docs" / "regenerate_outputs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_real_output_mark_heads_a_block_its_script_can_fill() -> None:
    """docs/regenerate_outputs.py rewrites these; a mark it cannot parse would rot silently."""
    regen = regenerator()
    marks = 0
    for page in regen.pages():
        lines = page.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            found = regen.MARK.match(line)
            if not found:
                continue
            marks += 1
            command, start, where = regen.parse(found.group(1))
            assert command.startswith("pytest ") and start and where in (None, "tutorial")
            assert lines[i + 1].startswith("```"), f"{page}:{i + 1}: no block after the mark"
            assert re.search(start, lines[i + 2]), f"{page}:{i + 2}: block does not start there"
    assert marks >= 6


def test_the_shown_output_starts_at_its_pattern() -> None:
    regen = regenerator()
    assert regen.shown("a\n== modelguard ==\nb  \n", "=+ modelguard") == "== modelguard ==\nb"
    with pytest.raises(SystemExit, match="no line"):
        regen.shown("a\nb\n", "^baseline")


def test_the_gitlab_job_runs_as_written(tmp_path: Path) -> None:
    """docs/ci.md's .gitlab-ci.yml: its pytest command gates and writes the JUnit it reports
    (in one process: ``-n auto`` is pytest-xdist's, tested by tests/test_ci_recipe.py)."""
    (block,) = [b for b in YAML if b.page.name == "ci.md" and "gitlab" in b.text]
    job = yaml.safe_load(block.text)["modelguard"]
    (command,) = [line for line in job["script"] if line.startswith("pytest ")]
    assert job["artifacts"]["reports"]["junit"] in command
    (tmp_path / "answers.py").write_text(
        "def echo(request):\n    return request.messages[-1]['content'].split()[-1]\n\n\n"
        "echo2 = echo\n"
    )
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\npythonpath = ["."]\n[tool.modelguard]\n'
        'baseline = "python:answers:echo"\nmodels = ["python:answers:echo2"]\n'
    )
    cases = "".join(f"  - {{id: c{i}, prompt: say w{i}, expected: w{i}}}\n" for i in range(8))
    (tmp_path / "evals").mkdir()
    (tmp_path / "evals" / "echo.modelguard.yaml").write_text(
        f"defaults:\n  graders: [equals]\ncases:\n{cases}"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["PYTHONPATH"] = str(ROOT)
    args = command.replace("-n auto", "-n 0").split()[1:]
    argv = [sys.executable, "-m", "pytest", *args]
    done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    junit = (tmp_path / job["artifacts"]["reports"]["junit"]).read_text(encoding="utf-8")
    assert 'name="gate[python:answers:echo2]"' in junit
    assert (tmp_path / "modelguard-report" / "summary.md").is_file()
