"""Export of captured agent conversations: one agent case per conversation, in-process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_modelguard.capture import Trace, TraceStore, export
from pytest_modelguard.capture import conversations as conv
from pytest_modelguard.capture.export import ExportOptions, export_suite
from pytest_modelguard.capture.store import Pending
from pytest_modelguard.cli import main
from pytest_modelguard.records.calls import Usage
from pytest_modelguard.suite import load_suite

SYSTEM = {"role": "system", "content": "You handle orders."}
TOOLS = {
    "tools": [
        {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}
        for name in ("lookup_order", "refund")
    ],
    "temperature": 0,
}
TOKEN = "Bearer abcdef0123456789abcdef"


def tool_call(name: str, args: dict[str, Any], ident: str) -> dict[str, Any]:
    return {"id": ident, "name": name, "arguments": args}


def assistant(*calls: dict[str, Any]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": c["id"], "type": "function",
             "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])}}
            for c in calls
        ],
    }  # fmt: skip


def answer(messages: list[Any], at: float, text: str = "", calls: tuple[Any, ...] = ()) -> Trace:
    return Trace(
        "openai", "gpt-4.1-mini", tuple(messages), TOOLS, output=text,
        usage=Usage(input_tokens=10 * len(messages), output_tokens=5), latency_s=0.5,
        started_at=at, tool_calls=calls, tags=("orders",),
    )  # fmt: skip


def conversation(prompt: str, at: float, ids: tuple[str, ...] = ("a", "b", "c")) -> list[Trace]:
    """lookup_order and refund in parallel, then a second lookup, then the answer."""
    user = [SYSTEM, {"role": "user", "content": prompt}]
    first = (tool_call("lookup_order", {"order_id": 42}, ids[0]),
             tool_call("refund", {"order_id": 42, "note": "x"}, ids[1]))  # fmt: skip
    second = (tool_call("lookup_order", {"order_id": 42}, ids[2]),)
    two = [*user, assistant(*first),
           {"role": "tool", "tool_call_id": ids[1], "content": f"refunded; {TOKEN}"},
           {"role": "tool", "tool_call_id": ids[0], "content": '{"status": "shipped",'
            ' "api_key": "sk-tool-result-secret-99"}'}]  # fmt: skip
    three = [
        *two,
        assistant(*second),
        {"role": "tool", "tool_call_id": ids[2], "content": '{"status": "refunded"}'},
    ]
    return [
        answer(user, at, calls=first),
        answer(two, at + 1, calls=second),
        answer(three, at + 2, text="Refunded order 42."),
    ]


def write(path: Path, traces: list[Trace]) -> Path:
    store = TraceStore(path)
    for item in traces:
        store.submit(Pending(item))
    store.close()
    assert store.written == len(traces)
    return path


def exported(tmp_path: Path, traces: list[Trace], **options: Any) -> tuple[Any, dict[str, Any]]:
    out = tmp_path / "prod.modelguard.yaml"
    result = export_suite(write(tmp_path / "t.db", traces), out, ExportOptions(**options))
    load_suite(out)
    return result, yaml.safe_load(out.read_text(encoding="utf-8"))


def plain(prompt: str, at: float) -> Trace:
    return answer([{"role": "user", "content": prompt}], at, text=f"echo {prompt}")


def test_a_conversation_is_one_agent_case_with_its_recorded_tool_results(tmp_path: Path) -> None:
    one, two = conversation("refund 42", 10.0), conversation("refund 7", 11.5, ("d", "e", "f"))
    interleaved = [one[0], two[0], plain("hello", 12.0), one[1], two[1], one[2], two[2]]
    result, suite = exported(tmp_path, interleaved)
    assert (result.cases, result.agent_cases, result.calls) == (3, 2, 7)
    assert dict(result.ungrouped) == {} and result.forks == 0
    case = suite["cases"][0]
    assert case["prompt"] == "refund 42" and case["system"] == SYSTEM["content"]
    assert case["agent"] == {"max_steps": 8, "tool_results": "recorded"}
    assert [(s["name"], s["arguments"]) for s in case["expected"]["trajectory"]] == [
        ("lookup_order", {"order_id": 42}),
        ("refund", {"order_id": 42, "note": "x"}),
        ("lookup_order", {"order_id": 42}),
    ]
    results = [s["result"] for s in case["expected"]["trajectory"]]
    assert results[2] == '{"status": "refunded"}'
    baseline = case["baseline"]
    assert baseline["output"] == "Refunded order 42."
    assert [len(s.get("tool_calls", [])) for s in baseline["steps"]] == [2, 1, 0]
    assert baseline["steps"][0]["tool_calls"][1] == {
        "id": "b", "name": "refund", "arguments": {"order_id": 42, "note": "x"}
    }  # fmt: skip
    tokens = [t.usage.input_tokens for t in one if t.usage is not None]
    assert [s["input_tokens"] for s in baseline["steps"]] == tokens
    assert baseline["input_tokens"] == sum(tokens)
    assert baseline["latency_s"] == 1.5
    assert case["graders"][0] == {"trajectory": {"mode": "strict"}}
    assert suite["cases"][2]["prompt"] == "hello" and "agent" not in suite["cases"][2]
    header = (tmp_path / "prod.modelguard.yaml").read_text(encoding="utf-8").splitlines()[3]
    assert header.startswith("# 2 cases are agent conversations: ")


def test_secrets_in_tool_results_never_reach_the_file(tmp_path: Path) -> None:
    exported(tmp_path, conversation("refund 42", 10.0))
    text = (tmp_path / "prod.modelguard.yaml").read_text(encoding="utf-8")
    assert "sk-tool-result-secret-99" not in text
    assert "abcdef0123456789abcdef" not in text
    assert text.count("[redacted]") == 2


def test_a_fork_gives_one_agent_case_per_branch(tmp_path: Path) -> None:
    first, second, _ = conversation("refund 42", 10.0)
    messages = [*second.messages[:-1], {"role": "tool", "tool_call_id": "a", "content": "lost"}]
    other = answer(messages, 11.5, text="Order 42 is lost.")
    done = answer(list(second.messages), 11.0, text="Refunded.")
    result, suite = exported(tmp_path, [first, done, other])
    assert (result.cases, result.agent_cases, result.forks) == (2, 2, 1)
    assert [c["baseline"]["output"] for c in suite["cases"]] == ["Refunded.", "Order 42 is lost."]


def test_what_cannot_be_grouped_is_counted_and_exported_call_by_call(tmp_path: Path) -> None:
    first, second, _ = conversation("refund 42", 10.0)
    wrong = [*second.messages[:-1], {"role": "tool", "tool_call_id": "zz", "content": "?"}]
    broken = Trace(**{**_fields(second), "messages": tuple(wrong)})
    result, _ = exported(tmp_path, [first, broken])
    assert (result.cases, result.agent_cases) == (1, 0)
    assert dict(result.ungrouped) == {conv.MISMATCHED: 1}
    assert dict(result.reasons) == {"tool results that do not answer their tool calls": 1}
    cut, _ = exported(tmp_path / "cut", [first, second])
    assert dict(cut.ungrouped) == {conv.UNFINISHED: 2} and cut.cases == 2


def _fields(trace: Trace) -> dict[str, Any]:
    return {name: getattr(trace, name) for name in Trace.__dataclass_fields__}


def test_dedupe_and_sampling_count_conversations_as_cases(tmp_path: Path) -> None:
    twice = [*conversation("refund 42", 10.0), *conversation("refund 42", 20.0)]
    result, suite = exported(tmp_path, [*twice, plain("hi", 30.0)], dedupe=True)
    assert (result.cases, result.agent_cases, result.duplicates) == (2, 1, 1)
    sampled, suite = exported(tmp_path / "s", twice, sample=1, seed=3)
    assert (sampled.cases, sampled.agent_cases) == (1, 1)
    assert len(suite["cases"][0]["expected"]["trajectory"]) == 3


def test_anthropic_tool_use_conversations_are_grouped_in_the_openai_form(tmp_path: Path) -> None:
    user = {"role": "user", "content": "refund 42"}
    use = {"type": "tool_use", "id": "toolu_1", "name": "lookup_order", "input": {"order_id": 42}}
    result_block = {"type": "tool_result", "tool_use_id": "toolu_1",
                    "content": [{"type": "text", "text": "shipped"}]}  # fmt: skip
    params = {"max_tokens": 100, "tools": [{"name": "lookup_order", "input_schema": {}}]}
    call = tool_call("lookup_order", {"order_id": 42}, "toolu_1")
    traces = [
        Trace("anthropic", "claude-sonnet-4", (user,), params, output="", tool_calls=(call,),
              started_at=1.0),
        Trace("anthropic", "claude-sonnet-4",
              (user, {"role": "assistant", "content": [use]},
               {"role": "user", "content": [result_block]}),
              params, output="Shipped.", started_at=2.0),
    ]  # fmt: skip
    result, suite = exported(tmp_path, traces)
    assert (result.cases, result.agent_cases) == (1, 1)
    case = suite["cases"][0]
    assert case["expected"]["trajectory"] == [
        {"name": "lookup_order", "arguments": {"order_id": 42}, "result": "shipped"}
    ]
    assert suite["defaults"]["params"]["tools"][0]["function"]["name"] == "lookup_order"


def test_the_summary_says_how_many_cases_are_conversations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second, _ = conversation("refund 7", 40.0, ("d", "e", "f"))
    db = write(tmp_path / "t.db", [*conversation("refund 42", 10.0), first, second])
    out = tmp_path / "o.modelguard.yaml"
    assert main(["export", str(db), "-o", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("wrote 3 cases (1 of them agent conversations) to ")
    assert printed[1] == (
        "not grouped into agent cases (exported one call per case): 2 a conversation that ends "
        "in tool calls (its next step was not captured)"
    )


AGENT_SUITE = """
cases:
  - id: c1
    prompt: refund 42
    tools: [{type: function, function: {name: lookup_order, parameters: {type: object}}}]
    agent: {tool_results: recorded}
    expected: {trajectory: [{name: lookup_order, arguments: {order_id: 42}, result: shipped}]}
    graders: [{trajectory: {mode: strict}}]
    baseline:
      output: Shipped.
      steps: %s
