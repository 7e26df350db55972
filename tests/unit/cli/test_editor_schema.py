"""The JSON Schemas of suites and settings (#31 item 4): shipped, current, and in step with
the loader — every example suite is valid, and on the bad-input corpus the schema refuses
what the loader refuses, except the checks it lists as loader-only."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import paths
import pytest
from e2e.test_bad_input import PURE_CONFIGS, PURE_SUITES, SUITE_ERRORS  # the corpus it shares
from jsonschema import Draft7Validator

from pytest_modelguard.cli import main
from pytest_modelguard.cli.schema_command import schema_text
from pytest_modelguard.config import Overrides, load_settings, read_pyproject
from pytest_modelguard.config import config_schema as config_module
from pytest_modelguard.core.errors import ConfigError, GraderConfigError, SuiteError
from pytest_modelguard.grading import build_grader, grader_kinds, suite_schema
from pytest_modelguard.suite import load_suite
from pytest_modelguard.suite.yaml_loader import read_yaml

ROOT = paths.ROOT
SHIPPED = ROOT / "pytest_modelguard" / "schemas"
EXAMPLES = sorted((ROOT / "examples").glob("*.modelguard.yaml"))
HEADER = re.compile(r"# yaml-language-server: \$schema=(\S+)\n")
SUITE = Draft7Validator(suite_schema.suite_schema())


@pytest.mark.parametrize("what", ["suite", "config"])
def test_shipped_schema_is_current(what: str, capsys: pytest.CaptureFixture[str]) -> None:
    shipped = SHIPPED / f"{what}.schema.json"
    fix = f"run: modelguard schema {what} > pytest_modelguard/schemas/{what}.schema.json"
    assert shipped.read_text(encoding="utf-8") == schema_text(what), fix
    assert main(["schema", what]) == 0
    printed = json.loads(capsys.readouterr().out)
    Draft7Validator.check_schema(printed)
    assert printed["$schema"] == "http://json-schema.org/draft-07/schema#"


def test_every_loader_key_is_described() -> None:
    assert suite_schema.undescribed() == []
    assert config_module.undescribed() == []


def test_an_option_type_the_schema_does_not_know_is_an_error() -> None:
    assert suite_schema.option_schema(("a", "b")) == {"enum": ["a", "b"]}
    with pytest.raises(KeyError):
        suite_schema.option_schema("txt")


def test_loader_only_checks_are_in_the_description() -> None:
    description = suite_schema.suite_schema()["description"]
    assert all(item in description for item in suite_schema.LOADER_ONLY)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_suite_is_valid_and_names_the_shipped_schema(path: Path) -> None:
    header = HEADER.match(path.read_text(encoding="utf-8"))
    assert header, f"{path.name} must start with the yaml-language-server line"
    assert (path.parent / header[1]).resolve() == SHIPPED / "suite.schema.json"
    errors = [f"{e.json_path}: {e.message}" for e in SUITE.iter_errors(read_yaml(path, "x"))]
    assert errors == []
    _loader_accepts(path)  # the examples' verdict is the loader's too


def _loader_accepts(path: Path) -> str | None:
    """None when collection accepts the suite (loaded, every grader built), else its error."""
    try:
        for case in load_suite(path, path.parent).cases:
            for spec in case.graders:
                build_grader(spec)
    except (SuiteError, GraderConfigError) as exc:
        return str(exc)
    return None


VALID = {
    "integer-id": "defaults:\n  graders: [equals]\ncases:\n  - {id: 7, prompt: hi}\n",
    "scalar-graders": "cases:\n  - id: a\n    prompt: hi\n    graders:\n"
    "      - regex: 'a+'\n      - contains: [x, y]\n      - numeric: 4\n      - tool_call\n"
    "      - llm_judge: Is it polite?\n      - {json_valid: null, threshold: null}\n",
    "case-graders-over-empty-defaults": "defaults:\n  graders: []\ncases:\n"
    "  - {id: a, prompt: hi, graders: [{equals: {expected: hi}, weight: 2, required: true}]}\n",
    "tool-history": "defaults:\n  graders: [tool_call]\ncases:\n  - id: a\n    tools:\n"
    "      - {type: function, function: {name: look_up, parameters: {type: object}}}\n"
    "    tool_choice: auto\n    messages:\n      - {role: user, content: hi}\n"
    "      - role: assistant\n        content: null\n        tool_calls:\n"
    "          - {id: c1, type: function, function: {name: look_up, arguments: '{}'}}\n"
    "      - {role: tool, tool_call_id: c1, content: found}\n",
    "baseline-block": "defaults:\n  graders: [similarity]\ncases:\n  - id: a\n    prompt: hi\n"
    "    baseline: {output: hey, input_tokens: 3, cost_usd: null, tool_calls: null}\n",
    "response-format": "defaults:\n  graders: [json_valid]\n  response_format:\n"
    "    {type: json_schema, json_schema: {name: out, schema: {type: object}, strict: true}}\n"
    "cases:\n  - {id: a, prompt: hi, labels: {'openai:gpt-4.1': 1}, repeat: 3, tags: x}\n",
}


@pytest.mark.parametrize("text", VALID.values(), ids=list(VALID))
def test_schema_accepts_what_the_loader_accepts(tmp_path: Path, text: str) -> None:
    path = tmp_path / "ok.modelguard.yaml"
    path.write_text(text, encoding="utf-8")
    assert _loader_accepts(path) is None
    assert list(SUITE.iter_errors(read_yaml(path, "x"))) == []


# The loader's refusals the schema cannot make, by the loader's message: each is one of
# suite_schema.LOADER_ONLY. Every other refusal of a parsed suite, the schema makes too.
LOADER_ONLY = {
    r"got nan\b": "numbers are finite (NaN)",
    r"\bregex: (bad pattern|flags: )": "regex patterns compile (RE2)",
    r"json_schema: (\$ref: |schema \$ref|invalid schema|a schema must be)": "a $ref file / schema",
    r"python: .*(not a reference|cannot import|has no|not a function)": "a python grader imports",
    r"json_field: path .*cannot parse": "json_field's path parses",
    r"expected must be a (string|number)": "equals' and numeric's expected",
    r"(give at least one of|give either|option 'path' is required|option 'pattern' is required|"
    r"needs `rubric)": "which options a grader needs together",
    r"duplicate case id": "case ids are unique",
}


def _corpus() -> list[tuple[str, str]]:
    """The bad-input corpus's suites that YAML can read (plain text, no files beside)."""
    found = [(name, text) for name, text, _ in PURE_SUITES if isinstance(text, str)]
    found += [
        (bad.id, bad.suite)
        for bad in SUITE_ERRORS
        if isinstance(bad.suite, str) and not bad.files and not bad.sparse_mb
    ]
    return found + _wrong_option_types()


