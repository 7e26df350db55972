"""Faults, interrupts and money: what a recording run loses, re-pays or overspends.

Against the loopback server (``tests/loopback.py``, in this process, on 127.0.0.1) and
``python -m pytest`` subprocesses of small projects built in one temp directory:

1. **faults**: 180 cases x 2 models = 360 requests recorded with ``--modelguard-record once``
   while 25% of calls fail with a 429 or a 500 (seeded, independent per call). Counted from
   the server and the JSON report: faults injected, items errored, items lost (no result),
   items mis-scored (every answer is right, so any score below 1).
2. **SIGINT**, then **SIGTERM**: 40 requests at concurrency 16, each answer taking 1 s; one
   signal once 16 are in flight, then a rerun. Counted: answers paid before the signal, and
   paid again on the rerun.
3. **payments under concurrency**: two processes record the same 120 requests into one
   cache at once. Counted: calls made against unique requests (each paid once is 120).
4. **spend cap**: ``max_spend_usd = 0.1`` with calls costing $0.012 (each reserving its worst
   case, $0.016), 40 cases, concurrency 2: ``-n 0``, ``-n 2``, ``-n 4``, and two processes
   of 20 different cases each sharing a cache. Counted: calls and dollars spent.

    python benchmarks/bench_faults.py
    python benchmarks/bench_faults.py --ref HEAD   # a committed revision instead of the tree
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_replay import ROOT, add_common_arguments, prepare

sys.path.insert(0, str(ROOT / "tests"))
from loopback import Call, Fault, FaultPlan, LoopbackServer, Reply

UNUSED = ("-p", "no:hypothesispytest", "-p", "no:benchmark", "-p", "no:anyio")
KEY_ENV = "BENCH_FAULTS_KEY"
COST, CAP = 0.012, 0.1


def pyproject(url: str, cache: Path, concurrency: int, extra: str = "") -> str:
    return f"""
