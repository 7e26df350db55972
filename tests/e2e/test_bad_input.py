"""Bad input corpus: every malformed suite or config gives one clear message, never a traceback.

Suite errors are collection errors (exit 2) whose message starts ``file:line: key``;
config and flag errors are usage errors (exit 4) naming the pyproject file, line and key.
The suite corpus runs as one pytest process over a folder per entry (a collection
error costs pytest a second of reporting, so one run beats forty).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from loopback import LoopbackServer
from sdkwarm import warm_sdks

from pytest_modelguard.config import Overrides

SUITE = "echo.modelguard.yaml"
ANSWERS = "def good(request):\n    return request.messages[-1]['content'].split()[-1]\n"
PYPROJECT = '[tool.modelguard]\nbaseline = "python:answers:good"\nresamples = 1000\n'
GRADED = "defaults:\n  graders: [equals]\n"
# Fresh processes skip plugins this project does not use (installed here or not): each
# costs seconds to import per process, xdist workers included.
UNUSED_PLUGINS = ("-p", "no:hypothesispytest", "-p", "no:benchmark", "-p", "no:anyio")


@dataclass(frozen=True)
class Bad:
    """A malformed suite and what follows its path in the one message it must give."""

    id: str
    suite: str | bytes
    expect: str
    files: dict[str, str] = field(default_factory=dict)
    sparse_mb: int = 0  # > 0: the suite is a sparse file of this size, never read


@dataclass(frozen=True)
class Config:
    """A malformed pyproject or flag and the usage error lines it must give."""

    id: str
    pyproject: str = PYPROJECT
    args: tuple[str, ...] = ()
    expect: tuple[str, ...] = ()


def _case(body: str = "prompt: say hi\n    expected: hi") -> str:
    return f"{GRADED}cases:\n  - id: a\n    {body}\n"


def _laughs(levels: int = 9) -> str:
    """The "billion laughs": each anchor names nine copies of the one before."""
    lines = ["description:", '  - &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"  - &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    body = f"prompt: say hi\n    params: {{x: *a{levels - 1}}}"
    return "\n".join(lines) + "\n" + _case(body)


SUITE_ERRORS = [
    Bad("yaml-unclosed-flow", "cases: [\n  {id: a, prompt: hi\n", ":3: invalid YAML*"),
    Bad("yaml-bad-indent", "cases:\n  - id: a\n   prompt: hi\n", ":3: invalid YAML*"),
    Bad("yaml-tab-indent", "cases:\n\t- id: a\n", ":2: invalid YAML*tab*"),
    Bad(
        "duplicate-key", _case("prompt: say hi\n    prompt: say ho"), ":6: duplicate key 'prompt'*"
    ),
    Bad(
        "complex-key",
        GRADED + "cases:\n  - ? [a, b]\n    : x\n",
        ":4: a mapping key must be a plain value, not a collection*",
    ),
    Bad(
        "duplicate-case-id",
        _case() + "  - id: a\n    prompt: say ho\n",
        ":7: id: duplicate case id 'a' (first at line 4)*",
    ),
    Bad("empty-file", "", ": empty suite*"),
    Bad("only-a-comment", "# nothing yet\n", ": empty suite*"),
    Bad(
        "suite-is-a-list",
        "- id: a\n  prompt: hi\n",
        ":1: suite must be a mapping (suite:, defaults:, cases:), got list*",
    ),
    Bad(
        "suite-is-a-string",
        "hello\n",
        ":1: suite must be a mapping (suite:, defaults:, cases:), got str*",
    ),
    Bad("cases-is-a-mapping", "cases: {}\n", ":1: cases: a suite needs a non-empty list*"),
    Bad("cases-empty-list", GRADED + "cases: []\n", ":3: cases: a suite needs a non-empty*"),
    Bad("no-cases-key", "suite: s\n", ":1: a suite needs a non-empty list of cases*"),
    Bad(
        "case-is-a-string",
        GRADED + "cases:\n  - just a prompt\n",
        ":4: case #1 must be a mapping, got str*",
    ),
    Bad(
        "prompt-is-a-number",
        _case("prompt: 42"),
        ":5: prompt: must be a string or a list of parts, got int*",
    ),
    Bad(
        "unknown-case-key",
        _case("promt: hi"),
        ":5: promt: unknown key in case #1 (did you mean 'prompt'?)*",
    ),
    Bad(
        "unknown-suite-key",
        "case:\n  - id: a\n",
        ":1: case: unknown key in suite (did you mean 'cases'?)*",
    ),
    Bad(
        "unknown-defaults-key",
        "defaults:\n  grader: [equals]\ncases: []\n",
        ":2: grader: unknown key in defaults (did you mean 'graders'?)*",
    ),
    Bad("case-without-id", GRADED + "cases:\n  - prompt: hi\n", ":4: every case needs an id*"),
    Bad(
        "case-id-with-colon",
        GRADED + "cases:\n  - id: 'a:b'\n    prompt: hi\n",
        ":4: id: case id 'a:b' may not contain*",
    ),
    Bad(
        "unknown-role",
        _case("messages: [{role: usr, content: hi}]"),
        ":5: role: unknown role 'usr' (did you mean 'user'?)*",
    ),
    Bad(
        "repeat-zero",
        _case("prompt: hi\n    repeat: 0"),
        ":6: repeat: must be an integer from 1 to 1000, got 0*",
    ),
    Bad("tags-a-number", _case("prompt: hi\n    tags: 3"), ":6: tags: must be a list*"),
    Bad(
        "params-a-list",
        _case("prompt: hi\n    params: [1]"),
        ":6: params: must be a mapping, got list*",
    ),
    Bad(
        "baseline-negative-tokens",
        _case("prompt: hi\n    baseline: {output: hi, input_tokens: -1}"),
        ":6: input_tokens: must be a non-negative integer, got -1*",
    ),
    Bad("no-graders", "cases:\n  - id: a\n    prompt: hi\n", ":2: case 'a' has no graders*"),
    Bad(
        "unknown-grader",
        "defaults:\n  graders: [equal]\ncases:\n  - id: a\n    prompt: hi\n",
        ":2: unknown grader 'equal' (did you mean 'equals'?)*",
    ),
    Bad(
        "unknown-grader-option",
        _case("prompt: hi\n    graders:\n      - contains: {anyy: [hi]}"),
        ":7: contains: unknown option 'anyy' (did you mean 'any'?)*",
    ),
    Bad(
        "unknown-normalizer",
        _case("prompt: hi\n    graders:\n      - equals: {normalize: [lowr]}"),
        ":7: equals: normalize: unknown normalizer 'lowr' (did you mean 'lower'?)*",
    ),
    Bad(
        "bad-regex",
        _case("prompt: hi\n    graders:\n      - regex: 'a(b'"),
        ":7: regex: bad pattern 'a(b': missing )*",
    ),
    Bad(
        "bad-weight",
        _case("prompt: hi\n    graders:\n      - equals: {}\n        weight: -1"),
        ":8: weight: must be a non-negative number, got -1*",
    ),
    Bad(
        "schema-ref-missing",
        _case("prompt: hi\n    graders:\n      - json_schema: {$ref: nope.json}"),
        ":7: json_schema: $ref: schema file 'nope.json' not found*",
    ),
    Bad(
        "schema-ref-not-json",
        _case("prompt: hi\n    graders:\n      - json_schema: {$ref: s.json}"),
        ":7: json_schema: $ref: *s.json is not valid JSON*",
        files={"s.json": "{type: obj"},
    ),
    Bad(
        "schema-ref-invalid-schema",
        _case("prompt: hi\n    graders:\n      - json_schema: {$ref: s.json}"),
        ":7: json_schema: invalid schema at $.type*",
        files={"s.json": '{"type": 12}'},
    ),
    Bad(
        "schema-ref-dev-zero",
        _case("prompt: hi\n    graders:\n      - json_schema: {$ref: /dev/zero}"),
        ":7: json_schema: $ref: '/dev/zero' is outside the project*",
    ),
    Bad(
        "schema-ref-directory",
        _case("prompt: hi\n    graders:\n      - json_schema: {$ref: .}"),
        ":7: json_schema: $ref: * is not a regular file (a directory)*",
    ),
    Bad(
        "schema-ref-url",
        _case("prompt: hi\n    graders:\n      - json_schema: 'http://127.0.0.1:9/s.json'"),
        ":7: json_schema: $ref: 'http://127.0.0.1:9/s.json' is a URL*never fetched*",
    ),
    Bad(
        "schema-inline-remote-ref",
        _case(
            "prompt: hi\n    graders:\n      - json_schema: {schema: {$ref: 'http://127.0.0.1:9/s'}}"
        ),
        ":7: json_schema: schema $ref 'http://127.0.0.1:9/s': only references within the schema*",
    ),
    Bad(
        "schema-inline-dangling-ref",
        _case("prompt: hi\n    graders:\n      - json_schema: {schema: {$ref: '#/$defs/x'}}"),
        ":7: json_schema: schema $ref '#/$defs/x' points at nothing in the schema*",
    ),
    Bad(
        "schema-inline-invalid",
        _case("prompt: hi\n    graders:\n      - json_schema: {schema: {required: yes}}"),
        ":7: json_schema: invalid schema at $.required*",
    ),
    Bad(
        "python-grader-missing-module",
        _case("prompt: hi\n    graders:\n      - python: nosuchmod.sub:fn"),
        ":7: python: cannot import 'nosuchmod.sub'*",
    ),
    Bad(
        "python-object-tag",
        _case("prompt: !!python/object/apply:os.system ['touch pwned']"),
        ":5: invalid YAML: tag '!!python/object/apply:os.system' is not allowed*",
    ),
    Bad(
        "python-name-tag",
        _case("prompt: !!python/name:os.system"),
        ":5: invalid YAML: tag '!!python/name:os.system' is not allowed*",
    ),
    Bad("billion-laughs", _laughs(), ":*: YAML aliases expand to more than *nodes*"),
    Bad(
        "recursive-alias",
        _case("prompt: hi\n    params: &p {x: *p}"),
        ":6: invalid YAML: recursive alias *p*",
    ),
    Bad(
        "nested-too-deep",
        _case(f"prompt: hi\n    params: {{x: {'[' * 100_000}{']' * 100_000}}}"),
        ":6: invalid YAML: nested deeper than 100 levels*",
    ),
    Bad("too-large", "cases: []\n", ": the suite is 51.0 MB; the limit is 50 MB*", sparse_mb=51),
    Bad(
        "non-utf8",
        GRADED.encode() + b"cases:\n  - id: a\n    prompt: caf\xe9\n",
        ":5: cannot read suite: not UTF-8 (byte 0xe9)*",
    ),
]

CONFIG_ERRORS = [
    Config(
        "toml-syntax",
        pyproject=PYPROJECT + "concurrency = = 3\n",
        expect=("*pyproject.toml: Invalid value (at line 4, column *)*",),
    ),
    Config(
        "toml-not-a-table",
        pyproject="[tool]\nmodelguard = 3\n",
        expect=("*pyproject.toml:2: [[]tool.modelguard[]] must be a table*",),
    ),
    Config(
        "unknown-key",
        pyproject=PYPROJECT + "concurency = 3\n",
        expect=("*pyproject.toml:4: *] concurency: unknown key (did you mean 'concurrency'?)*",),
    ),
    Config(
        "wrong-type",
        pyproject=PYPROJECT + 'concurrency = "8"\n',
        expect=(
            "*pyproject.toml:4: [[]tool.modelguard[]] concurrency: expected int or float, got '8'*",
        ),
    ),
    Config(
        "out-of-range",
        pyproject=PYPROJECT + "confidence = 1.5\n",
        expect=(
            "*pyproject.toml:4: [[]tool.modelguard[]] confidence: must be between 0.5 and 0.9999*",
        ),
    ),
    Config(
        "timeout-zero",
        pyproject=PYPROJECT + "timeout_s = 0\n",
        expect=("*pyproject.toml:4: [[]tool.modelguard[]] timeout_s: must be between*",),
    ),
    Config(
        "bad-record-mode",
        pyproject=PYPROJECT + 'record = "sometimes"\n',
        expect=("*pyproject.toml:4: *record: must be none, once, new or all, got 'sometimes'*",),
    ),
    Config(
        "bad-gate",
        pyproject=PYPROJECT + 'gate = "regresion"\n',
        expect=(
            "*pyproject.toml:4: *gate: must be regression or non-inf*(did you mean 'regression'?)*",
        ),
    ),
    Config(
        "models-not-strings",
        pyproject=PYPROJECT + "models = [1]\n",
        expect=("*pyproject.toml:4: *models: expected a list of model names, got 1*",),
    ),
    Config(
        "negative-budget",
        pyproject=PYPROJECT + "[tool.modelguard.budgets]\nmax_cost_usd = -1\n",
        expect=("*pyproject.toml:5: *budgets.max_cost_usd: must be between 0*",),
    ),
    Config(
        "unknown-budget",
        pyproject=PYPROJECT + "[tool.modelguard.budgets]\nmax_cost = 1\n",
        expect=(
            "*pyproject.toml:5: *budgets.max_cost: unknown key (did you mean 'max_cost_usd'?)*",
        ),
    ),
    Config(
        "bad-price-in-alias",
        pyproject=PYPROJECT + '[tool.modelguard.aliases.fast]\nmodel = "openai:gpt-4.1-mini"\n'
        'price = { input = "cheap", output = 1 }\n',
        args=("--models", "fast"),
        expect=(
            "*pyproject.toml:6: *aliases.fast.price: price.input must be a non-negative number*",
        ),
    ),
    Config(
        "bad-price-in-unused-alias",
        pyproject=PYPROJECT + '[tool.modelguard.aliases.fast]\nmodel = "openai:gpt-4.1-mini"\n'
        "price = { input = 1 }\n",
        expect=("*pyproject.toml:6: *aliases.fast.price: price needs 'output'*",),
    ),
    Config(
        "alias-of-alias",
        pyproject=PYPROJECT + '[tool.modelguard.aliases.a]\nmodel = "b"\n'
        '[tool.modelguard.aliases.b]\nmodel = "openai:gpt-4.1"\n',
        expect=("*aliases.a.model: must be PROVIDER:MODEL, not another alias*",),
    ),
    Config(
        "alias-without-model",
        pyproject=PYPROJECT + "[tool.modelguard.aliases.a]\nparams = {}\n",
        expect=("*aliases.a.model: missing*",),
    ),
    Config(
        "unknown-alias-key",
        pyproject=PYPROJECT + '[tool.modelguard.aliases.a]\nmodle = "openai:x"\n',
        expect=("*pyproject.toml:5: *aliases.a.modle: unknown key (did you mean 'model'?)*",),
    ),
    Config(
        "bad-provider-kind",
        pyproject=PYPROJECT + '[tool.modelguard.providers.p]\nkind = "watsonx"\n',
        expect=(
            "*pyproject.toml:5: *providers.p.kind: must be one of openai, openai-responses, anth*",
        ),
    ),
    Config(
        "unknown-provider-key",
        pyproject=PYPROJECT + '[tool.modelguard.providers.p]\napi_key_var = "P_KEY"\n',
        expect=("*providers.p.api_key_var: unknown key (did you mean 'api_key_env'?)*",),
    ),
    Config(
        "unknown-provider-in-config",
        pyproject='[tool.modelguard]\nbaseline = "opneai:gpt-4.1"\n',
        expect=("*pyproject.toml:2: [[]tool.modelguard[]] baseline: unknown provider 'opneai'*",),
    ),
    Config(
        "alias-to-undeclared-provider",
        pyproject=PYPROJECT + '[tool.modelguard.aliases.fast]\nmodel = "groq:llama"\n',
        expect=("*pyproject.toml:5: *aliases.fast.model: unknown provider 'groq'*declare it*",),
    ),
    Config(
        "cost-budget-without-price",
        pyproject='[tool.modelguard]\nbaseline = "openai:no-such-model-zz"\n'
        "[tool.modelguard.budgets]\nmax_cost_usd = 1\n",
        expect=("*pyproject.toml*'openai:no-such-model-zz' has no known price*max_cost_usd*",),
    ),
    Config("unknown-model", args=("--models", "nosuch"), expect=("*unknown model 'nosuch'*",)),
    Config(
        "unknown-provider",
        args=("--models", "opneai:gpt-4.1"),
        expect=("*unknown provider 'opneai'*(did you mean 'openai'?)*",),
    ),
    Config(
        "unknown-alias",
        pyproject=PYPROJECT + '[tool.modelguard.aliases.fast]\nmodel = "openai:x"\n',
        args=("--baseline", "fats"),
        expect=("*unknown model 'fats' (did you mean 'fast'?)*",),
    ),
    Config(
        "bad-margin-flag",
        args=("--modelguard-margin", "2"),
        expect=("*'2' is not a margin in [[]0, 1[]]*",),
    ),
    Config(
        "bad-record-flag",
        args=("--modelguard-record", "sometimes"),
        expect=("*invalid choice: 'sometimes'*",),
    ),
]


def _write_suite(folder: Path, bad: Bad) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in bad.files.items():
        (folder / name).write_text(text, encoding="utf-8")
    data = bad.suite if isinstance(bad.suite, bytes) else bad.suite.encode("utf-8")
    (folder / SUITE).write_bytes(data)
    if bad.sparse_mb:
        with (folder / SUITE).open("r+b") as handle:
            handle.truncate(bad.sparse_mb * 2**20)  # cheap to make; the loader must not read it


@pytest.fixture(scope="module")
def corpus(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """Every bad suite in its own folder, collected by one fresh pytest process."""
    root = tmp_path_factory.mktemp("corpus")
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    for bad in SUITE_ERRORS:
        _write_suite(root / bad.id, bad)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:xdist",
        *UNUSED_PLUGINS,
    ]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=120)
    return root, result


def corpus_size() -> int:
    """Distinct bad inputs checked here (the subprocess runs repeat some pure ones)."""
    pure = len(PURE_SUITES) + len(PURE_CONFIGS) + len(FLAGS) + len(CACHE_ENTRIES)
    return pure + len(CLI_USAGE_ERRORS) + len(SUITE_ERRORS) + len(CONFIG_ERRORS)


def test_corpus_is_large_enough() -> None:
    assert corpus_size() >= 270


def test_bad_suites_are_collection_errors_without_traceback(
    corpus: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    root, result = corpus
    output = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.INTERRUPTED, output
    assert f"Interrupted: {len(SUITE_ERRORS)} errors during collection" in output
    assert "Traceback" not in output and 'File "' not in output
    assert not list(root.rglob("pwned"))  # nothing in YAML is ever executed


@pytest.mark.parametrize("bad", SUITE_ERRORS, ids=lambda b: b.id)
def test_bad_suite_names_file_line_and_key(
    corpus: tuple[Path, subprocess.CompletedProcess[str]], bad: Bad
) -> None:
    _, result = corpus
    lines = result.stdout.splitlines()
    path = f"{bad.id}/{SUITE}"
    pytest.LineMatcher(lines).fnmatch_lines([path + bad.expect])
    assert len([line for line in lines if line.startswith(path + ":")]) == 1  # one message


@pytest.mark.parametrize("bad", CONFIG_ERRORS, ids=lambda c: c.id)
def test_bad_config_is_a_usage_error(pytester: pytest.Pytester, bad: Config) -> None:
    pytester.makefile(".toml", pyproject=bad.pyproject)
    _write_suite(pytester.path, Bad("ok", _case(), ""))
    result = pytester.runpytest("-p", "no:cacheprovider", *bad.args)
    output = "\n".join(result.outlines + result.errlines)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output
    assert "Traceback" not in output and 'File "' not in output
    result.stderr.fnmatch_lines(list(bad.expect))


def _collect(pytester: pytest.Pytester, suite: str) -> pytest.RunResult:
    pytester.makefile(".toml", pyproject=PYPROJECT)
    _write_suite(pytester.path, Bad("ok", suite, ""))
    return pytester.runpytest("-p", "no:cacheprovider", "--collect-only", "-q")


def test_merge_keys_and_dates_are_plain_data(pytester: pytest.Pytester) -> None:
    """``<<:`` may override merged keys (not a duplicate); dates stay text."""
    suite = (
        "defaults:\n  graders: [equals]\n"
        "cases:\n  - &first {id: a, prompt: say hi, expected: 2024-01-01}\n"
        "  - <<: *first\n    id: b\n"
    )
    result = _collect(pytester, suite)
    assert result.ret == pytest.ExitCode.OK, result.outlines
    result.stdout.fnmatch_lines([f"{SUITE}::b[[]python:answers:good[]]"])
    from pytest_modelguard.suite import load_suite

    cases = load_suite(pytester.path / SUITE).cases
    assert cases[1].expected == "2024-01-01" and cases[1].messages == cases[0].messages


def test_twenty_thousand_cases_load_quickly(tmp_path: Path) -> None:
    from pytest_modelguard.suite import load_suite

    cases = "".join(
        f"  - id: c{i:05d}\n    tags: [t{i % 3}]\n    prompt: 'say w{i}'\n    expected: w{i}\n"
        for i in range(20_000)
    )
    _write_suite(tmp_path, Bad("big", GRADED + "cases:\n" + cases, ""))
    started = time.process_time()  # this process's CPU: other jobs on the machine don't count
    suite = load_suite(tmp_path / SUITE, tmp_path)
    elapsed = time.process_time() - started
    assert len(suite.cases) == 20_000 and suite.cases[-1].id == "c19999"
    assert elapsed < 15, f"loading 20,000 cases took {elapsed:.1f}s of CPU"


KEY_PROJECT = """
[tool.modelguard]
baseline = "sim:base"
models = ["sim:cand"]
resamples = 1000
max_attempts = 1

