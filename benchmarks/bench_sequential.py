"""Sequential verdicts (`sequential.py`): error over every look, calls saved, power lost.

Simulated suites as in bench_verdicts.py: 0/1 scores at accuracy 0.9 and 0.98, or
continuous scores (Beta with mean p_i, precision 10) at 0.9; case difficulty shared
by both models, p_i ~ Beta(2 acc, 2 (1 - acc)); a candidate `drop` worse has its
per-case success probability scaled by 1 - drop / acc. N = 100, 300, 600 cases asked
in batches of 20, 30, 50; a run stops at the first look that settles the verdict.

Per setting: the regression gate's A/A false "regression" over every look (futility
margin 0.05); the non-inferiority gate's false "pass" with the candidate exactly
`margin` worse (0.05); both also with the fixed-n fallback at the last case
(`final="fixed-n"`) and for the fixed-n `compare` on all N; calls saved on a
30-point drop (regression gate) and on an equal model (NI, margin 0.1); power
against fixed-n at the same N (a drop of 0.05 under the regression gate, an equal
model under NI at 0.05). Then drift against one reference run (the plugin's `drift =
"accumulate"` path, the change detector: `drift_state.accumulate_night` on the state
saved through JSON each night): 30 nights of an unchanged model (next to nightly
`compare`), and drops that start late (`--drift-rows`), the issue's 600-case scenario,
the suite-mean (WoR) sequence judged against the model, and CPU per update.

`--repeats-only`: adaptive repeats (`engine/sequential_repeats.py`) through the plugin's
own `SequentialPlan`, `repeat = 3`: each case's three repeats drawn once, the run with
adaptive repeats taking the first k the plan gives, the full run all three (same data).
A model's repeats of a case are identical with probability `agree` (temperature 0:
1.0; rare disagreement: 0.97, which switches the rule back mid-run; noisy: 0.0, i.i.d.).

    nice -n 10 python benchmarks/bench_sequential.py            # 2,000 runs per setting
    python benchmarks/bench_sequential.py --reps 200 --sizes 300 --kinds binary-0.9
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass

import numpy as np

from pytest_modelguard.engine.sequential import SequentialPlan
from pytest_modelguard.inference.compare import compare, compare_family
from pytest_modelguard.inference.sequential import (
    ConfidenceSequence,
    Look,
    Population,
    SequentialTest,
)
from pytest_modelguard.verdict.drift_state import accumulate_night

FloatArray = np.ndarray
KINDS = {"binary-0.9": ("binary", 0.9), "binary-0.98": ("binary", 0.98)}
KINDS["continuous-0.9"] = ("continuous", 0.9)
SIZES = (100, 300, 600)
BATCH = {100: 20, 300: 30, 600: 50}
MARGIN, EASY_MARGIN, BIG_DROP = 0.05, 0.1, 0.3
PRECISION = 10.0
NIGHTS = 30


@dataclass(frozen=True)
class Setting:
    kind: str
    accuracy: float
    n: int

    @property
    def batch(self) -> int:
        return BATCH.get(self.n, 50)

    def label(self) -> str:
        return f"{self.kind} {self.accuracy} N {self.n}"


def difficulty(setting: Setting, rng: np.random.Generator) -> FloatArray:
    acc = setting.accuracy
    return rng.beta(2 * acc, 2 * (1 - acc), setting.n)


def answers(setting: Setting, p: FloatArray, rng: np.random.Generator) -> FloatArray:
    """One run's per-case scores for per-case expected scores p."""
    if setting.kind == "continuous":
        p = np.clip(p, 1e-9, 1 - 1e-9)
        return rng.beta(PRECISION * p, PRECISION * (1 - p))
    return (rng.random(p.size) < p).astype(float)


def suite(setting: Setting, drop: float, rng: np.random.Generator) -> tuple[FloatArray, ...]:
    """Baseline and candidate scores: the candidate `drop` worse on average."""
    p = difficulty(setting, rng)
    return answers(setting, p, rng), answers(setting, p * (1 - drop / setting.accuracy), rng)


def sequential(
    base: FloatArray,
    cand: FloatArray,
    gate: str,
    margin: float,
    batch: int,
    population: Population = "cases",
    candidates: int = 1,
) -> Look:
    """Ask batch by batch until settled (final="cs"): the last look."""
    test = SequentialTest(
        gate,  # type: ignore[arg-type]
        margin,
        0.95,
        base.size,
        candidates,
        population=population,
    )
    for start in range(0, base.size, batch):
        look = test.update(base[start : start + batch], cand[start : start + batch])
        if look.settled:
            return look
    return test.look


