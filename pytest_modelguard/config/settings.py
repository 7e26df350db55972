"""Settings from ``[tool.modelguard]`` and command-line flags; model strings → ModelSpec."""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..core.errors import ConfigError
from ..core.formatting import did_you_mean
from ..core.vocabulary import GATES, INTERVALS, Gate, Interval, RecordMode
from ..records.calls import params_problem
from ..records.pricing import Price, batch_price, cost_usd, table_price
from .provider_kinds import KIND_KEYS, KIND_PRICES, kind_key_problem, value_problem
from .toml_lines import key_line

if TYPE_CHECKING:
    from ..records.calls import Usage

BUILTIN_PROVIDERS = {
    "openai": "openai",
    "openai-responses": "openai-responses",
    "anthropic": "anthropic",
    "python": "python",
    "azure-openai": "azure-openai",
    "bedrock": "bedrock",
    "vertex": "vertex",
    "gemini": "gemini",
}
SDK_KINDS = (
    "openai",
    "openai-responses",
    "anthropic",
    "azure-openai",
    "bedrock",
    "vertex",
    "gemini",
)
BUDGET_KEYS = (
    "max_cost_per_case_usd",
    "max_cost_usd",
    "max_tokens_per_case",
    "max_latency_p95_s",
    "max_spend_usd",
)
TOP_KEYS = (
    "baseline", "models", "record", "cache_dir", "concurrency", "confidence", "interval",
    "resamples", "seed", "gate", "margin", "timeout_s", "max_attempts", "retry_delay_s",
    "retry_deadline_s", "providers", "aliases", "budgets", "judge", "judge_min_agreement",
    "gate_on", "sequential", "sequential_batch", "adaptive_repeats", "drift", "pair_deselected",
    "batch", "batch_wait_s", "batch_poll_s", "batch_fallback",
)  # fmt: skip
BATCH_FALLBACKS = ("batch", "live")
BATCH_KINDS = ("openai", "openai-responses", "anthropic")
"""Provider kinds whose batch API a run uses (the cloud kinds' batch jobs are not)."""
DRIFT_MODES = ("fixed-n", "accumulate")
GATE_ON = ("judge", "human")
PROVIDER_KEYS = (
    "kind",
    "base_url",
    "api_key_env",
    "batch",
    *(k for keys in KIND_KEYS.values() for k in keys),
)
ALIAS_KEYS = ("model", "params", "price", "budgets", "batch")
MAX_SEED = 2**32 - 1
"""The bootstrap's generator takes seeds from 0 to this."""
WHOLE_RANGES = {
    "concurrency": (1, 4096), "resamples": (100, 10_000_000), "seed": (0, MAX_SEED),
    "max_attempts": (1, 1000), "sequential_batch": (1, 1_000_000),
}  # fmt: skip
"""Top keys that are whole numbers, with their bounds (also the settings' JSON Schema's)."""
NUMBER_RANGES = {
    "confidence": (0.5, 0.9999), "margin": (0, 1), "timeout_s": (0.001, 86_400),
    "retry_delay_s": (0, 600), "retry_deadline_s": (0, 86_400), "judge_min_agreement": (-1, 1),
}  # fmt: skip
"""Top keys that are finite numbers, with their bounds."""
DEFAULT_KEY_ENV = {
    "openai": "OPENAI_API_KEY",
    "openai-responses": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "azure-openai": "AZURE_OPENAI_API_KEY",
    "gemini": "GEMINI_API_KEY",
}
PRICE_PROVIDER = {"openai-responses": "openai"}
"""Built-in providers priced under another name in genai-prices' table."""


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """A provider: built in, or an OpenAI-compatible endpoint declared in config."""

    name: str
    kind: str  # openai | openai-responses | anthropic | python | azure-openai | bedrock | ...
    base_url: str | None = None
    api_key_env: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)  # the kind's own keys
    batch: bool | None = None  # None: as [tool.modelguard] batch says