_WRONG: dict[str, Any] = {
    "text": 5, "strings": {"a": 1}, "flag": "yes", "number": -1, "count": 1.5,
    "normalizers": ["nope"], "mapping": [1],
}  # fmt: skip


def _wrong_option_types() -> list[tuple[str, str]]:
    """A grader entry with one option of the wrong type, for every typed option of every kind."""
    made = []
    for name, kind in grader_kinds().items():
        for key in kind.keys:
            shape = kind.option_type(key)
            if isinstance(shape, tuple):
                wrong: Any = "not-" + "-".join(shape)
            elif isinstance(shape, range):
                wrong = shape.start - 1
            elif shape in _WRONG:
                wrong = _WRONG[shape]
            else:
                continue
            entry = json.dumps({name: {key: wrong}})
            suite = f"cases:\n  - id: a\n    prompt: hi\n    graders: [{entry}]\n"
            made.append((f"{name}.{key}", suite))
    return made


CORPUS = _corpus()


def test_schema_and_loader_agree_on_the_bad_input_corpus(tmp_path: Path) -> None:
    used: set[str] = set()
    disagree = []
    (tmp_path / "outside.json").write_text("{}")
    folder = tmp_path / "sub"
    folder.mkdir()
    for name, text in CORPUS:
        path = folder / "x.modelguard.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            data = read_yaml(path, "x")
        except SuiteError:
            continue  # refused as YAML (tags, bytes, depth, duplicates): loader-only
        refused = _loader_accepts(path)
        valid = SUITE.is_valid(data)
        if refused is None:
            if not valid:
                disagree.append(f"{name}: the loader accepts, the schema refuses")
            continue
        if valid:
            why = [pattern for pattern in LOADER_ONLY if re.search(pattern, refused)]
            used.update(why)
            if not why:
                disagree.append(f"{name}: the schema accepts what the loader refuses: {refused}")
    assert disagree == []
    assert used == set(LOADER_ONLY), "a loader-only entry no corpus suite needs any more"
    assert len(CORPUS) > 150


def test_tool_choice_with_a_function_that_is_not_a_mapping_is_a_suite_error(tmp_path: Path) -> None:
    """Found by the corpus: ``tool_choice: {function: x}`` raised AttributeError."""
    path = tmp_path / "x.modelguard.yaml"
    text = "defaults:\n  graders: [equals]\ncases:\n  - id: a\n    prompt: hi\n"
    path.write_text(text + "    tools: [{type: function, function: {name: f}}]\n"
                    "    tool_choice: {function: x}\n", encoding="utf-8")  # fmt: skip
    refused = _loader_accepts(path)
    assert refused is not None and refused.startswith(
        "x.modelguard.yaml:7: tool_choice: must be auto"
    )
    assert not SUITE.is_valid(read_yaml(path, "x"))


CONFIG_LOADER_ONLY = {
    r"unknown (model|provider)": "models and aliases resolve",
    r"is a file, not a directory": "cache_dir is not a file",
    r"got nan\b": "numbers are not NaN",
    r"price\.\w+ must be": "an alias's price fields",
}


def test_config_schema_and_loader_agree_on_the_bad_config_corpus(tmp_path: Path) -> None:
    config = Draft7Validator(config_module.config_schema())
    used: set[str] = set()
    disagree = []
    path = tmp_path / "pyproject.toml"
    good = '[tool.modelguard]\nbaseline = "python:answers:good"\n'
    path.write_text(good, encoding="utf-8")
    assert config.is_valid(read_pyproject(path))
    for name, key, value in PURE_CONFIGS:
        head = good.replace("baseline = ", "#") if key == "baseline" else good
        path.write_text(f"{head}{key} = {value}\n", encoding="utf-8")
        table = read_pyproject(path)
        with pytest.raises(ConfigError) as refused:
            load_settings(str(path), table, Overrides(), tmp_path)
        if config.is_valid(table):
            why = [
                pattern for pattern in CONFIG_LOADER_ONLY if re.search(pattern, str(refused.value))
            ]
            used.update(why)
            if not why:
                disagree.append(
                    f"{name}: the schema accepts what the loader refuses: {refused.value}"
                )
    assert disagree == []
    assert used == set(CONFIG_LOADER_ONLY)
