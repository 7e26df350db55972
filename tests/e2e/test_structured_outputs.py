"""Structured outputs end to end, per provider kind: a suite's ``response_format`` (a strict
JSON schema) reaches each wire format in its own form, and ``json_schema`` / ``json_field``
grade the structured answer, with the same verdicts on every kind."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from loopback import Call, LoopbackServer, Reply

N = 20
VENDORS = ["Acme", "Globex", "Initech", "Umbrella", "Hooli"]


def truth(number: int) -> dict[str, Any]:
    return {"vendor": VENDORS[number % len(VENDORS)], "total": round(10.5 * number + 3, 2)}


def sent_schema(call: Call) -> Any:
    """The JSON schema the request asked for, wherever its wire format puts it."""
    if call.path == "/v1/responses":
        return (call.params.get("text") or {}).get("format", {}).get("schema")
    if call.wire == "anthropic":
        return (call.params.get("output_config") or {}).get("format", {}).get("schema")
    return ((call.params.get("response_format") or {}).get("json_schema") or {}).get("schema")


def respond(call: Call) -> Reply:
    """JSON only when a schema was sent (prose otherwise); wrong-1 gets the total wrong
    on the odd invoices, base-1 and same-1 never."""
    number = int(call.prompt.rsplit(" ", 1)[1])
    record = truth(number)
    if sent_schema(call) is None:
        return Reply(f"The invoice from {record['vendor']} totals {record['total']}.")
    if call.model == "wrong-1" and number % 2:
        record = {**record, "total": record["total"] - 1}
    return Reply(json.dumps(record))


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(respond) as srv:
        yield srv


SCHEMA = {
    "type": "object",
    "properties": {"vendor": {"type": "string"}, "total": {"type": "number"}},
    "required": ["vendor", "total"],
    "additionalProperties": False,
}


def suite_text() -> str:
    head = {
        "defaults": {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "invoice", "strict": True, "schema": SCHEMA},
            },
            "graders": [
                {"json_schema": {"schema": SCHEMA}},
                {"json_field": {"path": "total", "tolerance": 0.01}, "weight": 2},
                {"json_field": {"path": "vendor"}},
            ],
        },
        "cases": [
            {"id": f"i{n:02d}", "prompt": f"invoice {n}", "expected": truth(n)} for n in range(N)
        ],
    }
    return json.dumps(head, indent=1)  # JSON is YAML


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
    pytester.makefile(".modelguard.yaml", invoices=suite_text())


@pytest.mark.parametrize("kind", ["openai", "openai-responses", "anthropic"])
def test_structured_answers_are_graded_alike_on_every_kind(
    pytester: pytest.Pytester,
    server: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    monkeypatch.setenv("SIM_KEY", "sk-sim-structured-test")
    make_project(pytester, server, kind)
    result = pytester.runpytest("--modelguard-record=once", "--modelguard-json=r.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # wrong-1 regresses
    sent = server.calls[0].params
    if kind == "openai":  # as written, strict and all
        assert sent["response_format"]["json_schema"]["strict"] is True
    elif kind == "openai-responses":  # text.format, flattened
        assert server.calls[0].path == "/v1/responses"
        assert sent["text"]["format"]["name"] == "invoice"
        assert sent["text"]["format"]["strict"] is True
    else:  # output_config.format
        assert sent["output_config"]["format"]["type"] == "json_schema"
    assert all(sent_schema(call) == SCHEMA for call in server.calls)

    report = json.loads((pytester.path / "r.json").read_text())
    models = report["models"]
    assert {name: m["verdict"] for name, m in models.items()} == {
        "sim:base-1": "baseline",
        "sim:same-1": "pass",
        "sim:wrong-1": "regression",
    }
    assert models["sim:same-1"]["mean_score"] == models["sim:base-1"]["mean_score"] == 1.0
    assert models["sim:wrong-1"]["mean_score"] == pytest.approx(1 - (N // 2) / N * 2 / 4)

    def scores(case_id: str, model: str) -> list[float]:
        case = next(c for c in report["cases"] if c["id"] == case_id and c["model"] == model)
        return [grade["score"] for grade in case["grades"]]

    # json_schema, json_field total, json_field vendor: only the wrong field scores 0
    assert scores("i01", "sim:wrong-1") == [1.0, 0.0, 1.0]
    assert scores("i02", "sim:wrong-1") == [1.0, 1.0, 1.0]
    assert scores("i01", "sim:base-1") == [1.0, 1.0, 1.0]
