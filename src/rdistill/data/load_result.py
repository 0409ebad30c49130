"""What every loader returns: the examples plus an account of what was left out."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rdistill.data.example import Example


@dataclass
class LoadResult:
    """Examples read from one source, with every dropped row accounted for.

    ``n_read`` counts the data rows read (valid or not), so that
    ``len(examples) + sum(skipped.values()) == n_read`` always holds for file loaders.
    ``skipped`` maps a reason (``"bad value: label"``) to how many rows it dropped;
    ``counts`` holds other non-fatal tallies (e.g. ``"palm label unparseable"``).
    """

    examples: list[Example]
    skipped: Counter[str] = field(default_factory=Counter)
    n_read: int = 0
    counts: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        """One log line: ``read 10 | kept 9 | skipped 1 (bad value: label 1)``."""
        line = f"read {self.n_read} | kept {len(self.examples)}"
        if self.skipped:
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.skipped.items()))
            line += f" | skipped {sum(self.skipped.values())} ({reasons})"
        if self.counts:
            line += " | " + ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        return line
