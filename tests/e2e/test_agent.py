"""Agent cases end to end: the loop over real HTTP for every wire format, Python tools
that really run, recorded tool results, the trajectory graders, replay with 0 calls."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from loopback import Call, LoopbackServer, Reply
from loopback_agent import calling, results, scripted, turns
from paths import ROOT

TOOLS_MODULE = """\
import json, os


def lookup_order(order_id: int) -> dict:
    \"\"\"Look an order up.

    Args:
        order_id: the order's number
    \"\"\"
    with open(os.environ["SHOP_LOG"], "a") as log:
        log.write(f"lookup_order {order_id}\\n")
    return {"order_id": order_id, "status": "shipped", "total": 42.5}


def refund(order_id: int, amount: float) -> str:
    \"\"\"Refund an order.\"\"\"
    with open(os.environ["SHOP_LOG"], "a") as log:
        log.write(f"refund {order_id} {amount}\\n")
    return f"refunded {amount} on order {order_id}"
"""

ORDERS = range(41, 53)
SUITE = """\
suite: orders
tools_from: shop_tools
defaults:
  agent: {max_steps: 6}
  graders:
    - trajectory: {mode: strict}
cases:
""" + "".join(
    f"""\
  - id: refund-{n}
    prompt: 'Please refund order {n}'
    expected:
      trajectory:
        - {{name: lookup_order, arguments: {{order_id: {n}}}}}
        - {{name: refund, arguments: {{order_id: {n}, amount: 42.5}}}}
"""
    for n in ORDERS
)


def _order(call: Call) -> int:
    first = next(m["content"] for m in call.messages if m["role"] == "user")
    return int(first.rsplit(" ", 1)[-1])


def lookup(call: Call) -> Reply:
    return calling("lookup_order", {"order_id": _order(call)})


def refund_from_lookup(call: Call) -> Reply:
    """The baseline's second step: refund the total the lookup returned (the tool ran)."""
    total = json.loads(results(call)[0])["total"]
    return calling("refund", {"order_id": _order(call), "amount": total})


RESPOND = scripted({
    "base-1": [lookup, refund_from_lookup, "Refunded 42.5"],
    "cand-1": ["Refunded"],
})  # fmt: skip


def project(pytester: pytest.Pytester, url: str, kind: str) -> Path:
    pytester.makefile(
        ".toml",
        pyproject=f"""
[tool.modelguard]
baseline = "sim:base-1"
models = ["sim:cand-1"]
[tool.modelguard.providers.sim]
kind = "{kind}"
base_url = "{url}"
api_key_env = "SIM_KEY"
""",
    )
    pytester.makepyfile(shop_tools=TOOLS_MODULE)
    pytester.syspathinsert()
    pytester.makefile(".modelguard.yaml", orders=SUITE)
    return pytester.path / "shop.log"


def _report(pytester: pytest.Pytester) -> dict:  # type: ignore[type-arg]
    return json.loads((pytester.path / "r.json").read_text())


def _paths(report: dict) -> dict:  # type: ignore[type-arg]
    """Each item's score, steps and path (whether a step was cached aside)."""
    return {
        (c["id"], c["model"]): (
            c["score"],
            c["steps"],
            [{k: v for k, v in step.items() if k != "cached"} for step in c["trajectory"]],
        )
        for c in report["cases"]
    }


