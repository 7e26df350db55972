"""Running an agent's tool calls: Python functions (bounded, scrubbed, capped) or results
served from a recorded trajectory.

A tool's answer is the text of its tool message. A tool that raises, hangs past its
``timeout_s``, returns what JSON cannot carry or is not offered gets ``error: <message>``
(counted as a tool error); a call the recorded trajectory has no result for gets
``error: no recorded result for name(args)`` (counted as unmatched).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..core.formatting import capped
from ..core.safety import (
    MAX_MESSAGE,
    MIN_SECRET_LEN,
    scrub_auth_fields,
    scrub_secrets,
    url_secrets,
    valid_text,
)
from ..records.trajectory import ToolRun
from ..suite.agent import AgentSpec, ToolImpl

RESULT_CHARS = 16_000
"""Of one tool result: a larger one is cut (its size and hash said) before the model sees it."""


def canonical(arguments: Any) -> str:
    """Arguments as sorted-key JSON: how a call is matched with a recorded one."""
    return json.dumps(arguments, sort_keys=True, ensure_ascii=False, default=str)


class ToolBox:
    """One agent run's tools: ``run`` answers each call of a step, in order."""

    def __init__(self, spec: AgentSpec, secrets: Sequence[str] = ()) -> None:
        self.spec = spec
        self.secrets = tuple(secrets)
        self.unused = list(spec.recorded)  # recorded results not served yet

    def run(self, call: Mapping[str, Any]) -> ToolRun:
        ident, name, arguments = str(call.get("id")), str(call.get("name")), call.get("arguments")
        if self.spec.tool_results == "recorded":
            return self._recorded(ident, name, arguments)
        impl = self.spec.impls.get(name)
        if impl is None:
            offered = ", ".join(self.spec.impls) or "none"
            return self._error(
                ident, name, arguments, f"unknown tool {name!r} (offered: {offered})"
            )
        if not isinstance(arguments, Mapping):
            return self._error(ident, name, arguments, "arguments are not a JSON object")
        ok, value = call_tool(impl, arguments)
        if not ok:
            return self._error(ident, name, arguments, str(value))
        try:
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError, RecursionError):
            kind = type(value).__name__
            problem = f"{name} returned a {kind}, not JSON data (return a str, dict, list…)"
            return self._error(ident, name, arguments, problem)
        return ToolRun(ident, name, arguments, self._clean(text))

    def _recorded(self, ident: str, name: str, arguments: Any) -> ToolRun:
        wanted = canonical(arguments)
        for index, entry in enumerate(self.unused):
            if "result" not in entry:  # it only serves the graders
                continue
            if entry["name"] == name and canonical(entry.get("arguments", {})) == wanted:
                del self.unused[index]
                result = entry.get("result")
                text = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)
                return ToolRun(ident, name, arguments, self._clean(text))
        text = f"error: no recorded result for {name}({wanted})"
        return ToolRun(ident, name, arguments, self._clean(text), unmatched=True)

    def _error(self, ident: str, name: str, arguments: Any, problem: str) -> ToolRun:
        return ToolRun(ident, name, arguments, self._clean(f"error: {problem}"), error=True)

    def _clean(self, text: str) -> str:
        """Valid text, no secret, at most ``RESULT_CHARS``: what the next request carries."""
        scrubbed = scrub_auth_fields(scrub_secrets(valid_text(text), self.secrets))
        return capped(scrubbed, RESULT_CHARS)


def call_tool(impl: ToolImpl, arguments: Mapping[str, Any]) -> tuple[bool, Any]:
    """``(True, result)`` or ``(False, why)``: the function called with the arguments
    (checked and converted by pydantic's ``validate_call``), in a daemon thread bounded
    by ``timeout_s`` (one that never returns is left behind, never waited for)."""
    function = _validated(impl.function)
    outcome: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            result = function(**arguments)
            if inspect.isawaitable(result):
                import asyncio

                result = asyncio.run(_awaited(result))
            outcome.append((True, result))
        except (Exception, SystemExit) as exc:
            outcome.append((False, tool_error(exc)))

    worker = threading.Thread(target=run, name=f"modelguard-tool-{impl.name}", daemon=True)
    worker.start()
    worker.join(impl.timeout_s)
    if not outcome:
        return False, f"{impl.name} did not return within timeout_s = {impl.timeout_s:g} s"
    return outcome[0]


def tool_error(exc: BaseException) -> str:
    """What the model is told of a tool's exception: its type and message, never where it
    was raised (a path differs between machines, and the next request would too); a
    pydantic argument error as each field's problem."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        with contextlib.suppress(Exception):
            found = [f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in errors()]
            return "invalid arguments: " + "; ".join(found)
    message = " ".join(str(exc).split())
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE] + "…"
    return type(exc).__name__ + (f": {message}" if message else "")


async def _awaited(result: Any) -> Any:
    return await result


_VALIDATED: dict[int, tuple[Callable[..., Any], Callable[..., Any]]] = {}


def _validated(function: Callable[..., Any]) -> Callable[..., Any]:
    """The function behind pydantic's argument check (strings to ints and the like)."""
    found = _VALIDATED.get(id(function))
    if found is None or found[0] is not function:
        checked = function
        with contextlib.suppress(Exception):  # a signature pydantic cannot read: called as is
            import pydantic

            checked = pydantic.validate_call(function)
        found = _VALIDATED[id(function)] = (function, checked)
    return found[1]


_DEFAULT_KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")


def provider_secrets(providers: Sequence[tuple[str | None, str | None]]) -> tuple[str, ...]:
    """What a tool's output may never carry on: the keys of the run's providers (``(api_key_env,
    base_url)`` pairs; the SDKs' own variables too) and their base_urls' tokens."""
    import os

    names = [env for env, _ in providers if env] + list(_DEFAULT_KEYS)
    keys = [value for name in names if len(value := os.environ.get(name, "")) >= MIN_SECRET_LEN]
    return tuple(keys) + tuple(s for _, url in providers for s in url_secrets(url))
