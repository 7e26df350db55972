"""A cache that cannot be written: a usage error before anything is paid, and answers paid for
when a write fails mid-run (here a real EFBIG from RLIMIT_FSIZE) are graded, never dropped."""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
from loopback import Call, LoopbackServer, Reply
from sdkwarm import warm_sdks

UNUSED_PLUGINS = ("-p", "no:hypothesispytest", "-p", "no:benchmark", "-p", "no:anyio")
N = 12
CONCURRENCY = 3
PYPROJECT = """
[tool.modelguard]
baseline = "sim:base"
concurrency = {concurrency}
resamples = 200
cache_dir = "{cache}"
[tool.modelguard.providers.sim]
kind = "openai"
base_url = "{url}"
api_key_env = "WRITES_SIM_KEY"
"""


def answer(call: Call) -> Reply:
    return Reply(text=call.prompt.split()[-1])


@pytest.fixture(scope="module", autouse=True)
def _warm(tmp_path_factory: pytest.TempPathFactory) -> None:
    warm_sdks(tmp_path_factory.mktemp("warm"))


@pytest.fixture
def srv(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    monkeypatch.setenv("WRITES_SIM_KEY", "sk-writes")
    with LoopbackServer(answer, latency_s=0.02) as server:
        yield server


def project(pytester: pytest.Pytester, srv: LoopbackServer, cache: str) -> None:
    pytester.makefile(
        ".toml",
        pyproject=PYPROJECT.format(concurrency=CONCURRENCY, cache=cache, url=srv.openai_base_url),
    )
    cases = "".join(f"  - {{id: c{i:02d}, prompt: 'say w{i}', expected: w{i}}}\n" for i in range(N))
    pytester.makefile(".modelguard.yaml", s=f"defaults:\n  graders: [equals]\ncases:\n{cases}")


def test_an_unwritable_cache_is_a_usage_error_before_any_call(
    pytester: pytest.Pytester, srv: LoopbackServer
) -> None:
    (pytester.path / "blocker").write_text("a file where the cache's directory should be")
    project(pytester, srv, "blocker/cache")
    result = pytester.runpytest("--modelguard-record", "once")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*cache_dir*blocker*cache*cannot be written there*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert srv.count() == 0


def _small_files() -> None:
    """Files above 400 bytes fail with EFBIG (SIGXFSZ ignored, as a shell would not be)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (400, 400))


def test_answers_paid_when_writes_fail_are_graded_and_reported(
    pytester: pytest.Pytester, srv: LoopbackServer
) -> None:
    project(pytester, srv, ".modelguard")
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *UNUSED_PLUGINS]
    done = subprocess.run(
        [*command, "--modelguard-record", "once"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        preexec_fn=_small_files,
        timeout=120,
        check=False,
    )
    output = done.stdout + done.stderr
    paid = srv.count()
    assert 0 < paid <= CONCURRENCY, output  # the first failed write stops further calls
    assert "INTERNALERROR" not in output and "Traceback" not in output, output
    assert f"{paid} passed" in output and f"{N - paid} error" in output, output
    assert f"modelguard: {paid} paid answers could not be saved under" in output, output
    assert "File too large" in output and "this run graded them from memory" in output, output
    assert "answers could not be saved under" in output  # why the rest were not called
