"""Hostile input over tool use: suite tool definitions and schemas, and providers' answers.

Suite inputs are loaded in-process: each gives one ``file:line: key: problem`` SuiteError
(a collection error, exit 2, in a run), opens no file but the suite and makes no
connection — a ``$ref`` to a URL, ``/dev/zero`` or a FIFO is refused unread.

Provider answers run through the loopback server, one project per provider kind, every
hostile answer a case of one suite: a first run records, a second replays with
``--modelguard-record none``. Each answer must be stored valid (U+FFFD for a lone
surrogate) and scrubbed (no API key, no ``base_url`` token), in every file the runs wrote
and in their output, and replay with no call.
"""

from __future__ import annotations

import asyncio
import builtins
import io
import json
import os
import socket
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import loopback
import pytest
from loopback import Call, LoopbackServer, Reply
from sdkwarm import warm_sdks

from pytest_modelguard.core.errors import GraderConfigError
from pytest_modelguard.grading import Answer, GraderSpec, build_grader
from pytest_modelguard.suite import SuiteError, load_suite

# ---------------------------------------------------------------- suite inputs (in-process)

SUITE_NAME = "t.modelguard.yaml"
MARK = "#!"
"""Ends the line each error must name."""
HEAD = "defaults:\n  graders: [{length: {min: 0}}]\n"
CASE = "cases:\n  - {id: a, prompt: hi}\n"


def tools(*entries: str, extra: str = "") -> str:
    """A suite offering ``entries`` (tool lines, flow style) in defaults."""
    lines = "".join(f"    - {entry}\n" for entry in entries)
    return HEAD + "  tools:\n" + lines + extra + CASE


def tool(parameters: str, name: str = "f", mark: bool = True) -> str:
    """One function tool with these parameters, marked as the line at fault."""
    text = f"{{type: function, function: {{name: {name}, parameters: {parameters}}}}}"
    return text + (f"  {MARK}" if mark else "")


def history(*messages: str, offered: bool = True) -> str:
    """A suite whose one case writes these messages (flow-style lines)."""
    offer = "  tools: [{type: function, function: {name: f, parameters: {type: object}}}]\n"
    lines = "".join(f"      - {m}\n" for m in messages)
    return HEAD + (offer if offered else "") + "cases:\n  - id: a\n    messages:\n" + lines


def fmt(name: str, value: str, mark: bool = True) -> str:
    """A suite whose defaults write ``name: value`` (response_format and the like)."""
    return HEAD + f"  {name}: {value}" + (f"  {MARK}" if mark else "") + "\n" + CASE


USER = "{role: user, content: weather?}"
CALL = (
    "{role: assistant, content: null, tool_calls: "
    "[{id: c1, type: function, function: {name: f, arguments: {city: Oslo}}}]}"
)
RESULT = "{role: tool, tool_call_id: c1, content: sunny}"


@dataclass(frozen=True)
class Bad:
    """A suite (``@HTTP@``, ``@DEVZERO@``, ``@FIFO@``, ``@FILE@`` filled in at run time) and
    the key and fragment of the one message it must give, on the line marked ``#!``."""

    id: str
    suite: str
    key: str
    fragment: str


def _weird(pointer: str) -> str:
    return tool(f'{{type: object, properties: {{a: {{$ref: "{pointer}"}}}}}}')


REFUSED = "only references within the schema ('#/...') are resolved"
NO_NAME = "function needs a name"
BAD_NAME = "use 1 to 64 letters, digits, '_' or '-'"
NOT_OBJECT = "parameters must be a schema of type: object"
ONLY_WITH_TOOLS = "is only allowed with tools"
NOT_AN_OBJECT = "arguments must be an object"
F = tool("{type: object}", mark=False)
PARAMS_REF = tool('{type: object, $ref: "@HTTP@/p.json"}')
ZERO_REF = tool('{type: object, $ref: "file:///dev/zero"}')

