"""Warm the SDK stack in this test process, so in-process pytester runs can use it safely.

pytester's in-process runs drop every module first imported inside them. The SDKs
import their HTTP stack (httpcore, h11, backends) lazily on the first call, and httpx
caches its map of httpcore's exception classes on first use: if that first call happened
inside a run, a later run re-imports httpcore, its exceptions no longer match the cached
map, and a connection reset escapes the SDK as a raw ``ReadError``. ``warm_sdks`` forgets
such a stale map and makes one real call per SDK here, outside any run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from loopback import LoopbackServer

from pytest_modelguard.engine.cache import Cache
from pytest_modelguard.engine.providers import make_provider
from pytest_modelguard.engine.runner import answer_all_sync
from pytest_modelguard.records.calls import Request
from pytest_modelguard.records.pricing import table_price

_WARM_KEY_ENV = "MODELGUARD_WARM_KEY"


def warm_sdks(cache_dir: Path) -> None:
    """One call through each SDK provider (and a price lookup), in this process."""
    os.environ.setdefault(_WARM_KEY_ENV, "sk-warm")
    for name in ("httpx._transports.default", "httpx2._transports.default"):
        cached = getattr(sys.modules.get(name), "HTTPCORE_EXC_MAP", None)
        if isinstance(cached, dict):
            cached.clear()  # rebuilt on the next call, from the httpcore imported now
    table_price("openai", "gpt-4.1")
    with LoopbackServer() as srv:
        providers = {
            "o": make_provider("openai", "o", srv.openai_base_url, _WARM_KEY_ENV),
            "a": make_provider("anthropic", "a", srv.anthropic_base_url, _WARM_KEY_ENV),
        }
        hello = ({"role": "user", "content": "hi"},)
        requests = [Request("o", "m", hello), Request("a", "m", hello)]
        answer_all_sync(requests, providers, Cache(cache_dir), "all", 2)