"""


@pytest.mark.parametrize(
    ("steps", "problem"),
    [
        ("[]", ":11: steps: must be a list of recorded answers"),
        ("{output: x}", ":11: steps: must be a list of recorded answers"),
        ("[{input_tokens: 3}]", ":11: output: a recorded baseline needs 'output'"),
        ("[{output: x, steps: [{output: y}]}]", ":11: steps: unknown key in a baseline step"),
        ("[{output: x, latency_s: -1}]", ":11: latency_s: must be a non-negative number"),
    ],
)
def test_bad_baseline_steps_name_file_line_and_key(
    tmp_path: Path, steps: str, problem: str
) -> None:
    from pytest_modelguard.core.errors import SuiteError

    path = tmp_path / "a.modelguard.yaml"
    path.write_text(AGENT_SUITE % steps, encoding="utf-8")
    with pytest.raises(SuiteError) as caught:
        load_suite(path)
    assert problem in str(caught.value)


def test_a_baseline_with_too_few_steps_says_which_step_was_missing(tmp_path: Path) -> None:
    from pytest_modelguard.config import ModelSpec, ProviderSpec
    from pytest_modelguard.engine.agent import AgentRun
    from pytest_modelguard.engine.agent_answers import replay_steps
    from pytest_modelguard.engine.agent_tools import ToolBox
    from pytest_modelguard.engine.answers import model_request

    path = tmp_path / "a.modelguard.yaml"
    one = "[{output: '', tool_calls: [{name: lookup_order, arguments: {order_id: 42}}]}]"
    path.write_text(AGENT_SUITE % one, encoding="utf-8")
    (case,) = load_suite(path).cases
    assert case.agent is not None and case.baseline is not None
    spec = ModelSpec("openai:gpt-4.1-mini", ProviderSpec("openai", "openai"), "gpt-4.1-mini")
    run = AgentRun(
        case.messages, lambda m: model_request(spec, m, case.params), ToolBox(case.agent), 8
    )
    answered = replay_steps(run, case.baseline.steps, len(case.messages))
    assert answered.error == "step 2: the recorded baseline has no answer for it (1 recorded)"
    assert answered.trajectory is not None
    assert answered.trajectory.steps[0].tool_calls[0].result == "shipped"


def test_a_redacted_tool_result_is_served_as_written() -> None:
    """The loop scrubs each tool result it serves: a value the export redacted stays
    ``[redacted]`` (it was ``[redacted]]``), so what the candidate sees is the file's text."""
    from pytest_modelguard.core.safety import scrub_auth_fields

    text = '{"name": "Ann", "api_key": "[redacted]"}'
    assert scrub_auth_fields(text) == text
    assert scrub_auth_fields('"api_key": "sk-123456789"') == '"api_key": "[redacted]"'


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def test_arguments_nested_past_the_suite_loader_are_left_out_not_fatal(tmp_path: Path) -> None:
    """Before, one deep tool call made the whole export fail ("does not load")."""
    deep = tool_call("lookup_order", nested(120), "d1")
    user = [{"role": "user", "content": "deep"}]
    traces = [
        answer(user, 1.0, calls=(deep,)),
        answer([*user, assistant(deep), {"role": "tool", "tool_call_id": "d1", "content": "x"}],
               2.0, text="done"),
        answer([{"role": "user", "content": "single"}], 3.0, calls=(deep,)),
        plain("fine", 4.0),
    ]  # fmt: skip
    result, suite = exported(tmp_path, traces)
    assert result.cases == 1 and suite["cases"][0]["prompt"] == "fine"
    assert dict(result.reasons) == {"values nested too deep for a suite": 2}


