"""Graded answers as OpenTelemetry ``gen_ai.evaluation.result`` events.

One event per grade of every graded answer (``gen_ai.evaluation.name`` the grader), plus
one per answer for the score the gate pairs (``modelguard.score``); an answer that could
not be graded is one event with ``error.type``. Attributes follow the GenAI semantic
conventions (``gen_ai.evaluation.score.value``, ``.score.label`` pass/fail,
``gen_ai.evaluation.explanation``, ``gen_ai.provider.name``, ``gen_ai.request.model``)
plus ``modelguard.*`` for the suite, case, repeat and the model's verdict. Written as an
OTLP/JSON logs export (``otlp_json``, pure) or emitted through the OpenTelemetry logger
provider the user configured (``emit``).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any

from ..core.formatting import capped

EVENT = "gen_ai.evaluation.result"
SCOPE = "pytest-modelguard"
EXPLANATION_CHARS = 4096
Attributes = dict[str, str | float | int | bool]


def evaluations(doc: Mapping[str, Any]) -> Iterator[Attributes]:
    """The attributes of each evaluation event of a JSON report, in case order."""
    models = doc.get("models") or {}
    for case in doc.get("cases") or ():
        model = models.get(case["model"]) or {}
        common: Attributes = {
            "gen_ai.provider.name": str(model.get("provider") or ""),
            "gen_ai.request.model": str(model.get("model") or case["model"]),
            "modelguard.model": case["model"],
            "modelguard.suite": case["suite"],
            "modelguard.case.id": case["id"],
            "modelguard.repeat": int(case.get("repeat") or 0),
        }
        if model.get("verdict"):
            common["modelguard.verdict"] = str(model["verdict"])
        if case.get("error") or case.get("score") is None:
            yield {
                **common,
                "gen_ai.evaluation.name": "modelguard.score",
                "error.type": "answer_error" if case.get("error") else "no_score",
                "gen_ai.evaluation.explanation": capped(
                    str(case.get("error") or "no score"), EXPLANATION_CHARS
                ),
            }
            continue
        yield {**common, **_result("modelguard.score", case["score"], case.get("passed"), "")}
        for grade in case.get("grades") or ():
            yield {**common, **_result(grade["name"], grade["score"], grade.get("passed"),
                                       grade.get("reason") or "")}  # fmt: skip


def _result(name: str, score: float, passed: bool | None, reason: str) -> Attributes:
    found: Attributes = {
        "gen_ai.evaluation.name": name,
        "gen_ai.evaluation.score.value": float(score),
    }
    if passed is not None:
        found["gen_ai.evaluation.score.label"] = "pass" if passed else "fail"
    if reason:
        found["gen_ai.evaluation.explanation"] = capped(reason, EXPLANATION_CHARS)
    return found


def _value(value: str | float | int | bool) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}  # OTLP/JSON writes 64-bit integers as strings
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": value}


def otlp_json(doc: Mapping[str, Any], time_ns: int, version: str) -> dict[str, Any]:
    """An OTLP/JSON ``ExportLogsServiceRequest`` holding every evaluation event."""
    records = [
        {
            "timeUnixNano": str(time_ns),
            "observedTimeUnixNano": str(time_ns),
            "eventName": EVENT,
            "severityNumber": 9,  # INFO
            "attributes": [{"key": k, "value": _value(v)} for k, v in attrs.items()],
        }
        for attrs in evaluations(doc)
    ]
    resource = [{"key": "service.name", "value": {"stringValue": SCOPE}}]
    return {
        "resourceLogs": [
            {
                "resource": {"attributes": resource},
                "scopeLogs": [{"scope": {"name": SCOPE, "version": version},
                               "logRecords": records}],
            }
        ]
    }  # fmt: skip


def emit(doc: Mapping[str, Any], time_ns: int, version: str) -> int:
    """Emit every evaluation event through the configured OpenTelemetry logger provider;
    how many. ImportError when opentelemetry-api (1.35 or later) is not installed."""
    logs = importlib.import_module("opentelemetry._logs")
    logger = logs.get_logger(SCOPE, version)
    count = 0
    for attrs in evaluations(doc):
        logger.emit(
            logs.LogRecord(
                timestamp=time_ns,
                observed_timestamp=time_ns,
                severity_number=logs.SeverityNumber.INFO,
                attributes=attrs,
                event_name=EVENT,
            )
        )
        count += 1
    return count
