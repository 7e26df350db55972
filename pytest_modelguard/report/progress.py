"""The prefetch's progress line on the terminal: redrawn in place on a TTY, else printed once."""

from __future__ import annotations

import time
from collections.abc import Callable

from ..core.formatting import plural
from ..engine.runner import ProgressEvent


def render(event: ProgressEvent) -> str:
    """One line: ``modelguard: 120/2000 answers (40 cached, 78 new, 2 failed) 35.1/s``, and
    ``, 4/16 in flight (rate limited)`` while rate limits hold the calls in flight down."""
    throttled = (
        f", {event.limit}/{event.ceiling} in flight (rate limited)"
        if event.limit < event.ceiling
        else ""
    )
    return (
        f"modelguard: {event.done}/{plural(event.total, 'answer')} ({event.cached} cached, "
        f"{event.new} new, {event.failed} failed) {event.rate:.1f}/s in {event.elapsed_s:.1f}s"
        + throttled
    )


class TerminalProgress:
    """Redraws one line with ``\\r`` at most every ``min_interval_s`` on a TTY.

    Elsewhere (CI logs) it stays quiet until ``finish``, which prints one line.
    """

    def __init__(
        self,
        write: Callable[[str], None],
        is_tty: bool,
        min_interval_s: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write, self._is_tty = write, is_tty
        self._min_interval_s, self._clock = min_interval_s, clock
        self._last_at = float("-inf")
        self._width = 0

    def update(self, event: ProgressEvent) -> None:
        now = self._clock()
        if self._is_tty and now - self._last_at >= self._min_interval_s:
            self._last_at = now
            self._redraw(render(event))

    def finish(self, event: ProgressEvent) -> None:
        if self._is_tty:
            self._redraw(render(event))
            self._write("\n")
        else:
            self._write(render(event) + "\n")

    def _redraw(self, line: str) -> None:
        self._write("\r" + line.ljust(self._width))
        self._width = len(line)
