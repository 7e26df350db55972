"""Replay overhead: a recorded modelguard suite against N bare parametrized pytest tests.

In one temp directory it builds

* a modelguard project: one suite of N/2 cases (short prompts, ``equals`` grader
  with normalize, tags) x 2 ``python:`` models (a baseline and one candidate, a
  module in the temp dir with deterministic answers, some wrong) = N items, whose
  answers are recorded once (``--modelguard-record once``, not timed);
* a bare project: ``@pytest.mark.parametrize("i", range(N))`` asserting something trivial;

then times ``python -m pytest -q -p no:cacheprovider`` on each as subprocesses
(same interpreter, same environment, same installed plugins, modelguard included;
bare also with ``-p no:modelguard``), alternating, ``--rounds`` rounds each, and
prints medians, minimums, CPU times and ratios; the ``--collect-only`` runs show
how much is startup + collection. Finally it times the phases of one in-process
run (prefetch, item setups, gate, garbage collection) and runs the replay under
``python -m cProfile`` to print the hot functions::

    python benchmarks/bench_replay.py                 # N = 4000 items, 3 rounds
    python benchmarks/bench_replay.py --items 10000
    python benchmarks/bench_replay.py --ref HEAD      # a committed revision, not the working tree

Every run uses one snapshot of the package (copied at the start, first on
PYTHONPATH), so edits landing during the benchmark cannot mix in.
The goal is replay / bare <= 1.5 at N = 4000.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
LABELS = ("billing", "bug", "account", "shipping", "other")

MODELS_MODULE = '''
"""Deterministic "models" for the replay benchmark: the answer is derived from the prompt."""

LABELS = {labels!r}


def _index(request):
    return int(request.messages[-1]["content"].rsplit("#", 1)[1])


def _label(i):
    return LABELS[i % len(LABELS)]


def _wrong(i):
    return "billing" if _label(i) != "billing" else "bug"


def baseline(request):
    i = _index(request)
    return _wrong(i) if i % 13 == 0 else _label(i)


def candidate(request):
    i = _index(request)  # exactly as often wrong as the baseline, on other cases: the gate passes
    if i % 13 == 5:
        return _wrong(i)
    return "  " + _label(i).upper() + "\\n"  # exercises normalize: [strip, lower]
'''

REPLAY_PYPROJECT = """
[tool.pytest.ini_options]
testpaths = ["."]

[tool.modelguard]
baseline = "python:mgbench_models:baseline"
models = ["cand"]
record = "none"
cache_dir = ".modelguard"

[tool.modelguard.aliases.cand]
model = "python:mgbench_models:candidate"
price = { input = 0.4, output = 1.6 }
"""

BARE_PYPROJECT = """
[tool.pytest.ini_options]
testpaths = ["."]
"""

BARE_TESTS = """
import pytest


@pytest.mark.parametrize("i", range({n}))
def test_bare(i):
    assert i + 1 > i
