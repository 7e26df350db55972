"""What the plugin costs in imports (#26 item 4), measured with ``python -X importtime``.

Two projects in one temp directory, each run with the plugin and with ``-p no:modelguard``,
alternating, ``--runs`` times:

* **unused**: one trivial test, no ``[tool.modelguard]``: the plugin is installed but the run
  uses none of it (goal: at most 50 ms of imports over bare pytest);
* **replay**: ``bench_replay.build``'s project at ``--items`` items (``python:`` models,
  recorded once, untimed), replayed: the plugin's whole machinery (goal: at most 400 ms).

The figure of one run is the sum of the self import times of every module the run imported
that the same project without the plugin (``-p no:modelguard``, run just before or after it)
did not: everything loaded because the plugin is there, third-party modules included::

    python benchmarks/bench_import.py                     # 5 runs each
    python benchmarks/bench_import.py --runs 9 --package /path/to/other/checkout
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_replay import ROOT, build, environment, imported_from

PYTEST = [sys.executable, "-X", "importtime", "-m", "pytest", "-q", "-p", "no:cacheprovider"]
NO_TESTS = 5  # pytest's exit code when it collected nothing
UNUSED_TEST = "def test_nothing_of_modelguard():\n    assert 1 + 1 == 2\n"


def self_times(cwd: Path, env: dict[str, str], *extra: str) -> dict[str, int]:
    """Every module the run imported, with its self import time in microseconds."""
    done = subprocess.run(
        [*PYTEST, *extra], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode not in (0, NO_TESTS):  # the replay project has none without the plugin
        sys.exit(f"pytest exited {done.returncode} in {cwd}:\n{done.stdout[-2000:]}")
    times: dict[str, int] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _cumulative, name = line.removeprefix("import time:").split("|")
        times[name.strip()] = int(own)
    return times


def plugin_cost(cwd: Path, env: dict[str, str], first: bool) -> dict[str, int]:
    """The modules the plugin brought to one run, with their self import times (us)."""
    order = [(), ("-p", "no:modelguard")] if first else [("-p", "no:modelguard"), ()]
    runs = {extra: self_times(cwd, env, *extra) for extra in order}
    with_plugin, without = runs[()], runs[("-p", "no:modelguard")]
    return {m: us for m, us in with_plugin.items() if m not in without}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--items", type=int, default=100, help="items of the replay project")
    parser.add_argument("--package", type=Path, default=ROOT, help="a dir holding the package")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mg-bench-import-") as tmp:
        base = Path(tmp)
        env = environment(base, args.package.resolve())
        print(f"plugin imported from {imported_from(env, base)}; load {os.getloadavg()}")
        unused = base / "unused"
        unused.mkdir()
        (unused / "test_plain.py").write_text(UNUSED_TEST)
        replay, _bare = build(base, args.items)
        record = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        subprocess.run([*record, "--modelguard-record", "once"], cwd=replay, env=env, check=True,
                       capture_output=True)  # fmt: skip
        for project, goal in ((unused, 50), (replay, 400)):
            self_times(project, env)  # bytecode cached before the first timed run
            costs = [plugin_cost(project, env, first=r % 2 == 0) for r in range(args.runs)]
            ms = [sum(c.values()) / 1000 for c in costs]
            print(
                f"{project.name}: plugin's imports {statistics.median(ms):.0f} ms median "
                f"(runs {', '.join(f'{m:.0f}' for m in ms)}; {len(costs[0])} modules); "
                f"goal <= {goal} ms"
            )
            top = sorted(costs[0].items(), key=lambda kv: -kv[1])[:6]
            print("  largest: " + ", ".join(f"{m} {us / 1000:.1f} ms" for m, us in top))


if __name__ == "__main__":
    main()
