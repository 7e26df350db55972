"""`modelguard import` against hostile files: JSONL pairs, Batch API files and OTLP JSON.

Each input asserts the exit status, the summary line (file, position and reason), that the
good records beside the bad ones were imported, and that `traces stats` and `export` then
work on the database. Everything runs in-process through the CLI's `main`.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pytest_modelguard.cli import main

Files = dict[str, "str | bytes"]
GOOD = "the good answer"
CREATED = 1_700_000_000


def completion(text: str = GOOD, **changes: Any) -> dict[str, Any]:
    """A Chat Completions response body."""
    body: dict[str, Any] = {
        "id": "chatcmpl-1", "object": "chat.completion", "created": CREATED,
        "model": "gpt-4.1-mini",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13},
    }  # fmt: skip
    body.update(changes)
    return body


def request(prompt: str = "the good question", **params: Any) -> dict[str, Any]:
    return {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": prompt}], **params}


def pair(req: Any = None, resp: Any = None) -> dict[str, Any]:
    return {"request": request() if req is None else req, "response": resp or completion()}


def lines(*records: Any) -> str:
    """JSONL: dicts dumped (NaN allowed, as Python writes it), strings as they are."""
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


def log(*bad: Any) -> Files:
    """A JSONL log: a good pair on line 1, then the bad records (line 2 onwards)."""
    return {"log.jsonl": lines(pair(), *bad)}


def usage(**counts: Any) -> dict[str, Any]:
    return completion(usage={"prompt_tokens": 9, "completion_tokens": 4, **counts})


def batch_in(ident: Any, body: Any = None, **extra: Any) -> dict[str, Any]:
    return {"custom_id": ident, "method": "POST", "url": "/v1/chat/completions",
            "body": request() if body is None else body, **extra}  # fmt: skip


def batch_out(ident: Any, body: Any = None, **changes: Any) -> dict[str, Any]:
    response = {"status_code": 200, "request_id": "r", "body": body or completion()}
    line = {"id": f"batch_req_{ident}", "custom_id": ident, "error": None, "response": response}
    line.update(changes)
    return line


def batch(inputs: list[Any], outputs: list[Any]) -> Files:
    """A good call (custom_id "ok") beside the given Batch input and output lines."""
    return {
        "in.jsonl": lines(batch_in("ok"), *inputs),
        "out.jsonl": lines(batch_out("ok"), *outputs),
    }


def attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return {"key": key, "value": value}
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": value}}


BASE = {
    "gen_ai.operation.name": "chat", "gen_ai.system": "openai",
    "gen_ai.request.model": "gpt-4.1", "gen_ai.usage.input_tokens": 12,
    "gen_ai.usage.output_tokens": 3,
    "gen_ai.input.messages": json.dumps([{"role": "user",
                                          "parts": [{"type": "text", "content": "hi"}]}]),
    "gen_ai.output.messages": json.dumps([{"role": "assistant",
                                           "parts": [{"type": "text", "content": GOOD}]}]),
}  # fmt: skip


def span(attrs: dict[str, Any] | None = None, drop: tuple[str, ...] = (), **fields: Any) -> Any:
    merged = {k: v for k, v in {**BASE, **(attrs or {})}.items() if k not in drop}
    built: dict[str, Any] = {
        "name": "chat gpt-4.1", "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000000500000000",
        "attributes": [attr(k, v) for k, v in merged.items()],
    }  # fmt: skip
    built.update(fields)
    return built


def otlp(*spans: Any) -> dict[str, Any]:
    return {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": list(spans)}]}]}


def spans(*bad: Any) -> Files:
    """An OTLP JSON document: a good span (#span 1), then the bad ones (#span 2 onwards)."""
    return {"spans.json": json.dumps(otlp(span(), *bad))}


def raw_spans(text_of_bad_span: str) -> Files:
    """An OTLP document whose second span is written as raw JSON text (NaN, Infinity, ...)."""
    good = json.dumps(span())
    document = '{"resourceSpans": [{"scopeSpans": [{"spans": [GOOD, BAD]}]}]}'
    return {"spans.json": document.replace("GOOD", good).replace("BAD", text_of_bad_span)}


@dataclass(frozen=True)
class Hostile:
    id: str
    files: Files
    says: tuple[str, ...] = ()  # in stdout or stderr; {d} is the folder of the files
    status: int = 0
    imported: int = 1
    exported: bool = True  # export finds an answered call
    line: tuple[str, str, str] = ("", "", "")  # a summary line: its start, a part, its end


def skip(id: str, files: Files, reason: str, at: str) -> Hostile:
    """A bad record skipped: its reason and its first place said, the good one imported."""
    return Hostile(id, files, line=("  skipped 1: ", reason, f"(first at {{d}}/{at})"))


P = "log.jsonl:2"
deep = "[" * 150 + "]" * 150
CASES = [
    # -- JSONL pairs: not JSON, not an object, too deep, refused numbers -------------------------
    skip("not-json", log("{not json"), "not valid JSON: Expecting property name", P),
    skip("truncated-json", log('{"request": {"model": "m"'), "not valid JSON: Expecting", P),
    skip("array-line", log("[1, 2]"), "not a JSON object", P),
    skip("string-line", log('"hello"'), "not a JSON object", P),
    skip("number-line", log("42"), "not a JSON object", P),
    skip("null-line", log("null"), "not a JSON object", P),
    skip("deep-past-recursion", log("[" * 100_000), "nested deeper than 100 levels", P),
    skip("deep-150", log(f'{{"request": {deep}, "response": {{}}}}'), "nested deeper than 100", P),
    skip("nan-tokens", log(pair(resp=usage(prompt_tokens=float("nan")))), "NaN, which JSON", P),
    skip("infinity-tokens", log(pair(resp=usage(prompt_tokens=float("inf")))), "Infinity", P),
    skip("minus-infinity", log(pair(resp=usage(completion_tokens=-float("inf")))), "-Infinity", P),
    skip(
        "1e400",
        log(lines(pair()).strip().replace('"total_tokens": 13', '"total_tokens": 1e400')),
        "a number too large for a float",
        P,
    ),
    skip("int-beyond-64-bits", log(pair(request(seed=10**30))), "a whole number beyond 64 bits", P),
    skip("int-of-5000-digits", log('{"request": ' + "9" * 5000 + "}"), "beyond 64 bits", P),
    skip(
        "negative-prompt-tokens",
        log(pair(resp=usage(prompt_tokens=-5))),
        "response.usage.prompt_tokens is not a token count",
        P,
    ),
    skip(
        "negative-completion-tokens",
        log(pair(resp=usage(completion_tokens=-1))),
        "response.usage.completion_tokens is not a token count",
        P,
    ),
    skip(
        "huge-token-count",
        log(pair(resp=usage(prompt_tokens=10**12))),
        "response.usage.prompt_tokens is not a token count",
        P,
    ),
    skip("fractional-tokens", log(pair(resp=usage(prompt_tokens=2.5))), "not a token count", P),
    skip("string-tokens", log(pair(resp=usage(prompt_tokens="abc"))), "not a token count", P),
    skip("bool-tokens", log(pair(resp=usage(prompt_tokens=True))), "not a token count", P),
    skip(
        "negative-cached-tokens",
        log(pair(resp=usage(prompt_tokens_details={"cached_tokens": -3}))),
        "response.usage.prompt_tokens_details.cached_tokens is not a token count",
        P,
    ),
    skip(
        "usage-not-object",
        log(pair(resp=completion(usage=[1, 2]))),
        "response.usage is not an object",
        P,
    ),
    skip(
        "negative-created",
        log(pair(resp=completion(created=-86400))),
        "response.created is not a time from 1970 to 2100",
        P,
    ),
    skip(
        "huge-created",
        log(pair(resp=completion(created=10**15))),
        "response.created is not a time from 1970 to 2100",
        P,
    ),
    skip(
        "string-created",
        log(pair(resp=completion(created="yesterday"))),
        "response is not a ChatCompletion (created: Input should be a valid integer",
        P,
    ),
    skip(
        "missing-created",
        log(pair(resp={k: v for k, v in completion().items() if k != "created"})),
        "response is not a ChatCompletion (created: Field required)",
        P,
    ),
    # -- JSONL pairs: wrong types and missing fields ---------------------------------------------
    skip("request-a-string", log(pair(req="hi")), "request without messages", P),
    skip(
        "messages-not-list",
        log(pair(req={"model": "m", "messages": "hi"})),
        "request without messages",
        P,
    ),
    skip(
        "messages-empty",
        log(pair(req={"model": "m", "messages": []})),
        "request.messages is empty or holds a message without a role",
        P,
    ),
    skip(
        "message-a-string",
        log(pair(req={"model": "m", "messages": ["hi"]})),
        "request.messages is empty or holds a message without a role",
        P,
    ),
    skip(
        "message-role-number",
        log(pair(req={"model": "m", "messages": [{"role": 1}]})),
        "without a role",
        P,
    ),
    skip(
        "model-a-number",
        log(pair(req={**request(), "model": 4})),
        "request.model is not a string",
        P,
    ),
    skip(
        "no-model-anywhere",
        log(pair(req={"messages": request()["messages"]}, resp=completion(model=""))),
        "no model named in the request or the response",
        P,
    ),
    skip(
        "response-a-list",
        log({"request": request(), "response": [1]}),
        "response is not an object",
        P,
    ),
    skip(
        "response-error",
        log({"request": request(), "response": {"error": {"message": "x"}}}),
        "the call failed",
        P,
    ),
    skip("no-choices", log(pair(resp=completion(choices=[]))), "response without choices", P),
    skip(
        "content-a-number",
        log(
            pair(
                resp=completion(
                    choices=[
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": 7},
                        }
                    ]
                )
            )
        ),
        "response is not a ChatCompletion (choices.0.message.content",
        P,
    ),
    skip(
        "unknown-finish-reason",
        log(
            pair(
                resp=completion(
                    choices=[
                        {
                            "index": 0,
                            "finish_reason": "eos",
                            "message": {"role": "assistant", "content": "x"},
                        }
                    ]
                )
            )
        ),
        "response is not a ChatCompletion (choices.0.finish_reason",
        P,
    ),
    skip(
        "unknown-shape",
        log({"prompt": "hi", "answer": "yo"}),
        "not a request/response pair, Batch API line or OTLP JSON",
        P,
    ),
    skip(
        "params-too-deep",
        log(pair(request(metadata=json.loads("[" * 70 + "]" * 70)))),
        "nested deeper than 64 levels",
        P,
    ),
    skip(
        "tool-arguments-too-deep",
        log(
            pair(
                resp=completion(
                    choices=[
                        {
                            "index": 0,
                            "finish_reason": "tool_calls",
                            "message": {
                                "role": "assistant",
                                "content": None,
                                "tool_calls": [
                                    {
                                        "id": "c",
                                        "type": "function",
                                        "function": {"name": "f", "arguments": "[" * 70 + "]" * 70},
                                    }
                                ],
                            },
                        }
                    ]
                )
            )
        ),
        "nested deeper than 64 levels",
        P,
    ),
    skip(
        "tool-arguments-nan",
        log(
            pair(
                resp=completion(
                    choices=[
                        {
                            "index": 0,
                            "finish_reason": "tool_calls",
                            "message": {
                                "role": "assistant",
                                "content": None,
                                "tool_calls": [
                                    {
                                        "id": "c",
                                        "type": "function",
                                        "function": {"name": "f", "arguments": '{"x": NaN}'},
                                    }
                                ],
                            },
                        }
                    ]
                )
            )
        ),
        "a number that is NaN or infinite",
        P,
    ),
    skip(
        "line-over-16-mb",
        log('{"request": "' + "x" * (16 * 2**20 + 10) + '"}'),
        "line of 16 MB (the limit is 16 MB)",
        P,
    ),
    Hostile(
        "pretty-printed-broken",
        {"doc.json": '{\n  "request": {\n    "model": \n}\n', "good.jsonl": lines(pair())},
        ("(the file read as one JSON document)", "(first at {d}/doc.json:4)"),
    ),
    Hostile(
        "json-array-of-pairs",
        {"list.json": json.dumps([pair(), 5, pair(req="x")])},
        (
            "skipped 1: not a JSON object (first at {d}/list.json item 2)",
            "skipped 1: request without messages (not Chat Completions) "
            "(first at {d}/list.json item 3)",
        ),
    ),
    Hostile(
        "json-array-nan-item",
        {"list.json": "[" + json.dumps(pair()) + ', {"request": NaN, "response": {}}]'},
        ("skipped 1: NaN, which JSON does not allow (first at {d}/list.json item 2)",),
    ),
    Hostile(
        "one-document-nan",
        {"one.json": '{"request": NaN, "response": {}}', "good.jsonl": lines(pair())},
        ("skipped 1: NaN, which JSON does not allow (first at {d}/one.json:1)",),
    ),
    Hostile(
        "every-record-bad",
        {"bad.jsonl": lines("{x", "[1]")},
        (
            "skipped 1: not a JSON object (first at {d}/bad.jsonl:2)",
            "nothing was imported: every record was skipped",
        ),
        status=4,
        imported=0,
    ),
    Hostile("empty-file", {"empty.jsonl": ""}, ("imported 0 calls",), imported=0),
    Hostile("blank-lines", {"blank.jsonl": "\n\n  \n"}, ("imported 0 calls",), imported=0),
    Hostile("bom", {"bom.jsonl": "\ufeff" + lines(pair())}, ("imported 1 calls",)),
    Hostile(
        "crlf-lines",
        {"crlf.jsonl": lines(pair()).replace("\n", "\r\n") * 2},
        ("imported 2 calls",),
        imported=2,
    ),
    # -- Strings: surrogates, invalid UTF-8, control characters ----------------------------------
    Hostile(
        "surrogate-in-prompt", log(pair(request("caf\ud800"))), ("imported 2 calls",), imported=2
    ),
    Hostile(
        "surrogate-in-answer",
        log(pair(resp=completion("ans\udfffwer"))),
        ("imported 2 calls",),
        imported=2,
    ),
    Hostile(
        "surrogate-in-param-key",
        log(pair(request(metadata={"k\ud800": "v"}))),
        ("imported 2 calls",),
        imported=2,
    ),
    Hostile(
        "surrogate-in-model",
        log(pair({**request(), "model": "gpt\ud800"})),
        ("imported 2 calls",),
        imported=2,
    ),
    Hostile(
        "surrogate-in-tool-arguments",
        log(
            pair(
                resp=completion(
                    choices=[
                        {
                            "index": 0,
                            "finish_reason": "tool_calls",
                            "message": {
                                "role": "assistant",
                                "content": None,
                                "tool_calls": [
                                    {
                                        "id": "c",
                                        "type": "function",
                                        "function": {
                                            "name": "f",
                                            "arguments": '{"city": "Os\\ud800lo"}',
                                        },
                                    }
                                ],
                            },
                        }
                    ]
                )
            )
        ),
        ("imported 2 calls",),
        imported=2,
    ),
    Hostile(
        "invalid-utf8",
        {
            "log.jsonl": lines(pair()).encode() + b'{"request": {"model": '
            b'"m", "messages": [{"role": "user", "content": "\xff\xfe"}]}, '
            b'"response": ' + json.dumps(completion()).encode() + b"}\n"
        },
        (
            "noted 1: invalid UTF-8, read with U+FFFD in place of the bad bytes "
            "(first at {d}/log.jsonl:2)",
        ),
        imported=2,
    ),
    Hostile(
        "control-characters",
        log(pair(request("a\x00b\x1b[31mc\x07"))),
        ("imported 2 calls",),
        imported=2,
    ),
    # -- Batch API files -------------------------------------------------------------------------
    Hostile(
        "batch-duplicate-input-id",
        batch([batch_in("r1"), batch_in("r1", request("other"))], [batch_out("r1")]),
        (
            "skipped 2: Batch API custom_id on several lines (import one batch's two files at "
            "a time) (first at {d}/in.jsonl:3)",
        ),
    ),
    Hostile(
        "batch-duplicate-output-id",
        batch([batch_in("r1")], [batch_out("r1"), batch_out("r1", completion("b"))]),
        ("skipped 2: Batch API custom_id on several lines", "(first at {d}/out.jsonl:3)"),
    ),
    Hostile(
        "batch-same-line-twice",
        batch([batch_in("r1"), batch_in("r1")], [batch_out("r1")]),
        ("noted 1: the same Batch API line twice (read once) (first at {d}/in.jsonl:3)",),
        imported=2,
    ),
    skip(
        "batch-id-a-list",
        batch([batch_in(["x"])], []),
        "Batch API custom_id is not a string",
        "in.jsonl:2",
    ),
    skip(
        "batch-id-a-bool",
        batch([], [batch_out(True)]),
        "Batch API custom_id is not a string",
        "out.jsonl:2",
    ),
    Hostile(
        "batch-id-a-number", batch([batch_in(7)], [batch_out(7)]), ("imported 2 calls",), imported=2
    ),
    skip(
        "batch-output-alone",
        batch([], [batch_out("r9")]),
        "Batch API output without its input line",
        "out.jsonl:2",
    ),
    skip(
        "batch-input-alone",
        batch([batch_in("r9")], []),
        "Batch API input without its output line",
        "in.jsonl:2",
    ),
    skip(
        "batch-error",
        batch([batch_in("r1")], [batch_out("r1", error={"code": "x"}, response=None)]),
        "the call failed",
        "out.jsonl:2",
    ),
    skip(
        "batch-status-500",
        batch(
            [batch_in("r1")],
            [
                batch_out(
                    "r1", response={"status_code": 500, "body": {"error": {"message": "boom"}}}
                )
            ],
        ),
        "the call failed",
        "out.jsonl:2",
    ),
    skip(
        "batch-response-a-string",
        batch([batch_in("r1")], [batch_out("r1", response="ok")]),
        "Batch API response is not an object",
        "out.jsonl:2",
    ),
    skip(
        "batch-body-without-messages",
        batch([batch_in("r1", {"model": "m"})], [batch_out("r1")]),
        "request without messages (not Chat Completions)",
        "out.jsonl:2",
    ),
    skip(
        "batch-embeddings-url",
        batch([batch_in("r1", url="/v1/embeddings")], []),
        "Batch API line for /v1/embeddings (only chat/completions is read)",
        "in.jsonl:2",
    ),
    skip(
        "batch-negative-tokens",
        batch([batch_in("r1")], [batch_out("r1", usage(prompt_tokens=-1))]),
        "response.usage.prompt_tokens is not a token count",
        "out.jsonl:2",
    ),
    skip(
        "batch-negative-created",
        batch([batch_in("r1")], [batch_out("r1", completion(created=-1))]),
        "response.created is not a time from 1970 to 2100",
        "out.jsonl:2",
    ),
    skip(
        "batch-body-nan",
        batch(['{"custom_id": "r1", "body": {"temperature": NaN}}'], []),
        "NaN, which JSON does not allow",
        "in.jsonl:2",
    ),
    # -- OTLP: wrong types at every level --------------------------------------------------------
    Hostile(
        "otlp-resourcespans-not-list",
        {"spans.jsonl": lines(otlp(span()), {"resourceSpans": {"a": 1}})},
        ("skipped 1: OTLP resourceSpans is not a list (first at {d}/spans.jsonl:2)",),
    ),
    Hostile(
        "otlp-resource-a-list",
        {"spans.json": json.dumps({"resourceSpans": [otlp(span())["resourceSpans"][0], [1]]})},
        (
            "skipped 1: an OTLP item holding scopeSpans is not an object "
            "(first at {d}/spans.json:1#resource 2)",
        ),
    ),
    Hostile(
        "otlp-scopespans-a-string",
        {
            "spans.json": json.dumps(
                {"resourceSpans": [otlp(span())["resourceSpans"][0], {"scopeSpans": "x"}]}
            )
        },
        ("skipped 1: OTLP scopeSpans is not a list (first at {d}/spans.json:1#resource 2)",),
    ),
    Hostile(
        "otlp-spans-a-number",
        {
            "spans.json": json.dumps(
                {"resourceSpans": [{"scopeSpans": [{"spans": [span()]}, {"spans": 3}]}]}
            )
        },
        ("skipped 1: OTLP spans is not a list (first at {d}/spans.json:1#resource 1 scope 2)",),
    ),
    skip("otlp-span-a-string", spans("span"), "span is not an object", "spans.json:1#span 2"),
    skip(
        "otlp-attributes-an-object",
        spans(span(attributes={"a": 1})),
        "span attributes is not a list",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-attribute-without-key",
        spans({**span(), "attributes": [{"value": {}}]}),
        "span attribute without a string key",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-attribute-value-a-string",
        spans(span(attributes=[attr("gen_ai.request.model", "x") | {"value": "gpt"}])),
        "gen_ai.request.model: the value is not an OTLP AnyValue object",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-intvalue-abc",
        spans(span({"gen_ai.usage.input_tokens": {"intValue": "abc"}})),
        "gen_ai.usage.input_tokens: intValue is not a 64-bit whole number",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-intvalue-infinity",
        raw_spans(json.dumps(span()).replace('{"intValue": "12"}', '{"intValue": Infinity}')),
        "gen_ai.usage.input_tokens: intValue is not a 64-bit whole number",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-intvalue-string-infinity",
        spans(span({"gen_ai.usage.output_tokens": {"intValue": "Infinity"}})),
        "gen_ai.usage.output_tokens: intValue is not a 64-bit whole number",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-intvalue-huge",
        spans(span({"gen_ai.usage.input_tokens": {"intValue": "9" * 40}})),
        "intValue is not a 64-bit whole number",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-intvalue-a-list",
        spans(span({"gen_ai.usage.input_tokens": {"intValue": [1]}})),
        "intValue is not a 64-bit whole number",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-negative-tokens",
        spans(span({"gen_ai.usage.output_tokens": -7})),
        "gen_ai.usage.output_tokens is not a token count",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-huge-tokens",
        spans(span({"gen_ai.usage.input_tokens": 10**15})),
        "gen_ai.usage.input_tokens is not a token count",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-doublevalue-nan",
        raw_spans(json.dumps(span({"gen_ai.request.temperature": 0.5})).replace("0.5", "NaN")),
        "gen_ai.request.temperature: doubleValue is not a number",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-doublevalue-string-infinity",
        spans(span({"gen_ai.request.temperature": {"doubleValue": "Infinity"}})),
        "gen_ai.request.temperature: doubleValue is infinite",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-stringvalue-a-number",
        spans(span({"gen_ai.request.model": {"stringValue": 5}})),
        "gen_ai.request.model: stringValue is not a string",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-boolvalue-a-string",
        spans(span({"gen_ai.request.model": {"boolValue": "yes"}})),
        "gen_ai.request.model: boolValue is not true or false",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-model-a-bool",
        spans(span({"gen_ai.request.model": True})),
        "gen_ai.request.model is not a string",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-arrayvalue-without-values",
        spans(span({"gen_ai.response.finish_reasons": {"arrayValue": {"v": 1}}})),
        "gen_ai.response.finish_reasons: arrayValue without a values list",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-kvlist-a-string",
        spans(
            span(
                events=[
                    {
                        "name": "gen_ai.user.message",
                        "attributes": [attr("content", {"kvlistValue": "x"})],
                    }
                ],
                drop=("gen_ai.input.messages",),
            )
        ),
        "content: kvlistValue without a values list",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-temperature-a-string",
        spans(span({"gen_ai.request.temperature": "hot"})),
        "gen_ai.request.temperature is not a number",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-start-time-huge",
        spans(span(startTimeUnixNano="9" * 20)),
        "startTimeUnixNano is not a time from 1970 to 2100",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-start-time-abc",
        spans(span(startTimeUnixNano="abc")),
        "startTimeUnixNano is not a whole number of nanoseconds",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-start-time-missing",
        spans(span(startTimeUnixNano=None)),
        "no startTimeUnixNano",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-start-time-negative",
        spans(span(startTimeUnixNano=-5)),
        "startTimeUnixNano is not a time from 1970 to 2100",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-start-time-a-float",
        spans(span(startTimeUnixNano=1.5e18)),
        "startTimeUnixNano is not a whole number of nanoseconds",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-input-messages-not-json",
        spans(span({"gen_ai.input.messages": "{oops"})),
        "gen_ai.input.messages: not valid JSON",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-input-messages-an-object",
        spans(span({"gen_ai.input.messages": "{}"})),
        "gen_ai.input.messages is not a JSON list of objects",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-input-messages-deep",
        spans(span({"gen_ai.input.messages": deep})),
        "gen_ai.input.messages: nested deeper than 100 levels",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-input-messages-nan",
        spans(span({"gen_ai.input.messages": "[NaN]"})),
        "gen_ai.input.messages: NaN, which JSON does not allow",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-message-without-role",
        spans(span({"gen_ai.input.messages": json.dumps([{"parts": []}])})),
        "a GenAI message without a role",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-parts-a-string",
        spans(span({"gen_ai.input.messages": json.dumps([{"role": "user", "parts": "hi"}])})),
        "parts is not a JSON list of objects",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-text-part-a-number",
        spans(
            span(
                {
                    "gen_ai.input.messages": json.dumps(
                        [{"role": "user", "parts": [{"type": "text", "content": 5}]}]
                    )
                }
            )
        ),
        "text part is not text",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-tool-call-without-name",
        spans(
            span(
                {
                    "gen_ai.output.messages": json.dumps(
                        [{"role": "assistant", "parts": [{"type": "tool_call", "arguments": {}}]}]
                    )
                }
            )
        ),
        "a tool_call part without a name",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-events-an-object",
        spans(span(drop=("gen_ai.input.messages",), events={"a": 1})),
        "span events is not a list",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-event-a-string",
        spans(span(drop=("gen_ai.input.messages",), events=["x"])),
        "span event is not an object",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-choice-message-a-list",
        spans(
            span(
                drop=("gen_ai.input.messages",),
                events=[
                    {"name": "gen_ai.user.message", "attributes": [attr("content", "hi")]},
                    {"name": "gen_ai.choice", "attributes": [attr("message", "[1]")]},
                ],
            )
        ),
        "gen_ai.choice message is not an object",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-event-tool-call-without-function",
        spans(
            span(
                drop=("gen_ai.input.messages",),
                events=[
                    {
                        "name": "gen_ai.assistant.message",
                        "attributes": [attr("tool_calls", json.dumps([{"id": "c"}]))],
                    }
                ],
            )
        ),
        "a tool call without a function name",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-status-a-string",
        spans(span(status="ERROR")),
        "span status is not an object",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-indexed-role-missing",
        spans(
            span(
                {"gen_ai.prompt.0.content": "hi", "gen_ai.completion.0.content": "yo"},
                drop=("gen_ai.input.messages",),
            )
        ),
        "gen_ai.prompt.0.role is missing",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-not-genai",
        spans(span(attributes=[attr("http.method", "GET")])),
        "not a GenAI span (no gen_ai.* attributes)",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-embeddings",
        spans(span({"gen_ai.operation.name": "embeddings"})),
        "GenAI operation 'embeddings' (not chat)",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-no-prompt",
        spans(span(drop=("gen_ai.input.messages",))),
        "no prompt recorded (content capture off?)",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-no-model",
        spans(span(drop=("gen_ai.request.model",))),
        "no gen_ai.request.model",
        "spans.json:1#span 2",
    ),
    skip(
        "otlp-deep-attribute-used",
        raw_spans(json.dumps(span()).replace('{"stringValue": "gpt-4.1"}', deep)),
        "gen_ai.request.model: the value is not an OTLP AnyValue object",
        "spans.json:1#span 2",
    ),
    Hostile(
        "otlp-deep-attribute-unused",
        raw_spans(json.dumps(span({"x.unused": 1})).replace('{"intValue": "1"}', deep)),
        ("imported 2 calls",),
        imported=2,
    ),
    Hostile(
        "otlp-surrogate-in-prompt",
        spans(
            span(
                {
                    "gen_ai.input.messages": json.dumps(
                        [{"role": "user", "parts": [{"type": "text", "content": "x\ud800"}]}]
                    )
                }
            )
        ),
        ("imported 2 calls",),
        imported=2,
    ),
    Hostile(
        "otlp-end-before-start",
        spans(span(endTimeUnixNano="1600000000000000000")),
        (
            "noted 1: latency unknown: endTimeUnixNano is before startTimeUnixNano "
            "(first at {d}/spans.json:1#span 2)",
        ),
        imported=2,
    ),
    Hostile(
        "otlp-no-end-time",
        spans(span(endTimeUnixNano=None)),
        ("noted 1: latency unknown: the span has no endTimeUnixNano",),
        imported=2,
    ),
    Hostile(
        "otlp-only-failed-spans",
        {
            "spans.json": json.dumps(
                otlp(span({"error.type": "timeout"}, drop=("gen_ai.output.messages",)))
            )
        },
        ("imported 1 calls into {d}/t.db (1 of them failed calls, filed as errors)",),
        exported=False,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_import(case: Hostile, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, content in case.files.items():
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
    db = tmp_path / "t.db"
    files = [str(tmp_path / name) for name in case.files]
    status = main(["import", *files, "--db", str(db)])
    out, err = capsys.readouterr()
    assert status == case.status, out + err
    for said in case.says:
        assert said.format(d=tmp_path) in out + err, out + err
    start, part, end = (text.format(d=tmp_path) for text in case.line)
    said = [x for x in out.splitlines() if x.startswith(start) and x.endswith(end)]
    assert any(part in x for x in said), out + err
    if not case.imported:
        assert not db.exists() or _outputs(db) == []
        return
    assert f"imported {case.imported} calls into {db}" in out
    answers = _outputs(db)
    assert len(answers) == case.imported
    assert GOOD in answers or not case.exported  # the good record beside the bad one
    _stats_and_export_work(db, tmp_path, case.exported, capsys)


def _outputs(db: Path) -> list[str | None]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT output FROM traces")]


def _stats_and_export_work(
    db: Path, folder: Path, exported: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["traces", "stats", str(db)]) == 0
    assert main(["traces", "stats", str(db), "--json"]) == 0
    suite = folder / "s.modelguard.yaml"
    status = main(["export", str(db), "-o", str(suite)])
    out, err = capsys.readouterr()
    assert status == (0 if exported else 4), out + err
    assert "Traceback" not in out + err
