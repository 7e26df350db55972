"""Deterministic graders of text: equals, contains, regex, numeric, length, similarity.

Each builder reads and checks its options once, at collection time, and returns a
pure check of an ``Answer``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import re2  # type: ignore[import-untyped,unused-ignore]  # typed in some releases

from ..records.grades import Answer
from ._options import AGAINST, Built, Kind, Options, cut, show

MATCHES = ("search", "full")
UNITS = ("chars", "words", "tokens")
_FIX_EXPECTED = "give the case an `expected:` or the grader an `expected:` option"


def _as_text(value: Any) -> str | None:
    """A scalar expected value as the text an answer would hold; None if it is not a scalar."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _alternatives(opts: Options, value: Any) -> tuple[str, ...]:
    """Acceptable answers: a scalar or a list of scalars."""
    items = value if isinstance(value, list) else [value]
    texts = tuple(_as_text(item) for item in items)
    if not texts or any(text is None for text in texts):
        raise opts.error(
            f"expected must be a string or a list of strings, got {cut(repr(value), 60)}; "
            "to compare structured data use json_field"
        )
    return tuple(text for text in texts if text is not None)


def _terms(terms: Sequence[str]) -> str:
    return ", ".join(show(term, 30) for term in terms[:5]) + (", …" if len(terms) > 5 else "")


def _show_choices(choices: Sequence[str]) -> str:
    return show(choices[0]) if len(choices) == 1 else "one of " + _terms(choices)


def build_equals(opts: Options) -> Built:
    """The whole output equals the expected answer (or one of them), after `normalize`."""
    norm = opts.normalizer()
    fixed = _alternatives(opts, opts.get("expected")) if opts.has("expected") else None

    def check(answer: Answer) -> tuple[float, str]:
        if fixed is None and answer.expected is None:
            raise opts.missing_reference(answer, _FIX_EXPECTED)
        wanted = fixed if fixed is not None else _alternatives(opts, answer.expected)
        got = norm(answer.output)
        for choice in wanted:
            if norm(choice) == got:
                return 1.0, f"equals {show(choice)}"
        return 0.0, f"expected {_show_choices(wanted)}, got {show(answer.output)}"

    return Built(check)


def _folder(case_sensitive: bool) -> Callable[[str], str]:
    if case_sensitive:
        return lambda text: unicodedata.normalize("NFC", text)
    return lambda text: unicodedata.normalize("NFC", text).casefold()


def _any_part(terms: Sequence[str], found: Sequence[str]) -> tuple[float, str]:
    if found:
        return 1.0, f"found {show(found[0], 30)}"
    return 0.0, f"none of {_terms(terms)} found"


def _all_part(terms: Sequence[str], found: Sequence[str]) -> tuple[float, str]:
    missing = [term for term in terms if term not in found]
    if not missing:
        return 1.0, f"all {len(terms)} found"
    return len(found) / len(terms), f"missing {_terms(missing)} ({len(found)}/{len(terms)} found)"


def _none_part(terms: Sequence[str], found: Sequence[str]) -> tuple[float, str]:
    if found:
        return 0.0, f"found forbidden {_terms(found)}"
    return 1.0, "no forbidden term"


_CONTAINS_PARTS = {"any": _any_part, "all": _all_part, "none": _none_part}


def build_contains(opts: Options) -> Built:
    """Terms present (`any`; `all` with partial credit) or absent (`none`); lowest part wins."""
    fold = _folder(opts.flag("case_sensitive", False))
    lists = {key: opts.strings(key) for key in _CONTAINS_PARTS if opts.has(key)}
    if not lists:
        raise opts.error("give at least one of any, all, none, e.g. {any: [refund, credit]}")
    folded = {key: [(term, fold(term)) for term in terms] for key, terms in lists.items()}

    def check(answer: Answer) -> tuple[float, str]:
        text = fold(answer.output)
        parts = [
            _CONTAINS_PARTS[key](lists[key], [term for term, f in pairs if f in text])
            for key, pairs in folded.items()
        ]
        return min(score for score, _ in parts), "; ".join(reason for _, reason in parts)

    return Built(check)


