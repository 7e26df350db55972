"""Export of captured calls to suites (round trip through the suite loader), and trace stats."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_modelguard.capture import Trace, TraceDb, TraceFilter, TraceStore
from pytest_modelguard.capture.export import ExportOptions, allocate, export_suite
from pytest_modelguard.capture.read import parse_time
from pytest_modelguard.capture.stats import format_summary, summarize
from pytest_modelguard.capture.store import Pending
from pytest_modelguard.core.errors import ExportError, TraceDbError
from pytest_modelguard.grading import Answer, build_grader
from pytest_modelguard.records.calls import Usage
from pytest_modelguard.suite import Suite, load_suite

DAY = 86_400.0
T0 = parse_time("2025-03-01")


def trace(prompt: str, *, tags: tuple[str, ...] = (), at: float = T0, **fields: Any) -> Trace:
    values: dict[str, Any] = {
        "provider": "openai", "model": "gpt-4.1-mini",
        "messages": ({"role": "system", "content": "Be brief."},
                     {"role": "user", "content": prompt}),
        "params": {"temperature": 0}, "output": f"answer to {prompt}",
        "usage": Usage(input_tokens=12, output_tokens=4), "latency_s": 0.25, "started_at": at,
        "tags": tags, "response_model": "gpt-4.1-mini-2025-04-14", "finish_reason": "stop",
    }  # fmt: skip
    values.update(fields)
    return Trace(**values)


def write_db(path: Path, traces: list[Trace]) -> Path:
    store = TraceStore(path)
    for item in traces:
        store.submit(Pending(item))
    store.close()
    assert store.written == len(traces)
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """40 support calls, 10 billing, 5 untagged, 2 errors, a duplicate, a tool call, over 5 days."""
    traces = [trace(f"s{i}", tags=("support",), at=T0 + i * DAY / 10) for i in range(40)]
    traces += [trace(f"b{i}", tags=("billing",), at=T0 + i * DAY / 2) for i in range(10)]
    traces += [trace(f"u{i}", at=T0 + i, model="gpt-4.1") for i in range(5)]
    traces += [trace(f"e{i}", output=None, usage=None, error="APIError: boom") for i in range(2)]
    traces.append(trace("s0", tags=("support",), at=T0 + 3 * DAY, output="newer answer to s0"))
    tool_call = {"role": "assistant", "content": None, "tool_calls": [{"id": "t1"}]}
    traces.append(trace("tool", messages=({"role": "user", "content": "x"}, tool_call)))
    return write_db(tmp_path / "traces.db", traces)


def export(db: Path, out: Path, **options: Any) -> tuple[Suite, dict[str, Any]]:
    export_suite(db, out, ExportOptions(**options))
    return load_suite(out), yaml.safe_load(out.read_text(encoding="utf-8"))


def test_export_round_trips_through_the_suite_loader(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "support.modelguard.yaml"
    result = export_suite(db, out, ExportOptions())
    assert (result.calls, result.errors, result.unsupported, result.cases) == (59, 2, 1, 56)
    suite = load_suite(out)
    text = out.read_text(encoding="utf-8")
    assert suite.name == "support" and len(suite.cases) == 56
    assert "# Edit the graders" in text
    ids = [case.id for case in suite.cases]
    assert len(set(ids)) == len(ids)
    first = suite.cases[0]
    assert first.messages == (
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "s0"},
    )
    assert first.params == {"temperature": 0} and first.tags == ("support",)
    assert first.baseline is not None and first.baseline.output == "answer to s0"
    assert first.baseline.usage["input_tokens"] == 12 and first.baseline.latency_s == 0.25
    assert first.baseline.cost_usd is not None and first.baseline.cost_usd > 0
    (spec,) = first.graders
    assert spec.name == "similarity" and spec.options == {"against": "baseline"}
    grade = build_grader(spec)(Answer(output="answer to s0", baseline_output="answer to s0"))
    assert grade.score == 1.0
    data = yaml.safe_load(text)
    assert data["defaults"]["system"] == "Be brief."  # shared by all: written once
    assert data["defaults"]["params"] == {"temperature": 0}
    assert data["cases"][0]["prompt"] == "s0" and "system" not in data["cases"][0]


def test_ids_are_stable_and_duplicates_numbered(db: Path, tmp_path: Path) -> None:
    one, _ = export(db, tmp_path / "a.modelguard.yaml")
    two, _ = export(db, tmp_path / "b.modelguard.yaml")
    assert [c.id for c in one.cases] == [c.id for c in two.cases]
    repeats = [c.id for c in one.cases if c.messages[-1]["content"] == "s0"]
    assert len(repeats) == 2 and repeats[1] == f"{repeats[0]}-2"


def test_dedupe_keeps_the_latest_answer(db: Path, tmp_path: Path) -> None:
    suite, _ = export(db, tmp_path / "d.modelguard.yaml", dedupe=True)
    s0 = [c for c in suite.cases if c.messages[-1]["content"] == "s0"]
    assert len(s0) == 1 and s0[0].baseline is not None
    assert s0[0].baseline.output == "newer answer to s0"


def test_sampling_is_reproducible_by_seed(db: Path, tmp_path: Path) -> None:
    def ids(seed: int, name: str) -> list[str]:
        suite, _ = export(db, tmp_path / f"{name}.modelguard.yaml", sample=10, seed=seed)
        return [case.id for case in suite.cases]

    first, again, other = ids(7, "a"), ids(7, "b"), ids(8, "c")
    assert first == again and len(first) == 10
    assert first != other


def test_stratified_sample_gives_each_tag_its_share(db: Path, tmp_path: Path) -> None:
    suite, _ = export(db, tmp_path / "s.modelguard.yaml", sample=12, by="tag", seed=0)
    shares = Counter("+".join(case.tags) or "(untagged)" for case in suite.cases)
    assert shares == {"support": 8, "billing": 2, "(untagged)": 2}


def test_a_new_tag_does_not_change_another_tags_draw(db: Path, tmp_path: Path) -> None:
    before, _ = export(db, tmp_path / "a.modelguard.yaml", sample=3, by="tag", seed=1)
    more = [trace(f"n{i}", tags=("new",)) for i in range(3)]
    store = TraceStore(db)
    for item in more:
        store.submit(Pending(item))
    store.close()
    after, _ = export(db, tmp_path / "b.modelguard.yaml", sample=4, by="tag", seed=1)
    old = {c.id for c in before.cases if "new" not in c.tags}
    assert old == {c.id for c in after.cases if "new" not in c.tags}


def test_allocate_is_proportional_with_one_each_when_possible() -> None:
    assert allocate({"a": 80, "b": 15, "c": 5}, 10) == {"a": 7, "b": 2, "c": 1}
    assert allocate({"a": 80, "b": 15, "c": 5}, 2) == {"a": 2, "b": 0, "c": 0}
    assert allocate({"a": 3, "b": 1}, 10) == {"a": 3, "b": 1}
    assert sum(allocate({"a": 5, "b": 5, "c": 5}, 7).values()) == 7


def test_filters_by_time_and_model(db: Path, tmp_path: Path) -> None:
    window = TraceFilter(since=parse_time("2025-03-02"), until=parse_time("2025-03-03", end=True))
    suite, _ = export(db, tmp_path / "w.modelguard.yaml", where=window)
    assert suite.cases and all(c.messages[-1]["content"][0] in "bs" for c in suite.cases)
    assert len(suite.cases) == 20 + 4  # support 10-29, billing 2-5; the newer s0 is at the end
    only = TraceFilter(models=("openai:gpt-4.1",))
    models, _ = export(db, tmp_path / "m.modelguard.yaml", where=only)
    assert sorted(c.messages[-1]["content"] for c in models.cases) == [f"u{i}" for i in range(5)]


def test_parse_time_reads_iso_dates() -> None:
    assert parse_time("2025-03-01T00:00:00Z") == parse_time("2025-03-01") == T0
    assert parse_time("2025-03-01", end=True) == T0 + DAY
    assert parse_time("2025-03-01T02:00+02:00") == T0
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_time("yesterday")


def test_messages_odd_content_and_unknown_usage(tmp_path: Path) -> None:
    sdk_message = {"role": "assistant", "content": "hello", "refusal": None, "annotations": []}
    chat = (
        {"role": "user", "content": "hi"},
        sdk_message,
        {"role": "user", "content": [{"type": "text", "text": "multi\nline"}]},
    )
    path = write_db(tmp_path / "t.db", [
        trace("p", messages=chat, usage=None, tags=("a:b",)),
        trace("q", provider="anthropic", model="claude-haiku-4-5", response_model="",
              usage=Usage(input_tokens=5, output_tokens=1, cached_input_tokens=3),
              params={"max_tokens": 9, "metadata": {"user_id": "u1"}}),
    ])  # fmt: skip
    suite, data = export(path, tmp_path / "o.modelguard.yaml", suite="mixed")
    first, second = suite.cases
    assert suite.name == "mixed"
    assert first.messages[-1] == {"role": "user", "content": "multi\nline"}
    assert first.messages[1] == {"role": "assistant", "content": "hello"}
    assert first.baseline is not None and first.baseline.cost_usd is None
    assert "input_tokens" not in data["cases"][0]["baseline"]
    assert second.params == {"max_tokens": 9}  # per-user metadata is left out
    assert data["cases"][1]["baseline"]["cached_input_tokens"] == 3
    assert data["cases"][1]["baseline"]["model"] == "anthropic:claude-haiku-4-5"


def test_export_refuses_bad_output_and_empty_results(db: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"\.modelguard\.yaml"):
        export_suite(db, tmp_path / "x.yaml", ExportOptions())
    out = tmp_path / "x.modelguard.yaml"
    out.write_text("mine")
    with pytest.raises(ExportError, match="--force"):
        export_suite(db, out, ExportOptions())
    assert out.read_text() == "mine"
    export_suite(db, out, ExportOptions(overwrite=True))
    nothing = TraceFilter(models=("no-such-model",))
    with pytest.raises(ExportError, match="no exportable calls"):
        export_suite(db, tmp_path / "y.modelguard.yaml", ExportOptions(where=nothing))
    assert not (tmp_path / "y.modelguard.yaml").exists()


@pytest.mark.parametrize(
    ("param", "reason"),
    [
        ("previous_response_id", "a call continuing a response that was not captured"),
        ("conversation", "a call that continues a conversation kept by the provider"),
    ],
)
def test_a_call_continuing_state_not_captured_is_left_out_with_its_reason(
    tmp_path: Path, param: str, reason: str
) -> None:
    """A Responses call continuing what the provider keeps holds only its newest turn: unless
    the calls it continues were captured, it would replay out of context."""
    turn = trace("and in euros?", params={param: "resp_0123", "temperature": 0})
    path = write_db(tmp_path / "t.db", [trace("price of a bike"), turn])
    result = export_suite(path, tmp_path / "s.modelguard.yaml", ExportOptions())
    assert result.cases == 1
    assert dict(result.reasons) == {f"{reason} ({param})": 1}
    assert "resp_0123" not in (tmp_path / "s.modelguard.yaml").read_text()


@pytest.mark.parametrize("content", [None, b"not sqlite" * 50, b""])
def test_unreadable_databases_raise_a_clear_error(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "t.db"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(TraceDbError, match=str(path)):
        TraceDb(path)


def test_stats_sum_calls_models_cost_tokens_latency_errors(db: Path) -> None:
    with TraceDb(db) as traces:
        summary = summarize(traces)
    total = summary.total
    assert (total.calls, total.errors) == (59, 2)
    assert total.input_tokens == 12 * 57 and total.output_tokens == 4 * 57
    assert total.cost_usd > 0 and total.latency(0.5) == 0.25
    assert set(summary.models) == {"openai:gpt-4.1-mini", "openai:gpt-4.1"}
    assert summary.tags["support"] == 41 and summary.tags["(untagged)"] == 8
    text = format_summary("traces.db", summary)
    assert "59 calls" in text and "openai:gpt-4.1-mini" in text and "2 errors" in text
    assert json.loads(json.dumps(summary.to_dict()))["models"]["openai:gpt-4.1"]["calls"] == 5


@pytest.fixture
def many(tmp_path: Path) -> Iterator[Path]:
    yield write_db(tmp_path / "many.db", [trace(f"p{i}", at=T0 + i) for i in range(2000)])


def test_sampling_a_large_database_reads_only_what_it_needs(many: Path, tmp_path: Path) -> None:
    suite, _ = export(many, tmp_path / "l.modelguard.yaml", sample=50, seed=3)
    assert len(suite.cases) == 50 and len({c.id for c in suite.cases}) == 50
