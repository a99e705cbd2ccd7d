"""The report of ``data prepare``: what was kept per phase, what was dropped and why, and how fast it went."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from posestylizer.data.layouts import PHASES
from posestylizer.data.prepare_work import REASONS, Outcome

EXAMPLES = 3  # dropped images named per reason


@dataclass
class PrepareReport:
    """Outcome of :func:`~posestylizer.data.prepare.prepare_dataset`.

    Args:
        outcomes: every raw image's outcome (drop = None when kept).
        pairs: pairs written per phase.
        processed: images read in this run (the rest were finished by an earlier run).
        seconds: wall time of this run.
    """

    kind: str
    out: Path
    layout: str
    outcomes: list[Outcome]
    pairs: dict[str, int]
    processed: int
    seconds: float

    def kept(self, phase: str) -> int:
        return sum(o.drop is None for o in self.outcomes if o.phase == phase)

    @property
    def dropped(self) -> Counter:
        return Counter(o.drop for o in self.outcomes if o.drop is not None)

    @property
    def images_per_second(self) -> float:
        return self.processed / self.seconds if self.seconds > 0 else 0.0

    def lines(self) -> list[str]:
        found = Counter(o.phase for o in self.outcomes)
        out = [f"{self.kind} -> {self.out} (layout {self.layout})"]
        for phase in PHASES:
            out.append(f"  {phase}: {found[phase]} raw images, kept {self.kept(phase)}, {self.pairs.get(phase, 0)} "
                       "pairs")  # fmt: skip
        drops = self.dropped
        out.append(f"  dropped {sum(drops.values())}:" if drops else "  dropped none")
        for reason, n in drops.most_common():
            names = [o.detail or o.name for o in self.outcomes if o.drop == reason][:EXAMPLES]
            more = ", ..." if n > EXAMPLES else ""
            out.append(f"    {n:6d}  {REASONS[reason]} (e.g. {', '.join(names)}{more})")
        out.append(f"  {self.processed} image(s) processed in {self.seconds:.1f} s "
                   f"({self.images_per_second:.1f} images/s)")  # fmt: skip
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())
