"""Reading a grader's options at build time, with errors that name the source, key and fix.

Also the few helpers every grader shares: the ``Check`` a builder makes, ``Kind``
(a registry entry), text normalizers, and ``show`` for short reasons.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, overload

from ..core.errors import GraderConfigError
from ..core.formatting import did_you_mean
from ..records.grades import Answer, GraderSpec

Check = Callable[[Answer], tuple[float, str]]
"""What a builder makes: an answer's score in [0, 1] and a short reason."""

SHOW_LIMIT = 80
AGAINST = ("expected", "baseline")
"""What a grader comparing with a reference may compare with (``against:``)."""


@dataclass(frozen=True, slots=True)
class Built:
    """A builder's result: the check plus the defaults the suite entry may override."""

    check: Check
    threshold: float = 1.0
    name: str | None = None  # the Grade name; the grader kind when None
    dimension: str | None = None


Opt = str | tuple[str, ...] | range
"""An option's type, checked when the grader is built and written into the suites' JSON
Schema (``grading/suite_schema.py``): ``"text"`` a non-empty string, ``"strings"`` a string
or a non-empty list of them, ``"flag"`` true or false, ``"number"`` a finite number >= 0,
``"count"`` a whole number >= 0, ``"normalizers"`` a list of ``NORMALIZERS``' names,
``"mapping"`` a mapping with string keys, ``"any"`` checked by the builder alone; a tuple:
one of its words; a range: a whole number in it."""


@dataclass(frozen=True, slots=True)
class Kind:
    """A registry entry: how to build a grader and which option keys it takes.

    ``keys`` maps each option to its type (``Opt``); a bare tuple of names leaves every
    option's type to the builder (``"any"``)."""

    build: Callable[[Options], Built]
    keys: Mapping[str, Opt] | tuple[str, ...] = ()
    scalar: str | None = None  # the key a bare scalar option stands for

    def option_type(self, key: str) -> Opt:
        """The declared type of option ``key`` (``"any"`` when none is declared)."""
        return self.keys[key] if isinstance(self.keys, Mapping) else "any"


def cut(text: str, limit: int = SHOW_LIMIT) -> str:
    """Text cut to ``limit`` characters with an ellipsis."""
    return text if len(text) <= limit else text[:limit] + "…"


def show(text: str, limit: int = SHOW_LIMIT) -> str:
    """A quoted, cut excerpt of text for a reason; says how long the text was when cut."""
    if len(text) <= limit:
        return repr(text)
    return f"{cut(text, limit)!r} ({len(text)} chars)"


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_NON_ASCII_NON_WORD = re.compile(r"[^\w\s\x00-\x7f]+")
_ASCII_PUNCTUATION = {
    code: None for code in range(128) if unicodedata.category(chr(code)).startswith("P")
}
_SPACES = re.compile(r"\s\s+|[^\S ]")  # runs, or any whitespace but a lone space


def _strip_accents(text: str) -> str:
    def strip(match: re.Match[str]) -> str:
        decomposed = unicodedata.normalize("NFD", match.group())
        kept = "".join(c for c in decomposed if not unicodedata.combining(c))
        return unicodedata.normalize("NFC", kept)

    return _NON_ASCII.sub(strip, text)


def _strip_punctuation(text: str) -> str:
    def drop(match: re.Match[str]) -> str:
        return "".join(c for c in match.group() if not unicodedata.category(c).startswith("P"))

    return _NON_ASCII_NON_WORD.sub(drop, text.translate(_ASCII_PUNCTUATION))


NORMALIZERS: Mapping[str, Callable[[str], str]] = {
    "nfkc": lambda text: unicodedata.normalize("NFKC", text),
    "strip_accents": _strip_accents,
    "lower": str.casefold,
    "strip_punctuation": _strip_punctuation,
    "collapse_whitespace": lambda text: _SPACES.sub(" ", text),
    "strip": str.strip,
}
"""Text normalizers in the fixed order they apply, whatever order a suite lists them."""


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a mapping" if isinstance(value, Mapping) else f"a {type(value).__name__}"


