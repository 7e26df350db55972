"""The run a user waits for: whole processes, modelguard against the floor it sits on.

Live: ``tests/loopback.py`` in its own process (scripted latency), then, alternating,
``--runs`` times each:

* **bare SDK loop**: a fresh interpreter that imports ``openai`` and runs a
  semaphore-bounded ``asyncio.gather`` of ``2 x cases`` ``AsyncOpenAI`` calls;
* **pytest floor**: the same loop run by pytest (``-p no:modelguard``) after collection, then
  one trivial item per call: pytest's start-up, items and exit around the calls, what any
  plugin that answers before its items run starts from;
* **whole run**: ``python -m pytest --modelguard-record all`` of a project of ``cases``
  cases x 2 models (baseline and one candidate on the loopback provider), into a fresh
  cache each time: collection, prefetch, grading, the gate, the reports.

Replay: the replay benchmark's project (``bench_replay.build``: N/2 cases x 2 ``python:``
models, recorded once, untimed) replayed against a bare pytest run of N trivial items,
alternating, at each ``--items`` N, with each process's peak RSS; and the **replay floor**:
bare pytest that loads the suite's YAML and reads and parses one recorded answer per item.

Every figure is one child process's (``os.wait4``): wall, user CPU, peak RSS. Each
package given with ``--package`` (default: this working tree) is snapshotted once and
measured in the same rounds, so a before/after pair shares the machine's load::

    python benchmarks/bench_whole_run.py                           # live 1,000 cases, replay 4,000
    python benchmarks/bench_whole_run.py --package /work/other --package .   # before, after
    python benchmarks/bench_whole_run.py --cases 200 --runs 2 --items 4000 --items 50000
    python benchmarks/bench_whole_run.py --no-live      # replay only (or --no-replay)
    python benchmarks/bench_whole_run.py --no-live --items 50000 --replay-runs 1 --no-warmup

Goals (issue #26): whole live run <= 1.15x the bare loop; replay <= 1.2x bare pytest at
4,000 items and <= 1.1x at 50,000, peak RSS <= 1.3x bare at 50,000.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench_replay import ROOT, build, environment, imported_from

KEY_ENV = "MODELGUARD_BENCH_KEY"
PYTEST = ["-m", "pytest", "-q", "-p", "no:cacheprovider"]

BARE_LOOP = r"""
import asyncio, os, sys
import openai

url, calls, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


async def main():
    client = openai.AsyncOpenAI(
        api_key=os.environ["MODELGUARD_BENCH_KEY"], base_url=url, timeout=60.0, max_retries=0
    )
    limit = asyncio.Semaphore(concurrency)

    async def one(i):
        async with limit:
            await client.chat.completions.create(
                model=("bench-a", "bench-b")[i % 2],
                messages=[{"role": "user", "content": f"ticket number {i // 2}"}],
            )

    await asyncio.gather(*(one(i) for i in range(calls)))
    await client.close()


asyncio.run(main())
"""

LIVE_PYPROJECT = """
[tool.pytest.ini_options]
testpaths = ["."]

[tool.modelguard]
baseline = "sim:bench-a"
models = ["sim:bench-b"]
concurrency = {concurrency}
cache_dir = ".modelguard"

[tool.modelguard.providers.sim]
kind = "openai"
base_url = "{url}"
api_key_env = "{key_env}"
"""


FLOOR_CONFTEST = """
import sys

LOOP = {loop!r}


def pytest_collection_finish(session):
    # the bare SDK loop, run where a plugin answering before the items would run it
    argv = sys.argv[:]
    sys.argv[1:] = [{url!r}, "{calls}", "{concurrency}"]
    try:
        exec(compile(LOOP, "bare_loop", "exec"), {{"__name__": "bare_loop"}})
    finally:
        sys.argv[:] = argv
"""

FLOOR_TESTS = """
import pytest


@pytest.mark.parametrize("i", range({calls}))
def test_answer(i):
    assert i >= 0
"""


def pytest_floor(project: Path, url: str, calls: int, concurrency: int) -> list[str]:
    """A pytest run that makes the bare loop's calls after collection, then runs one trivial
    item per call (no modelguard): what any plugin answering before its items starts from."""
    project.mkdir()
    (project / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["."]\n')
    conftest = FLOOR_CONFTEST.format(loop=BARE_LOOP, url=url, calls=calls, concurrency=concurrency)
    (project / "conftest.py").write_text(conftest)
    (project / "test_floor.py").write_text(FLOOR_TESTS.format(calls=calls))
    return [sys.executable, *PYTEST, "-p", "no:modelguard"]


REPLAY_FLOOR_TESTS = """
import glob, json, os

import pytest
import yaml

with open({suite!r}, encoding="utf-8") as handle:  # the suite, read as any YAML file
    SUITE = yaml.load(handle, Loader=yaml.CSafeLoader)