def test_dry_run_counts_the_steps_agent_cases_may_add(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first step of each agent case is priced; the later ones (up to max_steps - 1 each)
    are counted and said to be unpriced; once recorded, nothing is left to call."""
    monkeypatch.setenv("SIM_KEY", "sk-sim-agent-test")
    with LoopbackServer(RESPOND) as server:
        monkeypatch.setenv("SHOP_LOG", str(project(pytester, server.openai_base_url, "openai")))
        dry = pytester.runpytest("--modelguard-record=once", "--modelguard-dry-run")
        assert server.count() == 0
        pytester.runpytest("--modelguard-record=once")
        recorded = server.count()
        again = pytester.runpytest("--modelguard-record=once", "--modelguard-dry-run")
        assert server.count() == recorded
    assert dry.ret == again.ret == pytest.ExitCode.OK
    dry.stdout.fnmatch_lines([
        "*sim:base-1*12 to call*0 recorded*unknown price, then up to 60 later agent steps",
        "*sim:cand-1*12 to call*0 recorded*unknown price, then up to 60 later agent steps",
        "*an agent case's later steps are not priced in advance*",
    ])  # fmt: skip
    again.stdout.fnmatch_lines(["*sim:base-1*0 to call*12 recorded*"])
    assert "later agent steps" not in again.stdout.str()


@pytest.mark.parametrize("kind", ["openai", "openai-responses", "anthropic"])
def test_done_when_baseline_path_scores_1_candidate_0_regression_replays_offline(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setenv("SIM_KEY", "sk-sim-agent-test")
    with LoopbackServer(RESPOND) as server:
        url = server.anthropic_base_url if kind == "anthropic" else server.openai_base_url
        log = project(pytester, url, kind)
        monkeypatch.setenv("SHOP_LOG", str(log))
        result = pytester.runpytest(
            "--modelguard-record=once",
            "--modelguard-json=r.json",
            "--modelguard-html=r.html",
            "--modelguard-markdown=r.md",
        )
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    result.stdout.fnmatch_lines([
        "model * pass  steps  *verdict",
        "sim:cand-1  12  0.000 * 1.0 * regression",
        "sim:base-1  12  1.000 * 3.0 * baseline",
        "    refund-41  1.00 → 0.00  (trajectory: strict: got no tool call; expected"
        " lookup_order(*",
        '      baseline:  → lookup_order({"order_id": 41}) ⇒ {"order_id": 41, "status": '
        '"shipped", "… → refund({"amount": 42.5, "order_id": 41}) ⇒ refunded 42.5 on order 41'
        ' → "Refunded 42.5"',
        '      candidate: → "Refunded"',
    ])  # fmt: skip
    ran = log.read_text().splitlines()
    assert sorted(ran) == sorted(
        [f"lookup_order {n}" for n in ORDERS] + [f"refund {n} 42.5" for n in ORDERS]
    )
    calls = len(server.calls)
    assert calls == 4 * len(ORDERS)  # the baseline's 3 steps, the candidate's 1
    rounds = [turns(call) for call in server.calls]
    assert rounds == sorted(rounds)  # every loop's step k asked before any step k + 1
    report = _report(pytester)
    assert report["models"]["sim:cand-1"]["verdict"] == "regression"
    first = _paths(report)
    assert first[("refund-42", "sim:base-1")][:2] == (1.0, 3)
    assert first[("refund-42", "sim:cand-1")][:2] == (0.0, 1)
    made = [c for step in first[("refund-42", "sim:base-1")][2] for c in step["tool_calls"]]
    assert [(c["name"], c["arguments"]) for c in made] == [
        ("lookup_order", {"order_id": 42}),
        ("refund", {"order_id": 42, "amount": 42.5}),
    ]
    assert json.loads(made[0]["result"])["status"] == "shipped"
    markdown = (pytester.path / "r.md").read_text()  # the regressed cases show the path
    assert '→ lookup_order({"order_id": 41}) ⇒' in markdown
    page = (pytester.path / "r.html").read_text()  # the case view, step by step
    assert 'step 2: → refund({\\"amount\\": 42.5, \\"order_id\\": 41})' in page
    # the provider is down: the replay asks nobody
    again = pytester.runpytest("--modelguard-json=r.json")
    assert again.ret == pytest.ExitCode.TESTS_FAILED, again.stdout.str()
    assert len(server.calls) == calls
    replayed = _report(pytester)
    assert all(c["cached"] and c["error"] is None for c in replayed["cases"])
    assert replayed["models"]["sim:cand-1"]["verdict"] == "regression"
    assert _paths(replayed) == first
    assert log.read_text().count("lookup_order 42") == 2  # Python tools run on every run


TEST_FILE = """\
import pytest
from shop_tools import lookup_order, refund

from pytest_modelguard import grader
from pytest_modelguard.grading import Answer


@grader
def looks_up_then_refunds(answer: Answer) -> bool:
    names = [call["name"] for step in answer.trajectory for call in step["tool_calls"]]
    return names == ["lookup_order", "refund"]


@pytest.mark.modelguard
def test_refund_agent(model):
    path = model.run_agent("Please refund order 42", tools=[lookup_order, refund], max_steps=4)
    assert looks_up_then_refunds(path)  # a trajectory is graded with its steps
    assert [call.name for call in path.calls] == ["lookup_order", "refund"]
    assert path.text == "Refunded 42.5" and path.completion.usage.input_tokens > 0
"""


def test_run_agent_in_a_python_test_is_cached_and_replays_offline(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_KEY", "sk-sim-agent-test")
    with LoopbackServer(RESPOND) as server:
        log = project(pytester, server.anthropic_base_url, "anthropic")
        (pytester.path / "orders.modelguard.yaml").unlink()
        pytester.makepyfile(test_refund=TEST_FILE)
        monkeypatch.setenv("SHOP_LOG", str(log))
        first = pytester.runpytest("--modelguard-record=once", "-p", "no:randomly")
    first.stdout.fnmatch_lines(["FAILED test_refund.py::test_refund_agent[[]sim:cand-1[]]*"])
    first.assert_outcomes(passed=2, failed=1)  # the baseline's run and the gate pass
    calls = len(server.calls)
    assert calls == 4
    again = pytester.runpytest("-p", "no:randomly")
    again.assert_outcomes(passed=2, failed=1)
    assert len(server.calls) == calls
    assert log.read_text().count("refund 42 42.5") == 2


EXAMPLE = ROOT / "examples" / "agent"


def test_the_order_agent_example_replays_offline_and_the_lookup_skipper_regresses(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(EXAMPLE, pytester.path, dirs_exist_ok=True)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9")  # nothing listens: no call
    monkeypatch.syspath_prepend(str(pytester.path))
    result = pytester.runpytest(
        "--models", "openai:gpt-4.1-mini,openai:gpt-4.1-nano", "--modelguard-json=r.json"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = _report(pytester)
    case = next(
        c for c in report["cases"] if c["id"] == "refund-1001" and c["model"] == "openai:gpt-4.1"
    )
    usages = [step["usage"] for step in case["trajectory"]]
    assert case["steps"] == len(usages) == 3
    assert case["input_tokens"] == sum(u["input_tokens"] for u in usages)
    per_step = sum(u["input_tokens"] * 2.0 + u["output_tokens"] * 8.0 for u in usages) / 1e6
    assert case["cost_usd"] == pytest.approx(per_step)  # each step priced (gpt-4.1: $2/$8)
    assert report["models"]["openai:gpt-4.1-nano"]["steps_per_case"] == 2.0
    result.stdout.fnmatch_lines([
        "modelguard: 60/60 answers (60 cached, 0 new, 0 failed)*",
        "openai:gpt-4.1-nano * regression",
        "*openai:gpt-4.1-mini * pass",
        "      candidate: → refund({\"amount\": 50.0, \"order_id\": 1002}) ⇒ error: ValueError: "
        "order 1002 is shippe… → \"Your order 1002 has been refunded.\"",
    ])  # fmt: skip


RECORDED_SUITE = """\
suite: recorded
defaults:
  agent: {max_steps: 2, tool_results: recorded}
  tools:
    - type: function
      function:
        name: lookup_order
        parameters: {type: object, properties: {order_id: {type: integer}}}
  graders: [{trajectory: {mode: superset, arguments: ignore}}]
cases:
  - id: both
    prompt: 'Compare orders 1 and 2'
    expected:
      trajectory:
        - {name: lookup_order, arguments: {order_id: 1}, result: {status: shipped}}
        - {name: lookup_order, arguments: {order_id: 2}, result: lost in transit}
  - id: loops
    prompt: 'Loop forever'
    expected: {trajectory: []}
"""


def parallel_then_answer(call: Call) -> Reply | str:
    if "Loop" in next(m["content"] for m in call.messages if m["role"] == "user"):
        return calling("lookup_order", {"order_id": 9})
    if not results(call):
        return calling("lookup_order", {"order_id": 1}, ("lookup_order", {"order_id": 2}))
    return " / ".join(results(call))


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_recorded_results_parallel_calls_and_max_steps_over_http(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setenv("SIM_KEY", "sk-sim-agent-test")
    with LoopbackServer(scripted({"base-1": [parallel_then_answer]})) as server:
        url = server.anthropic_base_url if kind == "anthropic" else server.openai_base_url
        project(pytester, url, kind)
        pytester.makefile(".modelguard.yaml", orders=RECORDED_SUITE)
        result = pytester.runpytest(
            "--modelguard-record=once", "--models=sim:base-1", "--modelguard-json=r.json"
        )
    result.stdout.fnmatch_lines(["*sim:base-1 on loops: did not finish within 2 steps*"])
    cases = {c["id"]: c for c in _report(pytester)["cases"]}
    both, loops = cases["both"], cases["loops"]
    assert both["output"] == '{"status": "shipped"} / lost in transit'
    assert both["score"] == 1.0 and both["passed"] and both["steps"] == 2
    assert len(both["trajectory"][0]["tool_calls"]) == 2  # parallel calls, one step
    assert loops["steps"] == 2 and not loops["passed"]
    assert loops["unmatched_tool_calls"] == 2
    assert loops["trajectory"][0]["tool_calls"][0]["result"] == (
        'error: no recorded result for lookup_order({"order_id": 9})'
    )
