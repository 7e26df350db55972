"""pytest-xdist on a recorded replay: ``-n 2`` against ``-n 0``, and the same figures from both.

In one temp directory it builds, with ``bench_replay``'s builders,

* the replay project of ``bench_replay.py``: one suite of N/2 cases x a baseline and one
  candidate (``python:`` models) = N items (default 4,000), recorded once with
  ``--modelguard-record once`` (not timed), and its bare twin
  (``@pytest.mark.parametrize("i", range(N))``): what xdist costs plain pytest;
* the same replay project with 1 case (2 items), recorded too: ``-n 2`` minus ``-n 0`` there
  is the fixed cost of starting the two workers (each imports pytest, every installed
  plugin and modelguard, and collects) and of the controller's bookkeeping;

then times ``python -m pytest -q -p no:cacheprovider -n 0`` and ``... -n 2`` on each as
subprocesses (same interpreter, same environment, same installed plugins), alternating
(the order reverses every other round), ``--rounds`` rounds each, and prints medians,
minimums and CPU times (user + sys of pytest and its workers, ``RUSAGE_CHILDREN``). Every
replay run writes ``--modelguard-json``; after each round the figures of the ``-n 2``
report (verdicts, deltas, CIs, per-tag figures, every case's score; timings and cache hits
left out, as ``tests/plugin/test_xdist.py`` compares them) must equal the ``-n 0`` report's::

    python benchmarks/bench_xdist.py                   # N = 4000 items, 3 rounds
    python benchmarks/bench_xdist.py --items 10000
    python benchmarks/bench_xdist.py --ref HEAD        # a committed revision, not the working tree

Every run uses one snapshot of the package (copied at the start, first on PYTHONPATH),
so edits landing during the benchmark cannot mix in. On a 2-core machine ``-n 2`` has no
spare core for the controller, and each worker collects all N items.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench_replay import (
    ROOT,
    Command,
    Timings,
    add_common_arguments,
    build,
    medians,
    prepare,
    print_table,
    run,
    time_rounds,
)

sys.path.insert(0, str(ROOT / "tests"))
from test_xdist import figures  # what must not depend on -n

WORKERS = (0, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=4000, help="pytest items (default 4000)")
    add_common_arguments(parser)
    args = parser.parse_args()
    if args.items < 2 or args.items % 2:
        parser.error("--items must be an even number >= 2 (N/2 cases x 2 models)")

    base = Path(tempfile.mkdtemp(prefix="mg-bench-xdist-"))
    try:
        print(
            f"pytest-modelguard xdist benchmark: N = {args.items} items, -n 0 vs -n 2, "
            f"{args.rounds} rounds"
        )
        env = prepare(base, args.ref)
        replay, bare = build(base, args.items)
        (base / "small").mkdir()
        small, _ = build(base / "small", 2)
        reports = base / "reports"
        reports.mkdir()
        start = time.perf_counter()
        for project, n in ((replay, args.items), (small, 2)):
            run(project, ["-n", "0", "--modelguard-record", "once"], env, f"{n} passed")
        entries = sum(1 for _ in (replay / ".modelguard").rglob("*.json"))
        print(
            f"  recorded {entries} answers in {time.perf_counter() - start:.1f} s "
            "(not timed; includes compiling bytecode)"
        )

        commands: list[Command] = []
        for name, project, n, json_report in (
            ("replay", replay, args.items, True),
            ("bare", bare, args.items, False),
            ("startup (replay of 2 items)", small, 2, False),
        ):
            for workers in WORKERS:
                extra = ["-n", str(workers)]
                if json_report:  # "=": a separate existing path would steer pytest's rootdir
                    extra.append(f"--modelguard-json={reports / f'n{workers}.json'}")
                commands.append((f"{name} -n {workers}", project, extra, f"{n} passed"))
        for _, cwd, extra, expect in commands:  # warm-up: bytecode, OS caches; not timed
            run(cwd, extra, env, expect)
        same: list[bool] = []

        def compare(r: int) -> None:
            one, two = (figures(reports / f"n{w}.json") for w in WORKERS)
            same.append(one == two)
            if one != two:
                keep = reports / f"round{r + 1}"
                keep.mkdir()
                for w in WORKERS:
                    shutil.copy(reports / f"n{w}.json", keep / f"n{w}.json")
                print(f"    figures differ between -n 0 and -n 2: reports kept in {keep}")
                args.keep = True

        times = time_rounds(commands, args.rounds, env, alternate=True, after_round=compare)
        report(times, args.items, same, figures(reports / "n0.json"))
    finally:
        if args.keep:
            print(f"\nkept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


def report(times: Timings, items: int, same: list[bool], figs: dict[str, object]) -> None:
    wall, best, cpu = medians(times)
    rounds = len(same)
    print(f"\nN = {items} items, {rounds} runs each (wall and CPU = user + sys, in s)")
    print_table(times)
    print(f"\n  {'ratio -n 2 / -n 0':<34}  median     min     CPU")
    for name in ("replay", "bare", "startup (replay of 2 items)"):
        a, b = f"{name} -n 2", f"{name} -n 0"
        cells = (wall[a] / wall[b], best[a] / best[b], cpu[a] / cpu[b])
        print(f"  {name:<34}  " + "  ".join(f"{c:6.2f}" for c in cells))
    start = "startup (replay of 2 items)"
    print(
        f"  fixed cost of -n 2 (startup -n 2 - startup -n 0): "
        f"{wall[start + ' -n 2'] - wall[start + ' -n 0']:.2f} s median wall, "
        f"{cpu[start + ' -n 2'] - cpu[start + ' -n 0']:.2f} s median CPU"
    )
    models = figs["models"]
    verdicts = ", ".join(
        f"{m} {v['verdict']}"
        for m, v in models.items()
        if isinstance(v, dict)  # type: ignore[attr-defined]
    )
    print(f"  verdict {figs['verdict']} ({verdicts})")
    match = sum(same)
    print(
        f"  figures of -n 2 and -n 0 (verdicts, deltas, CIs, tags, every case; no timings): "
        f"{'match' if all(same) else 'DIFFER'} in {match} of {rounds} rounds"
    )
    for model, figures_of in models.items():  # type: ignore[attr-defined]
        delta = figures_of.get("delta") if isinstance(figures_of, dict) else None
        if delta:
            print(
                f"  {model}: delta {delta['mean']}, CI [{delta['ci_low']}, {delta['ci_high']}] "
                f"({delta['method']}, {delta['n_pairs']} pairs), p {delta['p_value']}"
            )


if __name__ == "__main__":
    main()