_REGEX_FLAGS = {"i": "i", "m": "m", "s": "s"}  # RE2's inline flags


def _regex_flags(opts: Options) -> str:
    letters = sorted(set("".join(opts.strings("flags"))))
    for letter in letters:
        if letter == "x":
            raise opts.error("flags: 'x' (verbose) is not supported by RE2; use i, m or s")
        if letter not in _REGEX_FLAGS:
            raise opts.error(f"flags: unknown flag {letter!r}; use any of i, m, s")
    return f"(?{''.join(letters)})" if letters else ""


def _re2_options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # the error reaches the user in our message, once
    return options


def build_regex(opts: Options) -> Built:
    """An RE2 pattern found in (`match: search`) or matching all of (`full`) the output.

    RE2 runs in time linear in the output's length: no pattern can hang a run.
    """
    pattern = opts.required_text("pattern")
    full = opts.choice("match", MATCHES, "search") == "full"
    negate = opts.flag("negate", False)
    try:
        compiled = re2.compile(_regex_flags(opts) + pattern, _re2_options())
    except re2.error as exc:
        problem = exc.args[0].decode() if isinstance(exc.args[0], bytes) else str(exc)
        raise opts.error(f"bad pattern {pattern!r}: {problem}{_re2_hint(problem)}") from None
    shown = show(pattern, 40)

    def check(answer: Answer) -> tuple[float, str]:
        found = compiled.fullmatch(answer.output) if full else compiled.search(answer.output)
        if found is None:
            reason = f"no match for {shown} in {show(answer.output)}"
            return (1.0, reason) if negate else (0.0, reason)
        reason = f"{shown} matched {show(found.group(), 40)} at {found.start()}"
        return (0.0, "forbidden: " + reason) if negate else (1.0, reason)

    return Built(check)


def _re2_hint(problem: str) -> str:
    if "invalid perl operator" in problem or "invalid escape sequence: \\" in problem:
        return (
            " (RE2 has no lookarounds or backreferences: they are what makes a regex run "
            "for ever; use negate, or a python: grader)"
        )
    return ""


_NUMBER = re.compile(
    r"(?<![\w.])(?P<sign>[-+\u2212])?[$€£¥₹]?(?P<sign2>[-+\u2212])?"
    r"(?P<body>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)(?P<exp>[eE][-+]?\d+)?(?!\d)"
)


def _number(found: re.Match[str]) -> float:
    signs = (found["sign"] or "") + (found["sign2"] or "")
    negative = "-" in signs or "\u2212" in signs
    value = float(found["body"].replace(",", "") + (found["exp"] or ""))
    return -value if negative else value


