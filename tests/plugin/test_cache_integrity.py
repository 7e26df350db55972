"""An entry copied over another request's file is never served, and cache-check finds it."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from pytest_modelguard.cli import main
from pytest_modelguard.core.errors import CacheError, CorruptEntryError
from pytest_modelguard.engine.cache import Cache
from pytest_modelguard.records.calls import Completion, Request

ANSWERS = """
def good(request):
    return request.messages[-1]["content"].split()[-1]
"""
PYPROJECT = """
[tool.modelguard]
baseline = "python:answers:good"
models = []
resamples = 200
"""


def _request(word: str) -> Request:
    return Request("python", "answers:good", ({"role": "user", "content": f"say {word}"},))


def test_an_entry_for_another_request_is_refused_naming_the_file(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    right = cache.put(_request("w1"), Completion("w1"))
    wrong = cache.put(_request("w2"), Completion("w2"))
    shutil.copyfile(right, wrong)
    assert cache.get(_request("w1")) == Completion("w1")
    with pytest.raises(CorruptEntryError, match=f"{wrong.name}.*another request"):
        cache.get(_request("w2"))


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(answers=ANSWERS)
    pytester.makefile(".toml", pyproject=PYPROJECT)
    pytester.makefile(".ini", pytest="[pytest]\npythonpath = .\n")
    cases = "".join(f"  - {{id: c{i}, prompt: 'say w{i}', expected: w{i}}}\n" for i in range(4))
    pytester.makefile(".modelguard.yaml", s=f"defaults:\n  graders: [equals]\ncases:\n{cases}")
    return pytester


def test_replay_errors_the_item_and_cache_check_fails(
    project: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    project.runpytest("--modelguard-record", "once").assert_outcomes(passed=4)
    cache = Cache(project.path / ".modelguard")
    swapped = cache.path_for(_request("w2"))
    shutil.copyfile(cache.path_for(_request("w1")), swapped)
    replay = project.runpytest()
    replay.assert_outcomes(passed=3, errors=1, failed=1)  # + the gate results
    replay.stdout.fnmatch_lines([f"*{swapped.name}*holds the answer to another request*"])
    capsys.readouterr()
    assert main(["cache-check", "--cache-dir", str(project.path / ".modelguard")]) == 1
    out, err = capsys.readouterr()
    assert str(swapped) in err and "4 recorded answers" in out and "1 corrupt" in out


def test_lock_dir_is_private_to_its_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "tmp"
    shared.mkdir(mode=0o1777)
    shared.chmod(0o1777)
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    Cache(tmp_path / "cache").claim(_request("w1")).release()
    locks = shared / f"modelguard-{os.getuid()}"
    assert stat.S_IMODE(locks.stat().st_mode) == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown a directory to another user")
def test_a_lock_dir_of_another_user_is_refused_with_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    planted = tmp_path / f"modelguard-{os.getuid()}"
    planted.mkdir(mode=0o777)
    os.chown(planted, 65534, 65534)
    with pytest.raises(CacheError, match=f"{planted}: exists but is not a directory of yours"):
        Cache(tmp_path / "cache").claim(_request("w1"))
