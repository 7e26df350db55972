"""What an imported call must satisfy before it is stored: numbers in range, no secrets.

Times are unix seconds from 1970 to 2100, token counts whole numbers from 0 to 10^9;
values nest at most ``VALUE_DEPTH`` deep (an exported suite adds its own levels under the
suite loader's limit). Secrets are scrubbed by field wherever one appears (``api_key``,
``Authorization``, ``x-api-key`` and the like, OTLP attributes named so included), then by
value: a credential found in a record is scrubbed from every text of that record, and
from every text of the import while the import has found at most ``SHARED_SECRETS`` of
them; bearer tokens and ``api_key=...`` written in text are scrubbed too.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from ..core.safety import REDACTED, valid_text
from .import_input import Malformed, clean
from .store import LATEST_TIME, USAGE_FIELDS, Trace

MAX_TOKENS = 10**9
VALUE_DEPTH = 64
SHARED_SECRETS = 256
_MIN_SECRET = 8
"""Shorter values of a credential field are redacted in place but not hunted elsewhere."""
_FIELDS = frozenset((
    "api_key", "apikey", "x_api_key", "x_goog_api_key", "api_token", "authorization",
    "proxy_authorization", "access_token", "auth_token", "bearer_token", "refresh_token",
    "client_secret", "secret_key", "password", "aws_secret_access_key", "aws_session_token",
    "x_amz_security_token",
))  # fmt: skip
_TRANSPORT = frozenset(("headers", "extra_headers", "extra_query", "extra_body", "timeout"))
"""Request fields an SDK sends as transport, not as the call: never kept as params."""
_BEARER = re.compile(r"(?i)\b(bearer\s+)((?=\S*\d)[\w.~+/=-]{8,}|[\w.~+/=-]{16,})")

_KEYED = re.compile(  # every text it matches holds "key", "token", "secret" or "authorization"
    r"""(?ix)
    ((?:x-)?(?:api[_-]?key|api[_-]?token|access[_-]?token|auth[_-]?token|client[_-]?secret
         |authorization|aws[_-]secret[_-]access[_-]key|aws[_-]session[_-]token
         |amz[_-]security[_-]token)
       ["']?\s*[:=]\s*["']?(?:(?:bearer|basic|token)\s+)?)
    ([^\s"'&,;}]{8,})
    """
)


@functools.lru_cache(maxsize=4096)
def is_secret_field(name: str) -> bool:
    """A field (or OTLP attribute, e.g. ``http.request.header.authorization``) holding a key."""
    return name.rsplit(".", 1)[-1].lower().replace("-", "_") in _FIELDS


class Secrets:
    """Credentials found in an import's records, scrubbed from the texts stored."""

    def __init__(self) -> None:
        self.shared: set[str] = set()

    def found_in(self, record: Any) -> frozenset[str]:
        """The credentials in ``record`` (remembered for the whole import, up to a bound)."""
        found: set[str] = set()
        _collect(record, found, 0)
        if len(self.shared | found) <= SHARED_SECRETS:
            self.shared |= found
        return frozenset(found)

    def scrubber(self, own: Iterable[str]) -> _Scrub:
        """Scrubs a record's own credentials and those shared by the import."""
        values = sorted(self.shared.union(own), key=len, reverse=True)
        return _Scrub(values)


class _Scrub:
    def __init__(self, values: list[str]) -> None:
        self.values = values

    def __call__(self, text: str) -> str:
        text = text if text.isascii() else valid_text(text)
        for value in self.values:
            if value in text:
                text = text.replace(value, REDACTED)
        low = text.lower()
        if "bearer" in low:
            text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
        if "key" in low or "token" in low or "secret" in low or "authorization" in low:
            text = _KEYED.sub(lambda m: m.group(1) + REDACTED, text)  # only texts with a hint
        return text


def _credential(name: str, value: Any, names: bool) -> bool:
    """Whether ``value`` under ``name`` is a credential: not when ``name`` is a property a
    JSON Schema defines (a tool's ``api_key`` parameter), whose value is its schema."""
    return is_secret_field(name) and not (names and isinstance(value, Mapping))


def _collect(value: Any, found: set[str], depth: int, names: bool = False) -> None:
    kind = type(value)
    if depth > VALUE_DEPTH * 2 or kind is str or kind is int or kind is float:
        return
    if kind is dict or isinstance(value, Mapping):
        key = value.get("key")
        if isinstance(key, str) and "value" in value and is_secret_field(key):  # OTLP attribute
            _credentials(value["value"], found, depth)
        for name, item in value.items():
            if _credential(str(name), item, names):
                _credentials(item, found, depth)
            else:
                _collect(item, found, depth + 1, name == "properties")
    elif kind is list or isinstance(value, list | tuple):
        for item in value:
            _collect(item, found, depth + 1)


def _credentials(value: Any, found: set[str], depth: int) -> None:
    """Every string under a credential field: the value, and the token after its scheme."""
    if isinstance(value, str):
        for part in (value.strip(), value.strip().rpartition(" ")[2]):
            if len(part) >= _MIN_SECRET:
                found.add(part)
    elif isinstance(value, Mapping | list | tuple) and depth <= VALUE_DEPTH * 2:
        for item in value.values() if isinstance(value, Mapping) else value:
            _credentials(item, found, depth + 1)


def seconds(value: Any, name: str) -> float:
    """Unix seconds from 1970 to 2100; Malformed naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Malformed(f"{name} is not a number")
    if not 0 <= value < LATEST_TIME:
        raise Malformed(f"{name} is not a time from 1970 to 2100")
    return float(value)


def token_count(value: Any, name: str) -> int:
    """A whole number of tokens from 0 to 10^9; Malformed naming ``name`` otherwise."""
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not whole or not 0 <= value <= MAX_TOKENS:
        raise Malformed(f"{name} is not a token count (a whole number from 0 to 10^9)")
    return int(value)


def checked(trace: Trace, scrub: _Scrub) -> Trace:
    """``trace`` fit to store: numbers in range, text valid and scrubbed; Malformed otherwise."""
    seconds(trace.started_at, "the start time")
    if trace.usage is not None:
        for name in USAGE_FIELDS:
            token_count(getattr(trace.usage, name), f"usage.{name}")
    params = {
        k: v for k, v in trace.params.items() if k not in _TRANSPORT and not is_secret_field(k)
    }
    return replace(
        trace,
        model=scrub(trace.model),
        response_model=scrub(trace.response_model),
        messages=tuple(_scrubbed(list(trace.messages), scrub, 0)),
        params=_scrubbed(params, scrub, 0),
        output=None if trace.output is None else scrub(trace.output),
        error=None if trace.error is None else scrub(trace.error),
        finish_reason=None if trace.finish_reason is None else scrub(trace.finish_reason),
        tool_calls=tuple(_scrubbed(list(trace.tool_calls), scrub, 0)),
        tags=tuple(valid_text(t) for t in trace.tags),
    )


def _scrubbed(value: Any, scrub: _Scrub, depth: int, names: bool = False) -> Any:
    """``value`` scrubbed; ``names``: its keys are a JSON Schema's property names."""
    if depth > VALUE_DEPTH:
        raise Malformed(f"a message, param or tool call nested deeper than {VALUE_DEPTH} levels")
    kind = type(value)
    if kind is str:
        return scrub(value)
    if kind is dict or isinstance(value, Mapping):
        scrubbed = {}
        for k, v in value.items():
            name = k if type(k) is str else str(k)
            if v and _credential(name, v, names):
                scrubbed[scrub(name)] = REDACTED
            elif type(v) is str and depth < VALUE_DEPTH:  # the common leaf, without a call
                scrubbed[scrub(name)] = scrub(v)
            else:
                scrubbed[scrub(name)] = _scrubbed(v, scrub, depth + 1, name == "properties")
        return scrubbed
    if kind is list or isinstance(value, list | tuple):
        return [_scrubbed(v, scrub, depth + 1) for v in value]
    if kind is bool or value is None:
        return value
    return clean(value)  # numbers finite and within 64 bits, nothing Invalid; else Malformed
