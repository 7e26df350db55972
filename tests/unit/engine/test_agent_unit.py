"""Agent cases in-process: what suites may write (errors with file, line and key), the
loop's stops, tools that raise, hang, return what JSON cannot carry, huge or secret
output, recorded results matched or not, and the trajectory graders' modes."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_modelguard.engine.agent import AgentRun, run_now
from pytest_modelguard.engine.agent_tools import RESULT_CHARS, ToolBox
from pytest_modelguard.grading import Answer, GraderSpec, build_grader
from pytest_modelguard.records.calls import Answered, Completion, Request, Usage
from pytest_modelguard.suite import SuiteError, load_suite
from pytest_modelguard.suite.agent import AgentSpec, ToolImpl

TOOLS = '''\
import time


def lookup_order(order_id: int) -> dict:
    """Look an order up.

    Args:
        order_id: the order's number
    """
    return {"order_id": order_id, "status": "shipped"}


def explode(reason: str) -> str:
    raise RuntimeError(f"tool broke: {reason}")


def _private() -> None:
    pass
'''


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    module = f"shop_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(TOOLS)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path / module


def load(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "a.modelguard.yaml"
    path.write_text(textwrap.dedent(text))
    return load_suite(path, tmp_path)


def test_tools_from_offers_every_public_function_with_a_schema_from_its_signature(
    tmp_path: Path, shop: Path
) -> None:
    suite = load(
        tmp_path,
        f"""\
        tools_from: {shop.name}
        defaults: {{agent: {{max_steps: 3}}, graders: [{{trajectory: strict}}]}}
        cases:
          - {{id: c1, prompt: hi, expected: {{trajectory: [{{name: lookup_order}}]}}}}
        """,
    )
    case = suite.cases[0]
    assert case.agent.max_steps == 3 and case.agent.tool_results == "python"
    assert sorted(case.agent.impls) == ["explode", "lookup_order"]
    lookup = next(t for t in case.params["tools"] if t["function"]["name"] == "lookup_order")
    assert lookup["function"]["description"] == "Look an order up."
    assert lookup["function"]["parameters"] == {
        "type": "object",
        "properties": {"order_id": {"type": "integer", "description": "the order's number"}},
        "required": ["order_id"],
    }


def test_impl_fills_a_tool_and_is_never_sent(tmp_path: Path, shop: Path) -> None:
    suite = load(
        tmp_path,
        f"""\
        cases:
          - id: c1
            prompt: hi
            agent: {{}}
            tools: [{{impl: "{shop.name}:lookup_order", timeout_s: 2}}]
            graders: [{{steps: 4}}]
        """,
    )
    case = suite.cases[0]
    (tool,) = case.params["tools"]
    assert "impl" not in tool and "timeout_s" not in tool
    assert tool["function"]["name"] == "lookup_order"
    assert case.agent.impls["lookup_order"].timeout_s == 2.0


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "tools_from: no_such_module_xyz\n{cases}",
            "a.modelguard.yaml:1: tools_from: cannot import",
        ),
        (
            "cases:\n  - id: c1\n    prompt: hi\n    agent: {{}}\n    graders: [equals]\n"
            "    tools:\n      - impl: '{mod}:missing'\n",
            "a.modelguard.yaml:7: impl: ",
        ),
        (
            "cases:\n  - id: c1\n    prompt: hi\n    graders: [equals]\n"
            "    agent: {{max_steps: 0}}\n    tools: [{{impl: '{mod}:explode'}}]\n",
            "a.modelguard.yaml:5: agent.max_steps: must be an integer from 1 to 100",
        ),
        (
            "cases:\n  - id: c1\n    prompt: hi\n    graders: [equals]\n"
            "    agent: {{max_stepz: 2}}\n    tools: [{{impl: '{mod}:explode'}}]\n",
            "a.modelguard.yaml:5: agent.max_stepz: unknown key",
        ),
        (
            "cases:\n  - id: c1\n    prompt: hi\n    graders: [equals]\n"
            "    agent: {{tool_results: python}}\n"
            "    tools: [{{type: function, function: {{name: f}}}}]\n",
            "a.modelguard.yaml:5: agent.tool_results: python needs the tools' functions",
        ),
        (
            "cases:\n  - id: c1\n    prompt: hi\n    graders: [equals]\n    agent: {{}}\n",
            "a.modelguard.yaml:5: agent: an agent case needs tools",
        ),
        (
            "cases:\n  - id: c1\n    prompt: hi\n    graders: [equals]\n    agent: {{}}\n"
            "    tools: [{{impl: '{mod}:explode', timeout_s: -1}}]\n",
            "a.modelguard.yaml:6: timeout_s: must be seconds in (0, 3600]",
        ),
        (
            "cases:\n  - id: c1\n    prompt: hi\n    graders: [equals]\n    agent: {{}}\n"
            "    tools: [{{impl: '{mod}:explode'}}]\n"
            "    expected:\n      trajectory:\n        - {{name: f, argz: 1}}\n",
            "a.modelguard.yaml:9: argz: unknown key in a trajectory entry",
        ),
    ],
)
def test_bad_agent_suites_name_file_line_and_key(
    tmp_path: Path, shop: Path, text: str, where: str
) -> None:
    cases = "cases:\n  - {id: c1, prompt: hi, graders: [equals], agent: {}}\n"
    with pytest.raises(SuiteError) as caught:
        load(tmp_path, text.format(mod=shop.name, cases=cases))
    assert str(caught.value).startswith(where), str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_a_function_pydantic_cannot_describe_fails_collection_at_tools_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "odd_tools_mod.py").write_text(
        "class Opaque:\n    pass\n\n\ndef use(thing: Opaque) -> str:\n    return ''\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    text = (
        "tools_from: odd_tools_mod\ncases:\n  - {id: c, prompt: hi, graders: [equals], agent: {}}\n"
    )
    with pytest.raises(SuiteError, match=r"^a.modelguard.yaml:1: tools_from: use: no JSON Schema"):
        load(tmp_path, text)


# ------------------------------------------------------------------ the loop (no HTTP)


def completion(text: str = "", *calls: tuple[str, Any], tokens: int = 10) -> Completion:
    return Completion(
        text,
        Usage(input_tokens=tokens, output_tokens=1),
        latency_s=0.5,
        tool_calls=tuple(
            {"id": f"c{i}", "name": n, "arguments": a} for i, (n, a) in enumerate(calls)
        ),
    )


def scripted(steps: Sequence[Completion | None]) -> tuple[Callable[[Request], Answered], list]:
    asked: list[Request] = []

    def answer(request: Request) -> Answered:
        asked.append(request)
        found = steps[min(len(asked), len(steps)) - 1]
        if found is None:
            return Answered(None, False, error="HTTP 500")
        return Answered(found, cached=True)

    return answer, asked


def build(messages: tuple[Any, ...]) -> Request:
    return Request("sim", "m", messages, {"tools": []})


def impl(function: Callable[..., Any], timeout_s: float = 5.0) -> ToolImpl:
    return ToolImpl(function.__name__, f"t:{function.__name__}", function, timeout_s)


def box(*functions: Callable[..., Any], recorded: tuple[Any, ...] = (), **kw: Any) -> ToolBox:
    impls = {f.__name__: impl(f, **kw) for f in functions}
    mode = "python" if functions else "recorded"
    return ToolBox(AgentSpec(8, mode, impls, recorded), secrets=("sk-secret-value-123",))


def lookup_order(order_id: int) -> dict[str, Any]:
    return {"order_id": order_id, "status": "shipped"}


def test_parallel_calls_all_run_and_every_result_follows_the_assistant_turn() -> None:
    answer, asked = scripted([
        completion("", ("lookup_order", {"order_id": 1}), ("lookup_order", {"order_id": "2"})),
        completion("done"),
    ])  # fmt: skip
    got = run_now(
        AgentRun([{"role": "user", "content": "go"}], build, box(lookup_order), 8), answer
    )
    assert got.completion.text == "done" and got.trajectory.finished
    assert got.completion.usage.input_tokens == 20  # both steps summed
    assert got.completion.latency_s == 1.0
    second = asked[1].messages
    assert [m["role"] for m in second] == ["user", "assistant", "tool", "tool"]
    assert [m["tool_call_id"] for m in second[2:]] == ["c0", "c1"]
    assert json.loads(second[3]["content"]) == {"order_id": 2, "status": "shipped"}  # "2" → 2


def test_max_steps_stops_the_loop_and_fails_the_case() -> None:
    answer, asked = scripted([completion("", ("lookup_order", {"order_id": 1}))])
    got = run_now(
        AgentRun([{"role": "user", "content": "go"}], build, box(lookup_order), 3), answer
    )
    assert len(asked) == 3 and not got.trajectory.finished
    assert got.trajectory.failure == "did not finish within 3 steps"


def test_an_error_mid_way_is_the_items_error_with_the_steps_so_far() -> None:
    answer, _ = scripted([completion("", ("lookup_order", {"order_id": 1})), None])
    got = run_now(
        AgentRun([{"role": "user", "content": "go"}], build, box(lookup_order), 8), answer
    )
    assert got.completion is None and got.error == "step 2: HTTP 500"
    assert len(got.trajectory.steps) == 1


def raises(x: int) -> str:
    raise ValueError("no such order")


def hangs() -> str:
    import time

    time.sleep(2)  # past timeout_s, and over before the test run ends
    return "late"


def not_json() -> object:
    return object()


def huge() -> str:
    return "x" * (RESULT_CHARS * 10)


def leaks() -> dict[str, str]:
    return {"key": "sk-secret-value-123", "odd": "\ud800"}


@pytest.mark.parametrize(
    ("function", "arguments", "expected", "error"),
    [
        (raises, {"x": 1}, "error: ValueError: no such order", True),
        (
            raises,
            {"x": "abc"},
            "error: invalid arguments: x: Input should be a valid integer",
            True,
        ),
        (raises, [1, 2], "error: arguments are not a JSON object", True),
        (hangs, {}, "error: hangs did not return within timeout_s = 0.2 s", True),
        (not_json, {}, "error: not_json returned a object, not JSON data", True),
        (leaks, {}, '{"key": "[redacted]", "odd": "\ufffd"}', False),
    ],
)
def test_hostile_tools_answer_an_error_message_and_are_counted(
    function: Callable[..., Any], arguments: Any, expected: str, error: bool
) -> None:
    run = box(function, timeout_s=0.2).run(
        {"id": "c0", "name": function.__name__, "arguments": arguments}
    )
    assert run.result.startswith(expected), run.result
    assert run.error is error


def test_a_huge_result_is_cut_and_an_unknown_tool_is_an_error() -> None:
    tools = box(huge)
    assert len(tools.run({"id": "a", "name": "huge", "arguments": {}}).result) <= RESULT_CHARS
    unknown = tools.run({"id": "b", "name": "nope", "arguments": {}})
    assert unknown.error and unknown.result == "error: unknown tool 'nope' (offered: huge)"


def test_recorded_results_match_by_name_and_canonical_arguments_once_each() -> None:
    recorded = (
        {"name": "lookup_order", "arguments": {"a": 1, "b": 2}},  # no result: graders only
        {"name": "lookup_order", "arguments": {"b": 2, "a": 1}, "result": {"status": "shipped"}},
        {"name": "lookup_order", "arguments": {"a": 1, "b": 2}, "result": "second"},
    )
    tools = box(recorded=recorded)
    call = {"id": "x", "name": "lookup_order", "arguments": {"a": 1, "b": 2}}
    assert tools.run(call).result == '{"status": "shipped"}'
    assert tools.run(call).result == "second"
    third = tools.run(call)
    assert third.unmatched and not third.error
    assert third.result == 'error: no recorded result for lookup_order({"a": 1, "b": 2})'


# ------------------------------------------------------------------ graders


def grade(options: Any, calls: Sequence[tuple[str, Any]], expected: Any = None) -> float:
    grader = build_grader(GraderSpec("trajectory", options, source="t.yaml:1"))
    steps = ({"tool_calls": [{"name": n, "arguments": a} for n, a in calls]},)
    return grader(Answer("", expected=expected, trajectory=steps)).score


A, B, C = ("a", {"x": 1}), ("b", {"y": 2}), ("c", {})
EXPECTED = [{"name": "a", "arguments": {"x": 1}}, {"name": "b", "arguments": {"y": 2}}]


@pytest.mark.parametrize(
    ("mode", "calls", "score"),
    [
        ("strict", [A, B], 1.0),
        ("strict", [B, A], 0.0),
        ("unordered", [B, A], 1.0),
        ("unordered", [B, A, C], 0.0),
        ("superset", [C, B, A], 1.0),
        ("superset", [A], 0.0),
        ("subset", [A], 1.0),
        ("subset", [], 1.0),  # an agent that calls nothing passes subset
        ("subset", [A, C], 0.0),
    ],
)
def test_trajectory_modes_have_agentevals_meanings(mode: str, calls: list, score: float) -> None:
    assert grade({"mode": mode, "expected": EXPECTED}, calls) == score


def test_trajectory_arguments_and_the_cases_expected() -> None:
    partial = [{"name": "a", "arguments": {"x": 1}}]
    given = [("a", {"x": 1, "z": 3})]
    assert grade({"expected": partial}, given) == 0.0
    assert grade({"expected": partial, "arguments": "subset"}, given) == 1.0
    assert grade({"arguments": "ignore"}, [("a", {})], {"trajectory": partial}) == 1.0


def test_steps_grader_fewer_is_better_and_zero_past_the_limit() -> None:
    grader = build_grader(GraderSpec("steps", {"max": 4}, source="t.yaml:1"))
    scores = [grader(Answer("", trajectory=({},) * n)).score for n in (1, 4, 5)]
    assert scores == [1.0, 0.25, 0.0]


def test_llm_judge_on_trajectory_reads_every_step_and_takes_a_rubric_only() -> None:
    from pytest_modelguard.core.errors import GraderConfigError

    spec = GraderSpec(
        "llm_judge", {"rubric": "Did it look first?", "on": "trajectory"}, source="t:1"
    )
    judge = build_grader(spec)
    steps = (
        {
            "text": "",
            "tool_calls": [{"name": "lookup_order", "arguments": {"id": 4}, "result": "ok"}],
        },
        {"text": "Refunded", "tool_calls": []},
    )
    (call,) = judge.calls(Answer("Refunded", trajectory=steps), [{"role": "user", "content": "q"}])
    shown = call.messages[-1]["content"]
    assert 'step 1: → lookup_order({"id": 4})' in shown and "⇒ ok" in shown
    plain = build_grader(GraderSpec("llm_judge", {"rubric": "Did it look first?"}, source="t:1"))
    (other,) = plain.calls(Answer("Refunded", trajectory=steps), [{"role": "user", "content": "q"}])
    assert "lookup_order" not in other.messages[-1]["content"]
    with pytest.raises(GraderConfigError, match="on: trajectory takes a rubric"):
        build_grader(GraderSpec("llm_judge", {"pairwise": True, "on": "trajectory"}, source="t:1"))


def test_tool_output_never_carries_the_runs_keys_or_base_url_tokens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pytest_modelguard.engine.agent_tools import provider_secrets

    monkeypatch.setenv("SIM_KEY", "sk-sim-provider-key-1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-default-key")
    secrets = provider_secrets([("SIM_KEY", "http://127.0.0.1/v1?token=tok-in-the-url-9")])

    def echo_env() -> str:
        return "sk-sim-provider-key-1 sk-openai-default-key tok-in-the-url-9 Bearer abc.def"

    spec = AgentSpec(8, "python", {"echo_env": impl(echo_env)})
    result = ToolBox(spec, secrets).run({"id": "a", "name": "echo_env", "arguments": {}}).result
    assert "sk-" not in result and "tok-in" not in result, result


def test_a_run_taking_far_more_steps_than_the_median_is_a_step_spiral() -> None:
    from pytest_modelguard.records.results import ItemResult
    from pytest_modelguard.verdict.gate import _step_outliers

    runs = [ItemResult("s", f"c{i}", "m", steps=2, score=1.0) for i in range(9)]
    runs.append(ItemResult("s", "spiral", "m", steps=8, score=1.0))
    runs.append(ItemResult("s", "one-call", "m", score=1.0))  # not an agent case
    (outlier,) = _step_outliers(runs)
    assert (outlier.case_id, outlier.steps, outlier.times_median) == ("spiral", 8, 4.0)


@pytest.mark.parametrize(
    ("field", "value"),
    [("steps", "three"), ("steps", -1), ("tool_errors", 1.5), ("trajectory", [1])],
)
def test_a_stored_report_with_a_bad_agent_field_names_the_case_and_field(
    tmp_path: Path, field: str, value: Any
) -> None:
    from pytest_modelguard.core.errors import HistoryError
    from pytest_modelguard.verdict.history import load_run

    case = {"suite": "s", "id": "c", "model": "m", field: value}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"version": 1, "cases": [case]}), encoding="utf-8")
    with pytest.raises(HistoryError, match=rf"cases\[0\]: {field} "):
        load_run(path)


def test_reports_cap_a_huge_step_text_and_result_like_answers() -> None:
    from pytest_modelguard.core.formatting import SHOWN_CHARS
    from pytest_modelguard.report.shown import shown_case

    huge = "y" * (SHOWN_CHARS * 3)
    call = {"id": "a", "name": "t", "arguments": {}, "result": huge}
    case = {"output": "", "trajectory": [{"text": huge, "tool_calls": [call]}]}
    (step,) = shown_case(case)["trajectory"]
    assert len(step["text"]) <= SHOWN_CHARS and len(step["tool_calls"][0]["result"]) <= SHOWN_CHARS
    assert step["tool_calls"][0]["name"] == "t"
