"""Tool calls end to end: suites with tools, both wire formats, cache, report, the grader."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from loopback import Call, LoopbackServer, Reply

from pytest_modelguard.grading import Answer, GraderSpec, build_grader

CITIES = ["Paris", "Oslo", "Lima", "Rome", "Kyiv", "Quito", "Doha", "Bern", "Riga", "Baku"]


def respond(call: Call) -> Reply:
    """base-1 and same-1 call the tool the prompt asks for; wrong-1 swaps it on odd cases."""
    if not call.tool_names:
        return Reply("no tools offered")
    kind, _, city = call.prompt.partition(" in ")
    number = CITIES.index(city) if city in CITIES else 0
    tool = "get_weather" if kind == "weather" else "get_time"
    if call.model == "wrong-1" and number % 2:
        tool = "get_time" if tool == "get_weather" else "get_weather"
    if call.model == "text-1":
        return Reply(f"It is sunny in {city}.")
    return Reply("", tool_calls=({"name": tool, "arguments": {"city": city}},))


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(respond) as srv:
        yield srv


TOOLS = """\
  tools:
    - type: function
      function:
        name: get_weather
        description: Current weather in a city
        parameters: {type: object, properties: {city: {type: string}}, required: [city]}
    - type: function
      function:
        name: get_time
        parameters: {type: object, properties: {city: {type: string}}, required: [city]}
  tool_choice: required
"""


def suite_text() -> str:
    cases = []
    for i, city in enumerate(CITIES * 2):
        kind = "weather" if i < len(CITIES) else "time"
        tool = f"get_{kind}"
        cases.append(
            f"  - id: c{i:02d}\n    prompt: '{kind} in {city}'\n"
            f"    expected: {{tool_calls: [{{name: {tool}, arguments: {{city: {city}}}}}]}}"
        )
    return "defaults:\n" + TOOLS + "  graders: [tool_call]\ncases:\n" + "\n".join(cases) + "\n"


def make_project(pytester: pytest.Pytester, server: LoopbackServer, kind: str) -> None:
    url = server.anthropic_base_url if kind == "anthropic" else server.openai_base_url
    pytester.makefile(
        ".toml",
        pyproject=f"""
[tool.modelguard]
baseline = "sim:base-1"
models = ["sim:same-1", "sim:wrong-1"]
[tool.modelguard.providers.sim]
kind = "{kind}"
base_url = "{url}"
api_key_env = "SIM_KEY"
""",
    )
    pytester.makefile(".modelguard.yaml", tools=suite_text())


@pytest.mark.parametrize("kind", ["openai", "openai-responses", "anthropic"])
def test_wrong_tool_on_half_the_cases_is_a_regression_identical_calls_pass(
    pytester: pytest.Pytester,
    server: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    monkeypatch.setenv("SIM_KEY", "sk-sim-tools-test")
    make_project(pytester, server, kind)
    result = pytester.runpytest(
        "--modelguard-record=once",
        "--modelguard-json=r.json",
        "--modelguard-markdown=r.md",
        "--modelguard-html=r.html",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    shown = '→ get_time({"city": "Oslo"})'
    result.stdout.fnmatch_lines([  # the worst cases show both answers' tool calls
        "    c01  1.00 → 0.00  (tool_call: 0/1 expected call(s) matched*",
        """      baseline:  '→ get_weather({"city": "Oslo"})'""",
        f"      candidate: '{shown}'",
    ])  # fmt: skip
    assert shown in (pytester.path / "r.md").read_text()
    assert json.dumps(shown, ensure_ascii=False)[1:-1] in (pytester.path / "r.html").read_text()
    report = json.loads((pytester.path / "r.json").read_text())
    models = report["models"]
    assert models["sim:same-1"]["verdict"] == "pass"
    assert models["sim:same-1"]["mean_score"] == 1.0
    assert models["sim:wrong-1"]["verdict"] == "regression"
    assert models["sim:wrong-1"]["mean_score"] == 0.5
    case = next(c for c in report["cases"] if c["id"] == "c01" and c["model"] == "sim:wrong-1")
    assert case["tool_calls"] == [
        {"id": "call_0", "name": "get_time", "arguments": {"city": "Oslo"}}
    ]
    assert "0/1 expected call(s) matched" in case["grades"][0]["reason"]
    sent = server.calls[0].params
    if kind == "anthropic":  # translated: input_schema, and required becomes any
        assert sent["tools"][0]["input_schema"]["required"] == ["city"]
        assert sent["tool_choice"] == {"type": "any"}
    elif kind == "openai-responses":  # flat function tools on /v1/responses
        assert server.calls[0].path == "/v1/responses"
        assert sent["tools"][0]["name"] == "get_weather"
        assert sent["tool_choice"] == "required"
    else:
        assert sent["tools"][0]["function"]["name"] == "get_weather"
        assert sent["tool_choice"] == "required"
    entry = next((pytester.path / ".modelguard" / "answers").rglob("*.json"))
    stored = json.loads(entry.read_text())
    assert stored["completion"]["tool_calls"][0]["name"] in ("get_weather", "get_time")
    assert stored["request"]["params"]["tools"][0]["function"]["name"] == "get_weather"
    calls = server.count()
    again = pytester.runpytest("--modelguard-json=r2.json")  # replayed offline, same verdicts
    assert server.count() == calls
    replayed = json.loads((pytester.path / "r2.json").read_text())["models"]
    assert replayed["sim:wrong-1"]["verdict"] == "regression"
    assert again.ret == pytest.ExitCode.TESTS_FAILED


def test_changing_the_tools_changes_the_cache_key() -> None:
    from pytest_modelguard.records.calls import Request

    messages = ({"role": "user", "content": "hi"},)
    a = Request(
        "openai", "m", messages, {"tools": [{"type": "function", "function": {"name": "a"}}]}
    )
    b = Request(
        "openai", "m", messages, {"tools": [{"type": "function", "function": {"name": "b"}}]}
    )
    c = Request("openai", "m", messages, {**a.params, "tool_choice": "required"})
    assert len({a.key(), b.key(), c.key()}) == 3


MULTI_TURN = """\
defaults:
  tools:
    - {type: function, function: {name: get_weather, parameters: {type: object}}}
  graders: [{contains: sunny}]
