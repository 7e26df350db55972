"""A user's own pipeline as the model: ``python:package.module:function``."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import inspect
import time
from collections.abc import Callable, Mapping
from typing import Any

from pytest_modelguard.providers.base import Completion, ProviderError, Request, Usage

Pipeline = Callable[[Request], Any]


class PythonProvider:
    """Calls ``package.module:function`` (the Request's model) with the Request.

    Sync functions run in a worker thread, async ones are awaited. They may return
    a ``str``, a ``Completion`` or a dict with ``text`` (and optionally ``usage``,
    ``finish_reason``). Their exceptions are permanent errors, except a raised
    ``ProviderError``, which keeps its own ``transient`` flag.
    """

    def __init__(self, name: str = "python") -> None:
        self.name = name
        self._functions: dict[str, Pipeline] = {}

    async def complete(self, request: Request) -> Completion:
        """Call the function, timed, and turn what it returns into a Completion."""
        label = f"{self.name}:{request.model}"
        function = self._function(request.model, label)
        start = time.monotonic()
        try:
            if inspect.iscoroutinefunction(function):
                result = await function(request)
            else:
                result = await asyncio.to_thread(function, request)
                if inspect.isawaitable(result):  # e.g. a partial of an async function
                    result = await result
        except ProviderError:
            raise
        except Exception as exc:
            raise ProviderError(
                f"{label} raised {type(exc).__name__}: {exc}", transient=False
            ) from exc
        return to_completion(result, time.monotonic() - start, request.model, label)

    def _function(self, reference: str, label: str) -> Pipeline:
        if reference not in self._functions:
            self._functions[reference] = load_function(reference, label)
        return self._functions[reference]

    async def aclose(self) -> None:
        """Nothing to release: user functions own their resources."""


def load_function(reference: str, label: str) -> Pipeline:
    """Import ``package.module:function``; a ProviderError names the reference and the fix."""
    module_name, sep, attr = reference.partition(":")
    if not sep or not module_name or not attr:
        raise ProviderError(
            f"{label}: expected python:package.module:function, got python:{reference}",
            transient=False,
        )
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise ProviderError(
            f"{label}: cannot import {reference} ({type(exc).__name__}: {exc}); "
            "make sure the module is importable from the test run (installed or on sys.path)",
            transient=False,
        ) from None
    if not callable(target):
        raise ProviderError(f"{label}: {reference} is not callable", transient=False)
    return target  # type: ignore[no-any-return]


def to_completion(result: Any, latency_s: float, model: str, label: str) -> Completion:
    """A Completion from a str, Completion or dict, timed with the measured latency."""
    if isinstance(result, str):
        return Completion(text=result, latency_s=latency_s, model=model)
    if isinstance(result, Completion):
        return dataclasses.replace(result, latency_s=latency_s, model=result.model or model)
    if isinstance(result, Mapping) and isinstance(result.get("text"), str):
        usage = result.get("usage")
        return Completion(
            text=result["text"],
            usage=usage if isinstance(usage, Usage) else Usage.from_dict(usage or {}),
            latency_s=latency_s,
            model=str(result.get("model") or model),
            finish_reason=result.get("finish_reason"),
        )
    raise ProviderError(
        f"{label} returned {type(result).__name__}; return a str, a Completion "
        "or a dict with a 'text' string",
        transient=False,
    )
