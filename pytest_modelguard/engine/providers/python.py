"""A user's own pipeline as the model: ``python:package.module:function``."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import importlib
import inspect
import json
import threading
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

from ...core.safety import describe
from ...records.calls import Completion, ProviderError, Request, Usage, tool_calls_from

Pipeline = Callable[[Request], Any]


class PythonProvider:
    """Calls ``package.module:function`` (the Request's model) with the Request.

    Sync functions run in a thread of their own, async ones are awaited; either errors
    after ``timeout_s``. They may return
    a ``str``, a ``Completion`` or a dict with ``text`` (and optionally ``usage``,
    ``finish_reason``). Their exceptions are permanent errors, except a raised
    ``ProviderError``, which keeps its own ``transient`` flag.
    """

    def __init__(self, name: str = "python", timeout_s: float = 60.0) -> None:
        self.name = name
        self.timeout_s = timeout_s
        self._functions: dict[str, Pipeline] = {}

    async def complete(self, request: Request) -> Completion:
        """Call the function, timed and bounded by ``timeout_s``, and make a Completion of it."""
        label = f"{self.name}:{request.model}"
        function = self._function(request.model, label)
        start = time.monotonic()
        try:
            result = await asyncio.wait_for(_call(function, request), self.timeout_s)
            return to_completion(result, time.monotonic() - start, request.model, label)
        except ProviderError:
            raise
        except TimeoutError:
            raise ProviderError(
                f"{label} did not return within timeout_s = {self.timeout_s:g} s", transient=False
            ) from None
        except Exited as exc:
            raise ProviderError(f"{label} raised {describe(exc.exit)}", transient=False) from None
        except Exception as exc:
            raise ProviderError(f"{label} raised {describe(exc)}", transient=False) from None

    def warm(self, models: Collection[str]) -> None:
        """Import the functions before any clock runs; an import error is left to the call."""
        for reference in models:
            with contextlib.suppress(ProviderError):
                self._function(reference, f"{self.name}:{reference}")

    def _function(self, reference: str, label: str) -> Pipeline:
        if reference not in self._functions:
            self._functions[reference] = load_function(reference, label)
        return self._functions[reference]

    async def aclose(self) -> None:
        """Nothing to release: user functions own their resources."""


async def _call(function: Pipeline, request: Request) -> Any:
    """The function's result: awaited when async, else from a thread of its own."""
    try:
        if inspect.iscoroutinefunction(function):
            return await function(request)
        result = await _in_thread(function, request)
        if inspect.isawaitable(result):  # e.g. a partial of an async function
            result = await result
        return result
    except SystemExit as exc:  # out of a task, it would stop the event loop
        raise Exited(exc) from None


class Exited(Exception):
    """A model function called ``sys.exit``: an error of its item, not the end of the run."""

    def __init__(self, exit: SystemExit) -> None:
        super().__init__(str(exit))
        self.exit = exit


def _in_thread(function: Pipeline, request: Request) -> asyncio.Future[Any]:
    """``function(request)`` in a daemon thread: one that never returns cannot hold up the
    end of the event loop (or of the interpreter), as a thread of the loop's pool would."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    context = contextvars.copy_context()

    def run() -> None:
        try:
            outcome: tuple[Any, BaseException | None] = (context.run(function, request), None)
        except SystemExit as exc:
            outcome = (None, Exited(exc))
        except BaseException as exc:  # handed to the awaiting coroutine
            outcome = (None, exc)
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting
            loop.call_soon_threadsafe(_settle, future, *outcome)

    threading.Thread(target=run, name="modelguard-python-model", daemon=True).start()
    return future


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # timed out and cancelled meanwhile
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


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
    except (Exception, SystemExit) as exc:
        raise ProviderError(
            f"{label}: cannot import {reference} ({describe(exc)}); "
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
        return dataclasses.replace(
            result,
            latency_s=latency_s,
            model=result.model or model,
            tool_calls=_tool_calls(result.tool_calls, label),
        )
    if isinstance(result, Mapping) and isinstance(result.get("text"), str):
        usage = result.get("usage")
        return Completion(
            text=result["text"],
            usage=usage if isinstance(usage, Usage) else _usage(usage, label),
            latency_s=latency_s,
            model=str(result.get("model") or model),
            finish_reason=result.get("finish_reason"),
        )
    raise ProviderError(
        f"{label} returned {type(result).__name__}; return a str, a Completion "
        "or a dict with a 'text' string",
        transient=False,
    )


def _tool_calls(calls: Any, label: str) -> tuple[dict[str, Any], ...]:
    """A returned Completion's tool calls as stored ones; a permanent ProviderError when they
    are not ``{id, name, arguments}`` with JSON data for arguments."""
    try:
        kept = tool_calls_from(list(calls))
        json.dumps(kept)
    except (ValueError, TypeError, RecursionError) as exc:
        problem = str(exc) if isinstance(exc, ValueError) else f"not JSON data ({exc})"
        raise ProviderError(
            f"{label} returned bad tool_calls: {problem}", transient=False
        ) from None
    return kept


def _usage(usage: Any, label: str) -> Usage:
    """A returned dict's ``usage``; a permanent ProviderError when it is not token counts."""
    try:
        return Usage.from_dict(usage or {})
    except (ValueError, TypeError, AttributeError) as exc:
        raise ProviderError(f"{label} returned a bad usage: {exc}", transient=False) from None