"""


def suite_yaml(cases: int) -> str:
    lines = [
        "suite: replay-bench",
        "tags: [bench]",
        "defaults:",
        "  system: 'Classify the ticket: billing, bug, account, shipping or other. One word.'",
        "  params: {temperature: 0, max_tokens: 5}",
        "  graders:",
        "    - equals: {normalize: [strip, lower]}",
        "cases:",
    ]
    for i in range(cases):
        label = LABELS[i % len(LABELS)]
        lines += [
            f"  - id: c{i:05d}",
            f"    tags: [{label}, t{i % 4}]",
            f"    prompt: 'ticket about {label} things #{i}'",
            f"    expected: {label}",
        ]
    return "\n".join(lines) + "\n"


def revision(ref: str | None = None) -> str:
    """A revision's short hash; for the working tree, plus the package files edited since HEAD."""
    git = ["git", "-C", str(ROOT)]
    try:
        head = subprocess.run(
            [*git, "rev-parse", "--short", ref or "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if ref is not None:
            return head
        edited = subprocess.run(
            [*git, "diff", "--name-only", "HEAD", "--", "pytest_modelguard"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return ref or "unknown revision"
    return head + (f" + uncommitted edits to {', '.join(edited)}" if edited else "")


def build(base: Path, items: int) -> tuple[Path, Path]:
    replay, bare = base / "replay", base / "bare"
    replay.mkdir()
    bare.mkdir()
    (replay / "pyproject.toml").write_text(REPLAY_PYPROJECT)
    (replay / "mgbench_models.py").write_text(MODELS_MODULE.format(labels=LABELS))
    (replay / "bench.modelguard.yaml").write_text(suite_yaml(items // 2))
    (bare / "pyproject.toml").write_text(BARE_PYPROJECT)
    (bare / "test_bare.py").write_text(BARE_TESTS.format(n=items))
    return replay, bare


def snapshot(base: Path, ref: str | None) -> Path:
    """A frozen copy of the package for every run, so edits landing meanwhile cannot mix in.

    From the working tree by default, or from a git revision (``git archive``, read-only).
    """
    target = base / "snapshot"
    target.mkdir()
    if ref is None:
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(ROOT / "pytest_modelguard", target / "pytest_modelguard", ignore=ignore)
    else:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", ref, "pytest_modelguard"],
            capture_output=True,
            check=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(target, filter="data")
    return target


def environment(base: Path, package_dir: Path) -> dict[str, str]:
    """One environment for every run: no inherited pytest options or plugin lists.

    ``package_dir`` (the snapshot) goes first on PYTHONPATH, ahead of the editable
    install's finder, so the ``modelguard`` entry point loads the snapshot. Bytecode is
    cached (as on a developer's machine) but under ``base``, so neither the repository
    nor site-packages is written: without it, pytest re-rewrites the asserts of every
    entry-point plugin's modules on each run, seconds of fixed startup that would hide
    the per-item cost.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = str(package_dir)  # `python -m pytest` adds the project dir itself
    env["PYTHONPYCACHEPREFIX"] = str(base / "pycache")
    env["PYTHONHASHSEED"] = "0"
    return env


def imported_from(env: dict[str, str], cwd: Path) -> str:
    code = "import pytest_modelguard.plugin as p; print(p.__file__)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"the package does not import:\n{done.stderr[-3000:]}")
    return str(Path(done.stdout.strip()).parent)


def run(
    cwd: Path, args: list[str], env: dict[str, str], expect: str | None = None
) -> tuple[float, float]:
    """Wall and CPU (user + sys) seconds of one pytest subprocess.

    Fails loudly unless it exits 0 with ``expect`` in its output.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    code, out, err = _pytest(cwd, [*PYTEST, *args], env)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if code != 0 or (expect is not None and expect not in out):
        sys.exit(
            f"pytest {' '.join(args)} in {cwd} exited {code} "
            f"(wanted {expect!r}):\n{out[-3000:]}\n{err[-3000:]}"
        )
    return elapsed, cpu


def _pytest(cwd: Path, cmd: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run with output to files, not pipes: a busy parent cannot stall the child's writes."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        code = subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=err).returncode
        out.seek(0)
        err.seek(0)
        return code, out.read(), err.read()


Timings = dict[str, list[tuple[float, float]]]  # command -> [(wall s, cpu s)] per round

COMMANDS = (  # name, project, extra pytest args
    ("replay", "replay", []),
    ("bare", "bare", []),
    ("bare -p no:modelguard", "bare", ["-p", "no:modelguard"]),
    ("replay --collect-only", "replay", ["--collect-only"]),
    ("bare --collect-only", "bare", ["--collect-only"]),
    ("bare --collect-only -p no:modelguard", "bare", ["--collect-only", "-p", "no:modelguard"]),
)


Command = tuple[str, Path, list[str], str]  # name, project dir, extra pytest args, expected output


def time_rounds(
    commands: list[Command],
    rounds: int,
    env: dict[str, str],
    alternate: bool = False,
    after_round: Callable[[int], None] | None = None,
) -> Timings:
    """Every command once per round; ``alternate`` runs them in reverse order every other round.

    ``after_round(r)``, if given, runs (untimed) after round ``r`` (from 0), e.g. to check
    the outputs of that round. Shared by the other benchmark scripts.
    """
    times: Timings = {name: [] for name, _, _, _ in commands}
    for r in range(rounds):
        order = commands[::-1] if alternate and r % 2 else commands
        for name, cwd, args, expect in order:
            times[name].append(run(cwd, args, env, expect))
        print(
            f"  round {r + 1}/{rounds}: "
            + ", ".join(f"{n} {t[-1][0]:.2f}s" for n, t in times.items()),
            flush=True,
        )
        if after_round is not None:
            after_round(r)
    return times


def time_all(projects: dict[str, Path], items: int, rounds: int, env: dict[str, str]) -> Timings:
    """Every command once per round, in the same order each round (so replay and bare alternate)."""
    commands: list[Command] = [
        (
            name,
            projects[project],
            args,
            f"{items} tests collected" if "--collect-only" in args else f"{items} passed",
        )
        for name, project, args in COMMANDS
    ]
    return time_rounds(commands, rounds, env)


def medians(times: Timings) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """Median wall, min wall and median CPU of each command."""
    wall = {name: statistics.median(w for w, _ in t) for name, t in times.items()}
    best = {name: min(w for w, _ in t) for name, t in times.items()}
    cpu = {name: statistics.median(c for _, c in t) for name, t in times.items()}
    return wall, best, cpu


def print_table(times: Timings) -> None:
    """One row per command: median wall, min wall, median CPU, and the wall of each run."""
    wall, best, cpu = medians(times)
    width = max(map(len, wall))
    print(f"  {'command':<{width}}  {'median':>6}  {'min':>6}  {'CPU':>6}  wall of each run")
    for name, t in times.items():
        runs = ", ".join(f"{w:.2f}" for w, _ in t)
        print(f"  {name:<{width}}  {wall[name]:6.2f}  {best[name]:6.2f}  {cpu[name]:6.2f}  {runs}")


def report(times: Timings, items: int) -> None:
    wall, best, cpu = medians(times)
    rounds = len(times["replay"])
    print(f"\nN = {items} items, {rounds} runs each (wall and CPU = user + sys, in s)")
    print_table(times)
    print(f"\n  {'ratio (median wall, min wall, median CPU)':<46}  median     min     CPU")
    ratios = (
        ("replay / bare (modelguard installed in both)", "replay", "bare"),
        ("replay / bare -p no:modelguard", "replay", "bare -p no:modelguard"),
        ("collect-only: replay / bare", "replay --collect-only", "bare --collect-only"),
    )
    for label, a, b in ratios:
        cells = (wall[a] / wall[b], best[a] / best[b], cpu[a] / cpu[b])
        print(f"  {label:<46}  " + "  ".join(f"{c:6.2f}" for c in cells))
    goal = wall["replay"] / wall["bare"]
    print(f"  goal replay / bare <= 1.5 (median wall): {'met' if goal <= 1.5 else 'NOT met'}")
    for label, of in (("median wall", wall), ("median CPU", cpu)):
        run_replay = of["replay"] - of["replay --collect-only"]
        run_bare = of["bare"] - of["bare --collect-only"]
        print(
            f"  run phase ({label}, full - collect-only): replay {run_replay:.2f} s, "
            f"bare {run_bare:.2f} s = {1e6 * run_replay / items:.0f} vs "
            f"{1e6 * run_bare / items:.0f} us/item"
        )


PROBE = r"""
import gc, json, sys, time

clock = time.process_time  # CPU s of this process: steadier than wall on a shared machine
import pytest
from pytest_modelguard.engine import answers as mg_answers
from pytest_modelguard.plugin import session as mg_session
from pytest_modelguard.plugin import items as mg_items

freeze = sys.argv[1] == "freeze"
spent = {}

def timed(owner, name, label):
    original = getattr(owner, name)
    def wrapper(*args, **kwargs):
        start = clock()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + clock() - start
    setattr(owner, name, wrapper)

timed(mg_answers.Answers, "prefetch", "prefetch (runtestloop, before item 1)")
timed(mg_items.CaseItem, "setup", "CaseItem.setup x N (grade_item)")
timed(mg_session.ModelguardSession, "finish", "session.finish (gate; imports numpy/scipy)")

gc_state = {"s": 0.0, "n": 0, "start": 0.0}
def on_gc(phase, info):
    if phase == "start":
        gc_state["start"] = clock()
    else:
        gc_state["s"] += clock() - gc_state["start"]
        gc_state["n"] += 1
gc.callbacks.append(on_gc)

class Phases:
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session):
        spent["_t0"] = clock()
    def pytest_collection_finish(self, session):
        spent["collection"] = clock() - spent["_t0"]
        if freeze:
            gc.freeze()
    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session):
        start = clock()
        try:
            return (yield)
        finally:
            spent["runtestloop (prefetch + all items)"] = clock() - start
    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self, session):
        start = clock()
        try:
            return (yield)
        finally:
            spent["sessionfinish hooks"] = clock() - start

start = clock()
code = pytest.main(["-q", "-p", "no:cacheprovider"], plugins=[Phases()])
spent["pytest.main (after interpreter start)"] = clock() - start
spent["gc (automatic collections, all phases)"] = gc_state["s"]
spent["gc collections"] = gc_state["n"]
spent["live objects at exit"] = len(gc.get_objects())
spent.pop("_t0", None)
sys.stdout.flush()
print("PROBE " + json.dumps({"code": int(code), "spent": spent}), file=sys.stderr)
"""


def probe(projects: dict[str, Path], env: dict[str, str]) -> None:
    """Phases of one in-process run, without a profiler: where replay's extra time goes."""
    results = {}
    for name, project, mode in (
        ("replay", "replay", "plain"),
        ("bare", "bare", "plain"),
        ("replay + gc.freeze()", "replay", "freeze"),
    ):
        _, out, err = _pytest(projects[project], [sys.executable, "-c", PROBE, mode], env)
        line = [x for x in err.splitlines() if x.startswith("PROBE ")]
        if not line or json.loads(line[-1][6:])["code"] != 0:
            sys.exit(f"probe {name} failed:\n{out[-2000:]}\n{err[-2000:]}")
        results[name] = json.loads(line[-1][6:])["spent"]
    keys = list(dict.fromkeys(k for r in results.values() for k in r))
    width = max(map(len, keys))
    print(
        "\nin-process phases, one run each (no profiler; CPU s of the pytest process; "
        "'+ gc.freeze()' freezes the heap after collection: a what-if)"
    )
    print(f"  {'':<{width}}  " + "  ".join(f"{n:>20}" for n in results))
    for key in keys:
        cells = []
        for r in results.values():
            v = r.get(key)
            text = "-" if v is None else f"{v:.0f}" if isinstance(v, int) else f"{v:.2f}"
            cells.append(f"{text:>20}")
        print(f"  {key:<{width}}  " + "  ".join(cells))


def profile(replay: Path, env: dict[str, str], out: Path, top_mg: int, top_all: int) -> None:
    """The replay run under cProfile (a subprocess, so the run is the same as timed)."""
    cmd = [sys.executable, "-m", "cProfile", "-o", str(out), *PYTEST[1:]]
    code, stdout, stderr = _pytest(replay, cmd, env)
    if code != 0:
        sys.exit(f"profiled run exited {code}:\n{stdout[-3000:]}\n{stderr[-3000:]}")
    stats = pstats.Stats(str(out))
    total = stats.total_tt  # type: ignore[attr-defined]
    entries = stats.stats.items()  # type: ignore[attr-defined]
    rows = [(file, line, func, nc, tt, ct) for (file, line, func), (_, nc, tt, ct, _) in entries]

    def show(title: str, selected: list[tuple[str, int, str, int, float, float]]) -> None:
        print(f"\n{title}")
        print(f"  {'calls':>9} {'self s':>8} {'cum s':>8} {'cum %':>6}  function")
        for filename, line, func, nc, tt, ct in selected:
            where = _short(filename)
            print(f"  {nc:>9} {tt:8.3f} {ct:8.3f} {100 * ct / total:5.1f}%  {where}:{line}({func})")

    print(f"\nprofile of the replay run (cProfile: {total:.2f} s under the profiler; {out})")
    mine = [r for r in rows if "pytest_modelguard" in r[0]]
    show(
        f"top {top_mg} pytest_modelguard functions by cumulative time",
        sorted(mine, key=lambda r: -r[5])[:top_mg],
    )
    show(
        f"top {top_all} functions overall by cumulative time",
        sorted(rows, key=lambda r: -r[5])[:top_all],
    )
    show(
        f"top {top_all} functions overall by self time", sorted(rows, key=lambda r: -r[4])[:top_all]
    )


def _short(filename: str) -> str:
    for marker in ("pytest_modelguard/", "site-packages/", "lib/python3"):
        if marker in filename:
            return filename[filename.index(marker) :]
    return filename


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """--rounds, --keep and --ref, which every benchmark here takes."""
    parser.add_argument(
        "--rounds", type=int, default=3, help="timed runs of each command (default 3)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temp directory and print its path"
    )
    parser.add_argument(
        "--ref",
        metavar="REV",
        help="benchmark this git revision of pytest_modelguard (default: the working tree)",
    )


def prepare(base: Path, ref: str | None) -> dict[str, str]:
    """Snapshot the package into ``base``, print what is measured where; the runs' environment."""
    source = f"revision {revision(ref)}" if ref else f"working tree at {revision()}"
    env = environment(base, snapshot(base, ref))
    print(f"  pytest_modelguard: snapshot of {ROOT} {source}")
    print(f"  imported from {imported_from(env, base)}")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"  {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {load}, in {base}"
    )
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--items", type=int, default=4000, help="pytest items on each side (default 4000)"
    )
    add_common_arguments(parser)
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile run")
    args = parser.parse_args()
    if args.items < 2 or args.items % 2:
        parser.error("--items must be an even number >= 2 (N/2 cases x 2 models)")

    base = Path(tempfile.mkdtemp(prefix="mg-bench-replay-"))
    try:
        print(f"pytest-modelguard replay benchmark: N = {args.items} items, {args.rounds} rounds")
        env = prepare(base, args.ref)
        replay, bare = build(base, args.items)
        projects = {"replay": replay, "bare": bare}
        start = time.perf_counter()
        run(replay, ["--modelguard-record", "once"], env, f"{args.items} passed")
        entries = sum(1 for _ in (replay / ".modelguard").rglob("*.json"))
        print(
            f"  recorded {entries} answers in {time.perf_counter() - start:.1f} s "
            "(not timed; includes compiling bytecode)"
        )
        run(bare, [], env, f"{args.items} passed")  # warm-up: assertion-rewrite pyc, OS caches
        times = time_all(projects, args.items, args.rounds, env)
        report(times, args.items)
        if not args.no_profile:
            probe(projects, env)
            profile(replay, env, base / "replay.prof", top_mg=15, top_all=10)
    finally:
        if args.keep:
            print(f"\nkept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
