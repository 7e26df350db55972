"""`compare` never crashes and never reads a non-number as a score (issue 24, items 1, 4, 9).

Seeded random suites (0/1, ragged repeats, rubric and judge scores, float noise, one case
to 100,000) return a Comparison whose p-values lie in [0, 1] and whose bounds lie in
[-1, 1], or raise a ValueError; strings, None and booleans are ValueErrors naming the case.
"""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Callable

import numpy as np
import pytest

from pytest_modelguard.inference import _compare_t
from pytest_modelguard.inference.compare import Comparison, compare, compare_family

Suite = tuple[list[object], list[object]]


def check(result: Comparison) -> None:
    """Every p-value in [0, 1], every bound in [-1, 1], and the verdict readable."""
    for p in (result.p_value, result.p_noninferior):
        assert 0.0 <= p <= 1.0, result
    assert result.p_adjusted is None or 0.0 <= result.p_adjusted <= 1.0, result
    assert -1.0 <= result.ci_low <= result.ci_high <= 1.0, result
    assert 0.0 < result.confidence < 1.0
    assert result.verdict in ("pass", "regression", "not-non-inferior", "inconclusive")
    assert result.reason.startswith(str(result.verdict))


# --- the repros -------------------------------------------------------------------


def test_the_floored_t_repro_returns_a_family_verdict() -> None:
    """A floored-t p of -2.2e-16 made Holm raise; every p now lies in [0, 1]."""
    family = compare_family({"x": ([0.5] * 200, [0.62, 0.64] * 100)})
    check(family["x"])
    for method in ("t", "auto"):
        for gate, margin in (("regression", 0.0), ("non-inferiority", 0.1)):
            check(
                compare_family(
                    {"x": ([0.5] * 200, [0.62, 0.64] * 100)},
                    gate=gate,  # type: ignore[arg-type]
                    margin=margin,
                    method=method,  # type: ignore[arg-type]
                )["x"]
            )


@pytest.mark.parametrize("df", [1, 2, 3, 9, 199, 499, 500, 501, 5000])
def test_t_tail_stays_a_probability(df: int) -> None:
    """The finite sum overshot 1 by an ulp far in the tail (p = -2.2e-16)."""
    for t in np.concatenate([np.linspace(-60, 60, 2001), [-math.inf, math.inf, 0.0]]):
        p = _compare_t.t_upper_tail(float(t), df)
        assert 0.0 <= p <= 1.0


@pytest.mark.parametrize(
    ("base", "cand"),
    [
        ([1.0], [0.5]),
        ([0.5], [1.0]),
        ([0.3], [0.3]),
        ([1, 0.5], [0.5, 1]),
        ([[1.0, 0.0]], [[0.5]]),
        ([0.2, 0.9], [0.2, 0.9]),
    ],
)
@pytest.mark.parametrize("method", ["auto", "t", "score", "bca"])
def test_one_or_two_cases_are_inconclusive_with_a_sentence(
    base: list[object], cand: list[object], method: str
) -> None:
    result = compare(base, cand, method=method, resamples=200)  # type: ignore[arg-type]
    check(result)
    assert result.verdict == "inconclusive" and result.too_few
    assert "fewer than the 6 any test at 95% rests on" in result.reason
    ni = compare(base, cand, gate="non-inferiority", margin=0.05, method=method, resamples=200)  # type: ignore[arg-type]
    assert ni.verdict == "inconclusive" and (ni.ci_low, ni.ci_high) == (-1.0, 1.0)
    family = compare_family({"a": (base, cand), "b": (base, cand)}, method=method)  # type: ignore[arg-type]
    assert all(c.verdict == "inconclusive" and c.p_adjusted == 1.0 for c in family.values())


# --- inputs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "cand", "message"),
    [
        (["10"] * 6, [1] * 6, "case 0: baseline score '10' is not a number"),
        ([1] * 6, [1, 1, 1, "1", 1, 1], "case 3: candidate score '1' is not a number"),
        ([None] * 6, [1] * 6, "case 0: baseline score None is not a number"),
        ([1] * 6, [1, 1, None, 1, 1, 1], "case 2: candidate score None"),
        ([True] * 6, [1] * 6, "case 0: baseline score True is not a number"),
        ([1] * 6, [[1, False]] * 6, "case 0: candidate score False"),
        ([1] * 6, [[1.0, "0.5"]] * 6, "case 0: candidate score '0.5'"),
        ([1] * 6, [{"score": 1}] * 6, "case 0: candidate score {'score': 1}"),
        (np.array([True] * 6), [1] * 6, "case 0: baseline score"),
        (None, [1] * 6, "baseline scores must be a sequence of per-case scores, got NoneType"),
        ("111111", [1] * 6, "baseline scores must be a sequence"),
        ([1] * 6, 1.0, "candidate scores must be a sequence"),
    ],
)
def test_non_numbers_are_value_errors_naming_the_case(
    base: object, cand: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("[", r"\[")):
        compare(base, cand)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="x: " + message.split(":")[0]):
        compare_family({"x": (base, cand)})  # type: ignore[dict-item]


def test_float_noise_is_snapped_to_the_atoms() -> None:
    """`1 - 1e-12` is a 1 (Tango's test, not another method for a 0/1 suite)."""
    base = [1.0] * 95 + [0.0] * 5
    cand = [1 - 1e-12] * 94 + [1e-13] * 6
    noisy, clean = compare(base, cand), compare(base, [1.0] * 94 + [0.0] * 6)
    assert noisy.method == "tango-score" and noisy == clean


