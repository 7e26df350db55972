"""`modelguard import KIND ...`: which importer an argument list means, and the old form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from loopback import Reply
from paths import FIXTURES
from test_import import pair

from pytest_modelguard.capture.read import TraceDb
from pytest_modelguard.cli import main
from pytest_modelguard.importers.command import choose


@pytest.mark.parametrize(
    ("argv", "kind", "rest"),
    [
        (["log.jsonl", "--db", "t.db"], "traces", ["log.jsonl", "--db", "t.db"]),
        (["traces", "log.jsonl", "--db", "t.db"], "traces", ["log.jsonl", "--db", "t.db"]),
        (["promptfoo", "promptfooconfig.yaml"], "promptfoo", ["promptfooconfig.yaml"]),
        (
            ["dataset", "d.jsonl", "--format", "langsmith"],
            "dataset",
            ["d.jsonl", "--format", "langsmith"],
        ),
        # a file literally named like a suite kind, in today's form (it has --db): traces
        (["promptfoo", "--db", "t.db"], "traces", ["promptfoo", "--db", "t.db"]),
        (
            ["dataset", "other.jsonl", "--db=t.db"],
            "traces",
            ["dataset", "other.jsonl", "--db=t.db"],
        ),
        (["./promptfoo", "--db", "t.db"], "traces", ["./promptfoo", "--db", "t.db"]),
        (["inspect", "a.eval", "b.json"], "inspect", ["a.eval", "b.json"]),
        (["inspect", "--db", "t.db"], "traces", ["inspect", "--db", "t.db"]),
    ],
)
def test_the_rule_that_picks_the_kind(argv: list[str], kind: str, rest: list[str]) -> None:
    assert choose(argv) == (kind, rest)


def _log(path: Path, n: int) -> Path:
    lines = [json.dumps(pair(f"q{i}", Reply(f"a{i}"))) for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _calls(db: Path) -> int:
    with TraceDb(db) as traces:
        return len(list(traces.scan(("model",))))


@pytest.mark.parametrize("form", [[], ["traces"]])
def test_todays_form_and_the_traces_kind_both_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], form: list[str]
) -> None:
    log = _log(tmp_path / "log.jsonl", 3)
    db = tmp_path / "t.db"
    assert main(["import", *form, str(log), "--db", str(db), "--tag", "x"]) == 0
    assert f"imported 3 calls into {db}" in capsys.readouterr().out
    assert _calls(db) == 3


def test_a_file_named_promptfoo_is_imported_as_traces_with_db(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _log(tmp_path / "promptfoo", 2)
    assert main(["import", "promptfoo", "--db", "t.db"]) == 0
    assert "imported 2 calls into t.db" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:  # without --db it is the kind, wanting a CONFIG
        main(["import", "promptfoo"])
    assert info.value.code == 2
    assert "CONFIG" in capsys.readouterr().err


def test_import_help_names_every_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "--help"]) == 0
    out = capsys.readouterr().out
    for usage in (
        "import promptfoo CONFIG",
        "import dataset FILE",
        "import inspect LOG...",
        "import [traces] FILE...",
    ):
        assert usage in out
    assert main(["import"]) == 2  # nothing to import: a usage error, with the same help
    assert "import promptfoo CONFIG" in capsys.readouterr().out


def test_inspect_logs_import_through_the_kind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pytest_modelguard.suite import load_suite

    log = FIXTURES / "inspect" / "base.json"
    assert main(["import", "inspect", str(log), "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    suite = load_suite(tmp_path / "base.modelguard.yaml")
    assert f"wrote {len(suite.cases)} cases from 1 Inspect log(s)" in out
    assert all(case.baseline is not None for case in suite.cases)
    assert main(["import", "inspect", str(log), "-o", str(tmp_path)]) == 4  # no --force
    assert "--force" in capsys.readouterr().err
