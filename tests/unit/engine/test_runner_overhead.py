"""What the live path's cheaper bookkeeping must still keep: exclusive claims, whole entries."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from pytest_modelguard.engine.cache import Cache
from pytest_modelguard.records.calls import Completion, Request, Usage

fcntl = pytest.importorskip("fcntl")


def req(prompt: str) -> Request:
    return Request("openai", "m1", ({"role": "user", "content": prompt},))


HOLD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from pytest_modelguard.engine.cache import Cache
    from pytest_modelguard.records.calls import Request

    request = Request("openai", "m1", ({"role": "user", "content": sys.argv[2]},))
    claim = Cache(Path(sys.argv[1])).claim(request)
    assert claim.try_acquire()
    print("held", flush=True)
    sys.stdin.readline()  # hold until told to let go
    claim.release()
    """
)


def test_a_claim_held_by_another_process_is_refused_until_released(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / "cache"), "one"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline() == "held\n"
        same, other = cache.claim(req("one")), cache.claim(req("two"))
        assert not same.try_acquire()
        assert other.try_acquire()
        holder.stdin.write("go\n")
        holder.stdin.flush()
        assert holder.wait(timeout=30) == 0  # the holder let go and exited
        assert same.try_acquire()
        same.release()
        other.release()
    finally:
        holder.communicate(timeout=30)
    assert holder.returncode == 0


def test_two_claims_on_one_request_exclude_each_other_in_one_process(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    first, second = cache.claim(req("one")), cache.claim(req("one"))
    assert first.try_acquire()
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()


def test_claims_create_no_file_per_request_where_byte_locks_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not hasattr(fcntl, "F_OFD_SETLK"):
        pytest.skip("no open-file-description locks here")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "temp"))
    cache = Cache(tmp_path / "cache")
    claims = [cache.claim(req(f"p{i}")) for i in range(20)]
    assert all(claim.try_acquire() for claim in claims)
    for claim in claims:
        claim.release()
    assert len([p for p in (tmp_path / "temp").rglob("*") if p.is_file()]) == 1


def test_an_entry_is_the_same_pretty_json_as_before(tmp_path: Path) -> None:
    request = req("héllo")
    completion = Completion("hi ☃", Usage(3, 2, 1), 0.25, "m1-2025", "stop")
    path = Cache(tmp_path).put(request, completion)
    entry = {
        "version": 1,
        "key": request.key(),
        "request": request.canonical(),
        "completion": completion.to_dict(),
    }
    expected = json.dumps(entry, indent=2, ensure_ascii=False) + "\n"
    assert path.read_text(encoding="utf-8") == expected
    assert [p.name for p in path.parent.iterdir()] == [path.name]