def fixed_n(base: FloatArray, cand: FloatArray, gate: str, margin: float) -> str:
    return compare(base, cand, gate=gate, margin=margin).verdict  # type: ignore[arg-type]


@dataclass
class Tally:
    """Verdicts of one scenario: the sequence's, with the fixed-n fallback, the fixed-n test's."""

    target: str
    runs: int = 0
    hits: int = 0
    hits_fallback: int = 0
    hits_fixed: int = 0
    asked: int = 0

    def add(self, look: Look, fixed: str, n: int) -> None:
        self.runs += 1
        self.asked += look.n_seen
        self.hits += look.verdict == self.target
        fallback = look.verdict if look.decided_by == "sequence" else fixed
        self.hits_fallback += fallback == self.target
        self.hits_fixed += fixed == self.target

    def rate(self, which: str = "hits") -> float:
        return float(getattr(self, which)) / self.runs

    def saved(self, n: int) -> float:
        return 1 - self.asked / (self.runs * n)


SCENARIOS: dict[str, tuple[float, str, float, str]] = {
    "aa": (0.0, "regression", MARGIN, "regression"),
    "at_margin": (MARGIN, "non-inferiority", MARGIN, "pass"),
    "big_drop": (BIG_DROP, "regression", MARGIN, "regression"),
    "equal_easy": (0.0, "non-inferiority", EASY_MARGIN, "pass"),
    "power_drop": (MARGIN, "regression", MARGIN, "regression"),
    "power_ni": (0.0, "non-inferiority", MARGIN, "pass"),
}


def run_scenario(setting: Setting, name: str, reps: int, seed: int) -> Tally:
    drop, gate, margin, target = SCENARIOS[name]
    rng = np.random.default_rng(seed)
    tally = Tally(target)
    for _ in range(reps):
        base, cand = suite(setting, drop, rng)
        look = sequential(base, cand, gate, margin, setting.batch)
        tally.add(look, fixed_n(base, cand, gate, margin), setting.n)
    return tally


def drift_false_degraded(
    setting: Setting,
    reps: int,
    seed: int,
    drop: float = 0.0,
    start: int = NIGHTS + 1,
    nights: int = NIGHTS,
    naive: bool = True,
) -> dict[str, float]:
    """Nights against one reference run, the model `drop` worse from night `start` on.

    "accumulator": P(any "degraded") on the plugin's path (`drift_state.accumulate_night`
    on the state saved through JSON each night); "before": P("degraded" before `start`);
    "within5": P(first "degraded" in nights start .. start + 4); "first_night": on
    night `start` itself; "median_nights": the median delay (nights after `start`, 0 =
    that night) of the histories flagged. With `naive`, each night also judged alone by
    `compare` against the reference and against the night before.
    """
    rng = np.random.default_rng(seed)
    counts = dict.fromkeys(
        (
            "accumulator",
            "before",
            "within5",
            "first_night",
            "nightly-vs-reference",
            "nightly-vs-last",
        ),
        0,
    )
    delays: list[int] = []
    for _ in range(reps):
        p = difficulty(setting, rng)
        reference = answers(setting, p, rng)
        cases = {f"c{i:04d}": [float(x)] for i, x in enumerate(reference)}
        entry: dict | None = None
        flags = dict.fromkeys(counts, False)
        last = reference
        q = p * (1 - drop / setting.accuracy)
        for night in range(1, nights + 1):
            scores = answers(setting, q if night >= start else p, rng)
            # the plugin's path: the saved state, through JSON, plus tonight's cases
            tonight = {key: [float(x)] for key, x in zip(cases, scores, strict=True)}
            saved = json.loads(json.dumps(entry)) if entry is not None else None
            night_ = accumulate_night(saved, cases, tonight, 0.95)
            entry = night_.entry
            if night_.look.status == "degraded" and not flags["accumulator"]:
                flags["accumulator"] = True
                flags["before"] = night < start
                flags["within5"] = start <= night < start + 5
                flags["first_night"] = night == start
                if night >= start:
                    delays.append(night - start)
                if not naive:
                    break
            if naive:
                flags["nightly-vs-reference"] |= compare(reference, scores).verdict == "regression"
                flags["nightly-vs-last"] |= compare(last, scores).verdict == "regression"
            last = scores
        for key, flag in flags.items():
            counts[key] += flag
    out = {key: count / reps for key, count in counts.items()}
    out["median_nights"] = float(np.median(delays)) if delays else math.inf
    return out