def test_root_package_exports_the_verdict_api_lazily() -> None:
    """`from pytest_modelguard import compare_family, cases_needed, Comparison` works, and
    importing the package alone still does not import numpy."""
    code = (
        "import sys, pytest_modelguard as m; assert 'numpy' not in sys.modules; "
        "from pytest_modelguard import compare, compare_family, cases_needed, Comparison; "
        "r = compare([1] * 30, [1] * 30); assert isinstance(r, Comparison); "
        "assert cases_needed(r, 0.05) > 30; assert compare_family({'a': ([1] * 6, [1] * 6)})"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# --- BCa ---------------------------------------------------------------------------------


def test_bca_does_not_pass_thirty_ties() -> None:
    """BCa saw no spread in 30 tied cases and passed with CI [0, 0]."""
    result = compare([1] * 30, [1] * 30, gate="non-inferiority", margin=0.02, method="bca")
    default = compare([1] * 30, [1] * 30, gate="non-inferiority", margin=0.02)
    assert result.verdict == "not-non-inferior" and result.method == "bootstrap-bca"
    assert result.ci_low <= default.ci_low < -0.02


@pytest.mark.parametrize("seed", range(12))
def test_bca_is_never_less_cautious_than_the_default(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(6, 80))
    base = (rng.random(n) < 0.95).astype(float)
    cand = (rng.random(n) < 0.93).astype(float)
    if seed % 2:
        base, cand = np.round(base * rng.random(n), 2), np.round(cand * rng.random(n), 2)
    for gate, margin in (("regression", 0.0), ("non-inferiority", 0.05)):
        bca = compare(base, cand, gate=gate, margin=margin, method="bca", resamples=500, seed=seed)  # type: ignore[arg-type]
        default = compare(base, cand, gate=gate, margin=margin)  # type: ignore[arg-type]
        check(bca)
        assert bca.p_value >= default.p_value
        assert bca.ci_low <= default.ci_low and bca.ci_high >= default.ci_high
        if default.verdict != "pass":
            assert bca.verdict == default.verdict


# --- random suites ------------------------------------------------------------------------


def zero_one(rng: np.random.Generator, n: int) -> Suite:
    acc = rng.choice([0.0, 0.5, 0.9, 0.98, 1.0])
    return (list(map(float, rng.random(n) < acc)), list(map(int, rng.random(n) < acc)))


def ragged(rng: np.random.Generator, n: int) -> Suite:
    def side() -> list[object]:
        return [list(map(float, rng.random(rng.integers(1, 5)) < 0.9)) for _ in range(n)]

    return side(), side()


def rubric(rng: np.random.Generator, n: int) -> Suite:
    steps = rng.choice([2, 4, 10])
    return (
        list(rng.integers(0, steps + 1, n) / steps),
        list(rng.integers(steps - 1, steps + 1, n) / steps),
    )


def judge(rng: np.random.Generator, n: int) -> Suite:
    base = rng.beta(8, 1, n)
    return list(base), list(np.clip(base + rng.normal(0, rng.choice([0, 1e-3, 0.1]), n), 0, 1))


def noise(rng: np.random.Generator, n: int) -> Suite:
    base = (rng.random(n) < 0.95).astype(float)
    cand = base.copy()
    cand[rng.random(n) < 0.02] = 0.0
    jitter = rng.choice([-1e-12, 0.0, 1e-12], n)
    return list(np.clip(base + jitter, 0, 1)), list(np.abs(cand - jitter))


def partial(rng: np.random.Generator, n: int) -> Suite:
    base, cand = zero_one(rng, n)
    base[int(rng.integers(n))] = 0.5
    return base, cand


def constant(rng: np.random.Generator, n: int) -> Suite:
    a, b = rng.choice([0.0, 0.3, 0.5, 1.0], 2)
    return [float(a)] * n, [float(b)] * n


KINDS: dict[str, Callable[[np.random.Generator, int], Suite]] = {
    f.__name__: f for f in (zero_one, ragged, rubric, judge, noise, partial, constant)
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_random_suites_return_a_verdict_in_range(kind: str) -> None:
    rng = np.random.default_rng(sum(map(ord, kind)))
    sizes = [1, 2, 3, 5, 6, 7, 10, 30, 100, 400, *rng.integers(1, 60, 12).tolist()]
    for n in sizes:
        base, cand = KINDS[kind](rng, int(n))
        gate = str(rng.choice(["regression", "non-inferiority"]))
        margin = float(rng.choice([0.02, 0.05, 0.1]))
        method = str(rng.choice(["auto", "auto", "t", "score"]))
        confidence = float(rng.choice([0.9, 0.95, 0.99]))
        options = {"gate": gate, "margin": margin, "method": method, "confidence": confidence}
        check(compare(base, cand, **options))  # type: ignore[arg-type]
        family = compare_family({"a": (base, cand), "b": (cand, base)}, **options)  # type: ignore[arg-type]
        for result in family.values():
            check(result)
    base, cand = KINDS[kind](rng, 40)
    check(compare(base, cand, gate="non-inferiority", margin=0.05, method="bca", resamples=300))


@pytest.mark.parametrize("kind", ["zero_one", "judge"])
def test_a_hundred_thousand_cases(kind: str) -> None:
    base, cand = KINDS[kind](np.random.default_rng(7), 100_000)
    check(compare(base, cand, gate="non-inferiority", margin=0.02))
