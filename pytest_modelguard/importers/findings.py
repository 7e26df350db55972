"""What an import mapped, and what it could not, counted with the first place of each."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.errors import SuiteError

SHOWN_REASONS = 20


@dataclass
class Findings:
    """Counts per mapped kind, per unmapped reason (with its first position) and per note."""

    mapped: dict[str, int] = field(default_factory=dict)
    unmapped: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)
    first: dict[str, str] = field(default_factory=dict)
    left_out: dict[str, int] = field(default_factory=dict)  # tests or cases not written

    def map(self, kind: str) -> None:
        self.mapped[kind] = self.mapped.get(kind, 0) + 1

    def miss(self, where: str, reason: str) -> None:
        """Something not mapped (an assert, a key, a provider), at ``where``."""
        self.unmapped[reason] = self.unmapped.get(reason, 0) + 1
        self.first.setdefault(reason, where)

    def note(self, where: str, reason: str) -> None:
        """Mapped, with a caveat the user must hear."""
        self.notes[reason] = self.notes.get(reason, 0) + 1
        self.first.setdefault(reason, where)

    def leave_out(self, where: str, reason: str) -> None:
        """A whole test or case not written."""
        self.left_out[reason] = self.left_out.get(reason, 0) + 1
        self.first.setdefault(reason, where)

    def lines(self) -> list[str]:
        """The summary: mapped kinds, then what was not mapped, left out and noted."""
        out = []
        if self.mapped:
            kinds = sorted(self.mapped.items(), key=lambda item: (-item[1], item[0]))
            out.append("mapped: " + ", ".join(f"{kind} {n}" for kind, n in kinds))
        for title, counts in (
            ("not mapped", self.unmapped),
            ("left out", self.left_out),
            ("noted", self.notes),
        ):
            out += self._ranked(title, counts)
        return out

    def _ranked(self, title: str, counts: dict[str, int]) -> list[str]:
        ranked = sorted(counts.items(), key=lambda item: -item[1])
        lines = [f"  {title} {n}: {why} (first at {self.first[why]})" for why, n in ranked]
        if len(lines) > SHOWN_REASONS:
            rest = ranked[SHOWN_REASONS:]
            lines = lines[:SHOWN_REASONS]
            lines.append(f"  {title} {sum(n for _, n in rest)} more, for {len(rest)} other reasons")
        return lines


class NothingImported(SuiteError):
    """No case could be imported; carries what was found, for the summary."""

    def __init__(self, message: str, findings: Findings) -> None:
        super().__init__(message)
        self.findings = findings