def done_when(reps: int, seed: int) -> dict[str, float]:
    """600 cases, a baseline, a 30-point worse and an equal candidate, NI at 0.1."""
    setting = Setting("binary", 0.9, 600)
    rng = np.random.default_rng(seed)
    agree = calls = 0.0
    worst = 0.0
    for _ in range(reps):
        p = difficulty(setting, rng)
        base = answers(setting, p, rng)
        cands = {"worse": answers(setting, p * (1 - BIG_DROP / 0.9), rng)}
        cands["equal"] = answers(setting, p, rng)
        looks = {
            name: sequential(base, cand, "non-inferiority", EASY_MARGIN, 50, candidates=2)
            for name, cand in cands.items()
        }
        full = compare_family(
            {name: (base, cand) for name, cand in cands.items()},
            gate="non-inferiority",
            margin=EASY_MARGIN,
        )
        agree += all(looks[name].verdict == full[name].verdict for name in cands)
        asked = max(look.n_seen for look in looks.values()) + sum(
            look.n_seen for look in looks.values()
        )
        calls += asked / (3 * setting.n)
        worst = max(worst, asked / (3 * setting.n))
    return {"agree": agree / reps, "calls": calls / reps, "worst_calls": worst}


def suite_mean_false_regression(reps: int, seed: int, population: Population) -> float:
    """A/A, regression gate without futility, run to the end: P(regression) about the model."""
    setting = Setting("binary", 0.9, 300)
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(reps):
        base, cand = suite(setting, 0.0, rng)
        hits += sequential(base, cand, "regression", 0.0, 30, population).verdict == "regression"
    return hits / reps


def cpu_ms_per_update(n: int = 2000, batch: int = 50, calls: int = 50) -> float:
    rng = np.random.default_rng(0)
    deltas = rng.choice([-1.0, 0.0, 1.0], size=n, p=[0.06, 0.88, 0.06])
    cs = ConfidenceSequence(0.0125, boundaries=(0.0, -0.1, 0.1))
    cs.update(deltas[: n - batch])
    state = cs.to_state()
    copies = [ConfidenceSequence.from_state(state) for _ in range(calls)]
    start = time.process_time()
    for copy in copies:
        copy.update(deltas[n - batch :])
    return (time.process_time() - start) / calls * 1000


REPEATS = 3
AGREE = {"temperature 0": 1.0, "rare disagreement": 0.97, "noisy": 0.0}


def repeated(p: FloatArray, agree: float, rng: np.random.Generator) -> FloatArray:
    """Cases x REPEATS 0/1 scores: a case's repeats identical with probability `agree`."""
    scores = (rng.random((p.size, REPEATS)) < p[:, None]).astype(float)
    same = rng.random(p.size) < agree
    scores[same] = scores[same, :1]
    return scores


def planned(
    base: FloatArray, cand: FloatArray, gate: str, margin: float, batch: int, adaptive: bool
) -> tuple[Look, int, int]:
    """The plugin's plan on pre-drawn repeats: last look, repeats asked, repeats nominal."""
    units = [f"c{i:04d}" for i in range(base.shape[0])]
    index = {u: i for i, u in enumerate(units)}
    plan = SequentialPlan(
        units,
        "base",
        ["cand"],
        seed=0,
        batch=batch,
        gate=gate,  # type: ignore[arg-type]
        margin=margin,
        repeats=dict.fromkeys(units, REPEATS),
        adaptive_repeats=adaptive,
    )
    data = {"base": base, "cand": cand}
    asked = nominal = 0
    while (step := plan.next_batch()) is not None:
        cases, models = step
        scores = {}
        for m in models:
            ks = {c: plan.repeats_of(c, m) for c in cases}
            asked += sum(ks.values())
            nominal += REPEATS * len(cases)
            scores[m] = {c: list(data[m][index[c], : ks[c]]) for c in cases}
        plan.record(cases, scores)
    return plan.final_looks()["cand"], asked, nominal


