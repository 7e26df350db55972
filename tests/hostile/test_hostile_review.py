"""A hostile review of the issue-25 hardening: inputs the other hostile corpora do not cover.

Each test fails on the code as merged for issue 25 and passes after the review's fixes:
an imported tool's ``api_key`` parameter kept as a schema (not redacted as a credential),
params no call can be made with refused where they are written (a suite's ``params`` or an
alias's ``params`` in pyproject), and an unwritable ``--junitxml`` path refused before the
run instead of pytest's writer raising after the verdict.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from pytest_modelguard.capture.export import ExportOptions, export_suite
from pytest_modelguard.capture.importing import import_files
from pytest_modelguard.capture.read import TraceDb
from pytest_modelguard.config import ConfigError, Overrides, load_settings
from pytest_modelguard.suite import SuiteError, load_suite

# ------------------------------------------------- import: a tool parameter named like a key

KEY = "planted-review-value-0123456789"  # scrubbed by field and value, not by shape
SCHEMA = {"type": "string", "description": "the account password of the weather service"}


def _pair(n: int, tool_args: dict[str, Any]) -> str:
    parameters = {
        "type": "object",
        "properties": {"api_key": SCHEMA, "password": SCHEMA, "city": {"type": "string"}},
    }
    request = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": f"call {n}: {SCHEMA['description']}"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": parameters}}],
    }
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": ""}}
    call["function"]["arguments"] = json.dumps(tool_args)
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    response = {
        "id": f"r{n}", "object": "chat.completion", "created": 1_700_000_000 + n, "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": message}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }  # fmt: skip
    return json.dumps({"request": request, "response": response})


def test_an_imported_tool_parameter_named_api_key_stays_a_schema(tmp_path: Path) -> None:
    source = tmp_path / "pairs.jsonl"
    source.write_text(_pair(1, {"api_key": KEY, "city": "Oslo"}) + "\n" + _pair(2, {}) + "\n")
    done = import_files([source], tmp_path / "t.db")
    assert done.imported == 2 and not done.skipped
    with TraceDb(tmp_path / "t.db") as db:
        traces = db.traces([1, 2])
    for trace in traces.values():
        properties = trace.params["tools"][0]["function"]["parameters"]["properties"]
        assert properties == {"api_key": SCHEMA, "password": SCHEMA, "city": {"type": "string"}}
        # the schema's description is no credential: not hunted through the messages
        assert SCHEMA["description"] in trace.messages[0]["content"]
    assert traces[1].tool_calls[0]["arguments"] == {"api_key": "[redacted]", "city": "Oslo"}
    assert KEY.encode() not in (tmp_path / "t.db").read_bytes()
    out = tmp_path / "o.modelguard.yaml"
    exported = export_suite(tmp_path / "t.db", out, ExportOptions())
    assert exported.cases == 2, exported  # neither call left out as "unsupported tools"
    assert "api_key:" in out.read_text() and KEY not in out.read_text()


# ------------------------------------------ params no call can be made with, where written

PARAMS = [
    ("stream", "{stream: true}", "true", "params.stream: remove it", "paid and lost"),
    ("model", "{model: gpt-4o}", '"gpt-4o"', "params.model: remove it", "--models"),
    ("messages", "{messages: []}", "[]", "params.messages: remove it", "prompt"),
    ("input", "{input: hi}", '"hi"', "params.input: remove it", "prompt"),
    ("nan", "{temperature: .nan}", "nan", "params.temperature: nan is not a number", "finite"),
    ("inf-nested", "{extra_body: {top_k: [.inf]}}", "{top_k = [inf]}", "params.extra_body",
     "finite"),
    ("auth-header", "{extra_headers: {Authorization: 'Bearer planted-header-0123'}}",
     '{Authorization = "Bearer planted-header-0123"}', "Authorization: a credential",
     "api_key_env"),
    ("x-api-key", "{extra_headers: {x-api-key: planted-0123456789}}",
     '{"x-api-key" = "planted-0123456789"}', "x-api-key: a credential", "api_key_env"),
    ("api-key-body", "{api_key: planted-0123456789}", '"planted-0123456789"',
     "api_key: a credential", "api_key_env"),
]  # fmt: skip
PARAM_IDS = [p[0] for p in PARAMS]


@pytest.mark.parametrize(("name", "suite", "toml", "fragment", "hint"), PARAMS, ids=PARAM_IDS)
def test_suite_params_no_call_can_be_made_with_are_refused_at_their_line(
    tmp_path: Path, name: str, suite: str, toml: str, fragment: str, hint: str
) -> None:
    path = tmp_path / "t.modelguard.yaml"
    path.write_text(
        "defaults:\n  graders: [{length: {min: 0}}]\n"
        f"cases:\n  - id: a\n    prompt: hi\n    params: {suite}\n"
    )
    with pytest.raises(SuiteError) as caught:
        load_suite(path, tmp_path)
    message = str(caught.value)
    assert message.startswith("t.modelguard.yaml:6: ") and fragment in message and hint in message


@pytest.mark.parametrize(("name", "suite", "toml", "fragment", "hint"), PARAMS, ids=PARAM_IDS)
def test_alias_params_no_call_can_be_made_with_are_a_usage_error(
    tmp_path: Path, name: str, suite: str, toml: str, fragment: str, hint: str
) -> None:
    key = fragment.split(":")[0].removeprefix("params.").split(".")[0]
    key = {"Authorization": "extra_headers", "x-api-key": "extra_headers"}.get(key, key)
    source = tmp_path / "pyproject.toml"
    text = (
        '[tool.modelguard]\nbaseline = "python:m:f"\n\n[tool.modelguard.aliases.fast]\n'
        f'model = "python:m:g"\nparams = {{{key} = {toml}}}\n'
    )
    source.write_text(text)
    import tomllib

    table = tomllib.loads(text)["tool"]["modelguard"]
    with pytest.raises(ConfigError) as caught:
        load_settings(str(source), table, Overrides(), tmp_path)
    message = str(caught.value)
    assert f"pyproject.toml:6: [tool.modelguard] aliases.fast.params: {key}" in message
    assert hint in message


def test_params_a_call_can_be_made_with_still_load(tmp_path: Path) -> None:
    path = tmp_path / "t.modelguard.yaml"
    path.write_text(
        "defaults:\n  graders: [{length: {min: 0}}]\n"
        "  params: {temperature: 0.5, extra_headers: {X-Title: demo}, stream_options: null}\n"
        "cases:\n  - {id: a, prompt: hi}\n"
    )
    assert load_suite(path).cases[0].params["temperature"] == 0.5


def test_an_export_leaves_out_a_call_whose_params_no_suite_may_hold(tmp_path: Path) -> None:
    """An imported chat request carrying ``input`` (or NaN-free but unusable params) is left
    out with its reason; the export still writes the others (not: the whole export refused)."""
    source = tmp_path / "pairs.jsonl"
    first, second = json.loads(_pair(1, {})), json.loads(_pair(2, {}))
    first["request"]["input"] = "hi"
    second["request"]["reasoning"] = {"api_key": "[redacted]"}  # redacted already: no credential
    source.write_text(json.dumps(first) + "\n" + json.dumps(second) + "\n")
    assert import_files([source], tmp_path / "t.db").imported == 2
    exported = export_suite(tmp_path / "t.db", tmp_path / "o.modelguard.yaml", ExportOptions())
    assert exported.cases == 1 and exported.reasons == {"unsupported input": 1}
    assert load_suite(tmp_path / "o.modelguard.yaml", tmp_path).cases[0].params["reasoning"] == {
        "api_key": "[redacted]"
    }


# ---------------------------------------------------- a labels file that is not a regular file


@pytest.mark.parametrize("kind", ["directory", "dangling-link", "fifo"])
def test_a_labels_path_that_is_no_file_is_an_error_not_no_labels(tmp_path: Path, kind: str) -> None:
    suite = tmp_path / "t.modelguard.yaml"
    suite.write_text(
        "defaults:\n  graders: [{length: {min: 0}}]\ncases:\n  - {id: a, prompt: hi}\n"
    )
    labels = tmp_path / "t.labels.yaml"
    if kind == "directory":
        labels.mkdir()
    elif kind == "dangling-link":
        labels.symlink_to(tmp_path / "gone.yaml")
    else:
        os.mkfifo(labels)
    with pytest.raises(SuiteError, match=r"t\.labels\.yaml") as caught:
        load_suite(suite, tmp_path)
    assert "not a regular file" in str(caught.value) or "no such file" in str(caught.value).lower()


# ------------------------------------------------------------- --junitxml that cannot be written


@pytest.mark.parametrize("where", ["file", "proc"])
def test_an_unwritable_junitxml_is_a_usage_error_before_the_run(
    pytester: pytest.Pytester, where: str
) -> None:
    pytester.makefile(".toml", pyproject='[tool.modelguard]\nbaseline = "python:m:f"\n')
    pytester.makepyfile(m="def f(request):\n    raise AssertionError('never called')\n")
    pytester.makefile(".modelguard.yaml", t="cases:\n  - {id: a, prompt: hi}\n")
    target = "m.py/out.xml" if where == "file" else "/proc/modelguard-review/out.xml"
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", f"--junitxml={target}")
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--junitxml: " in output and "out.xml" in output
    assert "Traceback" not in output and "INTERNALERROR" not in output


def test_a_writable_junitxml_tried_leaves_no_file_when_the_run_stops_early(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(".toml", pyproject='[tool.modelguard]\nbaseline = "python:m:f"\n')
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "--junitxml=out/j.xml", "--modelguard-continue"
    )  # --modelguard-continue without a sequential run: a usage error after the outputs
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--modelguard-continue" in result.stderr.str()
    assert not (pytester.path / "out" / "j.xml").exists()


# ------------------------------------------------ a report over an input or another report

TARGETS = [
    ("two-reports", ["--modelguard-json=r.out", "--modelguard-html=r.out"],
     "--modelguard-json and --modelguard-html both name r.out"),
    ("report-and-junit", ["--modelguard-json=r.xml", "--junitxml=r.xml"],
     "--modelguard-json and --junitxml both name r.xml"),
    ("over-the-suite", ["--modelguard-markdown=t.modelguard.yaml"],
     "--modelguard-markdown: t.modelguard.yaml is an input of the run"),
    ("over-pyproject", ["--modelguard-json=pyproject.toml"],
     "--modelguard-json: pyproject.toml is an input of the run"),
    ("over-labels", ["--modelguard-html=t.labels.yaml"],
     "--modelguard-html: t.labels.yaml is an input of the run"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), [t[1:] for t in TARGETS], ids=[t[0] for t in TARGETS])
def test_a_report_over_an_input_or_another_report_is_a_usage_error(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    pytester.makefile(".toml", pyproject='[tool.modelguard]\nbaseline = "python:m:f"\n')
    suite = "cases:\n  - {id: a, prompt: hi}\n"
    pytester.makefile(".modelguard.yaml", t=suite)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()
    assert (pytester.path / "t.modelguard.yaml").read_text().strip() == suite.strip()
    assert "baseline" in (pytester.path / "pyproject.toml").read_text()


# ------------------------------------------------------------ tool settings an alias adds

ALIAS_TOOLS = [
    ("tools-a-number", "{tools = 3}", "tools: must be a non-empty list of tools"),
    ("choice-a-number", "{tool_choice = 3}", "tool_choice: must be auto, required, none"),
    ("bad-tool-name", '{tools = [{type = "function", function = {name = "a b"}}]}',
     "function name 'a b'"),
    ("choice-naming-no-tool", '{tool_choice = {type = "function", function = {name = "g"}}}',
     "tool_choice: names 'g', which is not an offered tool (f)"),
    ("parallel-a-string", '{parallel_tool_calls = "yes"}', "must be true or false"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("params", "message"), [a[1:] for a in ALIAS_TOOLS], ids=[a[0] for a in ALIAS_TOOLS]
)
def test_tool_settings_an_alias_adds_are_checked_at_collection(
    pytester: pytest.Pytester, params: str, message: str
) -> None:
    pytester.makefile(
        ".toml",
        pyproject='[tool.modelguard]\nbaseline = "python:m:f"\nrecord = "once"\n'
        f'[tool.modelguard.aliases.fast]\nmodel = "python:m:f"\nparams = {params}\n',
    )
    pytester.makepyfile(m="def f(request):\n    raise AssertionError('never called')\n")
    pytester.makefile(
        ".modelguard.yaml",
        t="defaults:\n  graders: [{length: {min: 0}}]\n"
        "  tools: [{type: function, function: {name: f, parameters: {type: object}}}]\n"
        "cases:\n  - {id: a, prompt: hi}\n",
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--models", "fast")
    output = result.stdout.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED  # a collection error: nothing ran
    assert message in output and "aliases.fast.params" in output
    assert "t.modelguard.yaml:" in output
