"""``--modelguard-otel``: one ``gen_ai.evaluation.result`` event per grade, as OTLP/JSON
(parsed here with OpenTelemetry's own protobuf definitions) or through the OpenTelemetry
logger provider the run configured (captured with the SDK's in-memory exporter)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_modelguard.report.otel import EVENT, evaluations, otlp_json

ANSWERS = """
def good(request):
    return request.messages[-1]["content"].split()[-1]

def half(request):
    word = request.messages[-1]["content"].split()[-1]
    return word if int(word[1:]) % 2 else "nope"
"""
PYPROJECT = """
[tool.modelguard]
baseline = "python:answers:good"
models = ["python:answers:half"]
resamples = 1000
"""
SUITE = "suite: echo\ndefaults:\n  graders:\n    - equals: {normalize: [strip]}\n" + (
    "    - contains: {any: [w]}\ncases:\n"
    + "\n".join(f"  - id: c{i:02d}\n    prompt: 'say w{i}'\n    expected: w{i}" for i in range(12))
)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.syspathinsert()
    pytester.makepyfile(answers=ANSWERS)
    pytester.makefile(".toml", pyproject=PYPROJECT)
    pytester.makefile(".modelguard.yaml", echo=SUITE)
    return pytester


def attributes(record: dict[str, Any]) -> dict[str, Any]:
    return {a["key"]: next(iter(a["value"].values())) for a in record["attributes"]}


def test_the_otlp_file_parses_as_otlp_and_holds_every_grade(project: pytest.Pytester) -> None:
    pytest.importorskip("opentelemetry.proto", reason="the otel extra (CI's main run has it)")
    from google.protobuf import json_format
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    result = project.runpytest("--modelguard-record", "once", "--modelguard-otel", "events.json",
                               "--modelguard-json", "r.json")  # fmt: skip
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # half the candidate's answers are wrong
    text = (project.path / "events.json").read_text()
    json_format.Parse(text, ExportLogsServiceRequest())  # the real OTLP schema, strictly
    (scope,) = json.loads(text)["resourceLogs"][0]["scopeLogs"]
    records = scope["logRecords"]
    assert scope["scope"]["name"] == "pytest-modelguard"
    assert len(records) == 2 * 12 * 3  # two models, 12 cases, the score + two graders
    assert {r["eventName"] for r in records} == {EVENT}
    events = [attributes(r) for r in records]
    wrong = [
        e for e in events
        if e["modelguard.model"] == "python:answers:half"
        and e["gen_ai.evaluation.name"] == "equals" and e["gen_ai.evaluation.score.label"] == "fail"
    ]  # fmt: skip
    assert sorted(e["modelguard.case.id"] for e in wrong) == [f"c{i:02d}" for i in range(0, 12, 2)]
    assert all(e["gen_ai.evaluation.score.value"] == 0.0 for e in wrong)
    assert {
        e["modelguard.verdict"] for e in events if e["modelguard.model"] == "python:answers:half"
    } == {"regression"}
    assert {e["gen_ai.request.model"] for e in events} == {"answers:good", "answers:half"}
    report = json.loads((project.path / "r.json").read_text())
    assert sum(len(c["grades"]) + 1 for c in report["cases"]) == len(records)


@pytest.fixture(scope="module")
def exporter() -> Any:
    """The process's global OpenTelemetry logger provider (set once: it cannot be replaced),
    exporting to memory; the in-process pytester runs emit through it."""
    pytest.importorskip("opentelemetry.sdk", reason="the otel extra (CI's main run has it)")
    from opentelemetry import _logs
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    _logs.set_logger_provider(provider)
    return memory


def test_events_go_through_the_configured_logger_provider(
    project: pytest.Pytester, exporter: Any
) -> None:
    exporter.clear()
    result = project.runpytest("--modelguard-record", "once", "--modelguard-otel", "sdk")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert not (project.path / "sdk").exists()  # "sdk" is the provider, not a file name
    records = [r.log_record for r in exporter.get_finished_logs()]
    assert len(records) == 2 * 12 * 3
    assert {r.event_name for r in records} == {EVENT}
    names = {r.attributes["gen_ai.evaluation.name"] for r in records}
    assert names == {"modelguard.score", "equals", "contains"}


def test_an_errored_answer_is_one_event_with_error_type() -> None:
    doc = {
        "models": {"m": {"provider": "openai", "model": "gpt", "verdict": "pass"}},
        "cases": [
            {"suite": "s", "id": "c1", "model": "m", "repeat": 2, "score": None,
             "error": "HTTP 500 " + "x" * 10_000, "grades": []},
            {"suite": "s", "id": "c2", "model": "m", "score": 0.5, "passed": True,
             "grades": [{"name": "rubric", "score": 0.5, "passed": True, "reason": "ok \ud800"}]},
        ],
    }  # fmt: skip
    events = list(evaluations(doc))
    assert events[0]["error.type"] == "answer_error" and events[0]["modelguard.repeat"] == 2
    assert len(str(events[0]["gen_ai.evaluation.explanation"])) < 4200
    assert "gen_ai.evaluation.score.value" not in events[0]
    assert [e["gen_ai.evaluation.name"] for e in events[1:]] == ["modelguard.score", "rubric"]
    assert events[2]["gen_ai.evaluation.explanation"] == "ok \ud800"  # the JSON's, as written
    record = otlp_json(doc, 1, "0")["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    assert {"key": "modelguard.repeat", "value": {"intValue": "2"}} in record["attributes"]


def test_an_unwritable_otel_path_is_refused_before_the_run(project: pytest.Pytester) -> None:
    (project.path / "d").mkdir()
    result = project.runpytest("--modelguard-record", "once", "--modelguard-otel", "d")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--modelguard-otel: d is a directory; name a file*"])