def print_repeats_table(reps: int, seed: int, sizes: list[int]) -> None:
    """A/A regression and NI at the margin with adaptive vs full repeats, and repeats saved."""
    print(f"\nadaptive repeats, repeat = {REPEATS}, binary 0.9, both models alike ({reps} runs)")
    print(
        "| N | repeats | A/A false regression: adaptive / all | NI false pass at m: "
        "adaptive / all | repeat calls saved (A/A, NI) | cases asked: adaptive / all |"
    )
    print("|---|---|---|---|---|---|")
    worst = 0.0
    for i, n in enumerate(sizes):
        setting = Setting("binary", 0.9, n)
        for j, (label, agree) in enumerate(AGREE.items()):
            rng = np.random.default_rng(seed + 1000 * i + 10 * j)
            hits = {(s, a): 0 for s in ("aa", "at_margin") for a in (True, False)}
            saved = {"aa": [0, 0], "at_margin": [0, 0]}
            seen = {True: 0, False: 0}
            for _ in range(reps):
                for scenario, (drop, gate, margin, target) in (
                    ("aa", SCENARIOS["aa"]),
                    ("at_margin", SCENARIOS["at_margin"]),
                ):
                    p = difficulty(setting, rng)
                    base = repeated(p, agree, rng)
                    cand = repeated(p * (1 - drop / setting.accuracy), agree, rng)
                    for adaptive in (True, False):
                        look, asked, nominal = planned(
                            base, cand, gate, margin, setting.batch, adaptive
                        )
                        hits[(scenario, adaptive)] += look.verdict == target
                        seen[adaptive] += look.n_seen
                        if adaptive:
                            saved[scenario][0] += nominal - asked
                            saved[scenario][1] += nominal
            rate = {key: count / reps for key, count in hits.items()}
            worst = max(worst, rate[("aa", True)], rate[("at_margin", True)])
            share = {k: v[0] / v[1] for k, v in saved.items()}
            print(
                f"| {n} | {label} | {rate[('aa', True)]:.2%} / {rate[('aa', False)]:.2%} "
                f"| {rate[('at_margin', True)]:.2%} / {rate[('at_margin', False)]:.2%} "
                f"| {share['aa']:.1%}, {share['at_margin']:.1%} "
                f"| {seen[True] / (2 * reps):.0f} / {seen[False] / (2 * reps):.0f} |",
                flush=True,
            )
    print(
        f"worst adaptive error: {worst:.2%} (nominal 2.5 %; MC SE at 2.5 %: "
        f"{mc_se(0.025, reps):.2%})"
    )


def mc_se(rate: float, reps: int) -> float:
    return math.sqrt(max(rate * (1 - rate), 0.025 * 0.975) / reps)


def pct(x: float) -> str:
    return f"{x:.1%}"


def print_main_table(settings: list[Setting], reps: int, seed: int) -> dict[str, float]:
    print(
        "| setting | A/A false regression: seq / +fixed-n end / fixed-n | NI false pass at m: "
        "seq / +fixed-n end / fixed-n | 30-pt drop: found, calls saved | equal, NI m=0.1: "
        "pass, calls saved | power δ=-0.05: seq / fixed-n | NI power δ=0, m=0.05: "
        "seq / fixed-n |"
    )
    print("|---|---|---|---|---|---|---|")
    worst = {"aa": 0.0, "at_margin": 0.0, "aa_fb": 0.0, "at_margin_fb": 0.0, "saved": 1.0}
    for i, setting in enumerate(settings):
        t = {
            name: run_scenario(setting, name, reps, seed + 100 * i + j)
            for j, name in enumerate(SCENARIOS)
        }
        for name in ("aa", "at_margin"):
            worst[name] = max(worst[name], t[name].rate())
            worst[name + "_fb"] = max(worst[name + "_fb"], t[name].rate("hits_fallback"))
        if setting.n >= 300:
            saved = min(t["big_drop"].saved(setting.n), t["equal_easy"].saved(setting.n))
            worst["saved"] = min(worst["saved"], saved)

        def three(tally: Tally) -> str:
            rates = (tally.rate(), tally.rate("hits_fallback"), tally.rate("hits_fixed"))
            return " / ".join(f"{r:.2%}" for r in rates)

        print(
            f"| {setting.label()} | {three(t['aa'])} | {three(t['at_margin'])} "
            f"| {pct(t['big_drop'].rate())}, {pct(t['big_drop'].saved(setting.n))} "
            f"| {pct(t['equal_easy'].rate())}, {pct(t['equal_easy'].saved(setting.n))} "
            f"| {pct(t['power_drop'].rate())} / {pct(t['power_drop'].rate('hits_fixed'))} "
            f"| {pct(t['power_ni'].rate())} / {pct(t['power_ni'].rate('hits_fixed'))} |",
            flush=True,
        )
    return worst