ANSWERS = sorted(glob.glob(os.path.join({answers!r}, "*", "*", "*", "*.json")))


@pytest.mark.parametrize("i", range(len(ANSWERS)))
def test_answer(i):
    with open(ANSWERS[i], "rb") as handle:
        assert json.loads(handle.read())["completion"]["text"]
"""


def replay_floor(project: Path, suite: Path, answers: Path) -> list[str]:
    """Bare pytest that loads the suite's YAML and reads and parses one recorded answer per
    item (no modelguard): the least any replay in pytest does, before its keys, grades and
    gate."""
    project.mkdir()
    (project / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["."]\n')
    tests = REPLAY_FLOOR_TESTS.format(suite=str(suite), answers=str(answers))
    (project / "test_floor.py").write_text(tests)
    return [sys.executable, *PYTEST, "-p", "no:modelguard"]


def live_suite(cases: int) -> str:
    lines = ["suite: live-bench", "defaults:", "  graders: [{contains: {any: [ticket]}}]", "cases:"]
    lines += [f"  - {{id: c{i:05d}, prompt: 'ticket number {i}'}}" for i in range(cases)]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Figures:
    """One child process: wall s, user CPU s, peak RSS MiB."""

    wall: float
    user: float
    rss: float


def measure(cmd: list[str], cwd: Path, env: dict[str, str], expect: str = "") -> Figures:
    """Run ``cmd`` to its end; its own wall, user CPU and peak RSS. Fails loudly on error."""
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        child = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if child.returncode != 0 or expect not in text:
        sys.exit(f"{' '.join(cmd)} in {cwd} exited {child.returncode}:\n{text[-3000:]}")
    return Figures(wall, usage.ru_utime, usage.ru_maxrss / 1024)


def snapshot(source: Path, base: Path, label: str) -> dict[str, str]:
    """A frozen copy of ``source``'s package, and the environment that imports it."""
    target = base / f"pkg-{label}"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(source / "pytest_modelguard", target / "pytest_modelguard", ignore=ignore)
    env = environment(base, target)
    print(f"  {label}: {source} -> imported from {imported_from(env, base)}")
    return env


Rows = dict[str, list[Figures]]


def rounds(commands: dict[str, tuple[list[str], Path, dict[str, str], str]], runs: int) -> Rows:
    """Every command once a round, the order reversed every other round."""
    rows: Rows = {name: [] for name in commands}
    names = list(commands)
    for r in range(runs):
        for name in names[::-1] if r % 2 else names:
            cmd, cwd, env, expect = commands[name]
            rows[name].append(measure(cmd, cwd, env, expect))
            if "whole run" in name:  # a fresh cache for the next run
                shutil.rmtree(cwd / ".modelguard", ignore_errors=True)
        done = ", ".join(f"{n} {f[-1].wall:.2f}s" for n, f in rows.items())
        print(f"  round {r + 1}/{runs}: {done}", flush=True)
    return rows


def table(rows: Rows, reference: str, title: str) -> None:
    """Median wall, user CPU and peak RSS per command, and each one's ratios to ``reference``."""
    med = {
        name: Figures(
            *(statistics.median(getattr(f, k) for f in fs) for k in ("wall", "user", "rss"))
        )
        for name, fs in rows.items()
    }
    ref = med[reference]
    print(f"\n{title} (median of {len(rows[reference])} runs; ratios to {reference})")
    width = max(map(len, rows))
    heads = ("wall s", "user s", "RSS MiB", "wall x", "user x", "RSS x")
    print(f"  {'':<{width}}  " + " ".join(f"{h:>7}" for h in heads) + "  walls")
    for name, m in med.items():
        walls = ", ".join(f"{f.wall:.2f}" for f in rows[name])
        print(
            f"  {name:<{width}}  {m.wall:7.2f} {m.user:7.2f} {m.rss:7.1f} "
            f"{m.wall / ref.wall:7.3f} {m.user / ref.user:7.3f} {m.rss / ref.rss:7.3f}  {walls}"
        )
    pairs = [n for n in rows if n != reference]
    for name in pairs:
        ratios = [f.wall / r.wall for f, r in zip(rows[name], rows[reference], strict=True)]
        print(f"  {name}: wall ratio per round {', '.join(f'{x:.3f}' for x in ratios)}")


