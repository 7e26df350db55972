"""``modelguard import``: traffic kept elsewhere → the traces database export and replay read.

Two sources: JSONL of OpenAI-format request/response pairs (``{"request", "response"}``
lines, or Batch API input and output files paired by ``custom_id``), and OpenTelemetry
GenAI spans exported as OTLP JSON. Files are read under the input policy
(``import_input``); a record that cannot be read is counted under its reason with the
first place it occurred, never raised; every call is checked and scrubbed of credentials
(``import_checks``) before anything is written, in one transaction.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..core.errors import FileRefused
from .import_checks import MAX_TOKENS, Secrets, checked, seconds, token_count
from .import_input import ImportResult, Malformed, Record, records, shown
from .media import media_dir
from .otel import Note, spans_of, trace_of_span
from .store import INSERT, Pending, Trace, connect, to_row

__all__ = ["ImportResult", "import_files", "trace_of_pair"]
_UNTIMED = "latency unknown (JSONL and Batch records carry no timing)"
_AMBIGUOUS = "Batch API custom_id on several lines (import one batch's two files at a time)"
_BROKEN = (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError)
Made = tuple[str, "Trace | str", frozenset[str]]
"""Where a call was read, its Trace (or why it is skipped), and the credentials its record held."""


@dataclass
class _Batch:
    """Batch API lines by ``custom_id``: (where, body or output line, credentials) each."""

    inputs: dict[str, list[tuple[str, Any, frozenset[str]]]] = field(default_factory=dict)
    outputs: dict[str, list[tuple[str, Mapping[str, Any], frozenset[str]]]] = field(
        default_factory=dict
    )


def import_files(
    paths: list[Path], db: str | os.PathLike[str], *, tags: tuple[str, ...] = ()
) -> ImportResult:
    """Read every file (JSONL pairs or OTLP JSON, told apart by content) into ``db``.

    ``FileRefused`` or ``OSError`` for a file that cannot be read, ``sqlite3.Error`` or
    ``OSError`` for a database that cannot be written: nothing is written then.
    """
    result = ImportResult()
    secrets = Secrets()
    made: list[Made] = []
    batch = _Batch()
    for path in paths:
        for where, record in _read(path, result):
            own = secrets.found_in(record)
            try:
                made += _calls(where, record, own, batch, result)
            except Malformed as exc:
                result.skip(where, str(exc))
            except (*_BROKEN, RecursionError) as exc:  # a shape no check foresaw
                result.skip(where, f"unreadable record ({type(exc).__name__})")
    made += _paired(batch, result)
    traces = []
    for where, trace, own in made:
        if isinstance(trace, str):
            result.skip(where, trace)
            continue
        try:
            traces.append(checked(replace(trace, tags=tags or trace.tags), secrets.scrubber(own)))
        except Malformed as exc:
            result.skip(where, str(exc))
            continue
        if trace.latency_s is None and "#span " not in where:  # spans note their own reason
            result.note(where, _UNTIMED)
    _write(db, traces)
    result.imported = len(traces)
    result.failed = sum(1 for t in traces if t.error is not None)
    return result


def _read(path: Path, result: ImportResult) -> Iterator[Record]:
    """The records of ``path``; FileRefused naming it when it cannot be read at all."""
    try:
        yield from records(path, result)
    except FileRefused as exc:
        split = (
            f": split it (split -l 100000 {path} part-) and import the parts"
            if "MB" in str(exc)
            else ""
        )
        raise FileRefused(f"{path} {exc}{split}; nothing was imported") from None
    except OSError as exc:
        raise FileRefused(
            f"{path}: cannot read: {exc.strerror or exc}; nothing was imported"
        ) from None


def _calls(
    where: str, record: Mapping[str, Any], own: frozenset[str], batch: _Batch, result: ImportResult
) -> list[Made]:
    """The calls of one record (Batch lines are kept aside until every file is read)."""
    if "resourceSpans" in record:
        return [
            (at, trace_of_span(span, _noter(result, at)), own)
            for at, span in spans_of(where, record, result)
        ]
    if "custom_id" in record and ("body" in record or "response" in record or "error" in record):
        ident = record["custom_id"]
        if not isinstance(ident, str | int) or isinstance(ident, bool):
            raise Malformed("Batch API custom_id is not a string")
        if "body" in record:
            url = record.get("url")
            if isinstance(url, str) and not url.rstrip("/").endswith("chat/completions"):
                raise Malformed(f"Batch API line for {shown(url)} (only chat/completions is read)")
            batch.inputs.setdefault(str(ident), []).append((where, record["body"], own))
        else:
            batch.outputs.setdefault(str(ident), []).append((where, record, own))
        return []
    if "request" in record and "response" in record:
        return [(where, trace_of_pair(record["request"], record["response"]), own)]
    raise Malformed("not a request/response pair, Batch API line or OTLP JSON")


def _noter(result: ImportResult, where: str) -> Note:
    return lambda reason: result.note(where, reason)


def _paired(batch: _Batch, result: ImportResult) -> list[Made]:
    """Each Batch output with its input line; what cannot be paired surely is skipped."""
    made: list[Made] = []
    for ident in dict.fromkeys([*batch.inputs, *batch.outputs]):
        inputs = _once(batch.inputs.get(ident, []), result)
        outputs = _once(batch.outputs.get(ident, []), result)
        if not outputs:
            for where, _, _ in inputs:
                result.skip(where, "Batch API input without its output line")
        elif not inputs:
            for where, _, _ in outputs:
                result.skip(where, "Batch API output without its input line")
        elif len(inputs) > 1 or len(outputs) > 1:  # which answer belongs to which request?
            where = (inputs[1] if len(inputs) > 1 else outputs[1])[0]
            for _ in range(max(len(inputs), len(outputs))):
                result.skip(where, _AMBIGUOUS)
        else:
            (_, body, secrets_in), (where, output, secrets_out) = inputs[0], outputs[0]
            try:
                trace = _batch_call(body, output)
            except (*_BROKEN, RecursionError) as exc:  # a shape no check foresaw
                trace = f"unreadable record ({type(exc).__name__})"
            made.append((where, trace, secrets_in | secrets_out))
    return made


def _once(lines: list[Any], result: ImportResult) -> list[Any]:
    """Identical lines (the same file given twice) count once, said in a note."""
    seen: dict[str, Any] = {}
    for line in lines:
        key = json.dumps(line[1], sort_keys=True)
        if key in seen:
            result.note(line[0], "the same Batch API line twice (read once)")
        seen.setdefault(key, line)
    return list(seen.values())


def _batch_call(body: Any, output: Mapping[str, Any]) -> Trace | str:
    response = output.get("response")
    if output.get("error") or response is None:
        return "the call failed"
    if not isinstance(response, Mapping):
        return "Batch API response is not an object"
    status = response.get("status_code")
    if isinstance(status, int) and not isinstance(status, bool) and status >= 400:
        return "the call failed"
    return trace_of_pair(body, response.get("body"))


def trace_of_pair(request: Any, response: Any) -> Trace | str:
    """A Trace from an OpenAI Chat Completions request body and its response body, or why not."""
    try:
        return _pair(request, response)
    except Malformed as exc:
        return str(exc)


def _pair(request: Any, response: Any) -> Trace | str:
    from openai.types.chat import ChatCompletion
    from pydantic import ValidationError

    from ..engine.providers.openai import to_completion

    if not isinstance(request, Mapping) or not isinstance(request.get("messages"), list):
        return "request without messages (not Chat Completions)"
    messages = request["messages"]
    if not messages or not all(_is_message(m) for m in messages):
        return "request.messages is empty or holds a message without a role"
    model = request.get("model")
    if model is not None and not isinstance(model, str):
        return "request.model is not a string"
    if not isinstance(response, Mapping):
        return "response is not an object"
    if response.get("error") and not response.get("choices"):
        return "the call failed"
    if not response.get("choices"):
        return "response without choices"
    _check_usage(response.get("usage"))
    try:
        done = to_completion(ChatCompletion.model_validate(response), 0.0)
    except ValidationError as exc:
        return f"response is not a ChatCompletion ({_first_error(exc)})"
    if not (model or done.model):
        return "no model named in the request or the response"
    started = seconds(response.get("created"), "response.created")
    params = {k: v for k, v in request.items() if k not in ("model", "messages", "stream")}
    return Trace(
        provider="openai", model=model or done.model, messages=tuple(messages), params=params,
        output=done.text, usage=done.usage if response.get("usage") else None,
        latency_s=None, started_at=started, response_model=done.model,
        finish_reason=done.finish_reason, tool_calls=done.tool_calls, host="import",
    )  # fmt: skip


def _is_message(message: Any) -> bool:
    return isinstance(message, Mapping) and isinstance(message.get("role"), str)


def _check_usage(usage: Any) -> None:
    """Token counts whole, from 0 to 10^9 (a negative count would poison stats and export)."""
    if usage is None:
        return
    if not isinstance(usage, Mapping):
        raise Malformed("response.usage is not an object")
    for path, value in _counts(usage, ("response.usage",)):
        if type(value) is not int or not 0 <= value <= MAX_TOKENS:  # named only when wrong
            token_count(value, ".".join(shown(str(key)) for key in path))


def _counts(
    usage: Mapping[str, Any], path: tuple[Any, ...]
) -> Iterable[tuple[tuple[Any, ...], Any]]:
    for key, value in usage.items():
        if isinstance(value, Mapping):  # prompt_tokens_details and the like
            yield from _counts(value, (*path, key))
        elif str(key).endswith("tokens") and value is not None:
            yield (*path, key), value


def _first_error(exc: Any) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return shown(f"{where}: {first.get('msg', '')}", 120)


def _write(db: str | os.PathLike[str], traces: list[Trace]) -> None:
    conn = connect(Path(db), 5.0)
    try:
        media = media_dir(Path(db))
        rows = [row for t in traces if (row := to_row(Pending(t), media)) is not None]
        with conn:
            conn.executemany(INSERT, rows)
    finally:
        conn.close()
