"""`modelguard export` and `modelguard traces stats`: output, exit statuses, clear messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_export import T0, trace, write_db

from pytest_modelguard.cli import main
from pytest_modelguard.suite import load_suite


@pytest.fixture
def db(tmp_path: Path) -> Path:
    traces = [trace(f"p{i}", tags=("a" if i % 2 else "b",), at=T0 + i * 3600) for i in range(30)]
    traces.append(trace("x", output=None, usage=None, error="RateLimitError: slow down"))
    return write_db(tmp_path / "traces.db", traces)


def test_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in ("models", "cache-check", "export", "traces"):
        assert command in out


def test_export_writes_a_loadable_suite(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "suites" / "prod.modelguard.yaml"
    args = [str(db), "-o", str(out), "--sample", "10", "--by", "tag", "--seed", "0", "--dedupe"]
    assert main(["export", *args]) == 0
    assert "wrote 10 cases" in capsys.readouterr().out
    suite = load_suite(out)
    assert len(suite.cases) == 10 and {c.tags for c in suite.cases} == {("a",), ("b",)}
    assert main(["export", *args]) == 4  # never overwrites without --force
    assert "--force" in capsys.readouterr().err
    assert main(["export", *args, "--force", "--since", "2025-03-01T20:00"]) == 0
    assert len(load_suite(out).cases) == 10


def test_export_and_stats_of_a_missing_database_exit_4(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.db"
    assert main(["export", str(missing), "-o", str(tmp_path / "x.modelguard.yaml")]) == 4
    assert main(["traces", "stats", str(missing)]) == 4
    err = capsys.readouterr().err
    assert err.count(f"modelguard: {missing}: no such traces database") == 2
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [("--since", "03/01/2025", "ISO 8601"), ("--until", "2025-02-30", "ISO 8601"),
     ("--sample", "0", "positive"), ("--by", "user", "invalid choice")],
)  # fmt: skip
def test_bad_arguments_are_usage_errors(
    db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flag: str,
    value: str,
    message: str,
) -> None:
    out = tmp_path / "x.modelguard.yaml"
    with pytest.raises(SystemExit) as info:
        main(["export", str(db), "-o", str(out), flag, value])
    assert info.value.code == 2
    assert message in capsys.readouterr().err and not out.exists()


def test_traces_stats(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["traces", "stats", str(db)]) == 0
    out = capsys.readouterr().out
    assert "31 calls" in out and "1 error (" in out and "openai:gpt-4.1-mini" in out
    assert main(["traces", "stats", str(db), "--json", "--until", "2025-03-01T05:00"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (
        data["calls"] == 5 + 1
        and data["errors"] == 1
        and data["tags"] == {"a": 2, "b": 3, "(untagged)": 1}
    )


def test_stats_of_a_file_that_is_not_a_traces_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.db"
    other.write_text("hello")
    assert main(["traces", "stats", str(other)]) == 4
    assert f"modelguard: {other}: " in capsys.readouterr().err