@dataclass(frozen=True, slots=True)
class Budgets:
    """Limits of SPEC §4; None means no limit."""

    max_cost_per_case_usd: float | None = None
    max_cost_usd: float | None = None
    max_tokens_per_case: int | None = None
    max_latency_p95_s: float | None = None
    max_spend_usd: float | None = None


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A resolved model: what to call, with which params, at which price."""

    name: str  # as the user wrote it: an alias or PROVIDER:MODEL
    provider: ProviderSpec
    model: str
    params: Mapping[str, Any] = field(default_factory=dict)
    price: Price | None = None
    budgets: Budgets = field(default_factory=Budgets)
    batch: bool | None = None  # None: as its provider (then [tool.modelguard] batch) says
    batch_price: Price | None = None  # what an answer by the provider's batch API costs

    def cost_of(self, usage: Usage, batch: bool = False) -> float | None:
        """What ``usage`` costs at this model's price (its batch price for an answer that
        came ``batch``); None when the price is unknown."""
        return cost_usd(usage, self.batch_price if batch else self.price)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a modelguard session needs to know, resolved and validated."""

    baseline: ModelSpec | None
    candidates: tuple[ModelSpec, ...]
    record: RecordMode = RecordMode.NONE
    cache_dir: Path = Path(".modelguard")
    concurrency: int = 16
    confidence: float = 0.95
    interval: Interval = "auto"
    resamples: int = 10_000  # interval = "bca": the first count (more near a boundary)
    seed: int = 0
    gate: Gate = "regression"
    margin: float = 0.0
    timeout_s: float = 60.0
    max_attempts: int | None = None  # unset: retries are bounded by retry_deadline_s only
    retry_delay_s: float = 0.5
    retry_deadline_s: float = 120.0
    budgets: Budgets = field(default_factory=Budgets)
    judge: ModelSpec | None = None
    judge_min_agreement: float | None = None  # a judge agreeing less with the labels fails
    gate_on: str = "judge"  # "human": the PPI-corrected interval decides quality
    providers: Mapping[str, ProviderSpec] = field(default_factory=dict)
    resolver: ModelResolver | None = field(default=None, compare=False, repr=False)
    sequential: bool = False  # ask in seeded batches, stop a candidate once its verdict settles
    sequential_batch: int = 50  # cases per batch of a sequential run
    adaptive_repeats: bool = True  # a sequential run asks fewer repeats where they agreed
    drift: str = "fixed-n"  # "accumulate": --modelguard-compare adds nights against a reference
    pair_deselected: bool = True  # -k/-m leaving out the baseline's Python tests puts them back
    batch: bool = False  # uncached requests go to the providers' batch APIs
    batch_wait_s: float = 86_400.0  # how long one run waits for its batches
    batch_poll_s: float = 30.0  # how often a run asks how its batches are doing
    batch_fallback: str = "batch"  # items a batch failed or let expire: next batch, or "live"

    def resolve(self, name: str) -> ModelSpec:
        """Any model string or alias, as configured (ConfigError when unknown)."""
        if self.resolver is None:
            raise ConfigError(f"unknown model {name!r}: no [tool.modelguard] configuration")
        return self.resolver.resolve(name)

    @property
    def models(self) -> tuple[ModelSpec, ...]:
        """Baseline first, then candidates."""
        head = (self.baseline,) if self.baseline is not None else ()
        return head + self.candidates

    def batched(self, model: ModelSpec) -> bool:
        """Whether ``model``'s uncached requests go to its provider's batch API: the alias's
        ``batch``, else its provider's, else the run's (only for ``BATCH_KINDS``)."""
        if model.provider.kind not in BATCH_KINDS:
            return False
        for choice in (model.batch, model.provider.batch):
            if choice is not None:
                return choice
        return self.batch

    def model_named(self, name: str) -> ModelSpec:
        """The configured model called ``name`` (KeyError when there is none)."""
        for model in self.models:
            if model.name == name:
                return model
        raise KeyError(name)


