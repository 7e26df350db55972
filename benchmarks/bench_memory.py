"""Peak memory of a replay: the resident set of one pytest process replaying N recorded items.

Builds the replay benchmark's project (``bench_replay.build``: N/2 cases x 2
``python:`` models, recorded once, not measured), then runs the replay
``--rounds`` times, each in a fresh interpreter that reports its own peak RSS
(``ru_maxrss``) and, for comparison, the peak of a bare run of N trivial items::

    python benchmarks/bench_memory.py --items 50000
    python benchmarks/bench_memory.py --items 50000 --ref 2d51fc6   # a committed revision
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bench_replay import _pytest, add_common_arguments, build, prepare, run

PEAK = r"""
import json, resource, sys
import pytest
code = pytest.main(["-q", "-p", "no:cacheprovider", *sys.argv[1:]])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
print("PEAK " + json.dumps({"code": int(code), "kib": peak}), file=sys.stderr)
"""


def peak_mib(cwd: Path, env: dict[str, str], args: list[str]) -> float:
    """Peak RSS, MiB, of one pytest run in its own interpreter; fails unless it passes."""
    code, out, err = _pytest(cwd, [sys.executable, "-c", PEAK, *args], env)
    line = next((x for x in err.splitlines() if x.startswith("PEAK ")), None)
    if line is None or json.loads(line[5:])["code"] != 0:
        sys.exit(f"pytest {' '.join(args)} in {cwd} failed ({code}):\n{out[-3000:]}\n{err[-3000:]}")
    kib: int = json.loads(line[5:])["kib"]
    return kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--items", type=int, default=50_000, help="pytest items on each side (default 50000)"
    )
    add_common_arguments(parser)
    args = parser.parse_args()
    if args.items < 2 or args.items % 2:
        parser.error("--items must be an even number >= 2 (N/2 cases x 2 models)")
    base = Path(tempfile.mkdtemp(prefix="mg-bench-memory-"))
    try:
        print(f"pytest-modelguard replay memory: N = {args.items} items, {args.rounds} rounds")
        env = prepare(base, args.ref)
        replay, bare = build(base, args.items)
        run(replay, ["--modelguard-record", "once"], env, f"{args.items} passed")
        peaks: dict[str, list[float]] = {"replay": [], "bare": []}
        for _ in range(args.rounds):
            peaks["replay"].append(peak_mib(replay, env, []))
            peaks["bare"].append(peak_mib(bare, env, ["-p", "no:modelguard"]))
        for name, values in peaks.items():
            shown = ", ".join(f"{v:.0f}" for v in values)
            print(f"  peak RSS {name:<6} median {statistics.median(values):7.1f} MiB  ({shown})")
        extra = statistics.median(peaks["replay"]) - statistics.median(peaks["bare"])
        print(f"  replay - bare: {extra:.1f} MiB = {extra * 2**20 / args.items:.0f} B/item")
    finally:
        if args.keep:
            print(f"\nkept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