SUITE_INPUTS = [
    # the tools list and each tool's form
    Bad("tools-a-string", HEAD + f"  tools: get_weather  {MARK}\n" + CASE, "tools",
        "must be a non-empty list of tools"),
    Bad("tools-empty", HEAD + f"  tools: []  {MARK}\n" + CASE, "tools", "must be a non-empty"),
    Bad("tools-a-mapping", HEAD + f"  tools: {{a: 1}}  {MARK}\n" + CASE, "tools",
        "must be a non-empty"),
    Bad("tool-a-string", tools(f"get_weather  {MARK}"), "tools", "tool #1: write it as"),
    Bad("tool-type-custom", tools(f"{{type: custom, custom: {{name: g}}}}  {MARK}"), "tools",
        "tool #1: write it as"),
    Bad("tool-without-function", tools(f"{{type: function}}  {MARK}"), "tools", NO_NAME),
    Bad("function-without-name", tools(f"{{type: function, function: {{}}}}  {MARK}"), "tools",
        NO_NAME),
    Bad("name-a-number", tools(f"{{type: function, function: {{name: 3}}}}  {MARK}"), "tools",
        NO_NAME),
    Bad("name-empty", tools(tool("{type: object}", name="''")), "tools", BAD_NAME),
    Bad("name-with-space", tools(tool("{type: object}", name="'get weather'")), "tools",
        BAD_NAME),
    Bad("name-65-chars", tools(tool("{type: object}", name="n" * 65)), "tools", BAD_NAME),
    Bad("name-with-dot", tools(tool("{type: object}", name="a.b")), "tools", BAD_NAME),
    Bad("name-non-ascii", tools(tool("{type: object}", name="météo")), "tools", BAD_NAME),
    Bad("name-with-newline", tools(tool("{type: object}", name='"a\\nb"')), "tools", BAD_NAME),
    Bad("name-duplicate", tools(F, f"{tool('{type: object}', mark=False)}  {MARK}"), "tools",
        "tool #2: duplicate tool name 'f' (also tool #1)"),
    Bad("name-duplicate-later", tools(F, tool("{type: object}", name="g", mark=False),
                                      f"{tool('{}', mark=False)}  {MARK}"),
        "tools", "tool #3: duplicate tool name 'f' (also tool #1)"),
    Bad("description-a-number",
        tools(f"{{type: function, function: {{name: f, description: 3}}}}  {MARK}"), "tools",
        "description must be a string"),
    Bad("strict-a-string",
        tools(f"{{type: function, function: {{name: f, strict: 'yes'}}}}  {MARK}"), "tools",
        "strict must be true or false"),
    # parameters that are not a JSON Schema of an object
    Bad("parameters-a-string", tools(tool("object")), "tools",
        "parameters must be a JSON schema (a mapping)"),
    Bad("parameters-a-list", tools(tool("[1]")), "tools", "parameters must be a JSON schema"),
    Bad("parameters-type-string", tools(tool("{type: string}")), "tools",
        f"{NOT_OBJECT} (the arguments are an object), got type 'string'"),
    Bad("parameters-without-type", tools(tool("{properties: {a: {type: string}}}")), "tools",
        f"{NOT_OBJECT} (the arguments are an object), got type 'None'"),
    Bad("properties-a-number", tools(tool("{type: object, properties: 3}")), "tools",
        "invalid schema at $.properties"),
    Bad("required-a-string", tools(tool("{type: object, required: city}")), "tools",
        "invalid schema at $.required"),
    Bad("type-misspelt", tools(tool("{type: object, properties: {a: {type: integr}}}")),
        "tools", "invalid schema at $.properties.a.type"),
    Bad("additional-properties-a-string",
        tools(tool("{type: object, additionalProperties: 'no'}")), "tools",
        "invalid schema at $.additionalProperties"),
    Bad("min-properties-negative", tools(tool("{type: object, minProperties: -1}")), "tools",
        "invalid schema at $.minProperties"),
    Bad("enum-not-a-list", tools(tool("{type: object, properties: {a: {enum: 3}}}")), "tools",
        "invalid schema at $.properties.a.enum"),
    Bad("schema-keyword-a-list", tools(tool("{type: object, $schema: [1]}")), "tools",
        "$schema must be a string"),
    Bad("draft-04-invalid",
        tools(tool('{type: object, $schema: "http://json-schema.org/draft-04/schema#", '
                   "required: []}")),
        "tools", "invalid schema at $.required"),
    # $ref: never the network, a device, a FIFO or any other file
    Bad("ref-http", tools(tool('{type: object, properties: {a: {$ref: "@HTTP@/s.json"}}}')),
        "tools", REFUSED),
    Bad("ref-http-top", tools(tool('{type: object, $ref: "@HTTP@/s.json"}')), "tools", REFUSED),
    Bad("ref-https", tools(tool('{type: object, $ref: "https://example.invalid/s.json"}')),
        "tools", REFUSED),
    Bad("ref-dev-zero", tools(tool('{type: object, $ref: "file:///dev/zero"}')), "tools",
        REFUSED),
    Bad("ref-dev-zero-path", tools(tool('{type: object, $ref: "/dev/zero"}')), "tools", REFUSED),
    Bad("ref-dev-zero-deep",
        tools(tool('{type: object, properties: {a: {items: {anyOf: [{$ref: "file:///dev/zero"}]}}}}')),
        "tools", REFUSED),
    Bad("ref-fifo-url", tools(tool('{type: object, $ref: "file://@FIFO@"}')), "tools", REFUSED),
    Bad("ref-fifo-path", tools(tool('{type: object, $ref: "@FIFO@"}')), "tools", REFUSED),
    Bad("ref-project-file", tools(tool('{type: object, $ref: "@FILE@"}')), "tools", REFUSED),
    Bad("ref-relative-file", tools(tool('{type: object, $ref: "schema.json"}')), "tools",
        REFUSED),
    Bad("ref-parent-file", tools(tool('{type: object, $ref: "../outside.json"}')), "tools",
        REFUSED),
    Bad("ref-etc-passwd", tools(tool('{type: object, $ref: "file:///etc/passwd"}')), "tools",
        REFUSED),
    Bad("ref-with-id-base",
        tools(tool('{type: object, $id: "@HTTP@/base/", $ref: "other.json"}')), "tools",
        REFUSED),
    Bad("dynamic-ref-http", tools(tool('{type: object, $dynamicRef: "@HTTP@/d.json"}')),
        "tools", REFUSED),
    Bad("recursive-ref-http", tools(tool('{type: object, $recursiveRef: "@HTTP@/r.json"}')),
        "tools", REFUSED),
    Bad("ref-data-url", tools(tool('{type: object, $ref: "data:application/json,{}"}')),
        "tools", REFUSED),
    Bad("ref-missing-def", tools(_weird("#/$defs/missing")),
        "tools", "schema $ref '#/$defs/missing' points at nothing in the schema"),
    Bad("ref-missing-definitions", tools(_weird("#/definitions/x")), "tools",
        "points at nothing in the schema"),
    Bad("ref-bad-pointer", tools(_weird("#/%zz/~9")), "tools", "points at nothing"),
    Bad("ref-inside-params-key",
        HEAD + "  params:\n    tools:\n"
        f"      - {PARAMS_REF}\n" + CASE,
        "tools", REFUSED),
    Bad("ref-in-case-tools",
        HEAD + "cases:\n  - id: a\n    prompt: hi\n    tools:\n"
        f"      - {ZERO_REF}\n",
        "tools", REFUSED),
    # tool_choice and parallel_tool_calls
    Bad("tool-choice-unknown-word", tools(F, extra=f"  tool_choice: always  {MARK}\n"),
        "tool_choice", "must be auto, required, none"),
    Bad("tool-choice-name-a-number",
        tools(F, extra=f"  tool_choice: {{type: function, function: {{name: 3}}}}  {MARK}\n"),
        "tool_choice", "must be auto, required, none"),
    Bad("tool-choice-not-offered",
        tools(F, extra=f"  tool_choice: {{type: function, function: {{name: g}}}}  {MARK}\n"),
        "tool_choice", "names 'g', which is not an offered tool (f)"),
    Bad("tool-choice-misspelt",
        tools(tool("{type: object}", name="get_weather", mark=False),
              extra="  tool_choice: {type: function, function: {name: get_wether}}  #!\n"),
        "tool_choice", "(did you mean 'get_weather'?)"),
    Bad("tool-choice-without-tools", fmt("tool_choice", "required"), "tool_choice",
        ONLY_WITH_TOOLS),
    Bad("tool-choice-none-without-tools", fmt("tool_choice", "none"), "tool_choice",
        ONLY_WITH_TOOLS),
    Bad("tool-choice-default-case-tools-drop-it",
        HEAD + f"  tool_choice: {{type: function, function: {{name: f}}}}  {MARK}\n"
        "cases:\n  - id: a\n    prompt: hi\n"
        "    tools: [{type: function, function: {name: g}}]\n",
        "tool_choice", "names 'f', which is not an offered tool (g)"),
    Bad("parallel-a-string", tools(F, extra=f"  parallel_tool_calls: 'yes'  {MARK}\n"),
        "parallel_tool_calls", "must be true or false"),
    Bad("parallel-without-tools", fmt("parallel_tool_calls", "true"), "parallel_tool_calls",
        ONLY_WITH_TOOLS),
    Bad("tool-choice-in-params-without-tools",
        HEAD + f"  params: {{tool_choice: required}}  {MARK}\n" + CASE, "tool_choice",
        ONLY_WITH_TOOLS),
    # response_format
    Bad("format-a-word", fmt("response_format", "json"), "response_format",
        "must be {type: json_schema"),
    Bad("format-type-unknown", fmt("response_format", "{type: xml}"), "response_format",
        "must be {type: json_schema"),
    Bad("format-without-json-schema", fmt("response_format", "{type: json_schema}"),
        "response_format", "json_schema needs a schema (a mapping) and a name"),
    Bad("format-schema-a-list",
        fmt("response_format", "{type: json_schema, json_schema: {name: n, schema: [1]}}"),
        "response_format", "json_schema needs a schema (a mapping)"),
    Bad("format-without-name",
        fmt("response_format", "{type: json_schema, json_schema: {schema: {type: object}}}"),
        "response_format", "json_schema needs a name of 1 to 64 letters"),
    Bad("format-name-with-space",
        fmt("response_format",
            "{type: json_schema, json_schema: {name: 'my schema', schema: {type: object}}}"),
        "response_format", "got 'my schema'"),
    Bad("format-name-a-number",
        fmt("response_format", "{type: json_schema, json_schema: {name: 3, schema: {}}}"),
        "response_format", "got '3'"),
    Bad("format-strict-a-string",
        fmt("response_format",
            "{type: json_schema, json_schema: {name: n, strict: 'true', schema: {}}}"),
        "response_format", "strict must be true or false"),
    Bad("format-schema-invalid",
        fmt("response_format",
            "{type: json_schema, json_schema: {name: n, schema: {type: objekt}}}"),
        "response_format", "json_schema: schema: invalid schema at $.type"),
    Bad("format-schema-ref-http",
        fmt("response_format",
            '{type: json_schema, json_schema: {name: n, schema: {$ref: "@HTTP@/f.json"}}}'),
        "response_format", REFUSED),
    Bad("format-schema-ref-dev-zero",
        fmt("response_format",
            '{type: json_schema, json_schema: {name: n, schema: {$ref: "file:///dev/zero"}}}'),
        "response_format", REFUSED),
    # tool calls and results in a case's history
    Bad("result-without-call", history(USER, f"{RESULT}  {MARK}"), "tool_call_id",
        "'c1' answers no tool call of the assistant message just before it"),
    Bad("result-wrong-id",
        history(USER, CALL, f"{{role: tool, tool_call_id: c9, content: x}}  {MARK}"),
        "tool_call_id", "'c9' answers no tool call of the assistant message just before it "
        "(calls awaiting a result: 'c1')"),
    Bad("result-after-user", history(USER, f"{CALL}  {MARK}", USER, RESULT), "tool_calls",
        "tool call 'c1' (f) has no tool result"),
    Bad("result-answered-twice", history(USER, CALL, RESULT, f"{RESULT}  {MARK}"),
        "tool_call_id", "(calls awaiting a result: none)"),
    Bad("call-unanswered-then-user", history(USER, f"{CALL}  {MARK}", USER), "tool_calls",
        "has no tool result: follow the assistant message with {role: tool"),
    Bad("call-unanswered-last", history(USER, f"{CALL}  {MARK}"), "tool_calls",
        "tool call 'c1' (f) has no tool result"),
    Bad("call-ids-shared",
        history(USER, "{role: assistant, content: null, tool_calls: ["
                "{id: c1, function: {name: f, arguments: {}}}, "
                f"{{id: c1, function: {{name: f, arguments: {{}}}}}}]}}  {MARK}", RESULT),
        "tool_calls", "two tool calls share an id"),
    Bad("call-without-id",
        history(USER, "{role: assistant, content: null, tool_calls: "
                f"[{{function: {{name: f, arguments: {{}}}}}}]}}  {MARK}"),
        "tool_calls", "call 'f' needs an id"),
    Bad("call-id-empty",
        history(USER, "{role: assistant, content: null, tool_calls: "
                f"[{{id: '', function: {{name: f, arguments: {{}}}}}}]}}  {MARK}"),
        "tool_calls", "call 'f' needs an id"),
    Bad("arguments-not-json",
        history(USER, "{role: assistant, content: null, tool_calls: "
                f"[{{id: c1, function: {{name: f, arguments: 'city=Oslo'}}}}]}}  {MARK}", RESULT),
        "tool_calls", f"call 'f': {NOT_AN_OBJECT}"),
    Bad("arguments-json-list",
        history(USER, "{role: assistant, content: null, tool_calls: "
                f"[{{id: c1, function: {{name: f, arguments: '[1, 2]'}}}}]}}  {MARK}", RESULT),
        "tool_calls", NOT_AN_OBJECT),
    Bad("arguments-a-number",
        history(USER, "{role: assistant, content: null, tool_calls: "
                f"[{{id: c1, function: {{name: f, arguments: 3}}}}]}}  {MARK}", RESULT),
        "tool_calls", NOT_AN_OBJECT),
    Bad("arguments-a-list",
        history(USER, "{role: assistant, content: null, tool_calls: "
                f"[{{id: c1, function: {{name: f, arguments: [1]}}}}]}}  {MARK}", RESULT),
        "tool_calls", NOT_AN_OBJECT),
    Bad("arguments-json-null",
        history(USER, "{role: assistant, content: null, tool_calls: "
                f"[{{id: c1, function: {{name: f, arguments: 'null'}}}}]}}  {MARK}", RESULT),
        "tool_calls", NOT_AN_OBJECT),
    Bad("tool-calls-empty",
        history(USER, f"{{role: assistant, content: null, tool_calls: []}}  {MARK}"),
        "tool_calls", "must be a non-empty list of {id, type: function"),
    Bad("tool-calls-a-string",
        history(USER, f"{{role: assistant, content: null, tool_calls: f}}  {MARK}"),
        "tool_calls", "must be a non-empty list"),
    Bad("tool-calls-on-user",
        history(f"{{role: user, content: hi, tool_calls: [{{id: c1}}]}}  {MARK}"),
        "tool_calls", "only an assistant message carries tool_calls"),
    Bad("call-function-without-name",
        history(USER, "{role: assistant, content: null, tool_calls: "
                f"[{{id: c1, function: {{arguments: {{}}}}}}]}}  {MARK}"),
        "tool_calls", "each needs {id, type: function, function: {name, arguments}}"),
    Bad("result-without-id", history(USER, CALL, f"{{role: tool, content: sunny}}  {MARK}"),
        "tool_call_id", "a tool message needs tool_call_id"),
]  # fmt: skip


