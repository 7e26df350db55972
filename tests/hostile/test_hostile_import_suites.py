"""Hostile inputs to `modelguard import promptfoo|dataset`: each is a usage error (exit 4)
naming the file and line, never a traceback, and nothing is written; or, where the input is
only odd (surrogates), the suite is written valid."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pytest_modelguard.cli import main
from pytest_modelguard.suite import load_suite

OK_TEST = "tests: [{vars: {q: hi}, assert: [{type: contains, value: hi}]}]\n"
CSV_HEAD = "q,__expected\n"

CASES: dict[str, tuple[dict[str, str | bytes], str]] = {
    "malformed YAML": ({"promptfooconfig.yaml": "prompts: ['{{q}}'\n" + OK_TEST},
                       "promptfooconfig.yaml:2: invalid YAML"),
    "a tab for indent": ({"promptfooconfig.yaml": "prompts:\n\t- x\n"},
                         "promptfooconfig.yaml:2: invalid YAML"),
    "not a mapping": ({"promptfooconfig.yaml": "- prompts\n"},
                      "promptfooconfig.yaml:1: a promptfoo config is a mapping"),
    "no prompts": ({"promptfooconfig.yaml": OK_TEST},
                   "promptfooconfig.yaml:1: the config has no prompts"),
    "a python tag": ({"promptfooconfig.yaml": "prompts: !!python/object:os.system x\n"},
                     "promptfooconfig.yaml:1: invalid YAML: tag '!!python/object:os.system'"),
    "tests outside the directory": (
        {"promptfooconfig.yaml": "prompts: ['{{q}}']\ntests: file://../t.csv\n"},
        "promptfooconfig.yaml:2: 'file://../t.csv' is outside"),
    "an absolute tests path": (
        {"promptfooconfig.yaml": "prompts: ['{{q}}']\ntests: file:///etc/passwd\n"},
        "promptfooconfig.yaml:2: 'file:///etc/passwd' is an absolute path"),
    "a home tests path": (
        {"promptfooconfig.yaml": "prompts: ['{{q}}']\ntests: [file://~/t.csv]\n"},
        "promptfooconfig.yaml:2: 'file://~/t.csv' is an absolute path"),
    "an absolute prompt path": (
        {"promptfooconfig.yaml": "prompts: [file:///etc/hostname]\n" + OK_TEST},
        "promptfooconfig.yaml:1: 'file:///etc/hostname' is an absolute path"),
    "a var from outside": (
        {"promptfooconfig.yaml": "prompts: ['{{q}}']\ntests:\n  - vars: {q: file://../../x.txt}\n"
                                 "    assert: [{type: equals, value: a}]\n"},
        "promptfooconfig.yaml:3: 'file://../../x.txt' is outside"),
    "a glob matching nothing": (
        {"promptfooconfig.yaml": "prompts: ['{{q}}']\ntests: file://cases/*.yaml\n"},
        "promptfooconfig.yaml:2: 'file://cases/*.yaml' matches no file"),
    "a missing tests file": (
        {"promptfooconfig.yaml": "prompts: ['{{q}}']\ntests: file://t.csv\n"},
        "promptfooconfig.yaml:2: t.csv: no such file"),
    "a test generator": (
        {"promptfooconfig.yaml": "prompts: ['{{q}}']\ntests: file://gen.py\n", "gen.py": ""},
        "a .js or .py test generator cannot be imported"),
    "a ragged CSV row": (
        {"promptfooconfig.yaml": "prompts: ['{{q}}']\ntests: file://t.csv\n",
         "t.csv": CSV_HEAD + "a,b\nc,d,e\n"},
        "t.csv:3: 3 cells for 2 columns"),
    "a CSV that is not UTF-8": (
        {"promptfooconfig.yaml": "prompts: ['{{q}}']\ntests: file://t.csv\n",
         "t.csv": CSV_HEAD.encode() + b"caf\xe9,x\n"},
        "t.csv:2: not UTF-8"),
    "a CSV cell over the csv module's limit": (
        {"promptfooconfig.yaml": "prompts: ['{{q}}']\ntests: file://t.csv\n",
         "t.csv": CSV_HEAD + "a," + "x" * 200_000 + "\n"},
        "t.csv:2: invalid CSV: field larger than field limit"),
    "a CSV without a header": (
        {"promptfooconfig.yaml": "prompts: ['{{q}}']\ntests: file://t.csv\n", "t.csv": "\n"},
        "t.csv:1: a CSV file of tests needs a header row"),
    "a bad __config column": (
        {"promptfooconfig.yaml": "prompts: ['{{q}}']\ntests: file://t.csv\n",
         "t.csv": "q,__expected,__config:__expected:weight\na,b,2\n"},
        "t.csv:2: column '__config:__expected:weight': write __config:__expectedN:threshold"),
    "JSONL with NaN": (
        {"promptfooconfig.yaml": "prompts: ['{{q}}']\ntests: file://t.jsonl\n",
         "t.jsonl": '{"vars": {"q": 1}}\n{"vars": {"q": NaN}}\n'},
        "t.jsonl:2: NaN, which JSON does not allow"),
    "JSONL that is no object": (
        {"promptfooconfig.yaml": "prompts: ['{{q}}']\ntests: file://t.jsonl\n",
         "t.jsonl": "[1, 2]\n"},
        "t.jsonl:1: not a JSON object"),
    "a $ref to a URL": (
        {"promptfooconfig.yaml": "prompts: ['{{q}}']\ntests:\n  - $ref: https://x.test/t.yaml\n"},
        "promptfooconfig.yaml:3: $ref 'https://x.test/t.yaml' is not inside the config"),
    "a $ref to a file": (
        {"promptfooconfig.yaml": "prompts: ['{{q}}']\ntests:\n  - $ref: t.yaml#/a\n"},
        "a URL or file reference is refused unread"),
    "a $ref cycle": (
        {"promptfooconfig.yaml": "prompts: ['{{q}}']\na: {$ref: '#/b'}\nb: {$ref: '#/a'}\n"},
        "$ref nested more than 50 deep (a cycle?)"),
    "a $ref to nothing": (
        {"promptfooconfig.yaml": "prompts: ['{{q}}']\ntests: [{$ref: '#/none'}]\n"},
        "promptfooconfig.yaml:2: $ref '#/none' points at nothing in the config"),
    "list vars that explode": (
        {"promptfooconfig.yaml": "prompts: ['{{a}}{{b}}']\ntests:\n  - vars:\n"
                                 f"      a: {list(range(400))}\n      b: {list(range(400))}\n"},
        "promptfooconfig.yaml:3: list-valued vars expand to more than 100,000 tests"),
    "a directory for tests": (
        {"promptfooconfig.yaml": "prompts: ['{{q}}']\ntests: file://t.csv\n", "t.csv/x": ""},
        "t.csv is not a regular file (a directory)"),
    "nothing that maps": (
        {"promptfooconfig.yaml": "prompts: ['{{q}}']\n"
                                 "tests: [{vars: {q: a},\n"
                                 "         assert: [{type: javascript, value: x}]}]\n"},
        "promptfooconfig.yaml: no test could be imported (see above)"),
    "a dataset of no known format": (
        {"d.jsonl": '{"question": "q", "answer": "a"}\n'},
        "d.jsonl: cannot tell the dataset's format; pass --format"),
    "a dataset line that is no JSON": (
        {"d.jsonl": '{"inputs": {"q": "a"}, "outputs": {"a": "b"}}\n{oops\n'},
        "d.jsonl:2: not valid JSON"),
    "a Pydantic Evals file without cases": (
        {"d.yaml": "evaluators: [EqualsExpected]\n"},
        "d.yaml:1: a Pydantic Evals dataset has a list of cases"),
    "a LangSmith JSON that is no list": (
        {"d.json": '{"inputs": {"q": "a"}}'},
        "d.json:1: a langsmith export is JSON Lines or a JSON list"),
}  # fmt: skip


def _make(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root / next(iter(files))


def _argv(source: Path, out: Path) -> list[str]:
    kind = "promptfoo" if source.name.startswith("promptfoo") else "dataset"
    extra = ["--format", "langsmith"] if source.suffix == ".json" else []
    return ["import", kind, str(source), "-o", str(out), *extra]


@pytest.mark.parametrize("name", CASES)
def test_hostile_input_is_a_usage_error_naming_the_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    files, message = CASES[name]
    source = _make(tmp_path / "a" / "b", files)
    out = tmp_path / "out"
    assert main(_argv(source, out)) == 4
    err = capsys.readouterr().err
    assert message in err, err
    assert "Traceback" not in err and not out.exists()


def test_a_file_over_the_size_limit_is_refused_unread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _make(tmp_path, {"promptfooconfig.yaml": "prompts: ['{{q}}']\ntests: file://t.csv\n"})
    with (tmp_path / "t.csv").open("wb") as handle:
        handle.truncate(51 * 2**20)  # sparse: refused by its size, never read
    assert main(["import", "promptfoo", str(tmp_path / "promptfooconfig.yaml"), "-o",
                 str(tmp_path / "out")]) == 4  # fmt: skip
    assert "t.csv is 51.0 MB; the limit is 50 MB" in capsys.readouterr().err


def test_a_symlink_leaving_the_directory_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "secret.csv").write_text(CSV_HEAD + "a,b\n")
    config = _make(tmp_path / "c", {"promptfooconfig.yaml": "prompts: ['{{q}}']\n"
                                    "tests: file://t.csv\n"})  # fmt: skip
    os.symlink(tmp_path / "secret.csv", tmp_path / "c" / "t.csv")
    assert main(["import", "promptfoo", str(config), "-o", str(tmp_path / "out")]) == 4
    assert "'file://t.csv' is outside" in capsys.readouterr().err


def test_an_output_directory_that_is_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _make(tmp_path, {"promptfooconfig.yaml": "prompts: ['{{q}}']\n" + OK_TEST})
    (tmp_path / "out").write_text("a file")
    assert main(["import", "promptfoo", str(config), "-o", str(tmp_path / "out")]) == 4
    assert "is a file, so" in capsys.readouterr().err


def test_surrogates_and_control_characters_come_out_valid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [
        {"vars": {"q": "lone \ud800 half\x1b[2J"}, "assert": [{"type": "icontains", "value": "x"}]},
        {"vars": {"q": "b"}, "assert": [{"type": "javascript\ud83d\x07", "value": "1"}]},
    ]
    _make(tmp_path, {
        "promptfooconfig.yaml": "prompts: ['Q: {{q}}']\ntests: file://t.jsonl\n",
        "t.jsonl": "".join(json.dumps(r) + "\n" for r in records),
    })  # fmt: skip
    out = tmp_path / "out"
    assert (
        main(["import", "promptfoo", str(tmp_path / "promptfooconfig.yaml"), "-o", str(out)]) == 0
    )
    printed = capsys.readouterr().out
    assert (
        "not mapped 1: javascript\ufffd\ufffd (no equivalent grader) (first at t.jsonl:2)"
        in printed
    )
    suite = load_suite(out / f"{tmp_path.name}.modelguard.yaml")
    assert suite.cases[0].messages[-1]["content"] == "Q: lone \ufffd half\x1b[2J"


def test_keys_in_provider_configs_never_reach_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _make(tmp_path, {"promptfooconfig.yaml": """\
prompts: ['{{q}}']
providers:
  - id: openai:gpt-4.1-mini
    config:
      apiKey: planted-openai-key-0123456789abcdef
      headers: {Authorization: Bearer planted-bearer-0123456789}
      organization: org-planted
  - id: anthropic:messages:claude-haiku-4-5
    config: {api_key: planted-anthropic-key-0123456789, apiKeyEnvar: MY_ANTHROPIC_KEY}
