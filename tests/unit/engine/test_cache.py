"""The replay cache: canonical keys, round trips, atomic and readable entries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_modelguard.core.errors import CorruptEntryError
from pytest_modelguard.engine.cache import Cache, parse_entry
from pytest_modelguard.records.calls import Completion, Request, Usage

REQUEST = Request(
    "openai",
    "gpt-4.1-mini",
    ({"role": "user", "content": "héllo"},),
    {"temperature": 0, "max_tokens": 5},
)


def test_round_trip_keeps_text_usage_and_latency(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    completion = Completion(
        "bonjour ✓",
        Usage(10, 2, cached_input_tokens=4, reasoning_tokens=1),
        0.25,
        "gpt-4.1-mini",
        "stop",
    )
    assert cache.get(REQUEST) is None
    path = cache.put(REQUEST, completion)
    assert cache.get(REQUEST) == completion
    entry = json.loads(path.read_text(encoding="utf-8"))
    assert entry["request"]["messages"][0]["content"] == "héllo"  # readable, not escaped
    assert "héllo" in path.read_text(encoding="utf-8")
    assert path.relative_to(tmp_path).parts[:3] == ("answers", "openai", "gpt-4.1-mini")
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".tmp-")]


def test_key_depends_on_the_request_not_on_param_order() -> None:
    reordered = Request(
        REQUEST.provider, REQUEST.model, REQUEST.messages, {"max_tokens": 5, "temperature": 0}
    )
    assert reordered.key() == REQUEST.key()
    for changed in (
        Request("anthropic", REQUEST.model, REQUEST.messages, REQUEST.params),
        Request(REQUEST.provider, "gpt-4.1", REQUEST.messages, REQUEST.params),
        Request(
            REQUEST.provider, REQUEST.model, ({"role": "user", "content": "hello"},), REQUEST.params
        ),
        Request(
            REQUEST.provider, REQUEST.model, REQUEST.messages, {"temperature": 1, "max_tokens": 5}
        ),
        Request(REQUEST.provider, REQUEST.model, REQUEST.messages, REQUEST.params, repeat=1),
    ):
        assert changed.key() != REQUEST.key()


def test_corrupt_entry_names_the_file(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    path = cache.put(REQUEST, Completion("x"))
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CorruptEntryError, match=str(path.name)):
        cache.get(REQUEST)


def test_a_replay_trusts_the_named_key_and_an_audit_hashes_the_request(tmp_path: Path) -> None:
    """A replay reads an entry by its key field (no hash per read); ``cache check`` and
    ``cache merge`` (audit) also catch a request edited in place; a copy is caught by both."""
    cache = Cache(tmp_path)
    path = cache.put(REQUEST, Completion("x"))
    entry = json.loads(path.read_text(encoding="utf-8"))
    entry["request"]["messages"][0]["content"] = "edited in place"
    edited = json.dumps(entry)
    path.write_text(edited, encoding="utf-8")
    assert cache.get(REQUEST) == Completion("x")  # recorded for this key: served
    with pytest.raises(CorruptEntryError, match="another request"):
        parse_entry(edited, str(path), REQUEST.key())
    del entry["key"]  # an entry that names no key is hashed on every read
    path.write_text(json.dumps(entry), encoding="utf-8")
    with pytest.raises(CorruptEntryError, match="another request"):
        cache.get(REQUEST)
    entry["key"] = "0" * 64  # copied from another request's file
    path.write_text(json.dumps(entry), encoding="utf-8")
    with pytest.raises(CorruptEntryError, match=f"{path.name}.*another request"):
        cache.get(REQUEST)


def test_reads_whole_entries_and_names_what_is_wrong(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    long = Completion("x" * 200_000)  # several read chunks
    path = cache.put(REQUEST, long)
    assert cache.get(REQUEST) == long
    assert cache.read(str(path), REQUEST.key()) == long
    path.write_bytes(path.read_bytes().replace(b'"x', b'"\xff', 1))  # not UTF-8
    with pytest.raises(CorruptEntryError, match=f"{path.name}.*not a valid"):
        cache.get(REQUEST)
    path.unlink()
    path.mkdir()
    with pytest.raises(CorruptEntryError, match="a directory"):
        cache.read(str(path), REQUEST.key())
    path.rmdir()
    assert cache.get(REQUEST) is None and cache.read(str(path), REQUEST.key()) is None


def test_model_names_are_made_path_safe(tmp_path: Path) -> None:
    odd = Request("python", "../../etc:passwd", REQUEST.messages)
    path = Cache(tmp_path).put(odd, Completion("x"))
    assert tmp_path in path.parents


def test_provider_errors_survive_pickling() -> None:
    import pickle

    from pytest_modelguard.records.calls import ProviderError

    error = pickle.loads(
        pickle.dumps(ProviderError("HTTP 429", transient=True, status=429, retry_after=1.5))
    )
    assert (str(error), error.transient, error.status, error.retry_after) == (
        "HTTP 429",
        True,
        429,
        1.5,
    )