[tool.modelguard]
baseline = "pricey"
models = []
concurrency = {concurrency}
resamples = 200
cache_dir = "{cache}"
retry_delay_s = 0.001
{extra}
[tool.modelguard.providers.sim]
kind = "openai"
base_url = "{url}"
api_key_env = "{KEY_ENV}"
[tool.modelguard.aliases.pricey]
model = "sim:base"
price = {{ input = 1000.0, output = 1000.0 }}
[tool.modelguard.aliases.cand]
model = "sim:cand"
price = {{ input = 1000.0, output = 1000.0 }}
"""


def project(root: Path, text: str, word: str, n: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(text)
    cases = "".join(
        f"  - {{id: c{i:03d}, prompt: 'say {word}{i}', expected: {word}{i}}}\n" for i in range(n)
    )
    (root / "s.modelguard.yaml").write_text(
        f"defaults:\n  params: {{max_tokens: 10}}\n  graders: [equals]\ncases:\n{cases}"
    )
    return root


def pytest_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *UNUSED, *args]


def start(root: Path, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        pytest_cmd("--modelguard-record", "once", *args), cwd=root, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip


def answer(call: Call) -> Reply:
    return Reply(text=call.prompt.split()[-1], input_tokens=10, output_tokens=2)


def faults(rate: float, seed: int) -> FaultPlan:
    def plan(call: Call, n: int) -> Fault | None:
        rng = random.Random(f"{seed}\x00{call.model}\x00{call.prompt}\x00{n}")
        return rng.choice((Fault.http(429), Fault.http(500))) if rng.random() < rate else None

    return plan


def bench_faults(srv: LoopbackServer, base: Path, env: dict[str, str]) -> list[str]:
    text = pyproject(srv.openai_base_url, base / "faults-cache", 16)
    root = project(base / "faults", text.replace("models = []", 'models = ["cand"]'), "w", 180)
    srv.faults, mark = faults(0.25, seed=1), srv.count()
    done = subprocess.run(
        pytest_cmd("--modelguard-record", "once", "--modelguard-json=r.json"),
        cwd=root, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    srv.faults = None
    report = json.loads((root / "r.json").read_text())
    cases = report["cases"]
    injected = srv.count() - mark - 360
    errored = sum(c["error"] is not None for c in cases)
    misscored = sum(c["error"] is None and c["score"] != 1.0 for c in cases)
    return [
        f"| faults (360 requests, 25% 429/500) | {injected} faults injected | {errored} errored, "
        f"{360 - len(cases)} lost, {misscored} mis-scored | exit {done.returncode} |"
    ]


def bench_sigint(srv: LoopbackServer, base: Path, env: dict[str, str]) -> list[str]:
    """The interrupt row, for Ctrl-C and for SIGTERM (what CI sends on cancel or timeout)."""
    rows = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        name = signal.Signals(signum).name
        where = base / name.lower()
        root = project(where, pyproject(srv.openai_base_url, base / f"{name}-cache", 16), "w", 40)
        srv.latency_s, mark = 1.0, srv.count()
        process = start(root, env)
        while srv.in_flight < 16 and process.poll() is None:
            time.sleep(0.01)
        process.send_signal(signum)
        process.communicate(timeout=60)
        before = {(c.model, c.prompt) for c in srv.calls[mark:]}
        srv.latency_s, mark = 0.0, srv.count()
        subprocess.run(pytest_cmd("--modelguard-record", "once"), cwd=root, env=env,
                       capture_output=True, check=False)  # fmt: skip
        again = [(c.model, c.prompt) for c in srv.calls[mark:]]
        repaid = sum(call in before for call in again)
        rows.append(
            f"| {name} with 16 calls in flight | {len(before)} paid before | {repaid} re-paid "
            f"on rerun | exit {process.returncode} |"
        )
    return rows


def bench_concurrent_payments(srv: LoopbackServer, base: Path, env: dict[str, str]) -> list[str]:
    root = project(base / "pay", pyproject(srv.openai_base_url, base / "pay-cache", 16), "w", 120)
    srv.latency_s, mark = 0.01, srv.count()
    for process in [start(root, env), start(root, env)]:
        process.communicate(timeout=120)
    srv.latency_s = 0.0
    calls = srv.count() - mark
    return [f"| two processes, same 120 requests | {calls} calls | {calls - 120} paid twice | |"]


def bench_spend(srv: LoopbackServer, base: Path, env: dict[str, str]) -> list[str]:
    cap = f"[tool.modelguard.budgets]\nmax_spend_usd = {CAP}\n"
    srv.latency_s = 0.02
    rows = []
    for label, workers in (("-n 0", "0"), ("-n 2", "2"), ("-n 4", "4")):
        name = f"spend{workers}"
        text = pyproject(srv.openai_base_url, base / f"{name}-cache", 2) + cap
        mark = srv.count()
        start(project(base / name, text, "w", 40), env, "-n", workers).communicate(timeout=300)
        calls = srv.count() - mark
        rows.append(_spend_row(f"spend cap ${CAP} {label}", calls))
    mark = srv.count()
    shared = base / "shared-cache"
    runs = [start(project(base / w, pyproject(srv.openai_base_url, shared, 2) + cap, w, 20), env)
            for w in ("a", "b")]  # fmt: skip
    for process in runs:
        process.communicate(timeout=300)
    calls = srv.count() - mark
    rows.append(_spend_row(f"spend cap ${CAP}, two processes", calls))
    srv.latency_s = 0.0
    return rows


def _spend_row(label: str, calls: int) -> str:
    verdict = "within the cap" if calls * COST <= CAP else "OVER the cap"
    return f"| {label} | {calls} calls | ${calls * COST:.3f} spent | {verdict} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    env = {**prepare(base, args.ref), KEY_ENV: "sk-bench-faults"}
    os.environ[KEY_ENV] = env[KEY_ENV]
    rows = ["| scenario | paid / injected | lost / errored / over | note |", "|---|---|---|---|"]
    with LoopbackServer(answer) as srv:
        for bench in (bench_faults, bench_sigint, bench_concurrent_payments, bench_spend):
            rows += bench(srv, base, env)
            print(rows[-1], flush=True)
    print("\n".join(rows))
    if args.keep:
        print(f"kept {base}")


if __name__ == "__main__":
    main()