""" + OK_TEST})  # fmt: skip
    out = tmp_path / "out"
    assert main(["import", "promptfoo", str(config), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    written = "".join(p.read_text() for p in out.iterdir())
    assert "planted" not in printed + written
    assert 'api_key_env = "MY_ANTHROPIC_KEY"' in written
    assert "set it in the environment variable OPENAI_API_KEY" in printed
    assert "not mapped 1: provider config key headers" in printed


def test_inline_schemas_that_are_bombs_or_broken_are_listed_not_loaded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    tests = [
        {"vars": {"q": "a"}, "assert": [{"type": "is-json", "value": bomb}]},
        {"vars": {"q": "b"}, "assert": [{"type": "is-json", "value": "{type: 5}"}]},
        {"vars": {"q": "c"}, "assert": [{"type": "is-json", "value": "{$ref: 'http://x.test/s'}"}]},
        {"vars": {"q": "d"}, "assert": [{"type": "is-json", "value": "{type: object}"}]},
    ]
    _make(tmp_path, {"promptfooconfig.yaml": "prompts: ['{{q}}']\ntests: file://t.jsonl\n",
                     "t.jsonl": "".join(json.dumps(t) + "\n" for t in tests)})  # fmt: skip
    out = tmp_path / "out"
    assert (
        main(["import", "promptfoo", str(tmp_path / "promptfooconfig.yaml"), "-o", str(out)]) == 0
    )
    printed = capsys.readouterr().out
    assert (
        "not mapped 1: is-json with a schema that is not an object (first at t.jsonl:1)" in printed
    )
    assert "is-json with a schema we cannot check" in printed and "(first at t.jsonl:2)" in printed
    assert "(first at t.jsonl:3)" in printed
    (case,) = load_suite(out / f"{tmp_path.name}.modelguard.yaml").cases
    assert case.graders[0].options == {"schema": {"type": "object"}, "strict": True}


@pytest.mark.parametrize("kind", ["promptfoo", "dataset"])
def test_a_missing_or_special_source_is_named_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    assert main(["import", kind, str(tmp_path / "nope.yaml"), "-o", str(tmp_path)]) == 4
    assert capsys.readouterr().err == "modelguard: nope.yaml: no such file\n"
    (tmp_path / "dir.yaml").mkdir()
    assert main(["import", kind, str(tmp_path / "dir.yaml"), "-o", str(tmp_path)]) == 4
    assert "dir.yaml is not a regular file (a directory)" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["../escape", "a/b", ".hidden", "x:y"])
def test_a_suite_name_cannot_be_a_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    config = _make(tmp_path / "c", {"promptfooconfig.yaml": "prompts: ['{{q}}']\n" + OK_TEST})
    out = tmp_path / "out"
    assert main(["import", "promptfoo", str(config), "-o", str(out), "--suite", name]) == 4
    assert "(no path)" in capsys.readouterr().err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["c"]
