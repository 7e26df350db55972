"""`modelguard import`: JSONL request/response pairs, Batch API files and OTLP GenAI spans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from loopback import Call, Reply, _openai_body

from pytest_modelguard.capture.export import ExportOptions, export_suite
from pytest_modelguard.capture.read import TraceDb
from pytest_modelguard.cli import main


def pair(prompt: str, reply: Reply) -> dict[str, object]:
    request = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": prompt}]}
    call = Call("openai", "gpt-4.1-mini", ({"role": "user", "content": prompt},), {}, {})
    return {"request": request, "response": _openai_body(call, reply, "chatcmpl-1")}


def test_jsonl_pairs_and_batch_files_import_with_bad_lines_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weather = Reply("", tool_calls=({"name": "get_weather", "arguments": {"city": "Oslo"}},))
    lines = [json.dumps(pair(f"question {i}", Reply(f"answer {i}"))) for i in range(4)]
    lines += [
        json.dumps(pair("weather in Oslo", weather)),
        "{not json",
        "[1, 2]",
        json.dumps({"request": {"model": "m", "messages": []}, "response": {"choices": []}}),
    ]
    (tmp_path / "log.jsonl").write_text("\n".join(lines) + "\n")
    body = pair("batch q", Reply("batch a"))
    batch_in = [{"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
                 "body": body["request"]} for i in range(3)]  # fmt: skip
    batch_out = [
        {"id": "b0", "custom_id": "r0", "error": None,
         "response": {"status_code": 200, "request_id": "x", "body": body["response"]}},
        {"id": "b1", "custom_id": "r1", "error": {"code": "server_error", "message": "boom"},
         "response": None},
    ]  # fmt: skip
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(x) + "\n" for x in batch_in))
    (tmp_path / "out.jsonl").write_text("".join(json.dumps(x) + "\n" for x in batch_out))
    files = [str(tmp_path / n) for n in ("log.jsonl", "in.jsonl", "out.jsonl")]
    assert main(["import", *files, "--db", str(tmp_path / "t.db"), "--tag", "imported"]) == 0
    out = capsys.readouterr().out
    assert "imported 6 calls" in out
    assert "skipped 1: not valid JSON: Expecting property name enclosed in double quotes" in out
    assert f"(first at {tmp_path / 'log.jsonl'}:6)" in out
    assert "skipped 1: not a JSON object" in out
    assert "skipped 1: request.messages is empty or holds a message without a role" in out
    assert "skipped 1: the call failed" in out
    assert "skipped 1: Batch API input without its output line" in out
    with TraceDb(tmp_path / "t.db") as db:
        traces = db.traces([row["id"] for row in db.scan(["id"])])
    assert {t.tags for t in traces.values()} == {("imported",)}
    assert sum(1 for t in traces.values() if t.tool_calls) == 1
    done = export_suite(tmp_path / "t.db", tmp_path / "s.modelguard.yaml", ExportOptions())
    assert done.cases == 6


def span(
    attrs: dict[str, object], events: list[dict[str, object]] | None = None
) -> dict[str, object]:
    def value(v: object) -> dict[str, object]:
        return {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}

    return {
        "name": "chat", "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000000500000000",
        "attributes": [{"key": k, "value": value(v)} for k, v in attrs.items()],
        "events": events or [],
    }  # fmt: skip


def test_otlp_genai_spans_import_from_attributes_and_events(tmp_path: Path) -> None:
    base = {"gen_ai.operation.name": "chat", "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4.1", "gen_ai.usage.input_tokens": 12,
            "gen_ai.usage.output_tokens": 3}  # fmt: skip
    modern = {
        **base,
        "gen_ai.input.messages": json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]
        ),
        "gen_ai.output.messages": json.dumps(
            [
                {
                    "role": "assistant",
                    "parts": [
                        {
                            "type": "tool_call",
                            "id": "c1",
                            "name": "lookup",
                            "arguments": {"q": "hi"},
                        }
                    ],
                }
            ]
        ),
    }
    evented = [
        {
            "name": "gen_ai.user.message",
            "attributes": [{"key": "content", "value": {"stringValue": "yo"}}],
        },
        {
            "name": "gen_ai.choice",
            "attributes": [
                {"key": "message", "value": {"stringValue": json.dumps({"content": "hey"})}}
            ],
        },
    ]
    spans = [span(modern), span(base, evented), span({"http.method": "GET"}),
             span({**base, "gen_ai.operation.name": "embeddings"}), span(base)]  # fmt: skip
    document = {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": spans}]}]}
    (tmp_path / "spans.json").write_text(json.dumps(document))
    from pytest_modelguard.capture.importing import import_files

    done = import_files([tmp_path / "spans.json"], tmp_path / "t.db")
    assert done.imported == 2
    assert done.skipped == {
        "not a GenAI span (no gen_ai.* attributes)": 1,
        "GenAI operation 'embeddings' (not chat)": 1,
        "no prompt recorded (content capture off?)": 1,
    }
    with TraceDb(tmp_path / "t.db") as db:
        traces = sorted(db.traces([1, 2]).values(), key=lambda t: t.output or "")
    assert traces[0].tool_calls == ({"id": "c1", "name": "lookup", "arguments": {"q": "hi"}},)
    assert traces[1].output == "hey" and traces[1].usage is not None
    assert traces[1].latency_s == pytest.approx(0.5)
    done_export = export_suite(tmp_path / "t.db", tmp_path / "o.modelguard.yaml", ExportOptions())
    assert done_export.cases == 2


def test_a_missing_file_is_a_clear_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", str(tmp_path / "nope.jsonl"), "--db", str(tmp_path / "t.db")]) == 4
    assert "no such file" in capsys.readouterr().err
