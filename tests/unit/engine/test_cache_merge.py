"""modelguard cache merge: a union of caches, every entry checked against its key; conflicts
and corrupt entries listed, nothing of --into lost (#28)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pytest_modelguard.cli import main
from pytest_modelguard.engine.cache import Cache
from pytest_modelguard.engine.cache_merge import merge_caches
from pytest_modelguard.records.calls import Completion, Request, Usage


def _request(word: str, model: str = "m1") -> Request:
    return Request("sim", model, ({"role": "user", "content": f"say {word}"},))


def _cache(root: Path, answers: dict[str, str], model: str = "m1") -> Cache:
    cache = Cache(root)
    for word, text in answers.items():
        cache.put(_request(word, model), Completion(text, Usage(3, 1), latency_s=0.5))
    return cache


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["cache", "merge", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_union_of_shards_replays_every_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _cache(tmp_path / "a", {"w1": "w1", "w2": "w2"})
    _cache(tmp_path / "b", {"w3": "w3"}, model="m2")
    _cache(tmp_path / "c", {"w2": "w2"})  # the same answer recorded twice: no conflict
    code, out, err = _run(
        capsys, *(str(tmp_path / n) for n in "abc"), "--into", str(tmp_path / "m")
    )
    assert (code, err) == (0, "")
    assert "4 entries read, 3 added, 1 already there with the same answer, 0 conflicts" in out
    merged = Cache(tmp_path / "m")
    for word, model in (("w1", "m1"), ("w2", "m1"), ("w3", "m2")):
        got = merged.get(_request(word, model))
        assert got is not None and got.text == word
    assert not list((tmp_path / "m").rglob(".tmp-*"))  # no temp file left behind
    again = merge_caches([tmp_path / "a", tmp_path / "b"], tmp_path / "m")
    assert (again.added, again.shared, again.ok) == (0, 3, True)


def test_a_conflict_keeps_the_answer_already_there_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    into = _cache(tmp_path / "into", {"w1": "kept"})
    before = into.path_for(_request("w1")).read_bytes()
    _cache(tmp_path / "a", {"w1": "other", "w2": "w2"})
    code, out, err = _run(capsys, str(tmp_path / "a"), "--into", str(tmp_path / "into"))
    assert code == 1
    assert "1 added, 0 already there with the same answer, 1 conflicts" in out
    assert f"conflict: {_request('w1').key()[:12]}: " in err
    assert str(Cache(tmp_path / "a").path_for(_request("w1"))) in err
    assert into.path_for(_request("w1")).read_bytes() == before
    assert into.get(_request("w2")) is not None  # the rest is merged all the same


def test_latency_and_usage_alone_are_no_conflict(tmp_path: Path) -> None:
    _cache(tmp_path / "into", {"w1": "w1"})
    Cache(tmp_path / "a").put(_request("w1"), Completion("w1", Usage(9, 9), latency_s=3.0))
    merged = merge_caches([tmp_path / "a"], tmp_path / "into")
    assert (merged.shared, merged.conflicts) == (1, [])


def test_corrupt_source_entries_are_listed_and_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _cache(tmp_path / "a", {"w1": "w1", "w2": "w2", "w3": "w3", "w4": "w4"})
    swapped = source.path_for(_request("w2"))
    shutil.copyfile(source.path_for(_request("w1")), swapped)  # another request's answer
    source.path_for(_request("w3")).write_bytes(b"\xff\xfe not json")
    linked = source.path_for(_request("w4"))
    linked.unlink()
    linked.symlink_to("/etc/passwd")
    (swapped.parent / "stray.json").write_text('{"request": [1, 2]}', encoding="utf-8")
    (swapped.parent / ".tmp-123-x.tmp").write_text("half written", encoding="utf-8")
    code, out, err = _run(capsys, str(tmp_path / "a"), "--into", str(tmp_path / "m"))
    assert code == 1
    assert "5 entries read, 1 added" in out and "4 corrupt" in out
    for path in (swapped, source.path_for(_request("w3")), linked):
        assert f"corrupt: {path}: " in err
    assert "holds the answer to another request" in err
    assert "not a regular file" in err
    assert "Traceback" not in err
    merged = Cache(tmp_path / "m")
    assert merged.get(_request("w1")) is not None
    assert [merged.get(_request(w)) for w in ("w2", "w3", "w4")] == [None, None, None]


def test_a_corrupt_entry_in_into_is_kept_and_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    into = _cache(tmp_path / "into", {"w1": "w1"})
    broken = into.path_for(_request("w1"))
    broken.write_text("{ torn", encoding="utf-8")
    _cache(tmp_path / "a", {"w1": "w1"})
    code, _, err = _run(capsys, str(tmp_path / "a"), "--into", str(tmp_path / "into"))
    assert code == 1
    assert f"corrupt: {broken}: not a valid modelguard cache entry" in err
    assert "kept;" in err and "delete it and merge again" in err
    assert broken.read_text(encoding="utf-8") == "{ torn"


def test_an_entry_filed_under_the_wrong_model_lands_where_its_request_says(
    tmp_path: Path,
) -> None:
    source = _cache(tmp_path / "a", {"w1": "w1"})
    right = source.path_for(_request("w1"))
    wrong = tmp_path / "a" / "answers" / "sim" / "elsewhere" / right.parent.name / right.name
    wrong.parent.mkdir(parents=True)
    right.rename(wrong)
    assert merge_caches([tmp_path / "a"], tmp_path / "m").added == 1
    assert Cache(tmp_path / "m").get(_request("w1")) is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing", "--into", "m"], "missing: no such cache directory"),
        (["a", "--into", "a"], "a: is --into itself"),
        (["a", "--into", "file"], "--into file: a file, not a cache directory"),
    ],
)
def test_bad_arguments_are_usage_errors(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    _cache(tmp_path / "a", {"w1": "w1"})
    (tmp_path / "file").write_text("x", encoding="utf-8")
    code, _, err = _run(capsys, *args)
    assert code == 4 and message in err


def test_an_unwritable_into_is_an_error_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _cache(tmp_path / "a", {"w1": "w1"})
    into = tmp_path / "into"
    into.mkdir()
    (into / "answers").write_text("a file where the answers go", encoding="utf-8")
    code, _, err = _run(capsys, str(tmp_path / "a"), "--into", str(into))
    assert code == 1 and "Traceback" not in err
    assert f"{into / 'answers'}" in err and "cannot be written" in err
    assert "0 entries were merged before it, none lost" in err


def test_an_oversized_entry_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pytest_modelguard.engine.cache_merge as cache_merge

    _cache(tmp_path / "a", {"w1": "w1"})
    monkeypatch.setattr(cache_merge, "MAX_ENTRY_BYTES", 64)
    merged = merge_caches([tmp_path / "a"], tmp_path / "m")
    assert merged.added == 0 and "over the 64 a cache entry may have" in merged.corrupt[0]


def test_an_interrupted_merge_leaves_whole_entries_and_says_to_rerun(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import pytest_modelguard.engine.cache_merge as cache_merge

    _cache(tmp_path / "a", {f"w{i}": f"w{i}" for i in range(4)})
    real, calls = cache_merge._write_new, []

    def interrupted(target: Path, text: str) -> bool:
        calls.append(target)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(target, text)

    monkeypatch.setattr(cache_merge, "_write_new", interrupted)
    code, _, err = _run(capsys, str(tmp_path / "a"), "--into", str(tmp_path / "m"))
    assert code == 130 and "interrupted; merge again" in err
    monkeypatch.setattr(cache_merge, "_write_new", real)
    again = merge_caches([tmp_path / "a"], tmp_path / "m")
    assert (again.added, again.shared, again.ok) == (2, 2, True)
