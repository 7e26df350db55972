"""The pure-Python quantiles planning and bootstrap p-values use, held to scipy's (#26)."""

from __future__ import annotations

import pytest
from scipy import special

from pytest_modelguard.inference.quantiles import beta_quantile, chi2_upper_quantile, t_cdf

SIZES = [2, 3, 5, 10, 31, 100, 1000, 30000]
LEVELS = [0.5, 0.8, 0.95, 0.99, 0.999]


@pytest.mark.parametrize("n", SIZES)
def test_beta_quantile_is_betaincinv(n: int) -> None:
    for differ in sorted({0, 1, 2, n // 10, n // 3, n // 2, n - 1} - {n}):  # n: never asked
        for p in LEVELS:
            expected = special.betaincinv(differ + 1, n - differ, p)
            assert beta_quantile(differ + 1, n - differ, p) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("n", SIZES)
def test_chi2_upper_quantile_is_chdtri(n: int) -> None:
    for p in [*LEVELS, 0.05, 0.001]:
        expected = special.chdtri(n - 1, p)
        assert chi2_upper_quantile(n - 1, p) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("df", [1, 2, 3, 9, 30, 999, 20000])
def test_t_cdf_is_stdtr(df: int) -> None:
    for t in (-40.0, -8.0, -3.0, -1.96, -1.0, -0.3, 0.0, 0.5, 2.0, 8.0):
        assert t_cdf(df, t) == pytest.approx(special.stdtr(df, t), rel=1e-9, abs=1e-300)


def test_the_edges() -> None:
    assert beta_quantile(3, 4, 0.0) == 0.0 and beta_quantile(3, 4, 1.0) == 1.0
    assert chi2_upper_quantile(5, 1.0) == 0.0 and chi2_upper_quantile(5, 0.0) == float("inf")
