"""Collection of a 10,000-case suite against the same number of bare parametrized pytest items.

In one temp directory it builds, with ``bench_replay``'s builders,

* a modelguard project: one suite of ``--cases`` cases (default 10,000; short prompts,
  ``equals`` grader with normalize, tags) x 2 models (a baseline and one candidate,
  ``python:`` models) = 2 x cases pytest items (20,000 by default: the SPEC counts
  items = cases x models);
* a bare project: ``@pytest.mark.parametrize("i", range(2 x cases))``;
* a bare project of 1 item: the fixed cost of starting pytest with every installed plugin;

then times ``python -m pytest -q -p no:cacheprovider --collect-only`` on each as
subprocesses (same interpreter, same environment, same installed plugins, modelguard
included; the bare project also with ``-p no:modelguard``), alternating (the order
reverses every other round), ``--rounds`` rounds each, and prints medians, minimums, CPU
times (user + sys), ratios and the cost per item above the fixed startup::

    python benchmarks/bench_collect.py                  # 10,000 cases x 2 models = 20,000 items
    python benchmarks/bench_collect.py --cases 5000     # 10,000 items
    python benchmarks/bench_collect.py --ref HEAD       # a committed revision, not the working tree

Nothing is answered or recorded: collection reads the suite and builds the items only.
Every run uses one snapshot of the package (copied at the start, first on PYTHONPATH),
so edits landing during the benchmark cannot mix in.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from bench_replay import (
    BARE_PYPROJECT,
    BARE_TESTS,
    Command,
    add_common_arguments,
    build,
    medians,
    prepare,
    print_table,
    run,
    time_rounds,
)

COLLECT = ["--collect-only"]
NO_MG = ["-p", "no:modelguard"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cases",
        type=int,
        default=10000,
        help="cases in the suite (default 10000; x 2 models = the number of items)",
    )
    add_common_arguments(parser)
    args = parser.parse_args()
    if args.cases < 1:
        parser.error("--cases must be >= 1")
    items = 2 * args.cases

    base = Path(tempfile.mkdtemp(prefix="mg-bench-collect-"))
    try:
        print(
            f"pytest-modelguard collection benchmark: {args.cases} cases x 2 models = "
            f"{items} items, {args.rounds} rounds"
        )
        env = prepare(base, args.ref)
        modelguard, bare = build(base, items)
        one = base / "one"
        one.mkdir()
        (one / "pyproject.toml").write_text(BARE_PYPROJECT)
        (one / "test_bare.py").write_text(BARE_TESTS.format(n=1))
        collected = f"{items} tests collected"
        commands: list[Command] = [
            ("modelguard", modelguard, COLLECT, collected),
            ("bare", bare, COLLECT, collected),
            ("bare -p no:modelguard", bare, [*COLLECT, *NO_MG], collected),
            ("startup (1 bare item)", one, COLLECT, "1 test collected"),
        ]
        for _, cwd, extra, expect in commands:  # warm-up: bytecode, OS caches; not timed
            run(cwd, extra, env, expect)
        times = time_rounds(commands, args.rounds, env, alternate=True)
        report(times, args.cases, items)
    finally:
        if args.keep:
            print(f"\nkept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


def report(times: dict[str, list[tuple[float, float]]], cases: int, items: int) -> None:
    wall, best, cpu = medians(times)
    rounds = len(times["modelguard"])
    print(
        f"\n--collect-only, {cases} cases x 2 models = {items} items, {rounds} runs each "
        "(wall and CPU = user + sys, in s)"
    )
    print_table(times)
    print(f"\n  {'ratio (median wall, min wall, median CPU)':<34}  median     min     CPU")
    for label, a, b in (
        ("modelguard / bare", "modelguard", "bare"),
        ("modelguard / bare -p no:modelguard", "modelguard", "bare -p no:modelguard"),
    ):
        cells = (wall[a] / wall[b], best[a] / best[b], cpu[a] / cpu[b])
        print(f"  {label:<34}  " + "  ".join(f"{c:6.2f}" for c in cells))
    start = "startup (1 bare item)"  # modelguard loaded: compare with the two that load it
    for label, of in (("median wall", wall), ("median CPU", cpu)):
        mg, bare = (1e6 * (of[name] - of[start]) / items for name in ("modelguard", "bare"))
        print(
            f"  above startup ({label}): modelguard {mg:.0f}, bare {bare:.0f} us/item; "
            f"modelguard - bare {mg - bare:.0f} us/item"
        )


if __name__ == "__main__":
    main()