def live(args: argparse.Namespace, base: Path, envs: dict[str, dict[str, str]]) -> None:
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "loopback.py"), "--latency", str(args.latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    url = server.stdout.readline().strip() + "/v1"
    calls = 2 * args.cases
    try:
        commands = {}
        first = next(iter(envs.values()))
        loop_env = {**first, KEY_ENV: "loopback-bench-key"}
        bare = [sys.executable, "-c", BARE_LOOP, url, str(calls), str(args.concurrency)]
        commands["bare SDK loop"] = (bare, base, loop_env, "")
        floor = pytest_floor(base / "live-floor", url, calls, args.concurrency)
        commands["pytest floor"] = (floor, base / "live-floor", loop_env, f"{calls} passed")
        for label, env in envs.items():
            project = base / f"live-{label}"
            project.mkdir()
            (project / "pyproject.toml").write_text(
                LIVE_PYPROJECT.format(url=url, concurrency=args.concurrency, key_env=KEY_ENV)
            )
            (project / "live.modelguard.yaml").write_text(live_suite(args.cases))
            run = [sys.executable, *PYTEST, "--modelguard-record", "all"]
            keyed = {**env, KEY_ENV: "loopback-bench-key"}
            commands[f"whole run {label}"] = (run, project, keyed, "gate passed")
        ideal = calls / args.concurrency * args.latency
        print(
            f"\nlive: {args.cases} cases x 2 models = {calls} calls, latency {args.latency} s, "
            f"concurrency {args.concurrency}; ideal bound {ideal:.2f} s; load {load()}"
        )
        for cmd, cwd, env, expect in commands.values():  # warm-up: bytecode, OS caches
            measure(cmd, cwd, env, expect)
            shutil.rmtree(cwd / ".modelguard", ignore_errors=True)
        rows = rounds(commands, args.runs)
        table(rows, "bare SDK loop", f"live, load now {load()}")
    finally:
        server.terminate()
        server.wait(timeout=10)


def replay(args: argparse.Namespace, base: Path, envs: dict[str, dict[str, str]]) -> None:
    for items in args.items or [4000]:
        where = base / f"replay-{items}"
        where.mkdir()
        project, bare = build(where, items)
        first = next(iter(envs.values()))
        record = [sys.executable, *PYTEST, "--modelguard-record", "once"]
        measure(record, project, first, "passed")
        commands = {"bare pytest": ([sys.executable, *PYTEST], bare, first, f"{items} passed")}
        suite, answers = project / "bench.modelguard.yaml", project / ".modelguard" / "answers"
        floor = replay_floor(where / "floor", suite, answers)
        commands["replay floor"] = (floor, where / "floor", first, f"{items} passed")
        for label, env in envs.items():
            run = [sys.executable, *PYTEST]
            commands[f"replay {label}"] = (run, project, env, "passed")
        print(f"\nreplay: N = {items} items; load {load()}")
        for cmd, cwd, env, expect in commands.values() if args.warmup else ():  # warm-up
            measure(cmd, cwd, env, expect)
        rows = rounds(commands, args.replay_runs or args.runs)
        table(rows, "bare pytest", f"replay N = {items}, load now {load()}")


QUICK = """examples:
  a quick look (200 live cases, 400 replay items, one run each):
    python benchmarks/bench_whole_run.py --cases 200 --runs 1 --items 400
  the #26 goals, before and after, three runs in a row (a quiet machine):
    python benchmarks/bench_whole_run.py --runs 3 --no-replay --package OLD --package .
    python benchmarks/bench_whole_run.py --no-live --items 4000 --replay-runs 3 \\
        --package OLD --package .
    python benchmarks/bench_whole_run.py --no-live --items 50000 --replay-runs 1 \\
        --no-warmup --package OLD --package .
on a loaded machine read the user CPU and RSS columns, not the walls."""


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=QUICK,
    )
    parser.add_argument("--cases", type=int, default=1000, help="live cases (x 2 models)")
    parser.add_argument("--latency", type=float, default=0.2, help="scripted latency, s")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each command")
    parser.add_argument("--replay-runs", type=int, help="runs of each replay command")
    parser.add_argument(
        "--items", type=int, action="append", help="replay items (repeatable; default 4000)"
    )
    parser.add_argument(
        "--package",
        type=Path,
        action="append",
        help="a directory holding pytest_modelguard (repeatable; default: this tree)",
    )
    parser.add_argument(
        "--no-warmup",
        dest="warmup",
        action="store_false",
        help="no untimed first replay runs (peak RSS does not need them)",
    )
    parser.add_argument("--no-live", action="store_true")
    parser.add_argument("--no-replay", action="store_true")
    args = parser.parse_args()
    if any(n < 2 or n % 2 for n in args.items or []):
        parser.error("--items must be even numbers >= 2 (N/2 cases x 2 models)")
    base = Path(tempfile.mkdtemp(prefix="mg-bench-whole-"))
    try:
        print(f"whole-run benchmark, {os.cpu_count()} CPUs, load {load()}, in {base}")
        packages = args.package or [ROOT]
        envs = {}
        for i, source in enumerate(packages):
            label = chr(ord("A") + i) if len(packages) > 1 else "modelguard"
            envs[label] = snapshot(source.resolve(), base, label)
        if not args.no_live:
            live(args, base, envs)
        if not args.no_replay:
            replay(args, base, envs)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