DRIFT_ROWS = {
    # name: (setting, drop, start, nights, naive columns)
    "aa-300": (Setting("binary", 0.9, 300), 0.0, NIGHTS + 1, NIGHTS, False),
    "aa-100": (Setting("binary", 0.9, 100), 0.0, NIGHTS + 1, NIGHTS, True),
    "late-0.1": (Setting("binary", 0.9, 300), 0.1, 11, 15, False),
    "late-0.15": (Setting("binary", 0.9, 300), 0.15, 11, 15, False),
    "big-0.35-n100": (Setting("binary", 0.9, 100), 0.35, 11, 11, False),
    "first-0.35-n100": (Setting("binary", 0.9, 100), 0.35, 1, 1, False),
}


def print_drift_table(rows: list[str], reps: int, seed: int) -> None:
    """drift = "accumulate" (the change detector) by simulation: one row per scenario."""
    print(f"\ndrift = accumulate: P(flag) over histories ({reps} per row; MC SE beside)")
    print(
        "| scenario | setting | false degraded before the change | flagged within 5 nights "
        "of it | flagged its first night | median delay | nightly compare vs reference / "
        "vs last (A/A) |"
    )
    print("|---|---|---|---|---|---|---|")
    for i, name in enumerate(rows):
        setting, drop, start, nights, naive = DRIFT_ROWS[name]
        r = drift_false_degraded(setting, reps, seed + 7 * i, drop, start, nights, naive)
        se = mc_se
        changed = drop > 0
        within = f"{pct(r['within5'])} ± {pct(se(r['within5'], reps))}" if changed else "—"
        first = f"{pct(r['first_night'])} ± {pct(se(r['first_night'], reps))}" if changed else "—"
        median = f"{r['median_nights']:g}" if changed else "—"
        naive_cols = (
            f"{pct(r['nightly-vs-reference'])} / {pct(r['nightly-vs-last'])}" if naive else "—"
        )
        what = f"drop {drop:g} from night {start}" if changed else f"no change, {nights} nights"
        print(
            f"| {name}: {what} | {setting.label()} | {pct(r['before'])} ± "
            f"{pct(se(r['before'], reps))} | {within} | {first} | {median} | {naive_cols} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--drift-reps", type=int, default=500)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=list(KINDS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drift-only", action="store_true", help="only the drift table")
    parser.add_argument(
        "--drift-rows", nargs="+", default=list(DRIFT_ROWS), choices=list(DRIFT_ROWS)
    )
    parser.add_argument("--repeats-only", action="store_true", help="only adaptive repeats")
    args = parser.parse_args()
    settings = [Setting(*KINDS[k], n) for k in args.kinds for n in args.sizes]
    if args.repeats_only:
        print_repeats_table(args.reps, args.seed, args.sizes)
        return
    if args.drift_only:
        print_drift_table(args.drift_rows, args.drift_reps, args.seed)
        return
    worst = print_main_table(settings, args.reps, args.seed)
    print(
        f"\nworst over settings: A/A false regression {worst['aa']:.2%} (with the fixed-n end "
        f"{worst['aa_fb']:.2%}), NI false pass {worst['at_margin']:.2%} (with the fixed-n end "
        f"{worst['at_margin_fb']:.2%}); fewest calls saved at N >= 300 {worst['saved']:.1%} "
        f"(MC SE of a 2.5% rate: {mc_se(0.025, args.reps):.2%})"
    )
    print_drift_table(args.drift_rows, args.drift_reps, args.seed)
    result = done_when(args.reps // 4, args.seed)
    print(
        f"\n600 cases, worse (-0.3) + equal candidates, NI margin 0.1 ({args.reps // 4} runs): "
        f"verdicts agree with compare_family {result['agree']:.1%}, calls {result['calls']:.1%} "
        f"of the full run's on average, {result['worst_calls']:.1%} at worst"
    )
    populations: tuple[Population, ...] = ("cases", "suite")
    runs = args.reps // 4
    rates = {pop: suite_mean_false_regression(runs, args.seed, pop) for pop in populations}
    print(
        "A/A, binary 0.9 N 300, regression gate without futility, every look to the end: "
        f"P(regression) {rates['cases']:.2%} (cases) vs {rates['suite']:.2%} (suite, WoR)"
    )
    print(f"CPU ms per update, batch 50 at n = 2,000: {cpu_ms_per_update():.2f}")


if __name__ == "__main__":
    main()
