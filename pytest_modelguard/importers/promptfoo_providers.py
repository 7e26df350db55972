"""promptfoo ``providers`` → a ``[tool.modelguard]`` snippet: one alias per provider.

``openai:MODEL``, ``openai:chat:MODEL``, ``openai:responses:MODEL`` and
``anthropic:messages:MODEL`` (also ``anthropic:MODEL``) map; an ``apiBaseUrl`` becomes a
declared OpenAI-compatible provider. Sampling settings (``temperature``, ``max_tokens``…)
become the alias's params. A key written in the config (``apiKey``) is never copied: the
snippet names the environment variable instead (``apiKeyEnvar``, else the kind's default),
and the summary says where the key was. Other providers (``bedrock:``, ``ollama:``,
``file://``, ``exec:``, ``python:``, HTTP…) are counted, not mapped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..suite.tools import request_problem
from .findings import Findings

PARAMS = {
    "temperature": "temperature",
    "max_tokens": "max_tokens",
    "max_completion_tokens": "max_completion_tokens",
    "top_p": "top_p",
    "seed": "seed",
    "stop": "stop",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
    "reasoning_effort": "reasoning_effort",
    "response_format": "response_format",
}
SECRET_KEYS = re.compile(r"api_?key$|token$|secret|password|authorization", re.I)
ALLOWED_KEYS = frozenset(("apiKeyEnvar", "apiBaseUrl", "tools", "tool_choice"))
_KIND_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
_ALIAS = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass
class Providers:
    """The snippet's pieces: aliases in order, declared providers, tools offered by any."""

    aliases: dict[str, dict[str, Any]] = field(default_factory=dict)
    providers: dict[str, dict[str, str]] = field(default_factory=dict)
    tools: list[Any] | None = None
    judge: str | None = None
    budgets: dict[str, float] = field(default_factory=dict)


def model_of(provider_id: Any) -> tuple[str, str] | None:
    """``(kind, model)`` of a promptfoo provider id we can call, else None."""
    if not isinstance(provider_id, str):
        return None
    parts = provider_id.split(":")
    if parts[0] == "openai" and len(parts) == 2:
        return "openai", parts[1]
    if parts[0] == "openai" and len(parts) == 3 and parts[1] in ("chat", "responses"):
        return ("openai-responses" if parts[1] == "responses" else "openai"), parts[2]
    if parts[0] == "anthropic" and len(parts) in (2, 3):
        if len(parts) == 3 and parts[1] != "messages":
            return None
        return "anthropic", parts[-1]
    return None


def judge_model(provider: Any) -> str | None:
    """A grader's ``provider`` (an assert's, ``options.provider``) as our ``PROVIDER:MODEL``."""
    if isinstance(provider, Mapping):
        provider = provider.get("id")
    found = model_of(provider)
    if found is None:
        return None
    kind, model = found
    return f"{kind}:{model}"


def _alias_name(label: Any, model: str, taken: Mapping[str, Any]) -> str:
    base = _ALIAS.sub("-", label if isinstance(label, str) and label else model).strip("-")
    base = base or "model"
    name, number = base, 2
    while name in taken:
        name, number = f"{base}-{number}", number + 1
    return name


def read_providers(node: Any, where: str, findings: Findings) -> Providers:
    """Every provider of the config that maps, as an alias; the rest counted."""
    out = Providers()
    items = node if isinstance(node, list) else [node] if node is not None else []
    lines = getattr(node, "item_lines", [])
    base = where.rsplit(":", 1)[0]
    for index, item in enumerate(items):
        at = f"{base}:{lines[index]}" if index < len(lines) else where
        if isinstance(item, Mapping) and "id" not in item and len(item) == 1:
            ((pid, body),) = item.items()  # {openai:gpt-4: {config: ...}}
            item = {"id": pid, **(body if isinstance(body, Mapping) else {})}
        _one(item, at, out, findings)
    return out


def _one(item: Any, where: str, out: Providers, findings: Findings) -> None:
    provider = item if isinstance(item, Mapping) else {"id": item}
    found = model_of(provider.get("id"))
    if found is None:
        kind = str(provider.get("id")).split(":", 1)[0][:20]  # a URL's key never shown
        findings.miss(where, f"provider {kind}: (only openai: and anthropic: ids map)")
        return
    kind, model = found
    raw = provider.get("config")
    config: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    for key in sorted(set(provider) - {"id", "label", "config"}):
        findings.miss(where, f"provider key {key}")
    params: dict[str, Any] = {}
    api_env = _KIND_ENV.get(kind.split("-")[0])
    for key, value in config.items():
        if key in PARAMS:
            params[PARAMS[key]] = value
        elif key == "apiKeyEnvar" and isinstance(value, str):
            api_env = value
        elif SECRET_KEYS.search(str(key)):
            findings.note(
                where,
                f"a key written in the provider config ({key}) is not copied: "
                f"set it in the environment variable {api_env or 'named by api_key_env'}",
            )
        elif key in ("tools", "tool_choice"):
            if key == "tools":
                out.tools = value if isinstance(value, list) else None
        elif key != "apiBaseUrl":
            findings.miss(where, f"provider config key {key}")
    name = _alias_name(provider.get("label"), model, out.aliases)
    prefix = kind
    base_url = config.get("apiBaseUrl")
    if (isinstance(base_url, str) and base_url) or api_env != _KIND_ENV.get(kind.split("-")[0]):
        prefix = f"{name}-api"
        out.providers[prefix] = {"kind": kind, **({"base_url": base_url} if base_url else {})}
        if api_env:
            out.providers[prefix]["api_key_env"] = api_env
    alias: dict[str, Any] = {"model": f"{prefix}:{model}"}
    if params:
        alias["params"] = params
    out.aliases[name] = alias


def tools_problem(tools: list[Any] | None) -> str | None:
    """Why the providers' tools cannot back an is-valid-openai-tools-call, or None."""
    if not tools:
        return "without tools in the provider config"
    problem = request_problem("tools", tools)
    return f"with provider tools we cannot send ({problem[1]})" if problem else None


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    return json.dumps(str(value))


def _toml_key(key: Any) -> str:
    text = str(key)
    return text if re.fullmatch(r"[A-Za-z0-9_-]+", text) else json.dumps(text)


def snippet(found: Providers) -> str:
    """The ``[tool.modelguard]`` TOML: baseline the first alias, candidates the rest."""
    names = list(found.aliases)
    lines = ["[tool.modelguard]"]
    if names:
        lines.append(f"baseline = {_toml_value(names[0])}")
        lines.append(f"models = {_toml_value(names[1:])}")
        if len(names) == 1:
            lines[-1] += "  # add the candidates to compare with the baseline"
    if found.judge:
        lines.append(f"judge = {_toml_value(found.judge)}")
    for name, body in found.providers.items():
        lines += ["", f"[tool.modelguard.providers.{_toml_key(name)}]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in body.items()]
    for name, body in found.aliases.items():
        lines += ["", f"[tool.modelguard.aliases.{_toml_key(name)}]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in body.items()]
    if found.budgets:
        lines += ["", "[tool.modelguard.budgets]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in found.budgets.items()]
    return "\n".join(lines) + "\n"
