"""Settings from [tool.modelguard] and flags; model strings and aliases."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_modelguard.config import Overrides, load_settings
from pytest_modelguard.core.errors import ConfigError
from pytest_modelguard.core.vocabulary import RecordMode
from pytest_modelguard.records.pricing import Price

TABLE = {
    "baseline": "openai:gpt-4.1",
    "models": ["fast", "anthropic:claude-haiku-4-5"],
    "providers": {
        "groq": {
            "kind": "openai",
            "base_url": "https://example.invalid/v1",
            "api_key_env": "GROQ_KEY",
        }
    },
    "aliases": {
        "fast": {
            "model": "groq:llama-3.3-70b-versatile",
            "params": {"temperature": 0},
            "price": {"input": 0.59, "output": 0.79},
            "budgets": {"max_cost_usd": 1.0},
        }
    },
    "budgets": {"max_tokens_per_case": 4000, "max_cost_usd": 5.0},
}


def load(table: dict, **flags: object) -> object:
    return load_settings("pyproject.toml", table, Overrides(**flags), Path("/proj"))  # type: ignore[arg-type]


def test_resolves_models_aliases_and_providers() -> None:
    settings = load(TABLE)
    assert settings.baseline.name == "openai:gpt-4.1"
    assert settings.baseline.price == Price(2.0, 8.0, 0.5, 2.0)  # from the genai-prices table
    fast, haiku = settings.candidates
    assert fast.name == "fast" and fast.model == "llama-3.3-70b-versatile"
    assert (
        fast.provider.base_url == "https://example.invalid/v1"
        and fast.provider.api_key_env == "GROQ_KEY"
    )
    assert fast.params == {"temperature": 0} and fast.price == Price(0.59, 0.79)
    assert fast.budgets.max_cost_usd == 1.0 and fast.budgets.max_tokens_per_case == 4000
    assert haiku.provider.api_key_env == "ANTHROPIC_API_KEY" and haiku.budgets.max_cost_usd == 5.0
    assert settings.cache_dir == Path("/proj/.modelguard") and settings.record is RecordMode.NONE


def test_flags_override_config() -> None:
    settings = load(
        TABLE,
        models="openai:gpt-4.1-mini",
        baseline="fast",
        record="once",
        seed=7,
        gate="non-inferiority",
        margin=0.02,
    )
    assert [m.name for m in settings.candidates] == ["openai:gpt-4.1-mini"]
    assert settings.baseline.name == "fast" and settings.record is RecordMode.ONCE
    assert (settings.seed, settings.gate, settings.margin) == (7, "non-inferiority", 0.02)


def test_baseline_is_not_its_own_candidate() -> None:
    settings = load(TABLE, models="openai:gpt-4.1,fast")
    assert [m.name for m in settings.candidates] == ["fast"]


def test_unknown_price_is_none() -> None:
    settings = load({"baseline": "openai:no-such-model-zz"})
    assert settings.baseline.price is None


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"baseline": "gpt-4.1"}, "unknown model 'gpt-4.1'"),
        ({"baseline": "opneai:gpt-4.1"}, "unknown provider 'opneai'*did you mean 'openai'"),
        (
            {"baseline": "fats", "aliases": {"fast": {"model": "openai:x"}}},
            "unknown model 'fats' (did you mean 'fast'?)",
        ),
        ({"concurency": 3}, "concurency: unknown key (did you mean 'concurrency'?)"),
        ({"concurrency": "many"}, "concurrency: expected int or float, got 'many'"),
        ({"concurrency": 0}, "concurrency: must be between 1"),
        ({"record": "sometimes"}, "record: must be none, once, new or all"),
        ({"gate": "strict"}, "gate: must be regression or non-inferiority"),
        (
            {"budgets": {"max_cost": 1}},
            "budgets.max_cost: unknown key (did you mean 'max_cost_usd'?)",
        ),
        (
            {
                "baseline": "f",
                "aliases": {"f": {"model": "openai:x", "price": {"input": "cheap", "output": 1}}},
            },
            "aliases.f.price: price.input must be a non-negative number",
        ),
        (
            {"baseline": "f", "aliases": {"f": {"model": "openai:x", "price": {"input": 1}}}},
            "aliases.f.price: price needs 'output'",
        ),
        (
            {"baseline": "f", "aliases": {"f": {"modle": "openai:x"}}},
            "aliases.f.modle: unknown key (did you mean 'model'?)",
        ),
        (
            {"providers": {"p": {"kind": "watsonx"}}},
            "providers.p.kind: must be one of openai, openai-responses, anthropic",
        ),
    ],
)
def test_bad_config_names_file_and_key(table: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(table)
    text = str(info.value)
    assert text.startswith("pyproject.toml: ")
    import fnmatch

    assert fnmatch.fnmatch(text, f"*{message}*"), text


def test_cost_budget_on_a_model_without_price_is_an_error() -> None:
    with pytest.raises(ConfigError, match="'python:m:f' has no known price, so max_cost_usd"):
        load({"baseline": "python:m:f", "budgets": {"max_cost_usd": 1.0}})
    priced = {
        "baseline": "f",
        "budgets": {"max_cost_usd": 1.0},
        "aliases": {"f": {"model": "python:m:f", "price": {"input": 1, "output": 1}}},
    }
    assert load(priced).baseline.price == Price(1.0, 1.0)
    assert (
        load({"baseline": "python:m:f", "budgets": {"max_spend_usd": 1.0}}).baseline.price is None
    )
    with pytest.raises(ConfigError, match="max_spend_usd"):
        load({"baseline": "python:m:f", "budgets": {"max_spend_usd": 1.0}}, record="once")