cases:
  - id: t1
    messages:
      - {role: user, content: weather in Paris}
      - role: assistant
        content: null
        tool_calls:
          - {id: call_1, type: function, function: {name: get_weather, arguments: {city: Paris}}}
      - {role: tool, tool_call_id: call_1, content: "sunny, 21C"}
"""


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_multi_turn_history_is_sent_in_each_wire_format(
    pytester: pytest.Pytester,
    server: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    monkeypatch.setenv("SIM_KEY", "sk-sim-tools-test")
    make_project(pytester, server, kind)
    (pytester.path / "tools.modelguard.yaml").write_text(MULTI_TURN)
    pytester.runpytest("--modelguard-record=once")
    call = server.calls[0]
    assert [m["role"] for m in call.messages] == [
        "user",
        "assistant",
        "user" if kind == "anthropic" else "tool",
    ]
    assert call.params.get("tools")


def grade(options: object, answer: Answer) -> tuple[float, str]:
    built = build_grader(GraderSpec("tool_call", options, source="s.yaml:3"))
    result = built(answer)
    return result.score, result.reason


EXPECTED = {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}
WEATHER = {"id": "x", "name": "get_weather", "arguments": {"city": "Paris", "units": "C"}}


def test_tool_call_grader_options() -> None:
    answer = Answer("", EXPECTED, tool_calls=(WEATHER,))
    assert grade(None, answer)[0] == 0.0  # exact arguments: the extra key differs
    assert grade({"arguments": "subset"}, answer)[0] == 1.0
    assert grade({"arguments": "ignore"}, answer)[0] == 1.0
    text = Answer("It is sunny.", EXPECTED)
    score, reason = grade(None, text)
    assert score == 0.0 and "answered with text, no tool call" in reason
    json_text = {"id": "y", "name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert grade(None, Answer("", EXPECTED, tool_calls=(json_text,)))[0] == 1.0


def test_tool_call_grader_order_baseline_and_schema() -> None:
    time_call = {"name": "get_time", "arguments": {"city": "Oslo"}}
    weather = {"name": "get_weather", "arguments": {"city": "Paris"}}
    both = {"tool_calls": [weather, time_call]}
    swapped = Answer("", both, tool_calls=(time_call, weather))
    assert grade(None, swapped)[0] == 0.0
    assert grade({"ordered": False}, swapped)[0] == 1.0
    against = Answer("", None, tool_calls=(weather,), baseline_tool_calls=(weather, time_call))
    assert grade("baseline", against)[0] == 0.5
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    tools = ({"type": "function", "function": {"name": "get_weather", "parameters": schema}},)
    bad = {"name": "get_weather", "arguments": {"city": 3}}
    answer = Answer("", EXPECTED, tool_calls=(bad,), tools=tools)
    score, reason = grade({"schema": True, "arguments": "ignore"}, answer)
    assert score == 0.0 and "$.city" in reason


def test_tool_call_grader_without_reference_names_the_fix() -> None:
    built = build_grader(GraderSpec("tool_call", None, source="s.yaml:3"))
    with pytest.raises(ValueError, match=r"s.yaml:3: tool_call: case 'c' has nothing to compare"):
        built(Answer("", None, case_id="c"))


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("  tools: get_weather\n", "tools: must be a non-empty list of tools"),
        ("  tools: [{type: function, function: {}}]\n", "tools: tool #1: function needs a name"),
        ("  tool_choice: always\n", "tool_choice: must be auto, required, none"),
        ("  response_format: {type: xml}\n", "response_format: must be {type: json_schema"),
    ],
)
def test_bad_tools_name_file_line_and_key(tmp_path: object, snippet: str, message: str) -> None:
    from pathlib import Path

    from pytest_modelguard.suite import SuiteError, load_suite

    path = Path(str(tmp_path)) / "t.modelguard.yaml"
    path.write_text(
        "defaults:\n" + snippet + "  graders: [tool_call]\ncases:\n  - {id: a, prompt: x}\n"
    )
    with pytest.raises(SuiteError, match=rf"t.modelguard.yaml:2: {message}"):
        load_suite(path)
