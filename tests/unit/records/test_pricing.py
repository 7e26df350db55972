"""Cost arithmetic from recorded usage, to the fraction of a cent."""

from __future__ import annotations

import pytest

from pytest_modelguard.records.calls import Usage
from pytest_modelguard.records.pricing import Price, cost_usd, table_price


def test_input_output_cached_and_cache_write_are_priced_as_billed() -> None:
    price = Price(input=2.0, output=8.0, cached_input=0.5, cache_write=2.5)
    usage = Usage(
        input_tokens=10_000,
        output_tokens=1_000,
        cached_input_tokens=6_000,
        cache_write_tokens=1_000,
    )
    # 3,000 fresh × $2 + 6,000 cached × $0.50 + 1,000 written × $2.50 + 1,000 out × $8, per million
    assert price.cost(usage) == pytest.approx((6_000 + 3_000 + 2_500 + 8_000) / 1e6, abs=1e-12)


def test_reasoning_tokens_are_billed_as_output_they_are_part_of() -> None:
    price = Price(input=1.0, output=4.0)
    assert price.cost(
        Usage(input_tokens=100, output_tokens=50, reasoning_tokens=40)
    ) == pytest.approx((100 * 1.0 + 50 * 4.0) / 1e6, abs=1e-15)


def test_cache_prices_default_to_the_input_price() -> None:
    price = Price(input=1.0, output=1.0)
    assert price.cost(Usage(input_tokens=10, cached_input_tokens=10)) == pytest.approx(10 / 1e6)


def test_unknown_price_is_none_never_zero() -> None:
    assert cost_usd(Usage(input_tokens=1), None) is None
    assert table_price("openai", "no-such-model-zz-9") is None


def test_table_prices_come_from_genai_prices() -> None:
    mini = table_price("openai", "gpt-4.1-mini")
    assert mini is not None and (mini.input, mini.output, mini.cached_input) == (0.4, 1.6, 0.1)
    haiku = table_price("anthropic", "claude-haiku-4-5")
    assert haiku is not None and (haiku.input, haiku.output) == (1.0, 5.0)
    assert haiku.cost(
        Usage(input_tokens=1000, output_tokens=100, cached_input_tokens=500)
    ) == pytest.approx(0.00105, abs=1e-12)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"input": 1}, "price needs 'output'"),
        ({"input": -1, "output": 1}, "price.input must be a non-negative number"),
        ({"input": 1, "output": 1, "cache": 1}, "unknown price key 'cache'"),
        ({"input": True, "output": 1}, "price.input must be a non-negative number"),
    ],
)
def test_bad_price_tables_are_rejected(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Price.from_mapping(data)