@dataclass(frozen=True, slots=True)
class Overrides:
    """Command-line flags; None means "not given"."""

    models: str | None = None
    baseline: str | None = None
    record: str | None = None
    seed: int | None = None
    gate: str | None = None
    margin: float | None = None
    sequential: bool | None = None
    drift: str | None = None
    batch: bool | None = None


def read_pyproject(path: Path) -> dict[str, Any]:
    """The ``[tool.modelguard]`` table of a pyproject.toml ({} when absent)."""
    try:
        if path.exists() and not path.is_file():
            raise ConfigError(f"{path}: not a file")
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        where = f"{path}:{found[1]}" if found else str(path)
        raise ConfigError(f"{where}: invalid TOML: {exc}") from None
    tool = data.get("tool", {})
    table = tool.get("modelguard", {}) if isinstance(tool, dict) else None
    if not isinstance(table, dict):
        raise ConfigError(f"{_where(str(path), ())}: [tool.modelguard] must be a table")
    return table


def _where(source: str, path: tuple[str, ...]) -> str:
    """``source:line`` for a config key when its line can be found, else ``source``."""
    line = key_line(source, path)
    return f"{source}:{line}" if line else source


class _Reader:
    """Typed access to one config table, with errors naming file and key."""

    def __init__(
        self,
        source: str,
        table: Mapping[str, Any],
        path: tuple[str, ...],
        allowed: tuple[str, ...],
    ):
        self.source, self.table, self.path = source, table, path
        self.prefix = "".join(f"{part}." for part in path)
        if not isinstance(table, Mapping):
            raise _error(source, path, f"must be a table, got {type(table).__name__}")
        for key in table:
            if key not in allowed:
                self.fail(key, "unknown key" + did_you_mean(key, allowed))

    def fail(self, key: str, problem: str) -> None:
        raise _error(self.source, (*self.path, key), problem)

    def located(self, key: str, exc: ConfigError) -> ConfigError:
        """``exc`` (which starts with ``source: ``) with the line of ``key`` added."""
        text = str(exc).removeprefix(f"{self.source}: ")
        prefix = f"[tool.modelguard] {self.prefix}{key}: "
        return ConfigError(f"{_where(self.source, (*self.path, key))}: {prefix}{text}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        if key not in self.table:
            return default
        value = self.table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            self.fail(key, f"expected {names}, got {value!r}")
        return value

    def number(self, key: str, default: Any, low: float, high: float = float("inf")) -> Any:
        """A finite number from ``low`` to ``high``."""
        value = self.get(key, (int, float), default)
        if value is not None and not (math.isfinite(value) and low <= value <= high):
            self.fail(key, f"must be between {low} and {high}, got {value!r}")
        return value

    def choice(self, key: str, value: Any, choices: Sequence[str], described: str = "") -> str:
        """``value`` (``key``'s, or a flag's) when it is one of ``choices``; ``described``
        spells them out in the message (default: "a, b or c")."""
        if value not in choices:
            listed = described or " or ".join(filter(None, (", ".join(choices[:-1]), choices[-1])))
            self.fail(key, f"must be {listed}, got {value!r}{did_you_mean(str(value), choices)}")
        return str(value)

    def bounded(self, key: str, default: Any) -> Any:
        """``key``'s number within its bounds of ``WHOLE_RANGES`` or ``NUMBER_RANGES``."""
        if key in WHOLE_RANGES:
            return self.whole(key, default, *WHOLE_RANGES[key])
        return self.number(key, default, *NUMBER_RANGES[key])

    def whole(self, key: str, default: int, low: int, high: int) -> int:
        """A whole number from ``low`` to ``high``."""
        value = self.number(key, default, low, high)
        if not isinstance(value, int):
            self.fail(key, f"must be a whole number between {low} and {high}, got {value!r}")
        return int(value)


def _interval(reader: _Reader) -> Interval:
    return cast(Interval, reader.choice("interval", reader.get("interval", str, "auto"), INTERVALS))


def _drift(reader: _Reader) -> str:
    return reader.choice(
        "drift",
        reader.get("drift", str, "fixed-n"),
        DRIFT_MODES,
        "fixed-n (each run against the stored one) or accumulate (every night against one "
        "reference, valid over all nights)",
    )


def _error(source: str, path: tuple[str, ...], problem: str) -> ConfigError:
    return ConfigError(f"{_where(source, path)}: [tool.modelguard] {'.'.join(path)}: {problem}")


def _budgets(reader: _Reader, inherited: Budgets) -> Budgets:
    values = {key: reader.number(key, getattr(inherited, key), 0) for key in BUDGET_KEYS}
    return Budgets(**values)


def _providers(source: str, table: Mapping[str, Any]) -> dict[str, ProviderSpec]:
    providers = {
        name: ProviderSpec(name, kind, api_key_env=DEFAULT_KEY_ENV.get(kind))
        for name, kind in BUILTIN_PROVIDERS.items()
    }
    for name, body in table.items():
        reader = _Reader(source, body, ("providers", name), PROVIDER_KEYS)
        kind = reader.get("kind", str, BUILTIN_PROVIDERS.get(name, "openai"))
        if kind not in SDK_KINDS:
            reader.fail("kind", f"must be one of {', '.join(SDK_KINDS)}, got {kind!r}")
        options = _kind_options(reader, kind)
        providers[name] = ProviderSpec(
            name=name,
            kind=kind,
            base_url=reader.get("base_url", str),
            api_key_env=reader.get("api_key_env", str, DEFAULT_KEY_ENV.get(kind)),
            options=options,
            batch=reader.get("batch", bool),
        )
    return providers


def _kind_options(reader: _Reader, kind: str) -> dict[str, str]:
    """The keys of ``kind`` (``azure_endpoint``, ``aws_region``...) set on this provider."""
    options: dict[str, str] = {}
    for key in reader.table:
        problem = kind_key_problem(kind, key)
        if problem:
            reader.fail(key, problem)
        if key in KIND_KEYS.get(kind, ()):
            value = reader.get(key, str)
            problem = value_problem(key, value)
            if problem:
                reader.fail(key, problem)
            options[key] = value
    return options


class ModelResolver:
    """Turns ``PROVIDER:MODEL`` strings and alias names into ModelSpecs."""

    def __init__(self, source: str, table: Mapping[str, Any], budgets: Budgets):
        self.source = source
        self.providers = _providers(source, _table(source, table, "providers"))
        self.aliases = _table(source, table, "aliases")
        self.budgets = budgets

    def resolve(self, name: str) -> ModelSpec:
        name = name.strip()
        if name in self.aliases:
            return self._alias(name)
        provider_name, sep, model = name.partition(":")
        if not sep or not model:
            known = list(self.aliases)
            hint = did_you_mean(name, known) or " (write PROVIDER:MODEL or define an alias)"
            raise ConfigError(f"{self.source}: unknown model {name!r}{hint}")
        provider = self.providers.get(provider_name)
        if provider is None:
            hint = did_you_mean(provider_name, self.providers)
            raise ConfigError(
                f"{self.source}: unknown provider {provider_name!r} in model {name!r}{hint}; "
                "declare it under [tool.modelguard.providers]"
            )
        price_id = KIND_PRICES.get(provider.kind) or PRICE_PROVIDER.get(
            provider.name, provider.name
        )
        if provider.kind == "python":
            return ModelSpec(name=name, provider=provider, model=model, budgets=self.budgets)
        price = table_price(price_id, model)
        batch = batch_price(price, table_price(price_id, model, "batch"), provider.kind)
        return ModelSpec(
            name=name, provider=provider, model=model, price=price, budgets=self.budgets,
            batch_price=batch,
        )  # fmt: skip

    def _alias(self, alias: str) -> ModelSpec:
        reader = _Reader(self.source, self.aliases[alias], ("aliases", alias), ALIAS_KEYS)
        target = reader.get("model", str)
        if target is None:
            reader.fail("model", "missing: an alias needs model = 'PROVIDER:MODEL'")
        if target in self.aliases:
            reader.fail("model", "must be PROVIDER:MODEL, not another alias")
        try:
            base = self.resolve(target)
        except ConfigError as exc:
            raise reader.located("model", exc) from None
        price, batch = base.price, base.batch_price
        if "price" in reader.table:
            try:
                price = Price.from_mapping(reader.get("price", dict))
            except ValueError as exc:
                reader.fail("price", str(exc))
            batch = batch_price(price, None, base.provider.kind)
        budgets_table = reader.get("budgets", dict, {})
        budgets = _budgets(
            _Reader(self.source, budgets_table, ("aliases", alias, "budgets"), BUDGET_KEYS),
            self.budgets,
        )
        params = dict(reader.get("params", dict, {}))
        wrong = params_problem(params)
        if wrong:
            reader.fail("params", f"{wrong[0]}: {wrong[1]}")
        return replace(
            base, name=alias, params=params, price=price, budgets=budgets, batch_price=batch,
            batch=reader.get("batch", bool),
        )  # fmt: skip


def _table(source: str, table: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = table.get(key, {})
    if not isinstance(value, Mapping):
        raise _error(source, (key,), "must be a table")
    return value


def _model_list(reader: _Reader, override: str | None) -> list[str]:
    if override is not None:
        names = [m.strip() for m in override.split(",")]
        if not all(names):
            raise ConfigError(f"--models: an empty model name in {override!r}; write A,B")
        return names
    models = reader.get("models", (list, str), [])
    if isinstance(models, str):
        models = [models]
    for m in models:
        if not isinstance(m, str) or not m.strip():
            reader.fail("models", f"expected a list of model names, got {m!r}")
    return list(models)


COST_BUDGETS = ("max_cost_per_case_usd", "max_cost_usd")


def _check_priced(source: str, model: ModelSpec, record: str) -> None:
    """A budget in dollars on a model without a price could never be checked."""
    budgets = [key for key in COST_BUDGETS if getattr(model.budgets, key) is not None]
    if record != "none" and model.budgets.max_spend_usd is not None:
        budgets.append("max_spend_usd")
    if model.price is None and budgets:
        raise ConfigError(
            f"{source}: model {model.name!r} has no known price, so {budgets[0]} cannot be "
            "checked; define an alias for it with price = { input = ..., output = ... } "
            "(USD per million tokens)"
        )


def _resolve(
    resolver: ModelResolver, reader: _Reader, key: str, name: str | None, from_flag: bool
) -> Any:
    """The ModelSpec of ``name`` (None for none); errors from config name the key's line."""
    if not name:
        return None
    try:
        return resolver.resolve(name)
    except ConfigError as exc:
        if from_flag:
            raise
        raise reader.located(key, exc) from None


def load_settings(source: str, table: Mapping[str, Any], flags: Overrides, root: Path) -> Settings:
    """Validate ``table`` (the [tool.modelguard] of ``source``) and apply ``flags``."""
    reader = _Reader(source, table, (), TOP_KEYS)
    budgets = _budgets(
        _Reader(source, _table(source, table, "budgets"), ("budgets",), BUDGET_KEYS), Budgets()
    )
    resolver = ModelResolver(source, table, budgets)
    for alias in resolver.aliases:  # a bad alias is an error even when this run does not use it
        resolver.resolve(alias)
    if flags.baseline is not None and not flags.baseline.strip():
        raise ConfigError("--baseline: an empty model name; write --baseline PROVIDER:MODEL")
    baseline_name = flags.baseline or reader.get("baseline", str)
    if baseline_name is not None and not baseline_name.strip():
        reader.fail("baseline", "an empty model name; write baseline = 'PROVIDER:MODEL'")
    baseline = _resolve(resolver, reader, "baseline", baseline_name, flags.baseline is not None)
    candidates = tuple(
        _resolve(resolver, reader, "models", name, flags.models is not None)
        for name in dict.fromkeys(m.strip() for m in _model_list(reader, flags.models))
        if name != (baseline.name if baseline else None)
    )
    record_modes = [m.value for m in RecordMode]
    record = reader.choice(
        "record", flags.record or reader.get("record", str, "none"), record_modes
    )
    gate = reader.choice("gate", flags.gate or reader.get("gate", str, "regression"), GATES)
    margin = flags.margin if flags.margin is not None else float(reader.bounded("margin", 0.0))
    if gate == "non-inferiority" and not margin > 0:
        where = "--modelguard-margin" if flags.margin is not None else "margin"
        reader.fail(
            "gate" if flags.gate is None else "margin",
            f"non-inferiority needs a margin above 0 ({where} is {margin:g}): it passes a "
            "candidate shown to be at most `margin` worse, and no finite suite can show a "
            "drop of exactly 0; set the largest drop you accept, e.g. margin = 0.02",
        )
    cache_dir = Path(reader.get("cache_dir", str, ".modelguard"))
    cache_dir = cache_dir if cache_dir.is_absolute() else root / cache_dir
    if cache_dir.exists() and not cache_dir.is_dir():
        reader.fail("cache_dir", f"{cache_dir} is a file, not a directory")
    for model in ((baseline,) if baseline else ()) + candidates:
        _check_priced(source, model, record)
    judge_name = reader.get("judge", str)
    if judge_name is not None and not judge_name.strip():
        reader.fail("judge", "an empty model name; write judge = 'PROVIDER:MODEL'")
    gate_on = reader.choice(
        "gate_on",
        reader.get("gate_on", str, "judge"),
        GATE_ON,
        "judge (the judge's scores) or human (the judge corrected by the human labels, PPI)",
    )
    min_agreement = reader.bounded("judge_min_agreement", None)
    return Settings(
        judge=_resolve(resolver, reader, "judge", judge_name, from_flag=False),
        judge_min_agreement=None if min_agreement is None else float(min_agreement),
        gate_on=gate_on,
        providers=resolver.providers,
        resolver=resolver,
        baseline=baseline,
        candidates=candidates,
        record=RecordMode(record),
        cache_dir=cache_dir,
        concurrency=reader.bounded("concurrency", 16),
        confidence=float(reader.bounded("confidence", 0.95)),
        interval=_interval(reader),
        resamples=reader.bounded("resamples", 10_000),
        seed=flags.seed if flags.seed is not None else reader.bounded("seed", 0),
        gate=cast(Gate, gate),
        margin=margin,
        timeout_s=float(reader.bounded("timeout_s", 60.0)),
        max_attempts=reader.bounded("max_attempts", 5) if "max_attempts" in table else None,
        retry_delay_s=float(reader.bounded("retry_delay_s", 0.5)),
        retry_deadline_s=float(reader.bounded("retry_deadline_s", 120.0)),
        budgets=budgets,
        sequential=flags.sequential or bool(reader.get("sequential", bool, False)),
        sequential_batch=reader.bounded("sequential_batch", 50),
        adaptive_repeats=bool(reader.get("adaptive_repeats", bool, True)),
        drift=flags.drift or _drift(reader),
        pair_deselected=bool(reader.get("pair_deselected", bool, True)),
        batch=flags.batch or bool(reader.get("batch", bool, False)),
        batch_wait_s=float(reader.number("batch_wait_s", 86_400.0, 0, 30 * 86_400)),
        batch_poll_s=float(reader.number("batch_poll_s", 30.0, 0.001, 86_400)),
        batch_fallback=reader.choice(
            "batch_fallback",
            reader.get("batch_fallback", str, "batch"),
            BATCH_FALLBACKS,
            "batch (items a batch failed or let expire go in the next batch) or live "
            "(they are called as ordinary requests)",
        ),
    )
