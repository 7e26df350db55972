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


PLANTED = "plant-7Hq2-not-a-real-key-93kd"


def test_credentials_in_imported_records_reach_neither_the_database_nor_the_suite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """api_key, Authorization, x-api-key and bearer tokens, by field and by value."""
    base = pair("what is the weather?", Reply("sunny"))
    request = dict(base["request"])  # type: ignore[arg-type]
    keyed = {**request, "api_key": PLANTED,
             "extra_headers": {"Authorization": f"Bearer {PLANTED}2"},
             "metadata": {"x-api-key": f"{PLANTED}3", "note": f"uses {PLANTED}"}}  # fmt: skip
    echoed = pair(f"my header was Authorization: Bearer {PLANTED}4", Reply(f"ok {PLANTED}"))
    batch_in = {"custom_id": "r1", "method": "POST", "url": "/v1/chat/completions",
                "body": {**request, "user": f"api_key={PLANTED}5"}}  # fmt: skip
    batch_out = {"custom_id": "r1", "response": {"status_code": 200, "body": base["response"]}}
    (tmp_path / "log.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in ({**base, "request": keyed}, echoed))
    )
    (tmp_path / "in.jsonl").write_text(json.dumps(batch_in) + "\n")
    (tmp_path / "out.jsonl").write_text(json.dumps(batch_out) + "\n")
    attrs = {"gen_ai.request.model": "gpt-4.1", "gen_ai.prompt.0.role": "user",
             "gen_ai.prompt.0.content": f"key {PLANTED}6 here", "gen_ai.completion.0.content": "x",
             "http.request.header.authorization": f"Bearer {PLANTED}6"}  # fmt: skip
    document = {"resourceSpans": [{"scopeSpans": [{"spans": [span(attrs)]}]}]}
    (tmp_path / "spans.json").write_text(json.dumps(document))
    files = [str(tmp_path / n) for n in ("log.jsonl", "in.jsonl", "out.jsonl", "spans.json")]
    db = tmp_path / "t.db"
    assert main(["import", *files, "--db", str(db)]) == 0
    assert "imported 4 calls" in capsys.readouterr().out
    suite = tmp_path / "s.modelguard.yaml"
    assert main(["export", str(db), "-o", str(suite)]) == 0
    for written in (db, suite):
        assert PLANTED.encode() not in written.read_bytes(), written
    assert "[redacted]" in suite.read_text()
    assert "api_key" not in suite.read_text()  # a credential is never kept as a param


def test_openllmetry_usage_is_read_and_stats_say_why_cost_is_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompt = {"gen_ai.request.model": "gpt-4.1-mini", "gen_ai.prompt.0.role": "user",
              "gen_ai.prompt.0.content": "hi", "gen_ai.completion.0.content": "yo"}  # fmt: skip
    priced = span(
        {**prompt, "gen_ai.usage.prompt_tokens": 1000, "gen_ai.usage.completion_tokens": 10}
    )
    document = {"resourceSpans": [{"scopeSpans": [{"spans": [priced, span(prompt)]}]}]}
    (tmp_path / "spans.json").write_text(json.dumps(document))
    db = tmp_path / "t.db"
    assert main(["import", str(tmp_path / "spans.json"), "--db", str(db)]) == 0
    with TraceDb(db) as traces_db:
        rows = list(traces_db.scan(["input_tokens", "output_tokens", "cost_usd"]))
    assert [(r["input_tokens"], r["output_tokens"]) for r in rows] == [(1000, 10), (None, None)]
    assert rows[0]["cost_usd"] is not None and rows[0]["cost_usd"] > 0
    capsys.readouterr()
    assert main(["traces", "stats", str(db)]) == 0
    out = capsys.readouterr().out
    assert "cost unknown for 1 answered calls (+? above): 1 imported without token counts" in out
    assert "include_usage" not in out


def test_a_failed_span_is_imported_as_a_failed_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    attrs = {"gen_ai.request.model": "gpt-4.1", "gen_ai.prompt.0.role": "user",
             "gen_ai.prompt.0.content": "hi"}  # fmt: skip
    failed = {**span(attrs), "status": {"code": 2, "message": "upstream timed out"}}
    answered = span({**attrs, "gen_ai.completion.0.content": "yo"})
    document = {"resourceSpans": [{"scopeSpans": [{"spans": [failed, answered]}]}]}
    (tmp_path / "spans.json").write_text(json.dumps(document))
    db = tmp_path / "t.db"
    assert main(["import", str(tmp_path / "spans.json"), "--db", str(db)]) == 0
    assert "imported 2 calls" in capsys.readouterr().out
    with TraceDb(db) as traces_db:
        errors = [r["error"] for r in traces_db.scan(["error"])]
    assert errors == ["error: upstream timed out", None]
    assert main(["traces", "stats", str(db)]) == 0
    assert "1 error (50.0%)" in capsys.readouterr().out


def test_indexed_prompts_are_read_past_a_thousand_messages(tmp_path: Path) -> None:
    from pytest_modelguard.capture.importing import import_files

    attrs: dict[str, object] = {
        "gen_ai.request.model": "gpt-4.1",
        "gen_ai.completion.0.content": "ok",
    }
    for n in range(1500):
        attrs[f"gen_ai.prompt.{n}.role"] = "user" if n % 2 == 0 else "assistant"
        attrs[f"gen_ai.prompt.{n}.content"] = f"turn {n}"
    document = {"resourceSpans": [{"scopeSpans": [{"spans": [span(attrs)]}]}]}
    (tmp_path / "spans.json").write_text(json.dumps(document))
    assert import_files([tmp_path / "spans.json"], tmp_path / "t.db").imported == 1
    with TraceDb(tmp_path / "t.db") as db:
        messages = db.traces([1])[1].messages
    assert len(messages) == 1500 and messages[-1]["content"] == "turn 1499"