class Options:
    """One grader's options, checked against its kind's keys; every error names the source."""

    def __init__(self, spec: GraderSpec, kind: Kind) -> None:
        self.grader = spec.name
        self.source = spec.source
        self.base_dir = spec.base_dir
        self.root_dir = spec.root_dir or spec.base_dir
        self._values = self._as_mapping(spec.options, kind)
        for key in self._values:
            if key not in kind.keys:
                allowed = ", ".join(kind.keys) or "none"
                hint = did_you_mean(key, kind.keys)
                raise self.error(f"unknown option {key!r}{hint}; options: {allowed}")
            self._check(key, kind.option_type(key))

    def _check(self, key: str, kind: Opt) -> None:
        """The value of option ``key`` against its declared type, by the accessor of that type."""
        if isinstance(kind, tuple):
            self.choice(key, kind, None)
        elif isinstance(kind, range):
            self.whole(key, kind)
        elif kind == "normalizers":
            self.normalizer(key)
        elif kind == "mapping":
            self.mapping(key)
        elif kind in ("text", "strings", "number", "count"):
            getattr(self, kind)(key)
        elif kind == "flag":
            self.flag(key, False)
        elif kind != "any":
            raise ValueError(f"option {key!r} of {self.grader}: unknown option type {kind!r}")

    def _as_mapping(self, options: Any, kind: Kind) -> dict[str, Any]:
        if options is None:
            return {}
        if isinstance(options, Mapping):
            return {str(key): value for key, value in options.items()}
        if kind.scalar is not None:
            return {kind.scalar: options}
        allowed = ", ".join(kind.keys)
        raise self.error(f"takes a mapping of options ({allowed}), got {_type_name(options)}")

    def error(self, message: str) -> GraderConfigError:
        """A GraderConfigError prefixed with ``source: grader:``."""
        return GraderConfigError(f"{self.source}: {self.grader}: {message}")

    def missing_reference(self, answer: Answer, fix: str) -> GraderConfigError:
        """The error for a case that gives this grader nothing to compare with."""
        return self.error(f"case {answer.case_id!r} has nothing to compare with: {fix}")

    def has(self, key: str) -> bool:
        return key in self._values

    def get(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)

    def text(self, key: str) -> str | None:
        """A non-empty string option, or None when absent."""
        if key not in self._values:
            return None
        value = self._values[key]
        if not isinstance(value, str) or not value:
            raise self.error(f"{key}: expected a non-empty string, got {_type_name(value)}")
        return value

    def required_text(self, key: str) -> str:
        """A non-empty string option that must be present."""
        value = self.text(key)
        if value is None:
            raise self.error(f"option {key!r} is required")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        """A list of strings (a single string or number counts as a list of one)."""
        if key not in self._values:
            return ()
        value = self._values[key]
        items = value if isinstance(value, list) else [value]
        if not items or not all(_is_scalar_text(item) for item in items):
            raise self.error(f"{key}: expected a string or a non-empty list of strings")
        return tuple(str(item) for item in items)

    def flag(self, key: str, default: bool) -> bool:
        value = self._values.get(key, default)
        if not isinstance(value, bool):
            raise self.error(f"{key}: expected true or false, got {_type_name(value)}")
        return value

    @overload
    def number(self, key: str, default: float) -> float: ...
    @overload
    def number(self, key: str, default: None = None) -> float | None: ...
    def number(self, key: str, default: float | None = None) -> float | None:
        """A finite number >= 0."""
        if key not in self._values:
            return default
        value = self._values[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(f"{key}: expected a number, got {_type_name(value)}")
        if not math.isfinite(value) or value < 0:
            raise self.error(f"{key}: expected a number >= 0, got {value!r}")
        return float(value)

    def count(self, key: str) -> int | None:
        """A whole number >= 0, or None when absent."""
        if key not in self._values:
            return None
        value = self._values[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.error(f"{key}: expected a whole number >= 0, got {value!r}")
        return value

    @overload
    def whole(self, key: str, span: range, default: int) -> int: ...
    @overload
    def whole(self, key: str, span: range, default: None = None) -> int | None: ...
    def whole(self, key: str, span: range, default: int | None = None) -> int | None:
        """A whole number in ``span``, or ``default`` when absent."""
        if key not in self._values:
            return default
        value = self._values[key]
        if isinstance(value, bool) or not isinstance(value, int) or value not in span:
            raise self.error(
                f"{key}: expected a whole number from {span.start} to {span[-1]}, got {value!r}"
            )
        return value

    def mapping(self, key: str) -> dict[str, Any]:
        """A mapping with string keys (empty when absent)."""
        value = self._values.get(key, {})
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise self.error(f"{key}: expected a mapping like {{temperature: 0}}, got {value!r}")
        return dict(value)

    @overload
    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str: ...
    @overload
    def choice(self, key: str, choices: tuple[str, ...], default: None) -> str | None: ...
    def choice(self, key: str, choices: tuple[str, ...], default: str | None) -> str | None:
        if key not in self._values:
            return default
        value = self._values[key]
        if value not in choices:
            hint = did_you_mean(str(value), choices)
            raise self.error(f"{key}: {value!r} is not one of {', '.join(choices)}{hint}")
        return str(value)

    def normalizer(self, key: str = "normalize") -> Callable[[str], str]:
        """The composed text normalizer named by a list option (identity when absent)."""
        names = self.strings(key)
        for name in names:
            if name not in NORMALIZERS:
                hint = did_you_mean(name, NORMALIZERS)
                raise self.error(
                    f"{key}: unknown normalizer {name!r}{hint}; known: {', '.join(NORMALIZERS)}"
                )
        steps = [fn for name, fn in NORMALIZERS.items() if name in names]

        def normalize(text: str) -> str:
            for step in steps:
                text = step(text)
            return text

        return normalize


def _is_scalar_text(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool) and value != ""