def _mark_line(text: str) -> int:
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if line.endswith(MARK)]
    assert len(lines) == 1, f"exactly one line must end with {MARK}"
    return lines[0]


@dataclass
class Guard:
    """What loading opened and where it connected, while ``active``; a device or a FIFO is
    never opened (the attempt is recorded and refused)."""

    active: bool = False
    opened: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    connected: list[Any] = field(default_factory=list)

    def user_files(self, project: Path) -> set[str]:
        """The files opened in the project or under /etc and /dev (not the libraries' own)."""
        roots = (str(project), "/etc", "/dev")
        return {name for name in self.opened if name.startswith(roots)}


@pytest.fixture
def guard(monkeypatch: pytest.MonkeyPatch) -> Guard:
    """Record every file opened and every connection made while active."""
    seen = Guard()

    def watch(real: Callable[..., Any]) -> Callable[..., Any]:
        def opener(file: Any, *args: Any, **kwargs: Any) -> Any:
            name = os.fspath(file) if isinstance(file, str | os.PathLike) else str(file)
            if seen.active:
                seen.opened.append(os.path.abspath(name))
                if name.startswith("/dev/") or (os.path.exists(name) and Path(name).is_fifo()):
                    seen.refused.append(name)
                    raise AssertionError(f"opened {name}")
            return real(file, *args, **kwargs)

        return opener

    monkeypatch.setattr(builtins, "open", watch(builtins.open))
    monkeypatch.setattr(io, "open", watch(io.open))
    real_urlopen, real_connect = urllib.request.urlopen, socket.socket.connect

    def urlopen(url: Any, *args: Any, **kwargs: Any) -> Any:
        if seen.active:
            seen.connected.append(url)
            raise AssertionError(f"urlopen({url!r})")
        return real_urlopen(url, *args, **kwargs)

    def connect(sock: socket.socket, address: Any) -> Any:
        if seen.active:
            seen.connected.append(address)
            raise AssertionError(f"connect({address!r})")
        return real_connect(sock, address)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    monkeypatch.setattr(socket.socket, "connect", connect)
    return seen