def test_an_answer_too_deep_to_compare_never_ends_a_conversation() -> None:
    """Its tool calls cannot be signed: it is not mistaken for a text answer."""
    user = [{"role": "user", "content": "x"}]
    one = tool_call("lookup_order", {}, "c1")
    root = conv.step_of(1, 1.0, ("openai", "m"), user, {}, [one])
    history = [*user, assistant(one), {"role": "tool", "tool_call_id": "c1", "content": "ok"}]
    deep = tool_call("lookup_order", nested(5000), "c2")
    last = conv.step_of(2, 2.0, ("openai", "m"), history, {}, [deep])
    found = conv.group([root, last])
    assert found.conversations == ()
    assert found.reasons == {conv.UNFINISHED: 2}


def test_grouping_reads_only_the_calls_that_use_tools(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sampled export of a large database still reads only the calls it samples, plus
    the calls that answered with tool calls or send a tool result (found by SQL)."""
    from pytest_modelguard.capture.read import TraceDb

    traces = [*conversation("refund 42", 10.0), *(plain(f"p{i}", 20.0 + i) for i in range(400))]
    anthropic = Trace("anthropic", "claude", ({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "t", "content": "x"}]},), output="ok",
        started_at=900.0)  # fmt: skip
    db = write(tmp_path / "t.db", [*traces, anthropic])
    with TraceDb(db) as reader:
        assert reader.tool_use() == {1, 2, 3, 404}
    read: list[int] = []
    original = TraceDb.traces

    def counted(self: TraceDb, ids: Any) -> Any:
        read.extend(ids)
        return original(self, ids)

    monkeypatch.setattr(TraceDb, "traces", counted)
    out = tmp_path / "s.modelguard.yaml"
    done = export_suite(db, out, ExportOptions(sample=5, seed=1))
    assert done.cases == 5
    assert len(set(read)) <= 4 + export._FETCH + 3  # the tool calls, then one chunk of cases


def test_a_database_older_than_tool_calls_exports(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "CREATE TABLE traces (id INTEGER PRIMARY KEY, started_at REAL NOT NULL, provider TEXT "
            "NOT NULL, host TEXT NOT NULL, model TEXT NOT NULL, response_model TEXT NOT NULL, "
            "request_key TEXT NOT NULL, messages TEXT NOT NULL, params TEXT NOT NULL, output TEXT, "
            "finish_reason TEXT, input_tokens INTEGER, output_tokens INTEGER, cached_input_tokens "
            "INTEGER, cache_write_tokens INTEGER, reasoning_tokens INTEGER, cost_usd REAL, "
            "latency_s REAL NOT NULL, stream INTEGER NOT NULL, tags TEXT NOT NULL, error TEXT);"
            "INSERT INTO traces VALUES (1, 1.0, 'openai', '', 'm', 'm', 'k', "
            "'[{\"role\": \"user\", \"content\": \"hi\"}]', '{}', 'hello', 'stop', 1, 1, 0, 0, 0, "
            "NULL, 0.1, 0, '[]', NULL); PRAGMA user_version=1;"
        )
    done = export_suite(path, tmp_path / "o.modelguard.yaml", ExportOptions())
    assert (done.cases, done.agent_cases) == (1, 0)