def _expected_number(opts: Options, value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    found = _NUMBER.fullmatch(value.strip()) if isinstance(value, str) else None
    if found is None:
        raise opts.error(f"expected must be a number, got {value!r}")
    return _number(found)


def _pick(matches: Iterator[re.Match[str]], last: bool) -> re.Match[str] | None:
    if not last:
        return next(matches, None)
    final = deque(matches, maxlen=1)
    return final[0] if final else None


def _fmt(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def build_numeric(opts: Options) -> Built:
    """The first (or `last`) number in the output, within `tolerance` / `rel_tolerance`."""
    fixed = _expected_number(opts, opts.get("expected")) if opts.has("expected") else None
    tolerance = opts.number("tolerance", 0.0)
    relative = opts.number("rel_tolerance", 0.0)
    last = opts.flag("last", False)

    def check(answer: Answer) -> tuple[float, str]:
        if fixed is None and answer.expected is None:
            raise opts.missing_reference(answer, _FIX_EXPECTED)
        wanted = fixed if fixed is not None else _expected_number(opts, answer.expected)
        found = _pick(_NUMBER.finditer(answer.output), last)
        if found is None:
            return 0.0, f"no number in {show(answer.output)}"
        got = _number(found)
        if abs(got - wanted) <= max(tolerance, relative * abs(wanted)):
            return 1.0, f"{_fmt(got)} matches {_fmt(wanted)}"
        return 0.0, f"expected {_fmt(wanted)}, got {_fmt(got)} (from {show(found.group(), 30)})"

    return Built(check)


def _measure(unit: str, text: str) -> int:
    if unit == "words":
        return len(text.split())
    if unit == "tokens":
        return math.ceil(len(text) / 4)
    return len(text)


def build_length(opts: Options) -> Built:
    """Output length within `min`..`max` chars (code points), words, or tokens (≈ chars / 4)."""
    low, high = opts.count("min"), opts.count("max")
    unit = opts.choice("unit", UNITS, "chars")
    if low is None and high is None:
        raise opts.error("give min, max or both, e.g. {max: 200, unit: words}")
    if low is not None and high is not None and low > high:
        raise opts.error(f"min ({low}) is greater than max ({high})")

    def check(answer: Answer) -> tuple[float, str]:
        size = _measure(unit, answer.output)
        if low is not None and size < low:
            return 0.0, f"{size} {unit}, min {low}"
        if high is not None and size > high:
            return 0.0, f"{size} {unit}, max {high}"
        return 1.0, f"{size} {unit}"

    return Built(check)


_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")


def tokens(text: str) -> list[str]:
    """Words for similarity: NFKC, casefolded, no punctuation; each CJK ideograph or kana alone."""
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())


def token_f1(left: str, right: str) -> float:
    """F1 of the two texts' token multisets (SQuAD-style); 1.0 when both are empty."""
    a, b = Counter(tokens(left)), Counter(tokens(right))
    if not a or not b:
        return float(not a and not b)
    overlap = sum((a & b).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(a.values()), overlap / sum(b.values())
    return 2 * precision * recall / (precision + recall)


def _references(opts: Options, against: str | None, answer: Answer) -> tuple[str, Sequence[str]]:
    if against != "baseline" and answer.expected is not None:
        return "expected", _alternatives(opts, answer.expected)
    if against != "expected" and answer.baseline_output is not None:
        return "baseline", (answer.baseline_output,)
    fix = {
        "expected": "give the case an `expected:`",
        "baseline": "record a baseline answer for the case",
        None: "give the case an `expected:` or a recorded baseline",
    }[against]
    raise opts.missing_reference(answer, fix)


def build_similarity(opts: Options) -> Built:
    """Token-F1 similarity to `expected` (best of a list) or the baseline answer; threshold 0.8."""
    against = opts.choice("against", AGAINST, None)

    def check(answer: Answer) -> tuple[float, str]:
        label, references = _references(opts, against, answer)
        score, best = max((token_f1(answer.output, ref), ref) for ref in references)
        return score, f"similarity {score:.2f} to {label} {show(best, 40)}"

    return Built(check, threshold=0.8)


TEXT_GRADERS: Mapping[str, Kind] = {
    "equals": Kind(build_equals, {"expected": "any", "normalize": "normalizers"}, "expected"),
    "contains": Kind(
        build_contains,
        {"any": "strings", "all": "strings", "none": "strings", "case_sensitive": "flag"},
        scalar="any",
    ),
    "regex": Kind(
        build_regex,
        {"pattern": "text", "flags": "strings", "match": MATCHES, "negate": "flag"},
        scalar="pattern",
    ),
    "numeric": Kind(
        build_numeric,
        {"expected": "any", "tolerance": "number", "rel_tolerance": "number", "last": "flag"},
        scalar="expected",
    ),
    "length": Kind(build_length, {"min": "count", "max": "count", "unit": UNITS}),
    "similarity": Kind(build_similarity, {"against": AGAINST}, scalar="against"),
}
