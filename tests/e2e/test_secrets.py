"""No API key, auth header or ``*_API_KEY`` value in any file a run writes, nor in its output.

Records through the loopback server with the real OpenAI and Anthropic SDKs, asks for
every report, then scans every byte under the project for the keys.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import loopback
import pytest
from loopback import Call, LoopbackServer
from sdkwarm import warm_sdks

KEYS = {
    "SIM_API_KEY": "test-sim-7Qz3xK9pLmW2vR8tYb4N",
    "SIMANT_API_KEY": "test-ant-J5hD1fG6sA0qE7wU3iOc",
    "OPENAI_API_KEY": "test-openai-Xv8Bn2Mk4Lq6Zr1Tp9Ws",
    "ANTHROPIC_API_KEY": "test-anthropic-Hc3Yd7Fg5Jk1Ls9Qa2",
}
HEADER = re.compile(rb"(authorization|x-api-key)[\"']?\s*[:=]\s*[\"']?\S", re.IGNORECASE)

PYPROJECT = """
[tool.modelguard]
baseline = "base"
models = ["cand"]
resamples = 1000
max_attempts = 1
retry_delay_s = 0

[tool.modelguard.providers.sim]
kind = "openai"
base_url = "{openai_url}"
api_key_env = "SIM_API_KEY"

[tool.modelguard.providers.simant]
kind = "anthropic"
base_url = "{anthropic_url}"
api_key_env = "SIMANT_API_KEY"

[tool.modelguard.aliases.base]
model = "sim:base"
price = {{ input = 1.0, output = 2.0 }}

[tool.modelguard.aliases.cand]
model = "simant:cand"
price = {{ input = 0.5, output = 1.0 }}
"""

SUITE = """
suite: secrets
tags: [support]
defaults:
  graders: [{equals: {normalize: [strip, lower]}}]
cases:
  - {id: c1, prompt: "say billing", expected: billing, tags: [billing]}
  - {id: c2, prompt: "say bug", expected: bug}
  - {id: c3, messages: [{role: system, content: "Be brief."}, {role: user, content: "say other"}],
     expected: other}
"""


class EchoingServer(LoopbackServer):
    """A loopback server whose model ``leaky`` answers 401 quoting the key it was sent."""

    async def _answer(self, call: Call, n: int, writer: asyncio.StreamWriter) -> bool:
        if call.model != "leaky":
            return await super()._answer(call, n, writer)
        sent = call.headers.get("authorization") or call.headers.get("x-api-key", "")
        body = {
            "error": {
                "message": f"Incorrect API key provided: {sent}",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
        }
        writer.write(loopback._response(401, json.dumps(body).encode()))
        return True


def _last_word(call: Call) -> str:
    return call.prompt.split()[-1]


@pytest.fixture(scope="module", autouse=True)
def _warm(tmp_path_factory: pytest.TempPathFactory) -> None:
    warm_sdks(tmp_path_factory.mktemp("warm"))


@pytest.fixture
def srv(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    with EchoingServer(_last_word) as server:
        yield server


@pytest.fixture
def project(pytester: pytest.Pytester, srv: LoopbackServer) -> pytest.Pytester:
    pytester.makefile(
        ".toml",
        pyproject=PYPROJECT.format(
            openai_url=srv.openai_base_url, anthropic_url=srv.anthropic_base_url
        ),
    )
    pytester.makefile(".modelguard.yaml", secrets=SUITE)
    return pytester


def _leaks(data: bytes) -> list[str]:
    """What in ``data`` looks like a key or an auth header value."""
    found = [
        name for name, key in KEYS.items() if key.encode() in data or key[-12:].encode() in data
    ]
    return found + [m.group().decode(errors="replace") for m in HEADER.finditer(data)]


def _scan(root: Path) -> dict[str, list[str]]:
    """Every file under ``root`` that holds a key or an auth header value."""
    return {
        str(path.relative_to(root)): leaks
        for path in sorted(root.rglob("*"))
        if path.is_file() and (leaks := _leaks(path.read_bytes()))
    }


REPORTS = (
    "--modelguard-json", "out/report.json", "--modelguard-markdown", "out/report.md",
    "--modelguard-html", "out/report.html", "--modelguard-routes", "out/routes.yaml",
    "--junitxml", "out/junit.xml", "-o", "junit_logging=all", "-o", "junit_log_passing_tests=true",
    "--log-file", "out/pytest.log", "--log-file-level", "DEBUG", "-rA", "--modelguard-save",
)  # fmt: skip


def _run_and_scan(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Run with every report asked for; assert no key in any file under the project or output."""
    result = project.runpytest(*args, *REPORTS)
    assert _scan(project.path) == {}
    assert _leaks("\n".join(result.outlines + result.errlines).encode()) == []
    return result


def test_no_key_in_any_file_or_output(
    project: pytest.Pytester, srv: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = project.path / "out" / "step-summary.md"
    summary.parent.mkdir()
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    _run_and_scan(project, "--modelguard-record", "once").assert_outcomes(
        passed=7
    )  # + the gate results
    assert {KEYS["SIM_API_KEY"], KEYS["SIMANT_API_KEY"]} <= srv.keys_seen()  # the keys were used
    assert srv.count(model="base") == 3 and srv.count(model="cand") == 3
    written = {p.name for p in project.path.rglob("*") if p.is_file()}
    assert {"report.json", "report.md", "report.html", "routes.yaml", "junit.xml"} <= written
    assert {"pytest.log", "step-summary.md"} <= written
    assert len(list((project.path / ".modelguard").glob("answers/**/*.json"))) == 6
    assert len(list((project.path / ".modelguard" / "runs").glob("*.json"))) == 1
    _run_and_scan(project).assert_outcomes(passed=7)  # replay, + the gate result
    _run_and_scan(project, "--modelguard-record", "all").assert_outcomes(passed=7)
    assert srv.count() == 12


def test_a_key_quoted_by_the_provider_is_not_written(
    project: pytest.Pytester, srv: LoopbackServer
) -> None:
    """Some endpoints quote the key they refused; the item error must not carry it to disk."""
    result = project.runpytest("--modelguard-record", "once", "--models", "sim:leaky", *REPORTS)
    result.assert_outcomes(passed=3, errors=3, failed=1)  # + the gate results
    assert KEYS["SIM_API_KEY"] in srv.keys_seen()
    assert srv.count(model="leaky") == 3
    result.stdout.fnmatch_lines(["*sim:leaky*HTTP 401*"])
    assert _leaks("\n".join(result.outlines + result.errlines).encode()) == []
    assert _scan(project.path) == {}


def test_cache_entries_hold_no_headers_or_client_options(project: pytest.Pytester) -> None:
    project.runpytest("--modelguard-record", "once")
    for path in (project.path / ".modelguard").rglob("*.json"):
        entry = json.loads(path.read_text(encoding="utf-8"))
        assert set(entry) <= {"version", "key", "request", "completion"}
        assert set(entry["request"]) == {"provider", "model", "messages", "params", "repeat"}
        assert "headers" not in json.dumps(entry).lower()
