"""The terminal summary through pytester: 100 columns, failing rows first, -q, colours."""

from __future__ import annotations

import re

import pytest

ANSWERS = """
def good(request):
    return request.messages[-1]["content"].split()[-1]

def bad(request):
    return "nope"
"""

LONG = "a-candidate-with-a-really-quite-long-alias-name"

PYPROJECT = f"""
[tool.modelguard]
baseline = "python:answers:good"
models = ["cheap", "{LONG}", "broken"]
resamples = 500

[tool.modelguard.aliases.cheap]
model = "python:answers:good"
price = {{ input = 0.1, output = 0.2 }}

[tool.modelguard.aliases.{LONG}]
model = "python:answers:good"
price = {{ input = 123.0, output = 456.0 }}

[tool.modelguard.aliases.broken]
model = "python:answers:bad"
price = {{ input = 0.1, output = 0.2 }}
"""

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def suite(n: int = 40) -> str:
    cases = "\n".join(
        f"  - id: c{i:03d}\n    prompt: 'say w{i}'\n    expected: w{i}" for i in range(n)
    )
    return f"suite: echo\ndefaults:\n  graders: [equals]\ncases:\n{cases}\n"


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.syspathinsert()
    pytester.makepyfile(answers=ANSWERS)
    pytester.makefile(".toml", pyproject=PYPROJECT)
    pytester.makefile(".modelguard.yaml", echo=suite())
    return pytester


def section(lines: list[str]) -> list[str]:
    """The modelguard section of a run's output, up to pytest's closing line."""
    start = next(i for i, line in enumerate(lines) if " modelguard " in line and "===" in line)
    closing = re.compile(r"^(=+ )?(\d+ (passed|failed)|short test summary info)")
    end = next(i for i in range(start + 1, len(lines)) if closing.match(lines[i]))
    return lines[start + 1 : end]


def test_the_table_fits_100_columns_with_failing_rows_first(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "--modelguard-record", "new")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    lines = section(result.outlines)
    assert all(len(line) <= 100 for line in lines), max(lines, key=len)
    header = next(i for i, line in enumerate(lines) if line.startswith("model "))
    rows = lines[header + 1 : header + 5]
    assert [row.split()[0] for row in rows] == [
        "broken", "python:answers:good", "cheap", LONG[:31] + "…"
    ]  # fmt: skip
    assert [row.split()[-1] for row in rows] == ["regression", "baseline", "pass", "pass"]
    for column in ("n", "score", "delta", "[CI]", "$/answer", "vs", "base", "verdict"):
        assert column in lines[header].split()
    reasons = lines[header + 6 :]
    assert reasons[0].startswith("broken: quality dropped: delta -1.000")
    assert lines[-1] == "modelguard gate FAILED: broken (regression)"


def test_quiet_shows_only_the_verdicts(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess(
        "-p", "no:cacheprovider", "--modelguard-record", "new", "-q"
    )
    lines = section(result.outlines)
    assert lines[0].startswith("regression  broken")  # a failing line keeps delta, CI, reason
    assert "quality dropped: delta -1.000" in lines[0] and "Holm p" in lines[0]
    assert lines[1:] == [
        "baseline    python:answers:good",
        "pass        cheap",
        f"pass        {LONG}",
        "modelguard gate FAILED: broken (regression)",
    ]


def test_colours_only_when_asked_or_on_a_terminal(project: pytest.Pytester) -> None:
    plain = project.runpytest_subprocess("-p", "no:cacheprovider", "--modelguard-record", "new")
    assert not any(ANSI.search(line) for line in plain.outlines)
    coloured = project.runpytest_subprocess(
        "-p", "no:cacheprovider", "--modelguard-record", "new", "--color=yes"
    )
    rows = {ANSI.sub("", line).split()[0]: line for line in coloured.outlines if "  " in line}
    assert "\x1b[31m" in rows["broken"]  # red
    assert "\x1b[32m" in rows["cheap"]  # green
    assert "\x1b[3" not in rows["python:answers:good"]  # the baseline row stays plain