@pytest.fixture(scope="module")
def http() -> Iterator[LoopbackServer]:
    """A server a ``$ref`` names: any connection to it would be counted."""
    with LoopbackServer() as server:
        yield server


def _project(tmp_path: Path, bad: Bad, http: LoopbackServer) -> tuple[Path, str]:
    fifo = tmp_path / "fifo.json"
    if not fifo.exists():
        os.mkfifo(fifo)
    schema = tmp_path / "schema.json"
    schema.write_text('{"type": "object"}')
    text = (
        bad.suite.replace("@HTTP@", http.url)
        .replace("@FIFO@", str(fifo))
        .replace("@FILE@", str(schema))
        .replace("@DEVZERO@", "/dev/zero")
    )
    path = tmp_path / SUITE_NAME
    path.write_text(text, encoding="utf-8")
    return path, text


@pytest.mark.parametrize("bad", SUITE_INPUTS, ids=[b.id for b in SUITE_INPUTS])
def test_a_hostile_tool_setting_is_one_clean_error_without_a_read_or_a_request(
    tmp_path: Path, http: LoopbackServer, bad: Bad, guard: Guard
) -> None:
    path, text = _project(tmp_path, bad, http)
    connections = http.connections
    guard.active = True
    with pytest.raises(SuiteError) as info:
        load_suite(path, tmp_path)
    guard.active = False
    message = str(info.value)
    assert message.startswith(f"{SUITE_NAME}:{_mark_line(text)}: {bad.key}: "), message
    assert bad.fragment in message, message
    assert "\n" not in message and "Traceback" not in message
    assert guard.user_files(tmp_path) == {str(path)}  # the suite, nothing it names
    assert guard.refused == [] and guard.connected == [] and http.connections == connections