def test_jsonl_latency_is_unknown_and_stats_and_export_say_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "log.jsonl").write_text(json.dumps(pair("q", Reply("a"))) + "\n")
    db = tmp_path / "t.db"
    assert main(["import", str(tmp_path / "log.jsonl"), "--db", str(db)]) == 0
    assert "noted 1: latency unknown (JSONL and Batch records carry no timing)" in (
        capsys.readouterr().out
    )
    with TraceDb(db) as traces_db:
        assert traces_db.traces([1])[1].latency_s is None
    assert main(["traces", "stats", str(db), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["latency_unknown"] == 1 and stats["latency_p50_s"] is None
    assert main(["traces", "stats", str(db)]) == 0
    assert "latency unknown for 1 calls" in capsys.readouterr().out
    suite = tmp_path / "s.modelguard.yaml"
    assert main(["export", str(db), "-o", str(suite)]) == 0
    assert "latency_s" not in suite.read_text()


def test_a_database_of_schema_2_is_upgraded_with_its_rows(tmp_path: Path) -> None:
    import sqlite3

    from pytest_modelguard.capture.store import COLUMNS, SCHEMA_VERSION, connect

    path = tmp_path / "v2.db"
    conn = connect(path, 1.0)
    conn.close()
    columns = [c for c in COLUMNS if c != "response_id"]  # version 4 added it
    with sqlite3.connect(path) as raw:  # rebuild it as version 2 wrote it: latency NOT NULL
        raw.execute("DROP TABLE traces")
        raw.execute(
            "CREATE TABLE traces (id INTEGER PRIMARY KEY, "
            + ", ".join(f"{c} {'REAL NOT NULL' if c == 'latency_s' else ''}" for c in columns)
            + ")"
        )
        raw.execute(
            f"INSERT INTO traces ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [1.0, "openai", "", "m", "m", "k", "[]", "{}", "old", None, 1, 1, 0, 0, 0, None,
             0.25, 0, "[]", None, None],
        )  # fmt: skip
        raw.execute("PRAGMA user_version=2")
    (tmp_path / "log.jsonl").write_text(json.dumps(pair("q", Reply("new"))) + "\n")
    from pytest_modelguard.capture.importing import import_files

    assert import_files([tmp_path / "log.jsonl"], path).imported == 1
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        rows = raw.execute("SELECT output, latency_s FROM traces ORDER BY id").fetchall()
    assert rows == [("old", 0.25), ("new", None)]


@pytest.mark.parametrize("kind", ["directory", "fifo", "too large"])
def test_a_file_that_is_not_read_is_a_usage_error_and_nothing_is_written(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(pair("q", Reply("a"))) + "\n")
    bad = tmp_path / "bad.jsonl"
    if kind == "directory":
        bad.mkdir()
    elif kind == "fifo":
        os.mkfifo(bad)
    else:
        from pytest_modelguard.capture import import_input

        monkeypatch.setattr(import_input, "MAX_FILE_BYTES", good.stat().st_size)
        bad.write_text(good.read_text() * 2)
    db = tmp_path / "t.db"
    assert main(["import", str(good), str(bad), "--db", str(db)]) == 4
    err = capsys.readouterr().err
    expected = {"directory": "is not a regular file (a directory)",
                "fifo": "is not a regular file (a FIFO)",
                "too large": "is 0.0 MB; the limit is 0 MB: split it"}  # fmt: skip
    assert f"modelguard: {bad} {expected[kind]}" in err and "nothing was imported" in err
    assert not db.exists()


def test_a_tag_that_is_not_valid_unicode_is_stored_valid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "log.jsonl").write_text(json.dumps(pair("q", Reply("a"))) + "\n")
    db = tmp_path / "t.db"
    assert main(["import", str(tmp_path / "log.jsonl"), "--db", str(db), "--tag", "t\udcff"]) == 0
    assert main(["traces", "stats", str(db)]) == 0
    assert "t\ufffd 1" in capsys.readouterr().out


def test_a_stored_time_past_2100_is_a_clean_error_in_stats(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    (tmp_path / "log.jsonl").write_text(json.dumps(pair("q", Reply("a"))) + "\n")
    db = tmp_path / "t.db"
    assert main(["import", str(tmp_path / "log.jsonl"), "--db", str(db)]) == 0
    with sqlite3.connect(db) as raw:  # as an older modelguard's import could have written it
        raw.execute("UPDATE traces SET started_at = 1e30")
    capsys.readouterr()
    assert main(["traces", "stats", str(db)]) == 4
    assert "row 1: started_at: expected a time before 2100" in capsys.readouterr().err


def test_the_summary_names_twenty_reasons_then_counts_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = span({"gen_ai.request.model": "m", "gen_ai.prompt.0.role": "user",
                 "gen_ai.prompt.0.content": "hi", "gen_ai.completion.0.content": "yo"})  # fmt: skip
    bad = [span({"gen_ai.request.model": "m", f"gen_ai.prompt.{n}.role": 5}) for n in range(25)]
    document = {"resourceSpans": [{"scopeSpans": [{"spans": [good, *bad]}]}]}
    (tmp_path / "spans.json").write_text(json.dumps(document))
    assert main(["import", str(tmp_path / "spans.json"), "--db", str(tmp_path / "t.db")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("imported 1 calls")
    assert len([line for line in out if line.startswith("  skipped 1: gen_ai.prompt.")]) == 20
    assert out[-1] == "  skipped 5 more, for 5 other reasons"
