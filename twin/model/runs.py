"""What a run did: the record the runner returns, the report shows and the ``runs`` layer keeps.

>>> summary_line({"buildings": {"added": 3, "removed": 1, "modified": 2},
...               "panoramas": {"added": 0, "removed": 0, "modified": 0}})
'changes: buildings +3 −1 ~2'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CHANGE_KINDS", "RunResult", "summary_line"]

#: The values of the ``change`` field of the ``changes`` layer, in report order.
CHANGE_KINDS = ("added", "removed", "modified")


@dataclass(frozen=True)
class RunResult:
    """What a run did.

    Attributes
    ----------
    stages
        Per stage ``built``, ``reused`` (result of an earlier run, inputs unchanged) or ``unchanged``
        (nothing changed at all; the model was only re-recorded).
    changes
        Added, removed and modified features per layer since the previous successful run.
    """

    run_id: str
    output: Path
    counts: dict[str, int] = field(default_factory=dict)
    stages: dict[str, str] = field(default_factory=dict)
    fibre: dict[str, object] = field(default_factory=dict)
    changes: dict[str, dict[str, int]] = field(default_factory=dict)
    first: bool = False
    duration_s: float = 0.0
    report: Path | None = None

    @property
    def unchanged(self) -> bool:
        """True when no stage had to run."""
        return bool(self.stages) and all(status == "unchanged" for status in self.stages.values())

    @property
    def summary(self) -> str:
        """One line for the log: ``changes: buildings +3 −1 ~2`` (or that there was no previous model)."""
        return "changes: no previous model to compare with" if self.first else summary_line(self.changes)


def summary_line(summary: Mapping[str, Mapping[str, int]]) -> str:
    """``changes: buildings +3 −1 ~2, fibre_routes +0 −0 ~1`` (layers without changes left out)."""
    parts = [f"{layer} +{c['added']} −{c['removed']} ~{c['modified']}" for layer, c in summary.items() if any(c.values())]
    return "changes: " + (", ".join(parts) if parts else "none")