ACCEPTED = {
    "local-ref-to-defs": tools(
        tool('{type: object, properties: {a: {$ref: "#/$defs/c"}}, $defs: {c: {type: string}}}')
    ),
    "empty-parameters": tools(tool("{}")),
    "no-parameters": tools("{type: function, function: {name: f}}"),
    "named-choice-offered": tools(
        F, extra="  tool_choice: {type: function, function: {name: f}}\n"
    ),
    "parallel-with-tools": tools(F, extra="  parallel_tool_calls: false\n"),
    "history-paired": history(USER, CALL, RESULT),
    "history-arguments-json-text": history(
        USER,
        "{role: assistant, content: null, tool_calls: "
        '[{id: c1, function: {name: f, arguments: \'{"city": "Oslo"}\'}}]}',
        RESULT,
        "{role: assistant, content: it is sunny}",
        USER,
    ),
    "format-named": fmt(
        "response_format", "{type: json_schema, json_schema: {name: inv-1, schema: {}}}", False
    ),
}


@pytest.mark.parametrize("text", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_settings_the_apis_take_still_load(tmp_path: Path, text: str, guard: Guard) -> None:
    path = tmp_path / SUITE_NAME
    path.write_text(text)
    guard.active = True
    assert len(load_suite(path, tmp_path).cases) == 1
    guard.active = False
    assert guard.user_files(tmp_path) == {str(path)} and guard.connected == []


@pytest.mark.parametrize(
    "ref", ["@HTTP@/t.json", "file:///dev/zero", "file://@FIFO@", "#/$defs/none"]
)
def test_the_tool_call_grader_never_fetches_a_schema(
    tmp_path: Path, http: LoopbackServer, guard: Guard, ref: str
) -> None:
    """Tools reach the grader from Python tests too: it checks their schemas like a suite."""
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    schema = {"type": "object", "properties": {"a": {"$ref": ref.replace("@FIFO@", str(fifo))}}}
    schema["properties"]["a"]["$ref"] = schema["properties"]["a"]["$ref"].replace(
        "@HTTP@", http.url
    )
    offered = ({"type": "function", "function": {"name": "f", "parameters": schema}},)
    call = {"id": "1", "name": "f", "arguments": {"a": 1}}
    answer = Answer("", {"tool_calls": [call]}, tool_calls=(call,), tools=offered)
    grader = build_grader(GraderSpec("tool_call", {"schema": True}, source="s.yaml:3"))
    connections = http.connections
    guard.active = True
    with pytest.raises(GraderConfigError, match=r"^s.yaml:3: tool_call: tool 'f': parameters: "):
        grader(answer)
    guard.active = False
    assert guard.user_files(tmp_path) == set() and guard.refused == []
    assert guard.connected == [] and http.connections == connections


def test_a_run_over_hostile_tool_schemas_stops_at_collection_without_a_request(
    pytester: pytest.Pytester, http: LoopbackServer
) -> None:
    fifo = pytester.path / "fifo.json"
    os.mkfifo(fifo)
    refs = {"web": f"{http.url}/s.json", "zero": "file:///dev/zero", "fifo": f"file://{fifo}"}
    for name, ref in refs.items():
        suite = tools(tool(f'{{type: object, $ref: "{ref}"}}'))
        (pytester.path / f"{name}.modelguard.yaml").write_text(suite)
    pytester.makefile(".toml", pyproject='[tool.modelguard]\nbaseline = "python:m:f"\n')
    connections = http.connections
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    line = _mark_line(tools(tool("{}")))
    result.stdout.fnmatch_lines(
        [
            f"*{name}.modelguard.yaml:{line}: tools: tool #1: function 'f': parameters: schema "
            f"$ref*{REFUSED}*"
            for name in sorted(refs)
        ]
    )
    assert "Traceback" not in result.stdout.str() and "INTERNALERROR" not in result.stdout.str()
    assert http.connections == connections


# ------------------------------------------------------ provider answers (loopback runs)

KEY = "planted-hostile-tools-value-4242"
TOKEN = "planted-url-token-value-7331"
SECRETS = ("hostile-tools-value", "url-token-value")  # in any echo of them, even partial
KEY_ENV = "MODELGUARD_HOSTILE_TOOLS_KEY"
SDK_KINDS = ("openai", "openai-responses", "anthropic")
R = "[redacted]"


@dataclass(frozen=True)
class Hostile:
    """An answer (or an error body) a provider sends, and what must be kept of it."""

    id: str
    reply: Reply | None = None
    error: tuple[int, str] | None = None  # (status, message) of an error body instead
    calls: tuple[tuple[str, Any], ...] | None = None  # (name, arguments) stored, in order
    text: str = ""
    ids: tuple[str, ...] | None = None  # the stored call ids, when they matter
    shown: str = ""  # a fragment of the item's error


def calls(*pairs: tuple[str, Any], **ids: str) -> Reply:
    """A reply of tool calls (name, arguments); ``id_0=...`` sets a call's id."""
    return Reply(
        "",
        tool_calls=tuple(
            {"name": name, "arguments": arguments, "id": ids.get(f"id_{i}")}
            for i, (name, arguments) in enumerate(pairs)
        ),
    )


ANSWERS = [
    # lone surrogates: stored as U+FFFD wherever they are
    Hostile("sur-name", calls(("f\ud800", {"a": 1})), calls=(("f\ufffd", {"a": 1}),)),
    Hostile("sur-args", calls(("f", {"x": "a\udc00b"})), calls=(("f", {"x": "a\ufffdb"}),)),
    Hostile("sur-arg-key", calls(("f", {"k\ud800": 1})), calls=(("f", {"k\ufffd": 1}),)),
    Hostile("sur-reversed-pair", calls(("f", {"l": ["\udc00\ud800"]})),
            calls=(("f", {"l": ["\ufffd\ufffd"]}),)),
    Hostile("sur-id", calls(("f", {}), id_0="call\udfff"), calls=(("f", {}),),
            ids=("call\ufffd",)),
    Hostile("sur-text", Reply("t\ud83d"), text="t\ufffd"),
    Hostile("sur-everywhere", Reply("\udbff", tool_calls=(
        {"name": "\udbff", "arguments": {"\udbff": ["\udbff"]}, "id": "\udbff"},)),
            text="\ufffd", calls=(("\ufffd", {"\ufffd": ["\ufffd"]}),), ids=("\ufffd",)),
    Hostile("valid-pair-kept", calls(("f", {"e": "\U0001f600"})),
            calls=(("f", {"e": "\U0001f600"}),)),
    # an API key echoed: never stored
    Hostile("key-args", calls(("f", {"token": KEY})), calls=(("f", {"token": R}),)),
    Hostile("key-name", calls((f"f_{KEY}", {})), calls=((f"f_{R}", {}),)),
    Hostile("key-arg-key", calls(("f", {KEY: 1})), calls=(("f", {R: 1}),)),
    Hostile("key-nested", calls(("f", {"a": [{"b": f"x{KEY}y"}]})),
            calls=(("f", {"a": [{"b": f"x{R}y"}]}),)),
    Hostile("key-text", Reply(f"echo {KEY}"), text=f"echo {R}"),
    Hostile("key-id", calls(("f", {}), id_0=f"call_{KEY}"), calls=(("f", {}),),
            ids=(f"call_{R}",)),
    Hostile("key-second-call", calls(("f", {}), ("g", {"k": KEY})),
            calls=(("f", {}), ("g", {"k": R}))),
    # a base_url query token echoed: never stored
    Hostile("token-args", calls(("f", {"url": f"https://h/?tok={TOKEN}"})),
            calls=(("f", {"url": f"https://h/?tok={R}"}),)),
    Hostile("token-name", calls((f"g{TOKEN}", {})), calls=((f"g{R}", {}),)),
    Hostile("token-text", Reply(f"token {TOKEN}"), text=f"token {R}"),
    Hostile("key-and-token", calls(("f", {"k": KEY, "t": TOKEN})),
            calls=(("f", {"k": R, "t": R}),)),
    # odd tool calls: kept as sent
    Hostile("custom-tool", Reply("", tool_calls=(
        {"name": "grep", "arguments": "TODO fix", "type": "custom"},)),
            calls=(("grep", "TODO fix"),)),
    Hostile("custom-tool-key", Reply("", tool_calls=(
        {"name": "grep", "arguments": f"use {KEY}", "type": "custom"},)),
            calls=(("grep", f"use {R}"),)),
    Hostile("empty-name", calls(("", {"a": 1})), calls=(("", {"a": 1}),)),
    Hostile("null-arguments", calls(("f", None)), calls=(("f", None),)),
    Hostile("nul-character", calls(("f", {"s": "a\x00b"})), calls=(("f", {"s": "a\x00b"}),)),
    Hostile("thirty-calls", calls(*((f"f{i}", {"i": i}) for i in range(30))),
            calls=tuple((f"f{i}", {"i": i}) for i in range(30))),
    # error bodies that quote a secret: the item's error is scrubbed
    Hostile("error-quotes-key", error=(400, f"bad request with key {KEY}"),
            shown=f"bad request with key {R}"),
    Hostile("error-quotes-token", error=(404, f"no deployment at /v1/?tok={TOKEN}"),
            shown=f"no deployment at /v1/?tok={R}"),
    Hostile("error-quotes-auth-header",
            error=(401, f'headers: {{"Authorization": "Bearer {KEY[2:-2]}"}}'),
            shown=f'"Authorization": "Bearer {R}"'),
    Hostile("error-quotes-x-api-key", error=(403, f"x-api-key: {KEY[3:]}; denied"),
            shown=f"x-api-key: {R}; denied"),
]  # fmt: skip


class HostileServer(LoopbackServer):
    """Answers each case's prompt (``case <id>``) with its hostile answer or error body."""

    def __init__(self) -> None:
        super().__init__(self.reply)
        self.by_id = {answer.id: answer for answer in ANSWERS}

    def reply(self, call: Call) -> Reply:
        found = self.by_id[call.prompt.split()[-1]].reply
        assert found is not None
        return found

    async def _answer(self, call: Call, n: int, writer: asyncio.StreamWriter) -> bool:
        error = self.by_id[call.prompt.split()[-1]].error
        if error is None:
            return await super()._answer(call, n, writer)
        status, message = error
        body = loopback._error_body(call.wire, status, message)
        writer.write(loopback._response(status, json.dumps(body).encode()))
        return True


PYTHON_MODELS = """
from pytest_modelguard import Completion

CALLS = {
    "sur-name": [{"id": "1", "name": "f\\ud800", "arguments": {"a": 1}}],
    "sur-args": [{"id": "1", "name": "f", "arguments": {"x": "a\\udc00b", "k\\ud800": 1}}],
    "sur-id": [{"id": "call\\udfff", "name": "f", "arguments": {}}],
    "args-a-set": [{"id": "1", "name": "f", "arguments": {1, 2}}],
    "name-a-number": [{"id": "1", "name": 3, "arguments": {}}],
}

def answer(request):
    case = request.messages[-1]["content"].split()[-1]
    with open("calls.log", "a") as log:
        log.write(case + "\\n")
    return Completion(text="", tool_calls=tuple(CALLS[case]))
"""
PYTHON_ANSWERS = [
    Hostile("sur-name", calls=(("f\ufffd", {"a": 1}),)),
    Hostile("sur-args", calls=(("f", {"x": "a\ufffdb", "k\ufffd": 1}),)),
    Hostile("sur-id", calls=(("f", {}),), ids=("call\ufffd",)),
    Hostile("args-a-set", shown="returned bad tool_calls: not JSON data"),
    Hostile("name-a-number", shown="returned bad tool_calls: each tool call needs a 'name'"),
]
PROJECT = """
[tool.modelguard]
baseline = "{baseline}"
record = "once"
max_attempts = 1
retry_delay_s = 0
resamples = 1000

[tool.modelguard.providers.sim]
kind = "{kind}"
base_url = "{url}/?tok={token}"
api_key_env = "{key_env}"
"""
REPORTS = (
    "--modelguard-markdown=out/r.md", "--modelguard-html=out/r.html", "--modelguard-save",
    "--junitxml=out/j.xml", "-o", "junit_logging=all", "-rA", "-v",
)  # fmt: skip


@dataclass
class Outcome:
    """Both runs of one provider kind's project, kept for every case's test to check."""

    rets: tuple[int, int]
    first: dict[str, dict[str, Any]]  # case id → its JSON report record, after recording
    replay: dict[str, dict[str, Any]]  # the same after replaying with record none
    calls: tuple[int, int]  # calls the server got in each run
    leaks: dict[str, list[str]]  # file or "output" → the secret fragments it holds
    output: str


_OUTCOMES: dict[str, Outcome | str] = {}  # or why the runs could not be made


@pytest.fixture(scope="module")
def _warm(tmp_path_factory: pytest.TempPathFactory) -> None:
    warm_sdks(tmp_path_factory.mktemp("warm"))


def _suite(answers: list[Hostile]) -> str:
    cases = "".join(f"  - {{id: {a.id}, prompt: 'case {a.id}'}}\n" for a in answers)
    offer = "  tools: [{type: function, function: {name: f, parameters: {type: object}}}]\n"
    return HEAD + offer + "cases:\n" + cases


def _records(path: Path) -> dict[str, dict[str, Any]]:
    return {case["id"]: case for case in json.loads(path.read_text("utf-8"))["cases"]}


def _leaks(root: Path, output: str) -> dict[str, list[str]]:
    found = {
        str(p.relative_to(root)): hits
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "pyproject.toml"
        if (hits := [s for s in SECRETS if s.encode() in p.read_bytes()])
    }
    hits = [s for s in SECRETS if s in output]
    return {**found, "output": hits} if hits else found


def _calls(kind: str, srv: LoopbackServer, project: Path) -> int:
    """Calls made so far: the server's, or the lines the python model logged."""
    if kind != "python":
        return srv.count()
    log = project / "calls.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def _run_kind(kind: str, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Outcome:
    """Record every hostile answer of ``kind``, then replay them; scan what was written."""
    monkeypatch.setenv(KEY_ENV, KEY)
    answers = PYTHON_ANSWERS if kind == "python" else ANSWERS
    pytester.makefile(".modelguard.yaml", hostile=_suite(answers))
    with HostileServer() as srv:
        url = srv.anthropic_base_url if kind == "anthropic" else srv.openai_base_url
        if kind == "python":
            pytester.makepyfile(hostile_models=PYTHON_MODELS)
            pytester.syspathinsert()
        baseline = "python:hostile_models:answer" if kind == "python" else "sim:base"
        config = PROJECT.format(
            baseline=baseline, kind="openai" if kind == "python" else kind, url=url,
            token=TOKEN, key_env=KEY_ENV,
        )  # fmt: skip
        pytester.makefile(".toml", pyproject=config)
        first = pytester.runpytest(
            "-p", "no:cacheprovider", "--modelguard-json=out/1.json", *REPORTS
        )
        made = _calls(kind, srv, pytester.path)
        again = pytester.runpytest(
            "-p", "no:cacheprovider", "--modelguard-record", "none",
            "--modelguard-json=out/2.json", *REPORTS,
        )  # fmt: skip
        replayed = _calls(kind, srv, pytester.path) - made
    output = "\n".join(first.outlines + first.errlines + again.outlines + again.errlines)
    return Outcome(
        rets=(int(first.ret), int(again.ret)),
        first=_records(pytester.path / "out" / "1.json"),
        replay=_records(pytester.path / "out" / "2.json"),
        calls=(made, replayed),
        leaks=_leaks(pytester.path, output),
        output=output,
    )


def _outcome(kind: str, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Outcome:
    """The runs of ``kind``, made by the first case that needs them (and tried only once)."""
    if kind not in _OUTCOMES:
        try:
            _OUTCOMES[kind] = _run_kind(kind, pytester, monkeypatch)
        except Exception as exc:
            _OUTCOMES[kind] = f"the {kind} runs failed: {exc!r}"
    found = _OUTCOMES[kind]
    if isinstance(found, str):
        pytest.fail(found)
    return found


def _stored(record: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple((c["name"], c["arguments"]) for c in record["tool_calls"])


PROVIDER_INPUTS = [
    pytest.param(kind, answer, id=f"{kind}-{answer.id}") for kind in SDK_KINDS for answer in ANSWERS
] + [pytest.param("python", answer, id=f"python-{answer.id}") for answer in PYTHON_ANSWERS]


@pytest.mark.usefixtures("_warm")
@pytest.mark.parametrize(("kind", "answer"), PROVIDER_INPUTS)
def test_a_hostile_provider_answer_is_stored_valid_and_scrubbed_and_replays_free(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, kind: str, answer: Hostile
) -> None:
    outcome = _outcome(kind, pytester, monkeypatch)
    assert "INTERNALERROR" not in outcome.output and "Traceback" not in outcome.output
    # some cases are item errors by design: the run fails, it never crashes
    assert outcome.rets == (pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.TESTS_FAILED)
    assert outcome.leaks == {}  # no key or token in any file written, nor in the output
    assert outcome.calls[0] >= 1 and outcome.calls[1] == 0  # the replay paid nothing
    first, replay = outcome.first[answer.id], outcome.replay[answer.id]
    if answer.shown:  # an error: scrubbed; not an answer, so nothing was recorded
        assert answer.shown in (first["error"] or ""), first["error"]
        assert "no recorded answer" in (replay["error"] or ""), replay["error"]
        return
    for record in (first, replay):
        assert record["error"] is None, record["error"]
        assert record["output"] == answer.text
        assert _stored(record) == (answer.calls or ())
        if answer.ids is not None:
            assert tuple(c["id"] for c in record["tool_calls"]) == answer.ids
    assert replay["cached"] is True


@pytest.mark.parametrize("arguments", ["city=Oslo", "[1, 2]", 3, None, "null"])
def test_anthropic_never_sends_non_object_history_arguments_as_an_empty_object(
    arguments: Any,
) -> None:
    """A Python test's history bypasses the suite checks: the translation refuses it."""
    from pytest_modelguard.engine.providers.tools import anthropic_messages

    function = {"name": "f", "arguments": arguments}
    history = [
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c", "function": function}]}
    ]
    with pytest.raises(
        ValueError, match=r"tool call 'f' in the history has arguments that are not"
    ):
        anthropic_messages(history)


def test_the_tool_call_grader_resolves_references_inside_the_schema(guard: Guard) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"$ref": "#/$defs/city"}},
        "$defs": {"city": {"type": "string"}},
    }
    offered = ({"type": "function", "function": {"name": "f", "parameters": schema}},)
    grader = build_grader(GraderSpec("tool_call", {"schema": True}, source="s.yaml:3"))
    scores = []
    guard.active = True
    for city in ("Oslo", 3):
        call = {"id": "1", "name": "f", "arguments": {"city": city}}
        scores.append(grader(Answer("", {"tool_calls": [call]}, tool_calls=(call,), tools=offered)))
    guard.active = False
    assert [grade.score for grade in scores] == [1.0, 0.0]
    assert "$.city" in scores[1].reason and guard.connected == []


@pytest.mark.parametrize(
    ("url", "secrets"),
    [
        ("https://h/v1?api_key=abcdefgh1234&x=1", ("abcdefgh1234",)),
        ("https://user:hunter2hunter2@h/v1", ("hunter2hunter2",)),
        ("https://h/openai?api-version=2024-10-21", ()),  # a date, not a token
        ("https://h/openai?api-version=2024-02-15-preview&flag=true", ()),
        ("https://h/v1?tok=short", ()),  # too short to scrub without mauling answers
        ("https://h/v1", ()),
        ("http://[::1", ()),  # unparsable: nothing to take from it
    ],
)
def test_base_url_tokens_scrubbed_are_its_password_and_long_query_values(
    url: str, secrets: tuple[str, ...]
) -> None:
    from pytest_modelguard.core.safety import url_secrets

    assert url_secrets(url) == secrets
