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
    result = project.runpytest("-p", "no:cacheprovider", "--modelguard-record", "new")
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
    result = project.runpytest("-p", "no:cacheprovider", "--modelguard-record", "new", "-q")
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
    plain = project.runpytest("-p", "no:cacheprovider", "--modelguard-record", "new")
    assert not any(ANSI.search(line) for line in plain.outlines)
    coloured = project.runpytest(
        "-p", "no:cacheprovider", "--modelguard-record", "new", "--color=yes"
    )
    rows = {ANSI.sub("", line).split()[0]: line for line in coloured.outlines if "  " in line}
    assert "\x1b[31m" in rows["broken"]  # red
    assert "\x1b[32m" in rows["cheap"]  # green
    assert "\x1b[3" not in rows["python:answers:good"]  # the baseline row stays plain


@pytest.mark.parametrize("verbosity", [(), ("-v",)])
def test_a_failing_candidate_shows_its_3_worst_cases_with_both_answers(
    project: pytest.Pytester, verbosity: tuple[str, ...]
) -> None:
    result = project.runpytest("-p", "no:cacheprovider", "--modelguard-record", "new", *verbosity)
    lines = section(result.outlines)
    start = lines.index("  broken: the 3 worst of 40 cases scored below the baseline:")
    shown = lines[start + 1 : start + 10]
    for i, (case, base, cand) in enumerate(zip(shown[::3], shown[1::3], shown[2::3], strict=True)):
        assert case == f"    c{i:03d}  1.00 → 0.00  (equals: expected 'w{i}', got 'nope')"
        assert base == f"      baseline:  'w{i}'"
        assert cand == "      candidate: 'nope'"
    assert lines[start + 10] == "modelguard gate FAILED: broken (regression)"
    assert not any("cheap: the" in line for line in lines)  # passing candidates show none


def test_quiet_keeps_the_worst_cases_to_the_gate_results_failure(
    project: pytest.Pytester,
) -> None:
    result = project.runpytest("-p", "no:cacheprovider", "--modelguard-record", "new", "-q")
    assert not any("worst" in line for line in section(result.outlines))  # one line per model
    title = re.compile(r"^_+ gate\[broken\] _+$")
    failure = next(i for i, line in enumerate(result.outlines) if title.match(line))
    assert result.outlines[failure + 2] == (
        "  broken: the 3 worst of 40 cases scored below the baseline:"
    )


def test_verbose_shows_each_items_score_and_failing_checks(project: pytest.Pytester) -> None:
    project.makefile(
        ".modelguard.yaml",
        echo=suite(40).replace("graders: [equals]", "graders: [equals, {length: {max: 2}}]"),
    )
    result = project.runpytest("-p", "no:cacheprovider", "--modelguard-record", "new", "-v")
    result.stdout.fnmatch_lines([
        "echo.modelguard.yaml::c000[[]python:answers:good[]] PASSED score 1.00 *",
        "echo.modelguard.yaml::c000[[]broken[]] PASSED score 0.00 (failed: equals, length) *",
    ])  # fmt: skip
    # w10 is three characters: the good models fail its length check only
    result.stdout.fnmatch_lines(
        ["echo.modelguard.yaml::c010[[]cheap[]] PASSED score 0.50 (failed: length) *"]
    )
    plain = project.runpytest("-p", "no:cacheprovider")
    plain.stdout.no_fnmatch_line("*score 0.00*")  # scores are -v's


def header_of(result: pytest.RunResult) -> list[str]:
    lines = section(result.outlines)
    return next(line for line in lines if line.startswith("model ")).split()


def test_the_table_uses_the_terminal_width(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.runpytest("-p", "no:cacheprovider", "--modelguard-record", "new")
    widths = {}
    headers = {}
    for columns in ("80", "160"):
        monkeypatch.setenv("COLUMNS", columns)
        result = project.runpytest("-p", "no:cacheprovider")
        rows = [line for line in section(result.outlines) if line.startswith(("model ", "broken"))]
        widths[columns] = max(map(len, rows))
        headers[columns] = header_of(result)
    assert widths["80"] <= 100 < widths["160"] <= 159  # never narrower than 100, else the terminal
    assert {"total", "tokens", "evidence", "p"} <= set(headers["160"])  # every column fits
    assert not {"total", "tokens"} & set(headers["80"])  # the least important go first
    # on a wide terminal, the columns do not depend on the run's figures
    project.makefile(".modelguard.yaml", echo=suite(3))
    monkeypatch.setenv("COLUMNS", "160")
    small = project.runpytest("-p", "no:cacheprovider", "--modelguard-record", "new")
    assert header_of(small) == headers["160"]


def test_p_values_read_alike_in_the_terminal_and_the_markdown(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    result = project.runpytest(
        "-p", "no:cacheprovider", "--modelguard-record", "new", "--modelguard-markdown=r.md"
    )
    lines = section(result.outlines)
    header = next(line for line in lines if line.startswith("model "))
    row = next(line for line in lines if line.startswith("broken "))
    at = header.index(" p ") + 1
    assert row[at - 6 : at + 1].strip() == "<0.001"
    assert any(line.startswith("broken: quality dropped") and "p <0.001" in line for line in lines)
    markdown = (project.path / "r.md").read_text()
    broken = next(line for line in markdown.splitlines() if "| `broken` |" in line)
    assert "| <0.001 |" in broken


def test_one_answer_is_one_answer(project: pytest.Pytester) -> None:
    project.makefile(".modelguard.yaml", echo=suite(1))
    result = project.runpytest(
        "-p", "no:cacheprovider", "--modelguard-record", "new", "--models", "python:answers:good"
    )
    result.stdout.fnmatch_lines(["modelguard: 1/1 answer (0 cached, 1 new, 0 failed)*"])