[tool.modelguard.providers.sim]
kind = "openai"
base_url = "{url}"
api_key_env = "MODELGUARD_BAD_INPUT_KEY"
"""


def test_missing_api_key_matters_only_when_a_call_is_needed(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    warm_sdks(tmp_path_factory.mktemp("warm"))
    monkeypatch.delenv("MODELGUARD_BAD_INPUT_KEY", raising=False)
    with LoopbackServer(lambda call: "hi") as srv:
        pytester.makefile(".toml", pyproject=KEY_PROJECT.format(url=srv.openai_base_url))
        _write_suite(pytester.path, Bad("ok", _case(), ""))
        replay = pytester.runpytest()  # record none: a missing answer is an error, not a call
        replay.assert_outcomes(errors=2, failed=2)  # + the gate results
        replay.stdout.fnmatch_lines(["*no recorded answer*"])
        assert "MODELGUARD_BAD_INPUT_KEY" not in replay.stdout.str()
        recording = pytester.runpytest("--modelguard-record", "once")
        recording.assert_outcomes(errors=2, failed=2)  # + the gate results
        recording.stdout.fnmatch_lines(
            ["*environment variable MODELGUARD_BAD_INPUT_KEY is not set*"]
        )
        assert "Traceback" not in recording.stdout.str() and srv.count() == 0
        monkeypatch.setenv("MODELGUARD_BAD_INPUT_KEY", "sk-bad-input")
        pytester.runpytest("--modelguard-record", "once").assert_outcomes(passed=3)
        assert srv.count() == 2
        monkeypatch.delenv("MODELGUARD_BAD_INPUT_KEY")
        pytester.runpytest().assert_outcomes(passed=3)  # replay from the cache: no key needed
        assert srv.count() == 2


# -- the pure-loader corpus: each entry goes through load_suite and build_grader (or
# read_pyproject and load_settings) in this process, as collection does, in milliseconds.

HEAD = "defaults:\n  graders: [equals]\ncases:\n  - id: a\n"
ONE_CASE = "cases:\n  - id: a\n    prompt: hi\n"
NOT_TEXT = ("42", "[1]", "{a: 1}", "null", "true", "1.5")


def _field(key: str, value: str) -> str:
    """A one-case suite with ``key: value`` on line 6 (``prompt`` itself: line 5)."""
    if key in ("prompt", "messages"):
        return f"{HEAD}    {key}: {value}\n"
    return f"{HEAD}    prompt: hi\n    {key}: {value}\n"


def _grader(entry: str) -> str:
    """A one-case suite whose grader list (line 7) holds ``entry``."""
    return f"{HEAD}    prompt: hi\n    expected: hi\n    graders:\n      - {entry}\n"


FIELD_VALUES = {
    "prompt": NOT_TEXT,
    "system": ("42", "[1]", "{a: 1}", "true"),
    "params": ("42", "[1]", "x", "true", "null"),
    "tags": ("42", "{a: 1}", "[1]", "['']", "[null]", "true", "[[a]]"),
    "repeat": ("0", "-1", "1001", "1.5", "'2'", "true", "null", "[1]"),
    "messages": (
        "42",
        "[]",
        "hi",
        "[42]",
        "[{content: hi}]",
        "[{role: usr, content: hi}]",
        "[{role: user, content: hi, extra: 1}]",
        "null",
    ),
    "baseline": (
        "42",
        "[1]",
        "{output: 42}",
        "{input_tokens: 1}",
        "{output: x, input_tokens: -1}",
        "{output: x, output_tokens: 1.5}",
        "{output: x, cost_usd: -1}",
        "{output: x, cost_usd: .nan}",
        "{output: x, cost_usd: .inf}",
        "{output: x, latency_s: .nan}",
        "{output: x, latency_s: -.inf}",
        "{output: x, cost_usd: '1'}",
        "{output: x, foo: 1}",
        "{output: x, cached_input_tokens: true}",
    ),
    "graders": ("42", "equals", "{equals: {}}", "[42]", "[[equals]]", "[{weight: 1}]"),
    "promt": ("hi",),
}
FIELD_KEYS = {"promt": "unknown key", "graders": "grader", "messages": "", "baseline": ""}

GRADER_ENTRIES = [
    "{equals: {}, weight: -1}", "{equals: {}, weight: '1'}", "{equals: {}, weight: .nan}",
    "{equals: {}, weight: .inf}", "{equals: {}, threshold: 1.5}", "{equals: {}, threshold: -0.1}",
    "{equals: {}, threshold: .nan}", "{equals: {}, threshold: x}", "{equals: {}, required: maybe}",
    "{equals: {}, required: 1}", "{equals: {}, dimension: 3}", "{equals: {}, dimension: [a]}",
    "{equals: {}, extra: 1}", "{equals: {normalize: lowr}}", "{equals: {normalize: [1]}}",
    "{equals: {expected: {a: 1}}}", "{equals: [[1]]}", "{contains: {}}", "{contains: {any: []}}",
    "{contains: {any: ['']}}", "{contains: {case_sensitive: 'yes'}}", "{contains: {al: [x]}}",
    "{regex: 'a(b'}", "{regex: {pattern: ''}}", "{regex: {pattern: a, flags: q}}",
    "{regex: {pattern: a, match: all}}", "{regex: {pattern: a, negate: 1}}", "{regex: '(?=a)'}",
    "{regex: '(a)\\1'}", "{regex: {}}", "{json_valid: {strict: 'no'}}", "{json_valid: 3}",
    "{json_schema: 42}", "{json_schema: {}}", "{json_schema: {$ref: a, schema: {}}}",
    "{json_schema: {schema: 42}}", "{json_schema: {schema: {type: 12}}}",
    "{json_schema: {schema: {$ref: 'https://example.com/s.json'}}}",
    "{json_schema: {schema: {$ref: 's.json'}}}", "{json_schema: {schema: {$ref: '#/nope'}}}",
    "{json_schema: {schema: {items: {$ref: '#/$defs/x'}}}}", "{json_schema: '/etc/passwd'}",
    "{json_schema: '../outside.json'}", "{json_schema: 'file:///etc/passwd'}",
    "{json_schema: {schema: {type: object}, strict: 2}}", "{json_field: {}}",
    "{json_field: {path: 'a..b'}}", "{json_field: {path: ''}}", "{json_field: '[x]'}",
    "{json_field: {path: a, tolerance: -1}}", "{json_field: {path: a, tolerance: .nan}}",
    "{numeric: {tolerance: -1}}", "{numeric: {rel_tolerance: .inf}}", "{numeric: {last: 'yes'}}",
    "{numeric: {expected: [1]}}", "{length: {min: -1}}", "{length: {max: 1.5}}",
    "{length: {unit: lines}}", "{length: 5}", "{similarity: {against: nothing}}",
    "{similarity: {threshold: 2}}", "{python: nomodule_zz}", "{python: 'os'}",
    "{python: 'os:nope'}",
    "{python: 'math:pi'}", "{python: 'nomod_zz.x:fn'}", "{python: ''}", "{python: 42}",
    "{llm_judge: {}}", "{llm_judge: {rubric: x, scale: 1}}", "{llm_judge: {rubric: x, scale: 11}}",
    "{llm_judge: {rubric: 42}}", "{llm_judge: {rubric: x, params: 3}}",
    "{llm_judge: {rubric: x, pairwise: true}}", "{llm_judge: {rubric: x, model: 3}}",
    "equal", "Equals", "jsonschema", "{}", "{weight: 2}", "42", "[equals]", "null",
]  # fmt: skip


def _prev(i: int) -> str:
    return "a" if i == 0 else f"b{i - 1}"


WHOLE_SUITES = {
    "suite-name-number": "suite: 42\n" + _field("tags", "[x]"),
    "suite-name-empty": "suite: ''\n" + _field("tags", "[x]"),
    "suite-tags-number": "tags: 42\n" + _field("tags", "[x]"),
    "defaults-number": "defaults: 42\ncases:\n  - id: a\n    prompt: hi\n",
    "defaults-repeat-zero": "defaults:\n  repeat: 0\n  graders: [equals]\n" + ONE_CASE,
    "defaults-system-number": "defaults:\n  system: 4\n  graders: [equals]\n" + ONE_CASE,
    "defaults-params-list": "defaults:\n  params: [1]\n  graders: [equals]\n" + ONE_CASE,
    "defaults-graders-map": "defaults:\n  graders: {equals: {}}\n" + ONE_CASE,
    "case-id-null": "defaults:\n  graders: [equals]\ncases:\n  - id: null\n    prompt: hi\n",
    "case-id-empty": "defaults:\n  graders: [equals]\ncases:\n  - id: ''\n    prompt: hi\n",
    "case-id-spaces": "defaults:\n  graders: [equals]\ncases:\n  - id: ' a'\n    prompt: hi\n",
    "case-id-bracket": "defaults:\n  graders: [equals]\ncases:\n  - id: 'a]'\n    prompt: hi\n",
    "case-id-list": "defaults:\n  graders: [equals]\ncases:\n  - id: [a]\n    prompt: hi\n",
    "case-id-float": "defaults:\n  graders: [equals]\ncases:\n  - id: 1.5\n    prompt: hi\n",
    "case-id-bool": "defaults:\n  graders: [equals]\ncases:\n  - id: true\n    prompt: hi\n",
    "prompt-and-messages": _field("messages", "[{role: user, content: hi}]\n    prompt: ho"),
    "neither-prompt-nor-messages": HEAD + "    tags: [x]\n",
    "case-null": "defaults:\n  graders: [equals]\ncases:\n  - null\n",
    "case-list": "defaults:\n  graders: [equals]\ncases:\n  - [id, a]\n",
    "cases-string": "cases: hello\n",
    "cases-null": "cases:\n",
    "unclosed-quote": "cases:\n  - id: a\n    prompt: 'hi\n",
    "undefined-alias": "cases:\n  - id: a\n    prompt: *nope\n",
    "binary-tag": "cases:\n  - id: a\n    prompt: !!binary aGk=\n",
    "custom-tag": "cases:\n  - id: a\n    prompt: !custom hi\n",
    "set-tag": "cases:\n  - id: a\n    prompt: !!set {a: null}\n",
    "yaml-2-directive": "%YAML 2.0\n---\ncases: []\n",
    "two-documents": "cases: []\n---\ncases: []\n",
    "nul-char": 'cases:\n  - id: a\n    prompt: "hi\x00"\n',
    "bell-char": "cases:\n  - id: a\n    prompt: hi\x07\n",
    "escape-char": "cases:\n  - id: a\n    prompt: hi\x1b[31m\n",
    "uffff-char": "cases:\n  - id: a\n    prompt: hi\uffff\n",
    "ufffe-char": "cases:\n  - id: a\n    prompt: hi\ufffe\n",
    "key-is-a-mapping": "cases:\n  - {? {a: 1} : x}\n",
    "duplicate-suite-key": "cases: []\ncases: []\n",
    "deep-flow": "cases: " + "[" * 150 + "]" * 150 + "\n",
    "deep-block": "cases:\n" + "".join("  " * i + "- \n" for i in range(1, 150)),
    "many-aliases": "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"b{i}: &b{i} [" + ",".join([f"*{_prev(i)}"] * 10) + "]\n" for i in range(7))
    + "cases: []\n",
}
BAD_BYTES = {
    "byte-ff": b"\xff", "byte-fe": b"\xfe", "truncated-utf8": b"\xc3",
    "encoded-surrogate": b"\xed\xa0\x80", "overlong-utf8": b"\xc0\xaf",
    "utf16-bom": b"\xff\xfe", "latin1-e9": b"\xe9", "cp1252-quote": b"\x93",
}  # fmt: skip


def _pure_suites() -> list[tuple[str, str | bytes, str]]:
    """(id, suite, a word the message must name) for the whole generated corpus."""
    cases: list[tuple[str, str | bytes, str]] = []
    for key, values in FIELD_VALUES.items():
        for n, value in enumerate(values):
            cases.append((f"{key}-{n}", _field(key, value), FIELD_KEYS.get(key, key)))
    for n, entry in enumerate(GRADER_ENTRIES):
        cases.append((f"grader-{n}", _grader(entry), ""))
    cases += [(name, text, "") for name, text in WHOLE_SUITES.items()]
    for name, raw in BAD_BYTES.items():
        cases.append((name, HEAD.encode() + b"    prompt: hi" + raw + b"\n", "UTF-8"))
    return cases


PURE_SUITES = _pure_suites()


def _load(folder: Path, suite: str | bytes) -> str:
    """The one error message collecting ``suite`` gives (load, then build every grader)."""
    from pytest_modelguard.core.errors import GraderConfigError, SuiteError
    from pytest_modelguard.grading import build_grader
    from pytest_modelguard.suite import load_suite

    path = folder / SUITE
    path.write_bytes(suite if isinstance(suite, bytes) else suite.encode("utf-8"))
    try:
        for case in load_suite(path, folder).cases:
            for spec in case.graders:
                build_grader(spec)
    except (SuiteError, GraderConfigError) as exc:
        return str(exc)
    raise AssertionError(f"accepted: {suite!r}")


@pytest.mark.parametrize(("name", "suite", "word"), PURE_SUITES, ids=[c[0] for c in PURE_SUITES])
def test_pure_bad_suite_names_file_line_and_key(
    tmp_path: Path, name: str, suite: str | bytes, word: str
) -> None:
    (tmp_path / "sub").mkdir()  # $ref: '../outside.json' must stay inside tmp_path/sub
    (tmp_path / "outside.json").write_text("{}")
    message = _load(tmp_path / "sub", suite)
    assert re.match(rf"{re.escape(SUITE)}:[1-9][0-9]*: \S", message), message
    assert word in message and "Traceback" not in message
    assert len(message) < 600, message


CONFIG_VALUES = {
    "baseline": ("42", '""', '"nope"', '"opneai:x"', '"python"', "[]"),
    "models": ("42", '[""]', "[1]", '["python:a:b", ""]', '[" "]', "{}"),
    "record": ("1", '"x"', '""'),
    "cache_dir": ("1", '"pyproject.toml"', "[]"),
    "concurrency": ("0", "2.5", "inf", "nan", '"8"', "true", "-1", "5000"),
    "confidence": ("0.4", "1", "nan", '"x"', "-inf"),
    "resamples": ("99", "1.5", "1e9", "nan"),
    "seed": ("-1", "1.5", "4294967296", '"0"', "true", "nan"),
    "gate": ("1", '"x"', '""'),
    "margin": ("-0.1", "2", "nan", "inf"),
    "timeout_s": ("0", "inf", "nan", "-1", '"1"', "1e9"),
    "max_attempts": ("0", "1001", "2.5", "inf"),
    "retry_delay_s": ("-1", "inf", "601", "nan"),
    "judge": ("1", '"nope"', '""'),
    "providers": (
        "1",
        "{p = 1}",
        '{p = {kind = "x"}}',
        "{p = {base_url = 1}}",
        "{p = {api_key_env = 1}}",
        "{p = {foo = 1}}",
    ),
    "aliases": (
        "1",
        "{a = 1}",
        "{a = {}}",
        "{a = {model = 1}}",
        '{a = {model = "nope"}}',
        '{a = {model = "openai:x", params = 1}}',
        '{a = {model = "openai:x", price = 1}}',
        '{a = {model = "openai:x", price = {input = -1, output = 1}}}',
        '{a = {model = "openai:x", price = {input = nan, output = 1}}}',
        '{a = {model = "openai:x", budgets = {max_cost_usd = -1}}}',
    ),
    "budgets": (
        "1",
        "{max_cost_usd = -1}",
        "{max_cost_usd = nan}",
        "{max_cost_usd = inf}",
        '{max_tokens_per_case = "x"}',
        "{foo = 1}",
        "{max_latency_p95_s = -inf}",
    ),
    "concurency": ("3",),
}
PURE_CONFIGS = [
    (f"{key}-{n}", key, value)
    for key, values in CONFIG_VALUES.items()
    for n, value in enumerate(values)
]


@pytest.mark.parametrize(("name", "key", "value"), PURE_CONFIGS, ids=[c[0] for c in PURE_CONFIGS])
def test_pure_bad_config_names_file_line_and_key(
    tmp_path: Path, name: str, key: str, value: str
) -> None:
    from pytest_modelguard.config import Overrides, load_settings, read_pyproject
    from pytest_modelguard.core.errors import ConfigError

    path = tmp_path / "pyproject.toml"
    head = '[tool.modelguard]\nbaseline = "python:answers:good"\n'
    body = head.replace("baseline = ", "#") if key == "baseline" else head
    path.write_text(f"{body}{key} = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(str(path), read_pyproject(path), Overrides(), tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{path}:3: [tool.modelguard] {key}"), message
    assert "Traceback" not in message and len(message) < 600


FLAGS = [
    Overrides(models=""), Overrides(models=","), Overrides(models="python:a:b,"),
    Overrides(models=" "), Overrides(baseline=""), Overrides(baseline=" "),
    Overrides(baseline="nope"), Overrides(models="opneai:x"), Overrides(record="x"),
    Overrides(gate="x"),
]  # fmt: skip


@pytest.mark.parametrize("flags", FLAGS, ids=[repr(f)[10:40] for f in FLAGS])
def test_pure_bad_flags_are_config_errors(tmp_path: Path, flags: Overrides) -> None:
    from pytest_modelguard.config import load_settings
    from pytest_modelguard.core.errors import ConfigError

    table = {"baseline": "python:answers:good"}
    with pytest.raises(ConfigError) as caught:
        load_settings(str(tmp_path / "pyproject.toml"), table, flags, tmp_path)
    assert "Traceback" not in str(caught.value)


CACHE_ENTRIES = {
    "text-null": '{"completion": {"text": null}}', "text-number": '{"completion": {"text": 3}}',
    "negative-tokens": '{"completion": {"text": "x", "usage": {"input_tokens": -1}}}',
    "float-tokens": '{"completion": {"text": "x", "usage": {"output_tokens": 1.5}}}',
    "text-tokens": '{"completion": {"text": "x", "usage": {"output_tokens": "9"}}}',
    "usage-list": '{"completion": {"text": "x", "usage": [1]}}',
    "nan-latency": '{"completion": {"text": "x", "latency_s": NaN}}',
    "inf-latency": '{"completion": {"text": "x", "latency_s": Infinity}}',
    "negative-latency": '{"completion": {"text": "x", "latency_s": -1}}',
    "completion-list": '{"completion": []}', "no-completion": "{}", "a-list": "[]",
    "not-json": "{", "deep-json": "[" * 100_000 + "]" * 100_000, "directory": "",
}  # fmt: skip


@pytest.mark.parametrize("name", CACHE_ENTRIES)
def test_bad_cache_entry_is_a_corrupt_entry_naming_the_file(tmp_path: Path, name: str) -> None:
    from pytest_modelguard.core.errors import CorruptEntryError
    from pytest_modelguard.engine.cache import Cache
    from pytest_modelguard.records.calls import Request

    cache, request = Cache(tmp_path), Request("python", "m:f", ({"role": "user", "content": "hi"},))
    path = cache.path_for(request)
    path.parent.mkdir(parents=True)
    if name == "directory":
        path.mkdir()
    else:
        path.write_text(CACHE_ENTRIES[name], encoding="utf-8")
    with pytest.raises(CorruptEntryError, match=re.escape(str(path))):
        cache.get(request)


CLI_USAGE_ERRORS = {
    "models-missing-pyproject": ["models", "--pyproject", "missing.toml"],
    "cache-check-missing-dir": ["cache-check", "--cache-dir", "typo"],
    "cache-check-missing-pyproject": ["cache-check", "--pyproject", "missing.toml"],
    "models-pyproject-directory": ["models", "--pyproject", "."],
    "export-under-a-file": ["export", "t.db", "-o", "pyproject.toml/x.modelguard.yaml"],
    "export-to-a-directory": ["export", "t.db", "-o", "d.modelguard.yaml"],
    "traces-missing-db": ["traces", "stats", "missing.db"],
}


@pytest.mark.parametrize("name", CLI_USAGE_ERRORS)
def test_bad_cli_arguments_exit_4(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
) -> None:
    from pytest_modelguard.capture.store import connect
    from pytest_modelguard.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (tmp_path / "d.modelguard.yaml").mkdir()
    connect(tmp_path / "t.db", 1.0).close()  # an empty traces database
    assert main(CLI_USAGE_ERRORS[name]) == 4
    err = capsys.readouterr().err
    assert err.startswith("modelguard: ") and "Traceback" not in err
